"""The real-synthesis cost backends (dse.cost.synthesis) up to and across the tool boundary.

Where Vitis/Vivado HLS are installed, the ``synthesis``-marked tests run the real build. Everywhere, the
tool-boundary tests put a small fake executable, named like the real tool, first on PATH: hls4ml's own
``build()`` calls it, the fake checks that it was started in the hls4ml project directory with hls4ml's
build script and options, and writes a real report from ``../shared/fixtures`` where the real tool
would. ``cost()`` must then return that report's numbers.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import hls4ml
import pytest
import tensorflow as tf

from dse.cost.base import _BACKENDS, HardwareReport
from dse.cost.reports import parse_csynth_xml, parse_vivado_synth_rpt
from dse.cost.synthesis import SynthesisError, VitisBackend, VivadoBackend
from dse.errors import ConfigError, ToolNotFoundError

FIXTURES_REL = Path("fixtures") / "hls_reports"

# Fixtures the fakes hand back: case28 is the only Vitis HLS run (2022.2, xcu250, 5 ns); case26 a Vivado
# HLS 2019.2 single-Dense design (xc7vx690t, 5 ns) that also has a vivado_synth.rpt.
VITIS_CASE, VITIS_PART = "case28", "xcu250-figd2104-2L-e"
VIVADO_CASE, VIVADO_PART = "case26", "xc7vx690t-ffg1930-3"

APP_XML = '<project name="myproject_prj" top="myproject"><solutions><solution name="solution1"/></solutions></project>'


# ------------------------------------------------------------------------------------------------
# models


@pytest.fixture(scope="module")
def keras_model() -> tf.keras.Model:
    return tf.keras.Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(2, name="dense")])


def _hls_model(keras_model: tf.keras.Model, backend: str, output_dir: Path, part: str):
    cfg = hls4ml.utils.config_from_keras_model(keras_model, granularity="model", backend=backend)
    return hls4ml.converters.convert_from_keras_model(
        keras_model, hls_config=cfg, backend=backend, io_type="io_parallel", output_dir=str(output_dir), part=part
    )


# ------------------------------------------------------------------------------------------------
# fake tools


def _write_exe(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _fake_vitis_run(bin_dir: Path, fixture: Path, log: Path, clock: str) -> None:
    """``vitis-run`` as hls4ml 1.3.0's Vitis build calls it: ``vitis-run --tcl build_prj.tcl --mode hls``
    in the project directory, options in ``build_opt.tcl``."""
    _write_exe(bin_dir / "vitis-run", f"""
printf '%s\\n%s\\n' "$PWD" "$*" > '{log}'
fail() {{ echo "fake vitis-run: $*" >&2; exit 1; }}
[ "$*" = "--tcl build_prj.tcl --mode hls" ] || fail "unexpected arguments: $*"
[ -f firmware/myproject.cpp ] || fail "not an hls4ml project directory: $PWD"
grep -q 'csynth_design' build_prj.tcl && grep -q 'source \\[file join $tcldir build_opt.tcl\\]' build_prj.tcl \\
    || fail "build_prj.tcl is not hls4ml's Vitis build script"
grep -Eq '^ *csim +0$' build_opt.tcl || fail "csim is not off"
grep -Eq '^ *synth +1$' build_opt.tcl || fail "synth is not on"
grep -Eq '^ *vsynth +0$' build_opt.tcl || fail "vsynth is not off"
grep -q 'set part "{VITIS_PART}"' project.tcl || fail "wrong part in project.tcl"
grep -Eq '^set clock_period {clock}(\\.0+)?$' project.tcl || fail "wrong clock in project.tcl"
mkdir -p myproject_prj/solution1/syn/report
cp '{fixture}/syn_report__myproject_csynth.rpt' myproject_prj/solution1/syn/report/myproject_csynth.rpt
cp '{fixture}/syn_report__myproject_csynth.xml' myproject_prj/solution1/syn/report/myproject_csynth.xml
echo '{APP_XML}' > myproject_prj/hls.app
""")


def _fake_vivado_hls(bin_dir: Path, fixture: Path, log: Path, vsynth: bool) -> None:
    """``vivado_hls`` as hls4ml 1.3.0's Vivado build calls it (through os.system):
    ``vivado_hls -f build_prj.tcl "reset=False csim=False synth=True ... vsynth=..."``. With vsynth, the
    real build script runs ``vivado -mode batch -source vivado_synth.tcl``; so does the fake."""
    _write_exe(bin_dir / "vivado_hls", f"""
printf '%s\\n%s\\n' "$PWD" "$*" > '{log}'
fail() {{ echo "fake vivado_hls: $*" >&2; exit 1; }}
[ "$#" = 3 ] && [ "$1" = "-f" ] && [ "$2" = "build_prj.tcl" ] || fail "unexpected arguments: $*"
[ -f firmware/myproject.cpp ] || fail "not an hls4ml project directory: $PWD"
grep -q 'csynth_design' build_prj.tcl || fail "build_prj.tcl is not hls4ml's"
for opt in csim=False synth=True vsynth={vsynth}; do
    case " $3 " in *" $opt "*) ;; *) fail "option $opt missing in: $3";; esac
done
grep -q 'set part "{VIVADO_PART}"' project.tcl || fail "wrong part in project.tcl"
mkdir -p myproject_prj/solution1/syn/report myproject_prj/solution1/syn/verilog
cp '{fixture}/syn_report__myproject_csynth.rpt' myproject_prj/solution1/syn/report/myproject_csynth.rpt
cp '{fixture}/syn_report__myproject_csynth.xml' myproject_prj/solution1/syn/report/myproject_csynth.xml
echo '{APP_XML}' > myproject_prj/vivado_hls.app
case " $3 " in *" vsynth=True "*) vivado -mode batch -source vivado_synth.tcl || fail "vivado failed";; esac
""")
    _write_exe(bin_dir / "vivado", f"""
[ "$*" = "-mode batch -source vivado_synth.tcl" ] || {{ echo "fake vivado: bad arguments: $*" >&2; exit 1; }}
grep -q 'report_utilization -file vivado_synth.rpt' vivado_synth.tcl || exit 1
cp '{fixture}/vivado_synth.rpt' vivado_synth.rpt
""")


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory put first on PATH."""
    d = tmp_path / "bin"
    d.mkdir()
    monkeypatch.setenv("PATH", f"{d}{os.pathsep}{os.environ.get('PATH', '')}")
    return d


@pytest.fixture
def no_tools_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH on which no HLS tool can be found."""
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _read_log(log: Path) -> tuple[Path, str]:
    cwd, args = log.read_text().splitlines()[:2]
    return Path(cwd), args


# ------------------------------------------------------------------------------------------------
# registration, availability, missing tools, wrong model backend


def test_backends_are_registered():
    assert _BACKENDS["vitis"] is VitisBackend and _BACKENDS["vivado"] is VivadoBackend
    assert (VitisBackend.executable, VivadoBackend.executable) == ("vitis-run", "vivado_hls")


@pytest.mark.usefixtures("no_tools_path")
@pytest.mark.parametrize(("cls", "hls_backend", "exe"), [(VitisBackend, "Vitis", "vitis-run"),
                                                          (VivadoBackend, "Vivado", "vivado_hls")])
def test_missing_tool_raises_tool_not_found(keras_model, tmp_path: Path, cls, hls_backend: str, exe: str):
    backend = cls()
    assert backend.available() is False
    model = _hls_model(keras_model, hls_backend, tmp_path / "prj", VITIS_PART)
    with pytest.raises(ToolNotFoundError, match=f"'{exe}' not found on PATH"):
        backend.cost(model, part=VITIS_PART, clock_ns=5.0)
    assert not (tmp_path / "prj").exists()  # nothing written when the tool is missing


def test_vsynth_also_needs_vivado(keras_model, tmp_path: Path, fake_bin: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(fake_bin))  # only the fakes, no real vivado
    _write_exe(fake_bin / "vivado_hls", "exit 0\n")
    assert VivadoBackend().available() is True
    assert VivadoBackend(vsynth=True).available() is False
    model = _hls_model(keras_model, "Vivado", tmp_path / "prj", VIVADO_PART)
    with pytest.raises(ToolNotFoundError, match="'vivado' not found on PATH: Vivado logic synthesis"):
        VivadoBackend(vsynth=True).cost(model, part=VIVADO_PART, clock_ns=5.0)


def test_model_converted_for_other_backend_is_rejected(keras_model, tmp_path: Path):
    vivado_model = _hls_model(keras_model, "Vivado", tmp_path / "a", VITIS_PART)
    with pytest.raises(ConfigError, match="backend 'Vivado'.*convert with backend='Vitis'"):
        VitisBackend().cost(vivado_model, part=VITIS_PART, clock_ns=5.0)
    vitis_model = _hls_model(keras_model, "Vitis", tmp_path / "b", VITIS_PART)
    with pytest.raises(ConfigError, match="backend 'Vitis'.*convert with backend='Vivado'"):
        VivadoBackend().cost(vitis_model, part=VITIS_PART, clock_ns=5.0)


# ------------------------------------------------------------------------------------------------
# across the tool boundary with fake tools


def test_vitis_cost_through_hls4ml_build(keras_model, shared_dir: Path, tmp_path: Path, fake_bin: Path):
    fixture = shared_dir / FIXTURES_REL / VITIS_CASE
    log = tmp_path / "vitis-run.log"
    _fake_vitis_run(fake_bin, fixture, log, clock="5")
    backend = VitisBackend()
    assert backend.available() is True
    # converted for another part and clock, into another directory: cost() re-points all three
    model = _hls_model(keras_model, "Vitis", tmp_path / "first", "xcvu9p-flga2577-2-e")
    out = tmp_path / "vitis_prj"
    report = backend.cost(model, part=VITIS_PART, clock_ns=5.0, output_dir=str(out))

    cwd, args = _read_log(log)
    assert cwd == out and args == "--tcl build_prj.tcl --mode hls"
    expected = parse_csynth_xml(fixture / "syn_report__myproject_csynth.xml")
    assert isinstance(report, HardwareReport)
    assert (report.backend, report.part, report.clock_ns) == ("vitis", VITIS_PART, 5.0)
    assert report.tool_version == "Vitis HLS 2022.2"
    assert report.details["tool"] == "Vitis HLS 2022.2 (Build 3670227 on Oct 13 2022)"
    assert (report.latency_cycles, report.latency_cycles_best, report.ii_cycles) == (15, 15, 1)
    assert (report.dsp, report.lut, report.ff, report.bram_18k, report.uram) == (
        expected.dsp, expected.lut, expected.ff, expected.bram_18k, expected.uram)
    assert report.clock_est_ns == pytest.approx(3.636)
    assert report.details["project_dir"] == str(out)
    assert (out / "build_stdout.log").is_file()  # tool output kept in the project (log_to_stdout=False)


def test_vivado_cost_with_vsynth_through_hls4ml_build(keras_model, shared_dir: Path, tmp_path: Path, fake_bin: Path):
    fixture = shared_dir / FIXTURES_REL / VIVADO_CASE
    log = tmp_path / "vivado_hls.log"
    _fake_vivado_hls(fake_bin, fixture, log, vsynth=True)
    out = tmp_path / "vivado_prj"
    model = _hls_model(keras_model, "Vivado", out, VIVADO_PART)
    cwd_before = Path.cwd()
    report = VivadoBackend(vsynth=True).cost(model, part=VIVADO_PART, clock_ns=5.0)

    cwd, args = _read_log(log)
    assert cwd == out
    assert args == ("-f build_prj.tcl reset=False csim=False synth=True cosim=False validation=False "
                    "export=False vsynth=True fifo_opt=False")
    assert Path.cwd() == cwd_before  # hls4ml's chdir is undone
    assert report.tool_version == "Vivado HLS 2019.2"
    assert (report.latency_cycles, report.ii_cycles, report.dsp, report.lut, report.ff) == (3, 1, 55, 1773, 1866)
    vs = parse_vivado_synth_rpt(fixture / "vivado_synth.rpt")
    assert report.details["vsynth"]["lut"] == vs.lut == 1219
    assert report.details["vsynth"]["dsp"] == 55
    assert report.utilisation()["dsp"] == pytest.approx(55 / 3600)


def test_failing_tool_raises_and_stale_reports_are_not_read(keras_model, shared_dir: Path, tmp_path: Path,
                                                            fake_bin: Path):
    out = tmp_path / "prj"
    _fake_vitis_run(fake_bin, shared_dir / FIXTURES_REL / VITIS_CASE, tmp_path / "log", clock="5")
    model = _hls_model(keras_model, "Vitis", out, VITIS_PART)
    VitisBackend().cost(model, part=VITIS_PART, clock_ns=5.0)  # leaves reports behind
    _write_exe(fake_bin / "vitis-run", "echo 'ERROR: [HLS 200-70] synthesis failed' >&2; exit 1\n")
    with pytest.raises(SynthesisError, match="vitis-run build failed.*build_stderr.log"):
        VitisBackend().cost(model, part=VITIS_PART, clock_ns=5.0)
    assert "synthesis failed" in (out / "build_stderr.log").read_text()
    assert not (out / "myproject_prj" / "solution1" / "syn" / "report" / "myproject_csynth.xml").exists()


def test_vivado_failure_is_detected_by_missing_reports(keras_model, tmp_path: Path, fake_bin: Path):
    # hls4ml's Vivado build ignores vivado_hls's exit status, so a failure shows only as missing reports
    _write_exe(fake_bin / "vivado_hls", "exit 1\n")
    model = _hls_model(keras_model, "Vivado", tmp_path / "prj", VIVADO_PART)
    with pytest.raises(SynthesisError, match="vivado_hls.*vivado_hls.log"):
        VivadoBackend().cost(model, part=VIVADO_PART, clock_ns=5.0)


def test_report_for_another_clock_is_rejected(keras_model, shared_dir: Path, tmp_path: Path, fake_bin: Path):
    # the fake accepts 4 ns but hands back the 5 ns fixture: the report is not the requested design's
    _fake_vitis_run(fake_bin, shared_dir / FIXTURES_REL / VITIS_CASE, tmp_path / "log", clock="4")
    model = _hls_model(keras_model, "Vitis", tmp_path / "prj", VITIS_PART)
    with pytest.raises(SynthesisError, match="target clock is 5.0 ns, expected 4.0 ns"):
        VitisBackend().cost(model, part=VITIS_PART, clock_ns=4.0)


# ------------------------------------------------------------------------------------------------
# the real tools (skipped where they are not installed)


def _check_plausible(report: HardwareReport, backend: str, tool: str) -> None:
    assert report.backend == backend and report.tool_version.startswith(tool)
    assert 0 <= report.latency_cycles_best <= report.latency_cycles < 1000
    assert 1 <= report.ii_cycles < 1000
    assert report.lut > 0 and report.ff >= 0 and 0 <= report.dsp <= 8  # 4x2 multiplications at most
    assert 0 < report.clock_est_ns < 10
    assert report.fits(0.05)


@pytest.mark.synthesis
@pytest.mark.skipif(shutil.which("vitis-run") is None, reason="Vitis (vitis-run) not on PATH")
def test_real_vitis_synthesis(keras_model, tmp_path: Path):
    model = _hls_model(keras_model, "Vitis", tmp_path / "prj", VITIS_PART)
    report = VitisBackend().cost(model, part=VITIS_PART, clock_ns=5.0)
    _check_plausible(report, "vitis", "Vitis HLS")


@pytest.mark.synthesis
@pytest.mark.skipif(shutil.which("vivado_hls") is None, reason="Vivado HLS (vivado_hls) not on PATH")
def test_real_vivado_hls_synthesis(keras_model, tmp_path: Path):
    model = _hls_model(keras_model, "Vivado", tmp_path / "prj", VIVADO_PART)
    report = VivadoBackend().cost(model, part=VIVADO_PART, clock_ns=5.0)
    _check_plausible(report, "vivado", "Vivado HLS")

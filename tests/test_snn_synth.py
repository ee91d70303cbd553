"""Synthesis of generated SNN designs: GHDL's Verilog equals the reference, Yosys results pass the latch and
gate-level checks, and a failed check is loud (a latch, or a netlist that differs from the reference)."""

from __future__ import annotations

import itertools
import subprocess

import numpy as np
import pytest

from dse.families.snn import ghdl, hdl, reference, synth
from dse.families.snn.network import random_network

pytestmark = pytest.mark.hdl


@pytest.fixture(autouse=True)
def _tools():
    ghdl.require_tools_for_tests(("ghdl", "iverilog", "vvp"))


def _net(neuron="LIF", scan="full", recurrent=False, readout=True, input_bits=1, sizes=(10, 6, 3)):
    return random_network(list(sizes), neuron=[neuron, "readout" if readout else neuron], time_steps=4, scan=scan,
                          theta=6, membrane_bits=6, weight_bits=5, weight_scale=1.0, recurrent=[recurrent, False],
                          input_bits=input_bits, seed=11)


COMBOS = list(itertools.product(["IF", "LIF", "LIF2"], ["full", "event"], [False, True], [False, True]))


@pytest.mark.parametrize("neuron, scan, recurrent, readout", COMBOS)
def test_ghdl_verilog_equals_reference(tmp_path, neuron, scan, recurrent, readout):
    """GHDL --synth's Verilog (before Yosys) simulated with iverilog: catches GHDL Verilog-writer defects
    (e.g. its logical `>>` for a signed shift_right, which broke every leaky neuron)."""
    net = _net(neuron, scan, recurrent, readout, input_bits=2)
    srcs = [p.name for p in ghdl.write_design(net, tmp_path) if p.name != f"{hdl.TB}.vhd"]
    v = synth.ghdl_to_verilog(tmp_path, srcs, 120)
    x = synth.check_samples(net, samples=2, seed=3)
    (tmp_path / hdl.INPUT_FILE).write_text(hdl.format_inputs(net, x))
    subprocess.run(["iverilog", "-g2012", "-o", "r.vvp", "-s", hdl.TB, f"{hdl.TB}.v", v.name], cwd=tmp_path,
                   check=True, capture_output=True)
    subprocess.run(["vvp", "-n", "r.vvp"], cwd=tmp_path, check=True, capture_output=True)
    spikes, mem, cycles = hdl.parse_outputs((tmp_path / hdl.OUTPUT_FILE).read_text(), net, 2)
    ref = reference.simulate(net, x)
    if readout:
        np.testing.assert_array_equal(mem, ref.readout)
    else:
        np.testing.assert_array_equal(spikes, ref.out_spikes)
    np.testing.assert_array_equal(cycles, ref.cycles[scan])


def test_xilinx_synthesis_checked_and_cached(tmp_path):
    ghdl.require_tools_for_tests(("yosys",))
    net = _net("LIF2", "event", recurrent=True)
    res = synth.synthesize(net, "xc7a35t", cache_dir=tmp_path / "cache", work_dir=tmp_path / "w")
    assert res.family == "xilinx" and res.latches == 0 and res.dsp == 0
    assert res.lut > 50 and res.ff > 30 and res.carry > 0
    assert res.checks["latch_free"] is True and res.checks["netlist_sim_equal_reference"] is True
    assert res.logic_depth is not None and 2 <= res.logic_depth < 60
    assert set(res.seconds) >= {"ghdl_synth", "yosys", "netlist_sim"}
    assert "Yosys" in res.tool_versions["yosys"] and res.tool_versions["ghdl"].startswith("GHDL")
    again = synth.synthesize(net, "xc7a35t", cache_dir=tmp_path / "cache")
    assert again.cached and again.lut == res.lut and again.hdl_hash == res.hdl_hash


@pytest.mark.slow
def test_large_rom_becomes_bram_and_its_netlist_simulates(tmp_path):
    """A weight memory mapped to RAMB18E1: checked with dse's behavioural BRAM models (~40 s)."""
    ghdl.require_tools_for_tests(("yosys",))
    net = random_network([256, 64, 2], time_steps=3, seed=2, weight_bits=6, membrane_bits=8, theta=12)
    res = synth.synthesize(net, "xc7a35t", check_inputs=synth.check_samples(net, samples=2), work_dir=tmp_path)
    assert res.bram >= 1 and res.dsp == 0
    assert res.checks["netlist_sim_equal_reference"] is True
    assert (tmp_path / "netlist_sim" / "rams_sim.v").exists()


def test_ecp5_place_and_route_gives_max_clock(tmp_path):
    ghdl.require_tools_for_tests(("yosys",))
    net = _net("LIF", "full", recurrent=False, readout=False, sizes=(8, 5, 3))
    res = synth.synthesize(net, "lfe5u-25f", work_dir=tmp_path)
    assert res.family == "ecp5" and res.checks["netlist_sim_equal_reference"] is True
    assert res.max_clock_mhz is not None and 10 < res.max_clock_mhz < 1000
    assert res.pnr_utilisation["TRELLIS_FF"]["used"] >= res.ff > 0


def test_ice40_flow(tmp_path):
    ghdl.require_tools_for_tests(("yosys",))
    net = _net("IF", "event", readout=False, sizes=(6, 4, 2))
    res = synth.synthesize(net, "ice40up5k-sg48", work_dir=tmp_path)
    assert res.family == "ice40" and res.checks["netlist_sim_equal_reference"] is True
    assert res.max_clock_mhz is not None and res.max_clock_mhz > 5


def _patched_write(monkeypatch, edit):
    real = synth.write_design

    def write(net, directory, testbench=True):
        paths = real(net, directory, testbench)
        for p in paths:
            text = edit(p.name, p.read_text())
            p.write_text(text)
        return paths

    monkeypatch.setattr(synth, "write_design", write)


def test_a_latch_is_rejected(tmp_path, monkeypatch):
    ghdl.require_tools_for_tests(("yosys",))

    def add_latch(name, text):
        if name != f"{hdl.TOP}.vhd":
            return text
        text = text.replace("  signal ov : std_logic;", "  signal ov : std_logic;\n  signal lat : std_logic;")
        text = text.replace("  out_valid <= ov;", "  process (all)\n  begin\n    if run = '1' then\n"
                            "      lat <= in_last;\n    end if;\n  end process;\n  out_valid <= ov or lat;")
        return text

    _patched_write(monkeypatch, add_latch)
    with pytest.raises(synth.SynthesisCheckError, match="latch"):
        synth.synthesize(_net(), "xc7a35t", work_dir=tmp_path)


def test_a_netlist_that_differs_from_the_reference_is_rejected(tmp_path, monkeypatch):
    ghdl.require_tools_for_tests(("yosys",))

    def off_by_one(name, text):
        return text.replace("v1 >= THETA", "v1 > THETA") if name == "snn_layer0.vhd" else text

    _patched_write(monkeypatch, off_by_one)
    with pytest.raises(synth.SynthesisCheckError, match="differs from the integer reference"):
        synth.synthesize(_net(), "xc7a35t", work_dir=tmp_path)


def test_parse_part():
    assert synth.parse_part("xc7a100tcsg324-1")["family"] == "xilinx"
    assert "xcu" in synth.parse_part("xczu3eg")["synth"]
    ecp = synth.parse_part("LFE5U-85F-8BG381C")
    assert ecp["pnr"][1:] == ["--85k", "--package", "CABGA381", "--speed", "8"]
    assert synth.parse_part("lfe5um-45f")["pnr"][1] == "--um-45k"
    assert synth.parse_part("ice40hx8k-ct256")["pnr"][1:] == ["--hx8k", "--package", "ct256"]
    with pytest.raises(ValueError, match="part: unknown"):
        synth.parse_part("ep4ce22")


def test_hdl_hash_changes_with_the_design():
    a, b = _net(), _net()
    assert synth.hdl_hash(a) == synth.hdl_hash(b)
    b.layers[0].weights[0, 0] ^= 1
    assert synth.hdl_hash(a) != synth.hdl_hash(b)


def test_project_folder_simulates_and_synthesizes_on_its_own(tmp_path):
    """build_project writes a folder that GHDL and Yosys handle with nothing but its own files."""
    import shutil

    from dse.families.snn import hdl_project

    ghdl.require_tools_for_tests(("yosys",))
    net = _net("LIF", "event", recurrent=True, readout=True, input_bits=2)
    x = synth.check_samples(net, samples=3, seed=9)
    res = hdl_project.build_project(net, x, tmp_path / "proj", part="xc7a35t")
    assert res.ghdl_equal_reference is True
    for key in ("hdl/snn_top.vhd", "tb/snn_tb.vhd", "weights/layer0.mem", "run_ghdl.sh", "run_yosys.sh",
                "vivado.tcl", "README.md", "sim/expected"):
        assert res.paths[key].exists(), key
    assert len(res.paths["weights/layer0.mem"].read_text().splitlines()) == 1 + net.layers[0].fan_in
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(tmp_path / "proj", moved)
    shutil.rmtree(tmp_path / "proj")
    shutil.rmtree(moved / "sim" / "ghdl_work")
    (moved / "sim" / hdl.OUTPUT_FILE).unlink()
    sim = subprocess.run(["bash", str(moved / "run_ghdl.sh")], capture_output=True, text=True, cwd=tmp_path)
    assert sim.returncode == 0 and "equal the integer reference" in sim.stdout, sim.stderr[-2000:]
    syn = subprocess.run(["bash", str(moved / "run_yosys.sh")], capture_output=True, text=True, cwd=tmp_path)
    assert syn.returncode == 0, syn.stderr[-2000:]
    stat = (moved / "synth" / "stat.txt").read_text()
    assert "LUT" in stat and "LDCE" not in stat
    # A wrong expectation is reported as a difference, not as success.
    exp = moved / "sim" / "expected_outputs.txt"
    exp.write_text(exp.read_text().replace("C ", "C 1", 1))
    bad = subprocess.run(["bash", str(moved / "run_ghdl.sh")], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "DIFFER" in bad.stderr

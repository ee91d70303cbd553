"""Faster C simulation without changing a bit: forked workers, parallel g++ units, and reuse of the
outputs of a numerically identical design (dse.hls.csim_cache)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from reliability_helpers import study_dict

from dse.families.lfads.testing import TINY, lfads_deploy, poisson_spikes
from dse.hls import HLSDesign, compile_model, csim_cache, run_csim
from dse.hls.cache import parallel_build_script

T, N = TINY["n_bins"], TINY["n_neurons"]
PAPER_PRECISION = HLSDesign(precision="ap_fixed<16,6>")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "dse-hls-cache"  # shared with the other hls tests


@pytest.fixture(scope="module")
def model():
    return lfads_deploy(3)


def test_forked_workers_give_identical_outputs(model, cache_dir) -> None:
    compiled = compile_model(model, PAPER_PRECISION, cache_dir)
    x = poisson_spikes(7, T, N, seed=5)
    one = run_csim(compiled.hls_model, x, workers=1)
    three = run_csim(compiled.hls_model, x, workers=3)
    np.testing.assert_array_equal(one["logrates"], three["logrates"])
    np.testing.assert_array_equal(one["factors"], three["factors"])
    # more workers than trials, and a single trial
    np.testing.assert_array_equal(run_csim(compiled.hls_model, x[:2], workers=5)["logrates"], one["logrates"][:2])
    np.testing.assert_array_equal(run_csim(compiled.hls_model, x[:1], workers=2)["factors"], one["factors"][:1])


def test_reuse_factor_and_strategy_do_not_change_outputs(model, cache_dir) -> None:
    """What makes reusing C-sim outputs across reuse factors sound (see dse.hls.csim_cache)."""
    other = dataclasses.replace(PAPER_PRECISION, strategy="Resource", reuse_factor=2, clock_period=4.0)
    a = compile_model(model, PAPER_PRECISION, cache_dir)
    b = compile_model(model, other, cache_dir)
    assert a.key != b.key  # really two different C++ projects
    x = poisson_spikes(6, T, N, seed=6)
    ya, yb = run_csim(a.hls_model, x), run_csim(b.hls_model, x)
    np.testing.assert_array_equal(ya["logrates"], yb["logrates"])
    np.testing.assert_array_equal(ya["factors"], yb["factors"])
    assert csim_cache.numeric_key("m", PAPER_PRECISION, x) == csim_cache.numeric_key("m", other, x)


def test_numeric_key_changes_with_what_changes_numbers() -> None:
    x = poisson_spikes(2, T, N, seed=1)
    base = csim_cache.numeric_key("m", PAPER_PRECISION, x)
    assert csim_cache.numeric_key("m2", PAPER_PRECISION, x) != base
    assert csim_cache.numeric_key("m", PAPER_PRECISION, x + 1) != base
    for changed in (dataclasses.replace(PAPER_PRECISION, precision="ap_fixed<16,7>"),
                    dataclasses.replace(PAPER_PRECISION, table_size=2048),
                    dataclasses.replace(PAPER_PRECISION, layer_precision=(("ic", "ap_fixed<20,8>"),))):
        assert csim_cache.numeric_key("m", changed, x) != base


def test_store_and_load_round_trip(tmp_path) -> None:
    from dse.hls.csim import CSimOutput

    out = CSimOutput({"logrates": np.arange(12.0).reshape(1, 3, 4) / 7, "factors": np.ones((1, 3, 2)) * 0.125}, 1.5)
    assert csim_cache.load(tmp_path, "k") is None
    csim_cache.store(tmp_path, "k", out)
    back = csim_cache.load(tmp_path, "k")
    np.testing.assert_array_equal(back["logrates"], out["logrates"])
    assert back.seconds == 1.5 and not list((tmp_path / "csim").glob(".*"))
    (tmp_path / "csim" / "k.npz").write_bytes(b"truncated")
    assert csim_cache.load(tmp_path, "k") is None  # recomputed, not a crash


SCRIPT = """#!/bin/bash
set -e
CC=g++
${CC} -O0 -fPIC -c a.cpp -o a.o
${CC} -O0 -fPIC -c b.cpp -o b.o
${CC} -shared a.o b.o -o lib.so
rm -f *.o
"""


def test_parallel_build_script_builds_and_fails_like_the_original(tmp_path: Path) -> None:
    par = parallel_build_script(SCRIPT)
    assert par is not None and par.count("& _dse_pid") == 2 and "wait $_dse_pid0; wait $_dse_pid1" in par
    (tmp_path / "a.cpp").write_text("int a() { return 1; }\n")
    (tmp_path / "b.cpp").write_text("int b() { return 2; }\n")
    ok = subprocess.run(["bash", "-c", par, "build_lib.sh"], cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "lib.so").is_file()
    (tmp_path / "lib.so").unlink()
    (tmp_path / "a.cpp").write_text("int a() { return }\n")  # the *first* unit fails while the second builds
    bad = subprocess.run(["bash", "-c", par, "build_lib.sh"], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode != 0 and "error" in bad.stderr
    assert not (tmp_path / "lib.so").exists()
    assert parallel_build_script("#!/bin/bash\nmake\n") is None  # another shape: left alone


def _trial_spec(tmp: Path, reuse_factor: int, strategy: str):
    from dse.study import parse_study
    from dse.trial.spec import TrialSpec

    study = study_dict("csim-reuse", n_trials=1, epochs=2,
                       quantization={"mode": "ptq", "ptq_integer_bits": 6, "ptq_fractional_bits": 8},
                       hls={"reuse_factor": reuse_factor, "strategy": strategy})
    cfg = parse_study(yaml.safe_dump(study), where="study.yaml", base_dir=tmp)
    return TrialSpec(study_name="csim-reuse", trial_number=reuse_factor, design=cfg.search_space().design_point({}),
                     data=cfg.data.spec(), objectives=cfg.objective_names,
                     work_dir=str(tmp / f"t{reuse_factor}"), model_cache_dir=str(tmp / "models"),
                     build_cache_dir=str(tmp / "hls"))


def test_trial_reuses_outputs_of_another_reuse_factor(tmp_path: Path) -> None:
    from dse.trial.runner import run_trial

    first = run_trial(_trial_spec(tmp_path, 1, "latency"))
    second = run_trial(_trial_spec(tmp_path, 2, "resource"))
    assert first.status == second.status == "complete", (first.fail_reason, second.fail_reason)
    assert first.cache["csim"] is False and second.cache["csim"] is True
    assert first.timings["gxx"] > 0 and second.timings["gxx"] == 0.0
    assert second.accuracy["csim"] == first.accuracy["csim"]
    project = Path(next(a.path for a in second.artifacts if a.kind == "hls_project"))  # written, not compiled
    assert (project / "firmware" / "myproject.cpp").is_file() and (project / "build_prj.tcl").is_file()
    assert second.hardware["dsp"] != first.hardware["dsp"] or second.hardware["latency_cycles"] != \
        first.hardware["latency_cycles"]  # costed as its own design
    spec = _trial_spec(tmp_path, 2, "resource")
    spec.reuse_csim = False
    third = run_trial(spec)  # recomputed from scratch: the same numbers
    assert third.cache["csim"] is False and third.accuracy["csim"] == first.accuracy["csim"]

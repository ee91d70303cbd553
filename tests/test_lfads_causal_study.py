"""Causal LFADS designs in a study: ``model.causal: {choices: [true, false]}`` puts both kinds on one front.

A real ``dse run`` (local Ray, SQLite, hls4ml compiles with g++): the causal design (with the lagged
controller, ``controller_lag: 1``, whose step carries the encoder's state in a fourth input) is one bin's step,
C-simulated once per bin carrying its states; its outputs are checked against the full causal Keras model
run over whole trials (an independent computation: one Keras graph over the sequence, not the step).
Slow: marked ``slow``.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
from reliability_helpers import dse as run_dse

pytestmark = pytest.mark.slow

STUDY = """
name: mixed
data:
  source: synthetic
  options: {n_trials: 30, n_bins: 12, n_neurons: 8, seed: 0}
model:
  causal: {choices: [true, false]}
  encoder_units: 6
  latent_units: 4
  factors: 2
  controller_units: 4
  controller_inputs: 2
  controller_lag: 1
train:
  epochs: 20
  batch_size: 8
quantization:
  mode: ptq
  ptq_integer_bits: 10
  ptq_fractional_bits: 14
hls:
  reuse_factor: 1
  strategy: latency
  table_size: 65536
objectives: [behavior_r2_bin, latency_us, lut]
constraints:
  max_utilisation: 1.0
sampler: {name: grid}
n_trials: 2
execution: {workers: 2, cpus_per_trial: 1, max_retries: 1}
hardware: {backend: estimate, part: xcu55c, clock_ns: 5.0}
"""


def dse(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_dse(*args, cwd=cwd, timeout=1500)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("mixed")
    (d / "study.yaml").write_text(textwrap.dedent(STUDY))
    r = dse("run", "study.yaml", "--no-progress", cwd=d)
    assert r.returncode == 0 and "2 complete" in r.stdout, r.stdout + r.stderr[-4000:]
    return d / "study.yaml"


def _requests(study: Path, monkeypatch) -> dict[bool, object]:
    from dse.commands._study import load, open_study
    from dse.verify.task import request_of

    monkeypatch.chdir(study.parent)
    cfg = load(str(study))
    st, s = open_study(cfg)
    reqs = [request_of(cfg, st, s, t.number) for t in s.trials]
    return {bool(r.params["model.causal"]): r for r in reqs}


def test_both_kinds_complete_and_say_what_their_latency_is_per(study):
    r = dse("pareto", "study.yaml", "--format", "json", cwd=study.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    r = dse("status", "study.yaml", "--front-rows", "0", cwd=study.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    from dse.commands._study import load, open_study, trial_rows

    cfg = load(str(study))
    st, s = open_study(cfg)
    rows = {row["params"]["model.causal"]: row for row in trial_rows(cfg, st, s.trials, s.trials)}
    assert rows[True]["latency_per"] == "bin" and rows[False]["latency_per"] == "trial"
    for row in rows.values():
        assert row["state"] == "COMPLETE" and np.isfinite(row["behavior_r2_bin"])
    # one bin's step is a fraction of the bidirectional design that reads all 12 bins before it answers
    assert rows[True]["latency_us"] < rows[False]["latency_us"]
    # a new bin can enter the step every ii_cycles (an objective a study can minimise)
    assert rows[True]["ii_cycles"] >= 1
    text = dse("pareto", "study.yaml", cwd=study.parent).stdout
    assert "latency_per" in text.splitlines()[0]


def test_the_streamed_c_simulation_equals_the_causal_keras_model(study, monkeypatch):
    """The C simulation the causal trial scored (cached under its numeric key) against the full causal Keras
    model over the same whole trials; the design is wide (ap_fixed<24,10>, 2^16-entry tables), so only the
    fixed-point rounding and the tables differ."""
    from dse.families.lfads.pipeline import FACTORS, LOGRATES, load_model
    from dse.hls import csim_cache
    from dse.hls.design import HLSDesign
    from dse.trial.context import sha256_file
    from dse.trial.runner import load_split

    req = _requests(study, monkeypatch)[True]
    model_file = Path(next(a.path for a in req.result.artifacts if a.kind == "model"))
    split = load_split(req.data)
    spikes = np.concatenate([split.train.spikes, split.test.spikes])
    key = csim_cache.numeric_key(sha256_file(model_file), HLSDesign.from_dict(req.design["hls"]), spikes)
    sim = csim_cache.load(req.build_cache_dir, key)
    assert sim is not None, "the trial's C simulation is not in the cache"
    logrates, factors = load_model(model_file).predict(spikes.astype("float32"), verbose=0)
    assert sim[FACTORS].shape == factors.shape and sim[LOGRATES].shape == logrates.shape
    np.testing.assert_allclose(sim[FACTORS], factors, rtol=0, atol=2e-2)
    np.testing.assert_allclose(sim[LOGRATES], logrates, rtol=0, atol=2e-2)
    assert np.abs(factors[:, 1:] - factors[:, :1]).max() > 0.05  # the factors move over a trial: a real check
    # the C simulation's factors are what the trial's behaviour decoder was scored on
    from objectives.decoding import behavior_r2

    n = len(split.train.spikes)
    r2 = behavior_r2(sim[FACTORS][:n], split.train.behavior, sim[FACTORS][n:], split.test.behavior, "bin")
    assert r2 == pytest.approx(req.result.objectives["behavior_r2_bin"], abs=1e-9)


def test_a_causal_design_is_rebuilt_as_its_step_for_a_real_tool(study, monkeypatch):
    from dse.families import get_family
    from dse.verify.task import retarget

    fam = get_family("lfads")
    causal = fam.lowered_design(retarget(_requests(study, monkeypatch)[True], "vitis"))
    names = [v.name for v in causal.get_input_variables()]
    # spikes_t, the 3 GRU states and (controller_lag 1) the encoder's state again for the controller
    assert names == ["spikes_t", "encoder_state", "controller_state", "generator_state", "encoder_state_lag"]
    bidir = fam.lowered_design(retarget(_requests(study, monkeypatch)[False], "vitis"))
    assert "encoder_state" not in [v.name for v in bidir.get_input_variables()]  # spikes (+ the zero input)


def test_a_study_with_an_inferred_initial_state_is_refused_at_load(tmp_path):
    text = textwrap.dedent(STUDY).replace("  controller_inputs: 2\n", "  controller_inputs: 2\n  ic_window: 3\n")
    (tmp_path / "study.yaml").write_text(text)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "model.ic_window" in r.stderr and "ic_window 0" in r.stderr
    assert not (tmp_path / "mixed.db").exists() and not (tmp_path / "runs").exists()


def test_compare_marks_each_design_causal_or_not(study, tmp_path):
    other = study.parent / "other.yaml"
    other.write_text(study.read_text().replace("name: mixed", "name: mixed2").replace(
        "causal: {choices: [true, false]}", "causal: true").replace("n_trials: 2", "n_trials: 1"))
    r = dse("run", "other.yaml", "--no-progress", cwd=study.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    r = dse("compare", "study.yaml", "other.yaml", "--format", "json", cwd=study.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(r.stdout)
    assert {row["study"] for row in rows} == {"mixed", "mixed2"}
    # mixed2 fixes causal: true (not a sampled parameter), mixed samples it
    assert all(row["causal"] == bool(row["params"].get("model.causal", row["study"] == "mixed2")) for row in rows)
    assert all(row["latency_per"] == ("bin" if row["causal"] else "trial") for row in rows)
    text = dse("compare", "study.yaml", "other.yaml", cwd=study.parent).stdout
    mixed = len({row["latency_per"] for row in rows}) > 1
    assert ("not the same quantity" in text) == mixed


def test_export_of_a_causal_design_streams_trials_through_its_step(study, tmp_path, monkeypatch):
    """The exported project's own testbench (g++ only) streams the test trials bin by bin, carrying the states,
    and reproduces dse's C simulation exactly; its outputs also follow the full causal Keras model over the same
    trials. A testbench that dropped the state between bins would fail: checked by resetting the states to
    their initial values after every bin."""
    from dse.families.lfads.pipeline import load_model
    from dse.families.lfads.stream_tb import read_results
    from dse.trial.runner import load_split

    req = _requests(study, monkeypatch)[True]
    out = tmp_path / "pkg"
    r = dse("export", "study.yaml", "--trial", str(req.number), "-o", str(out), cwd=study.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "per 10 ms bin" in (out / "README.md").read_text()
    sim = subprocess.run(["bash", str(out / "csim.sh")], capture_output=True, text=True, timeout=900)
    assert sim.returncode == 0, sim.stdout[-2000:] + sim.stderr[-3000:]
    assert "max |output - expected| = 0" in sim.stdout
    got = read_results(out / "hls_project/tb_data/csim_results.log")
    split = load_split(req.data)
    spikes = split.test.spikes[:5]
    n, t, n_neurons = spikes.shape
    logrates, factors = load_model(Path(next(a.path for a in req.result.artifacts if a.kind == "model"))).predict(
        spikes.astype("float32"), verbose=0)
    assert got.shape == (n * t, n_neurons + factors.shape[-1])
    np.testing.assert_allclose(got[:, :n_neurons], logrates.reshape(n * t, -1), rtol=0, atol=2e-2)
    np.testing.assert_allclose(got[:, n_neurons:], factors.reshape(n * t, -1), rtol=0, atol=2e-2)

    tb = out / "hls_project" / "myproject_test.cpp"
    lines = tb.read_text().splitlines()
    reset = [ln.strip() for ln in lines if re.search(r"_state(_lag)?\[i\] = init\[", ln)]
    carry = [i for i, ln in enumerate(lines) if re.search(r"_state(_lag)?\[i\] = layer", ln)]
    assert len(reset) == 4 and len(carry) == 4  # the lagged controller's encoder state is carried too
    tb.write_text("\n".join([*lines[: carry[-1] + 1], *reset, *lines[carry[-1] + 1:]]) + "\n")
    broken = subprocess.run(["bash", str(out / "csim.sh")], capture_output=True, text=True, timeout=900)
    assert broken.returncode == 1 and "max |output - expected| = 0\n" not in broken.stdout

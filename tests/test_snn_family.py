"""The SNN family as a study: dse run with real training, the integer reference and real GHDL + Yosys
(+ nextpnr) synthesis, status/pareto/export, and the shared training and synthesis caches."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import optuna
import pytest
from reliability_helpers import dse, write_study

pytestmark = pytest.mark.hdl

STUDY = {
    "name": "snnfam", "family": "snn",
    "data": {"source": "synthetic", "options": {"n_trials": 30, "n_bins": 10, "n_neurons": 6, "seed": 0}},
    "model": {"hidden_units": 4, "encoding": "current", "input_bits": 2},
    "train": {"epochs": 2, "batch_size": 8},
    "quantization": {"weight_bits": 6},
    "hdl": {"scan": {"choices": ["full", "event"]}, "reuse_factor": {"choices": [1, 2]}},
    "objectives": ["behavior_r2_bin", "latency_us", "lut"],
    "constraints": {"max_utilisation": 1.0},
    "sampler": {"name": "grid"}, "n_trials": 4,
    "execution": {"workers": 2, "cpus_per_trial": 1},
    "hardware": {"backend": "yosys", "part": "lfe5u-25f", "clock_ns": 20.0},
}


def _require_tools():
    from dse.families.snn.ghdl import require_tools_for_tests

    require_tools_for_tests(("ghdl", "iverilog"))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    _require_tools()
    d = tmp_path_factory.mktemp("snnfam")
    write_study(d, STUDY)
    r = dse("run", "study.yaml", "--no-progress", cwd=d, timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    return d


def _trials(d: Path):
    return optuna.load_study(study_name="snnfam", storage=f"sqlite:///{d / 'snnfam.db'}").get_trials()


def test_every_point_is_synthesized_checked_and_stored(study):
    trials = _trials(study)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    from storage import open_storage

    with open_storage(f"sqlite:///{study / 'snnfam.db'}") as st:
        for t in trials:
            r = st.project.load_result("snnfam", t.number)
            hw = r.hardware
            assert hw["backend"] == "yosys" and hw["lut"] > 0 and hw["ff"] > 0 and hw["dsp"] == 0
            assert hw["details"]["checks"]["latch_free"] and hw["details"]["checks"]["netlist_sim_equal_reference"]
            assert hw["clock_est_ns"], "nextpnr's achieved clock (ECP5)"
            assert "behavior_r2_bin" in r.accuracy["integer"] and "behavior_r2_bin" in r.accuracy["float"]
            assert r.objectives["lut"] == hw["lut"] and r.objectives["latency_cycles"] == hw["latency_cycles"]
            assert {a.kind for a in r.artifacts} >= {"model", "integer_network", "hdl_project", "hardware_report"}
        results = {t.number: st.project.load_result("snnfam", t.number) for t in trials}
    # one float training serves every point of the network
    assert sum(not r.cache["model"] for r in results.values()) == 1
    # the scan and the reuse factor change cycles, never a result bit
    by = {(t.params["hdl.reuse_factor"], t.params["hdl.scan"]): results[t.number] for t in trials}
    base = by[1, "full"].accuracy["integer"]["behavior_r2_bin"]
    assert all(r.accuracy["integer"]["behavior_r2_bin"] == base for r in by.values())
    for rf in (1, 2):
        assert by[rf, "event"].hardware["latency_cycles"] < by[rf, "full"].hardware["latency_cycles"]
    for scan in ("full", "event"):
        assert by[2, scan].hardware["latency_cycles"] > by[1, scan].hardware["latency_cycles"]
        assert by[2, scan].hardware["details"]["hdl_hash"] != by[1, scan].hardware["details"]["hdl_hash"]
    # activity per inference is stored as objectives, the same for every scan and reuse factor
    acts = [r.accuracy["activity"] for r in by.values()]
    assert all(a == acts[0] for a in acts) and acts[0]["spikes_layer0"] == acts[0]["spikes"]
    for r in by.values():
        assert r.objectives["synaptic_ops"] > 0 and r.objectives["spikes"] > 0
        assert 0 < r.objectives["input_density"] <= 1 and r.objectives["membrane_updates"] > 0
    # a decoder with one step per bin answers each bin: its latency is the worst closed-loop bin latency of
    # the test trials (reference.step_latency, checked against GHDL in test_snn_vhdl), far below a whole run's
    from dse.families.snn.network import QuantizedSNN
    from dse.families.snn.pipeline import description, load_task
    from dse.families.snn.reference import simulate, step_latency
    from dse.families.snn.train import encode_inputs
    from dse.study import load_study

    cfg = load_study(study / "study.yaml")
    for t in trials:
        r = results[t.number]
        assert r.hardware["latency_per"] == "bin"
        net = QuantizedSNN.from_dict(json.loads(Path(next(a.path for a in r.artifacts
                                                          if a.kind == "integer_network")).read_text()))
        design = cfg.search_space().design_point(r.params)
        task = load_task(design, cfg.data.spec())
        x = encode_inputs(description(design, task).encoding, task.test)
        lat = step_latency(net, x, simulate(net, x).spikes, net.scan)
        assert r.hardware["latency_cycles"] == int(lat.max()) < r.accuracy["integer"]["mean_cycles"] / 5


def test_status_pareto_and_compare_read_the_study(study):
    assert dse("status", "study.yaml", cwd=study).returncode == 0
    rows = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=study).stdout)
    assert rows and all(row["lut"] > 0 for row in rows)


def test_export_builds_from_its_folder_alone(study, tmp_path):
    rows = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=study).stdout)
    out = tmp_path / "pkg"
    r = dse("export", "study.yaml", "--trial", str(rows[0]["number"]), "-o", str(out), cwd=study)
    assert r.returncode == 0, r.stderr[-3000:]
    moved = tmp_path / "elsewhere"
    shutil.copytree(out, moved)  # nothing may point back into the study
    readme = (moved / "README.md").read_text()
    assert "ghdl" in readme.lower() and "yosys" in readme.lower()
    scripts = {p.name for p in moved.rglob("*")}
    assert {"design.json", "reports", "network.nir"} <= scripts
    _network_nir_is_the_integer_network(moved)
    # the package's own scripts: GHDL simulation to the expected outputs, Yosys synthesis
    for script in ("run_ghdl.sh", "run_yosys.sh"):
        found = list(moved.rglob(script))
        assert found, f"the package has no {script}: {sorted(scripts)}"
        p = subprocess.run(["bash", str(found[0])], cwd=found[0].parent, capture_output=True, text=True, timeout=900)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]


def _network_nir_is_the_integer_network(pkg: Path) -> None:
    """network.nir, imported and quantized at the package's bits, is network.json's integer network."""
    import numpy as np

    from dse.families.snn.model import QuantSpec
    from dse.families.snn.nir_import import import_file
    from dse.families.snn.quantize import to_quantized

    ref = json.loads(next(pkg.rglob("network.json")).read_text())
    back = to_quantized(import_file(pkg / "network.nir").model(),
                        QuantSpec(ref["weight_bits"], ref["membrane_bits"], ref["frac_bits"]), ref["time_steps"])
    for want, got in zip(ref["layers"], back.layers, strict=True):
        assert (want["neuron"], want["k_beta"], want["k_alpha"]) == (got.neuron, got.k_beta, got.k_alpha)
        np.testing.assert_array_equal(np.asarray(want["weights"]), got.weights)
        if want["recurrent_weights"] is not None:
            np.testing.assert_array_equal(np.asarray(want["recurrent_weights"]), got.recurrent_weights)
        if want["neuron"] != "readout":
            assert (want["theta_int"], want["reset"]) == (got.theta_int, got.reset)


def test_a_killed_worker_is_retried_on_the_snn_family(tmp_path):
    """The reliability behaviour of the driver holds for SNN trials: SIGKILL of the worker running trial 0
    fails it with the reason and re-runs it; the study completes with its design points."""
    import os
    import signal
    import time

    from optuna.trial import TrialState
    from reliability_helpers import (
        check_consistent,
        end_session,
        load_study,
        start_dse,
        trial_workers,
        wait_for,
    )

    _require_tools()
    # the two scans only: a grid as large as n_trials (with a larger grid, the retry would be asked after the
    # enqueued grid points Optuna hands out first, and the study would evaluate more points than n_trials)
    study = {**STUDY, "name": "snnkill", "n_trials": 2, "quantization": {"weight_bits": 6},
             "hdl": {"scan": {"choices": ["full", "event"]}},
             "train": {"epochs": 40, "batch_size": 8}, "execution": {"workers": 1, "max_retries": 1}}
    write_study(tmp_path, study)
    p = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    try:
        worker = wait_for("a worker running trial 0", lambda: trial_workers(p.pid), timeout=300, proc=p)[0]
        time.sleep(3)  # inside the training
        os.kill(worker, signal.SIGKILL)
        assert p.wait(timeout=900) == 0, (tmp_path / "driver.err").read_text()[-4000:]
    finally:
        end_session(p.pid)
    s = load_study(tmp_path, "snnkill")
    check_consistent(s, 2)
    t0 = s.trials[0]
    assert t0.state == TrialState.FAIL and t0.user_attrs["fail_reason"].startswith("worker died: ")
    retry = next(t for t in s.trials if t.system_attrs.get("failed_trial") == 0)
    assert retry.state == TrialState.COMPLETE and retry.params == t0.params

"""Estimate in the loop, Yosys for the front: an SNN study with ``hdl-estimate`` and ``verify: {backend: yosys}``
(real snnTorch training, real GHDL + Yosys), then ``dse verify --trial N --backend yosys`` after the fact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_helpers import cli_env, dse, write_study

pytestmark = [pytest.mark.hdl, pytest.mark.slow]

STUDY = {
    "name": "snnver", "family": "snn",
    "data": {"source": "synthetic", "options": {"n_trials": 30, "n_bins": 10, "n_neurons": 6, "seed": 0}},
    "model": {"hidden_units": 4, "encoding": "current", "input_bits": 2},
    "train": {"epochs": 2, "batch_size": 8},
    "quantization": {"weight_bits": {"choices": [4, 6]}},
    "hdl": {"scan": "full"},
    "objectives": ["behavior_r2_bin", "latency_us", "lut"],
    "sampler": {"name": "grid"}, "n_trials": 2,
    "execution": {"workers": 1, "cpus_per_trial": 1},
    "hardware": {"backend": "hdl-estimate", "part": "xc7a35t", "clock_ns": 10.0,
                 "verify": {"backend": "yosys", "top_k": 1}},
}


def _yosys_of_trial(st, number: int, work: Path) -> dict:
    """Yosys run here on the HDL of the trial's stored integer network (no synthesis cache)."""
    from dse.cost.registry import get_backend
    from dse.families.snn.lowering import SNNHardware
    from dse.families.snn.network import QuantizedSNN
    from dse.families.snn.pipeline import description, load_task
    from dse.families.snn.train import encode_inputs
    from dse.study import load_study

    cfg = load_study(work / "study.yaml")
    result = st.project.load_result("snnver", number)
    net = QuantizedSNN.from_dict(json.loads(Path(next(a.path for a in result.artifacts
                                                  if a.kind == "integer_network")).read_text()))
    design = cfg.search_space().design_point(result.params)
    task = load_task(design, cfg.data.spec())
    hw = SNNHardware(net, encode_inputs(description(design, task).encoding, task.test), cache_dir=None)
    return get_backend("yosys").cost(hw, part="xc7a35t", clock_ns=10.0, output_dir=str(work / f"own-{number}")).to_dict()


def test_an_estimated_snn_study_ends_with_a_yosys_verified_front(tmp_path):
    from dse.families.snn.ghdl import require_tools_for_tests
    from storage import open_storage

    require_tools_for_tests(("ghdl",))
    write_study(tmp_path, STUDY)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    st = open_storage(f"sqlite:///{tmp_path / 'snnver.db'}")
    rows = st.verifications.rows("snnver")
    assert rows and all(v.status == "done" and v.backend == "yosys" for v in rows), rows
    front = {row["number"]: row for row in json.loads(dse("pareto", "study.yaml", "--format", "json",
                                                          cwd=tmp_path).stdout)}
    best = max(front, key=lambda n: front[n]["behavior_r2_bin"])
    assert best in {v.trial_number for v in rows}  # the front's best design is verified
    for v in rows:
        est = st.project.load_result("snnver", v.trial_number).hardware
        assert est["backend"] == "hdl-estimate" and v.hardware["backend"] == "yosys"
        own = _yosys_of_trial(st, v.trial_number, tmp_path)
        assert {k: v.hardware[k] for k in ("lut", "ff", "dsp", "bram_18k")} == {
            k: own[k] for k in ("lut", "ff", "dsp", "bram_18k")}
        if v.trial_number in front:
            row = front[v.trial_number]
            assert row["hardware_source"] == "Yosys synthesis" and row["lut"] == own["lut"]
            assert row["estimate_lut"] == est["lut"]
    status = dse("status", "study.yaml", cwd=tmp_path, env=cli_env(COLUMNS="300"))
    assert "verification (yosys): done" in status.stdout, status.stdout



def test_dse_verify_re_costs_an_estimated_snn_design_with_yosys_after_the_fact(tmp_path):
    from dse.families.snn.ghdl import require_tools_for_tests
    from storage import open_storage

    require_tools_for_tests(("ghdl",))
    hardware = {k: v for k, v in STUDY["hardware"].items() if k != "verify"}
    write_study(tmp_path, {**STUDY, "quantization": {"weight_bits": 4}, "n_trials": 1, "hardware": hardware,
                           "sampler": {"name": "random", "seed": 0}})
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    st = open_storage(f"sqlite:///{tmp_path / 'snnver.db'}")
    assert st.verifications.rows("snnver") == []
    r = dse("verify", "study.yaml", "--trial", "0", "--backend", "yosys", cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    real = st.verifications.done("snnver")[0].hardware
    assert real["backend"] == "yosys" and "trial 0: Yosys synthesis: " in r.stdout
    assert real["lut"] == _yosys_of_trial(st, 0, tmp_path)["lut"]
    row = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=tmp_path).stdout)[0]
    assert (row["hardware_source"], row["lut"]) == ("Yosys synthesis", real["lut"])
    assert row["estimate_lut"] == st.project.load_result("snnver", 0).hardware["lut"]

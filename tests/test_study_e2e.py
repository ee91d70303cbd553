"""A real study end to end: dse run (real local Ray, real SQLite), status, pareto, plot, export.

Slow (trains small models, compiles hls4ml projects with g++): marked ``slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import optuna
import pytest

pytestmark = pytest.mark.slow

STUDY = """
name: e2e
data:
  source: synthetic
  options: {n_trials: 30, n_bins: 12, n_neurons: 8, seed: 0}
model:
  encoder_units: 6
  latent_units: {choices: [4, 6]}
  factors: 2
train:
  epochs: 4
  batch_size: 8
quantization:
  mode: ptq
  ptq_integer_bits: 6
  ptq_fractional_bits: {choices: [6, 10]}
hls:
  reuse_factor: 1
  strategy: latency
objectives: [behavior_r2, latency_us, lut]
constraints:
  max_utilisation: 1.0
sampler: {name: grid}  # the 4 points once each (repeats of random sampling: test_duplicates.py)
n_trials: 4
execution: {workers: 2, cpus_per_trial: 1, max_retries: 1}
hardware: {backend: estimate, part: xcu55c, clock_ns: 5.0}
"""


def dse(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dse.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=1500)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("study")
    (d / "study.yaml").write_text(textwrap.dedent(STUDY))
    r = dse("run", "study.yaml", "--no-progress", cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    assert "Pareto front:" in r.stdout
    return d / "study.yaml"


def _study(path: Path) -> optuna.Study:
    return optuna.load_study(study_name="e2e", storage=f"sqlite:///{path.parent / 'e2e.db'}")


def test_run_completes_and_stores_every_trial(study):
    s = _study(study)
    trials = s.get_trials()
    assert len(trials) == 4
    assert all(t.state.name == "COMPLETE" for t in trials), [t.user_attrs.get("fail_reason") for t in trials]
    for t in trials:
        assert {"behavior_r2", "latency_us", "lut", "dsp", "backend"} <= set(t.user_attrs)
        assert t.user_attrs["constraints"] and all(np.isfinite(t.user_attrs["constraints"]))
    # the dse tables hold the full record of each trial
    from storage import open_storage

    st = open_storage(f"sqlite:///{study.parent / 'e2e.db'}")
    df = st.project.results("e2e")
    assert len(df) == 4 and set(df["status"]) == {"complete"}
    r = st.project.load_result("e2e", 0)
    assert r.hardware["backend"] == "estimate" and "csim" in r.accuracy and "float" in r.accuracy
    assert {"train", "compile", "csim", "cost"} <= set(r.timings)


def test_rerun_resumes_without_new_trials(study):
    r = dse("run", "study.yaml", "--no-progress", cwd=study.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "(0 run now" in r.stdout
    assert len(_study(study).get_trials()) == 4


def test_pareto_json_matches_optuna_best_trials(study):
    r = dse("pareto", "study.yaml", "--format", "json", cwd=study.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(r.stdout)
    s = _study(study)
    from objectives.constraints import feasible, n_constraints

    best = sorted(t.number for t in s.best_trials if feasible(t, n_constraints(s.user_attrs)))
    assert sorted(row["number"] for row in rows) == best
    for row in rows:
        assert {"number", "params", "behavior_r2", "latency_us", "lut", "dsp", "npll"} <= set(row)


def test_pareto_csv_and_parquet(study, tmp_path):
    import pandas as pd

    r = dse("pareto", "study.yaml", "--format", "parquet", "-o", str(tmp_path / "p.parquet"), cwd=study.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    df = pd.read_parquet(tmp_path / "p.parquet")
    assert "behavior_r2" in df.columns and len(df) >= 1
    r = dse("pareto", "study.yaml", "--format", "csv", cwd=study.parent)
    assert r.returncode == 0 and r.stdout.splitlines()[0].startswith("number,")


def test_status_and_plot(study, tmp_path):
    r = dse("status", "study.yaml", cwd=study.parent)
    assert r.returncode == 0 and "complete 4" in r.stdout, r.stdout + r.stderr[-2000:]
    r = dse("plot", "study.yaml", "-o", str(tmp_path / "plots"), cwd=study.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    names = {p.name for p in (tmp_path / "plots").iterdir()}
    assert "pareto_behavior_r2_vs_latency_us.png" in names and "pareto_behavior_r2_vs_latency_us.html" in names


def test_optuna_cli_reads_the_study(study):
    exe = Path(sys.executable).parent / "optuna"
    r = subprocess.run([str(exe), "trials", "--study-name", "e2e", "--storage",
                        f"sqlite:///{study.parent / 'e2e.db'}", "-f", "json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(json.loads(r.stdout)) == 4


def test_export_compiles_and_simulates_from_the_folder_alone(study, tmp_path):
    s = _study(study)
    number = min(t.number for t in s.best_trials)
    out = tmp_path / "pkg"
    r = dse("export", "study.yaml", "--trial", str(number), "-o", str(out), cwd=study.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    for name in ("README.md", "design.json", "hls_config.yml", "model/model.h5", "reports/hardware.json",
                 "hls_project/build_prj.tcl", "hls_project/firmware/myproject.cpp"):
        assert (out / name).exists(), name
    # g++ alone, in the exported folder: the testbench reproduces the stored C-simulation outputs
    sim = subprocess.run(["bash", str(out / "csim.sh")], capture_output=True, text=True, timeout=900)
    assert sim.returncode == 0, sim.stderr[-3000:]
    got = [list(map(float, ln.split())) for ln in (out / "hls_project/tb_data/csim_results.log").read_text().splitlines()]
    want = [list(map(float, ln.split())) for ln in
            (out / "hls_project/tb_data/tb_output_predictions.dat").read_text().splitlines()]
    got_rows = [a + b for a, b in zip(got[::2], got[1::2], strict=True)]  # logrates line + factors line
    assert np.allclose(np.array(got_rows), np.array(want), atol=1e-6)


def test_a_finished_design_is_rebuilt_for_a_real_tool(study, monkeypatch):
    """What a verification of an LFADS trial costs: its hls4ml model rebuilt from the stored model and design
    (the estimate of the rebuild is the trial's own estimate), in the HLS flavour of the verifying tool; the
    real tools are run up to the tool (not installed here: a one-line refusal before anything is queued)."""
    import shutil

    from dse.commands._study import load, open_study
    from dse.errors import ToolNotFoundError
    from dse.families import get_family
    from dse.verify.task import recost, request_of, retarget
    from dse.verify.view import report_metrics

    monkeypatch.chdir(study.parent)
    cfg = load(str(study))
    st, s = open_study(cfg)
    number = min(t.number for t in s.best_trials)
    request = request_of(cfg, st, s, number)
    stored = st.project.load_result(cfg.name, number).hardware
    assert report_metrics(recost(request, "estimate")) == report_metrics(stored)
    fam = get_family("lfads")
    assert fam.lowered_design(retarget(request, "vivado")).config.backend.name == "Vivado"
    assert fam.lowered_design(retarget(request, "vitis")).config.backend.name == "Vitis"
    if shutil.which("vitis-run") is None:
        with pytest.raises(ToolNotFoundError, match="vitis-run"):
            recost(request, "vitis")
        r = dse("verify", "study.yaml", "--trial", str(number), "--backend", "vitis", cwd=study.parent)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "vitis-run not on PATH" in r.stderr
        assert st.verifications.rows(cfg.name) == []


def test_export_refuses_bad_targets(study, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep")
    r = dse("export", "study.yaml", "--trial", "0", "-o", str(tmp_path / "full"), cwd=study.parent)
    assert r.returncode == 2 and "not an empty directory" in r.stderr
    assert (tmp_path / "full" / "x").read_text() == "keep"
    r = dse("export", "study.yaml", "--trial", "999", "-o", str(tmp_path / "new"), cwd=study.parent)
    assert r.returncode == 2 and "--trial" in r.stderr and not (tmp_path / "new").exists()

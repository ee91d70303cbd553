"""`dse pareto` shows the uncertainty a cost backend states for each hardware metric, on a real study."""

from __future__ import annotations

import json

import pytest
from reliability_helpers import dse, tiny_study_dict, write_study

from dse.commands import _study

UNC = {"latency": 0.318, "dsp": 0.085, "lut": 0.238, "ff": 0.245, "bram": None}


def test_uncertainty_columns():
    cols = _study.uncertainty_columns({"details": {"uncertainty": UNC}})
    assert cols == {"latency_us_err": 0.318, "latency_cycles_err": 0.318, "dsp_err": 0.085, "lut_err": 0.238,
                    "ff_err": 0.245}
    assert _study.uncertainty_columns(None) == {} == _study.uncertainty_columns({"details": {}})


@pytest.fixture(scope="module")
def real_study(tmp_path_factory):
    """A tiny study run by `dse run` (real Ray, real SQLite), whose first front trial's stored report then
    states the estimator's uncertainty, as an estimating backend stores it; the other trials' reports keep none
    (a synthesis report, or a trial stored before backends stated one)."""
    from dse.driver.optuna_api import trial_id
    from dse.study import load_study
    from dse.study.config import storage_url
    from dse.study.storage import open_study_storage

    root = tmp_path_factory.mktemp("unc")
    write_study(root, tiny_study_dict("unc", n_trials=3))
    r = dse("run", "study.yaml", "--no-progress", cwd=root, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    front = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=root).stdout)
    assert front and all("latency_us_err" not in row for row in front)  # the analytic model states none
    cfg = load_study(root / "study.yaml")
    st = open_study_storage(storage_url(cfg))
    first = front[0]["number"]
    result = st.project.load_result("unc", first)
    result.hardware["details"]["uncertainty"] = UNC
    trial = next(t for t in st.optuna.get_all_trials(st.optuna.get_study_id_from_name("unc")) if t.number == first)
    st.project.save_result("unc", trial_id(trial), first, result)
    return root, first, [row["number"] for row in front]


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_pareto_shows_the_uncertainty(real_study, fmt):
    root, first, numbers = real_study
    out = root / f"p.{fmt}"
    r = dse("pareto", "study.yaml", "--format", fmt, "-o", str(out), cwd=root)
    assert r.returncode == 0, r.stderr[-2000:]
    text = out.read_text()
    if fmt == "json":
        rows = {row["number"]: row for row in json.loads(text)}
        assert sorted(rows) == numbers
        assert rows[first]["latency_us_err"] == 0.318 and rows[first]["lut_err"] == 0.238
        assert "bram_18k_err" not in rows[first]  # a metric the backend gives no error for
        assert all("latency_us_err" not in row for n, row in rows.items() if n != first)
    elif fmt == "csv":
        header = text.splitlines()[0].split(",")
        assert {"latency_us_err", "dsp_err", "lut_err"} <= set(header)
    else:
        lines = text.splitlines()
        header = lines[0].split()
        assert header[:6] == ["number", "behavior_r2", "latency_us", "latency_us_err", "lut", "lut_err"]
        row = next(line.split() for line in lines[1:] if line.split()[0] == str(first))
        assert row[3] == "0.318" and row[5] == "0.238"


@pytest.mark.slow
def test_pareto_shows_the_estimators_own_uncertainty_on_an_lfads_study(tmp_path):
    """A real LFADS study (tests/fixtures/pinned_study.yaml's small PTQ design, one trial) costed by the
    ``estimate`` backend: `dse pareto` shows the uncertainty that backend stored with the trial's report,
    nothing injected."""
    from pathlib import Path

    import yaml

    from dse.study import load_study
    from dse.study.config import storage_url
    from dse.study.storage import open_study_storage

    study = yaml.safe_load((Path(__file__).parent / "fixtures" / "pinned_study.yaml").read_text())
    study.update(name="uncl", n_trials=1, sampler={"name": "random", "seed": 0})
    study["quantization"]["mode"] = "ptq"
    write_study(tmp_path, study)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    (row,) = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=tmp_path).stdout)
    st = open_study_storage(storage_url(load_study(tmp_path / "study.yaml")))
    hardware = st.project.load_result("uncl", row["number"]).hardware
    assert hardware["backend"] == "estimate"
    unc = hardware["details"]["uncertainty"]
    assert all(0 < unc[k] < 1 for k in ("latency", "dsp", "lut")), unc
    assert (row["latency_us_err"], row["dsp_err"], row["lut_err"]) == (unc["latency"], unc["dsp"], unc["lut"])
    assert row["latency_us"] == hardware["latency_us"] and row["lut"] == hardware["lut"]

"""`dse pareto` shows the estimator's uncertainty of each hardware metric."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import optuna
import pytest

from dse.commands import _study, pareto
from dse.trial.result import TrialResult

UNC = {"latency": 0.318, "dsp": 0.085, "lut": 0.238, "ff": 0.245, "bram": None}


def test_uncertainty_columns():
    cols = _study.uncertainty_columns({"details": {"uncertainty": UNC}})
    assert cols == {"latency_us_err": 0.318, "latency_cycles_err": 0.318, "dsp_err": 0.085, "lut_err": 0.238,
                    "ff_err": 0.245}
    assert _study.uncertainty_columns(None) == {} == _study.uncertainty_columns({"details": {}})


@pytest.fixture
def fake_study(monkeypatch):
    dist = {"x": optuna.distributions.IntDistribution(1, 4)}
    trials = [optuna.trial.create_trial(params={"x": x}, distributions=dist, values=[0.5 + x / 10, 10.0 * x])
              for x in (1, 2)]
    for n, t in enumerate(trials):
        t.number = n
    results = {
        0: TrialResult({"x": 1}, objectives={"behavior_r2": 0.6, "latency_us": 10.0},
                       hardware={"latency_us": 10.0, "details": {"uncertainty": UNC}}),
        1: TrialResult({"x": 2}, objectives={"behavior_r2": 0.7, "latency_us": 20.0},
                       hardware={"latency_us": 20.0}),  # stored before estimates had an uncertainty
    }
    cfg = SimpleNamespace(name="s", objective_names=["behavior_r2", "latency_us"])
    st = SimpleNamespace(project=SimpleNamespace(load_result=lambda name, n: results[n]))
    study = SimpleNamespace(get_trials=lambda deepcopy=False: trials)
    monkeypatch.setattr(_study, "load", lambda path: cfg)
    monkeypatch.setattr(_study, "open_study", lambda c: (st, study))
    import objectives.pareto

    monkeypatch.setattr(objectives.pareto, "study_pareto", lambda s: trials)


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_pareto_shows_the_uncertainty(fake_study, fmt, tmp_path):
    out = tmp_path / f"p.{fmt}"
    pareto.run(argparse.Namespace(study="study.yaml", format=fmt, output=out))
    text = out.read_text()
    if fmt == "json":
        rows = json.loads(text)
        assert rows[0]["latency_us_err"] == 0.318 and rows[0]["lut_err"] == 0.238
        assert "latency_us_err" not in rows[1]
    elif fmt == "csv":
        header = text.splitlines()[0].split(",")
        assert {"latency_us_err", "dsp_err", "lut_err"} <= set(header)
    else:
        header = text.splitlines()[0].split()
        assert header[:4] == ["number", "behavior_r2", "latency_us", "latency_us_err"]
        assert "0.318" in text.splitlines()[1]

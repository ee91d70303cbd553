"""The cost-aware sampler runs the cheap points of a trained model before paying for another training."""

from __future__ import annotations

import optuna
import yaml
from reliability_helpers import dse, tiny_study_dict, write_study

from dse.study import parse_study
from search_spaces import make_sampler
from search_spaces.cost_aware import CostAwareSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {"model": {"lags": {"choices": [1, 2]}}, "quantization": {"weight_bits": {"choices": [6, 8, 12]},
                                                                   "frac_bits": 4},
         "hardware_model": {"parallel_macs": {"choices": [1, 4]}}}


def _config(**changes):
    d = tiny_study_dict("ca", n_trials=12, sampler={"name": "cost-aware", "seed": 0}, **SPACE)
    d.update(changes)
    return parse_study(yaml.safe_dump(d), where="ca.yaml")


def test_a_cheap_point_comes_before_an_expensive_one():
    cfg = _config()
    sampler = make_sampler(cfg)
    assert isinstance(sampler, CostAwareSampler)
    study = optuna.create_study(directions=cfg.directions, sampler=sampler)
    space = cfg.search_space()
    # no trained model yet: nothing is cheap, the wrapped sampler proposes
    assert sampler.next_point(study) is None
    first = {"model.lags": 2, "quantization.weight_bits": 8, "hardware_model.parallel_macs": 4}
    study.enqueue_trial(first)
    t = study.ask()
    space.sample(t)
    study.tell(t, [0.5, 1.0, 100.0])
    # candidates now: 5 unevaluated points of the trained lags=2 model (cheap) and 6 of lags=1 (a new
    # training): the policy takes the cheap ones, all of them, before any lags=1 point
    seen = []
    while (p := sampler.next_point(study)) is not None:
        assert p["model.lags"] == 2, p
        assert sampler.training_key(p) == sampler.training_key(first)
        study.enqueue_trial(p)
        t = study.ask()
        space.sample(t)
        study.tell(t, [0.5, 1.0, 100.0])
        seen.append((p["quantization.weight_bits"], p["hardware_model.parallel_macs"]))
    assert len(seen) == len(set(seen)) == 5
    # the extremes of the cheap parameters come first
    assert {seen[0][0], seen[1][0]} <= {6, 12} or {seen[0][1], seen[1][1]} <= {1, 4}


def test_cheap_per_model_bounds_the_neighbourhood():
    cfg = _config(sampler={"name": "cost-aware", "seed": 0, "options": {"cheap_per_model": 2}})
    sampler = make_sampler(cfg)
    study = optuna.create_study(directions=cfg.directions, sampler=sampler)
    space = cfg.search_space()
    for p in ({"model.lags": 1, "quantization.weight_bits": 6, "hardware_model.parallel_macs": 1},
              {"model.lags": 1, "quantization.weight_bits": 12, "hardware_model.parallel_macs": 1}):
        study.enqueue_trial(p)
        t = study.ask()
        space.sample(t)
        study.tell(t, [0.1, 1.0, 10.0])
    assert sampler.next_point(study) is None  # two points of that model: the next one is the base sampler's


def test_a_cost_aware_study_explores_each_trained_model_first(tmp_path):
    write_study(tmp_path, tiny_study_dict("ca", n_trials=12, sampler={"name": "cost-aware", "seed": 0}, **SPACE))
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    s = optuna.load_study(study_name="ca", storage=f"sqlite:///{tmp_path / 'ca.db'}")
    lags = [t.params["model.lags"] for t in sorted(s.trials, key=lambda t: t.number)
            if t.user_attrs.get("duplicate_of") is None]  # the base sampler may repeat a point: not run
    # 12 points, 6 per training: the first model's 6 points are all run before the second training
    assert len(lags) == 12 and lags[:6] == [lags[0]] * 6 and lags[6:] == [lags[6]] * 6, lags

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
    # first the free point (same simulation, other hardware: only a cost evaluation), then the cheap ones
    # (new precision of the trained model), each followed by its free variant
    assert seen[0] == (8, 1)
    assert seen[1][0] in (6, 12) and seen[2] == (seen[1][0], 1 if seen[1][1] == 4 else 4)


def test_cheap_per_model_bounds_the_simulations_not_the_free_points():
    cfg = _config(sampler={"name": "cost-aware", "seed": 0, "options": {"cheap_per_model": 2}})
    sampler = make_sampler(cfg)
    study = optuna.create_study(directions=cfg.directions, sampler=sampler)
    space = cfg.search_space()

    def run(p):
        study.enqueue_trial(p)
        t = study.ask()
        space.sample(t)
        study.tell(t, [0.1, 1.0, 10.0])

    for p in ({"model.lags": 1, "quantization.weight_bits": 6, "hardware_model.parallel_macs": 1},
              {"model.lags": 1, "quantization.weight_bits": 12, "hardware_model.parallel_macs": 1}):
        run(p)
    free = []
    while (p := sampler.next_point(study)) is not None:
        free.append(p)
        run(p)
    # the two free variants, then nothing: two simulations of that model, the next one is the base sampler's
    assert [(p["quantization.weight_bits"], p["hardware_model.parallel_macs"]) for p in free] == [(6, 4), (12, 4)]


def test_default_and_unbounded_cheap_per_model():
    from search_spaces.cost_aware import DEFAULT_CHEAP_PER_MODEL

    assert make_sampler(_config()).cheap_per_model == DEFAULT_CHEAP_PER_MODEL
    unbounded = _config(sampler={"name": "cost-aware", "seed": 0, "options": {"cheap_per_model": "all"}})
    assert make_sampler(unbounded).cheap_per_model is None


def test_a_cost_aware_study_explores_each_trained_model_first(tmp_path):
    write_study(tmp_path, tiny_study_dict("ca", n_trials=12, sampler={"name": "cost-aware", "seed": 0}, **SPACE))
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    s = optuna.load_study(study_name="ca", storage=f"sqlite:///{tmp_path / 'ca.db'}")
    lags = [t.params["model.lags"] for t in sorted(s.trials, key=lambda t: t.number)
            if t.user_attrs.get("duplicate_of") is None]  # the base sampler may repeat a point: not run
    # 12 points, 6 per training: the first model's 6 points are all run before the second training
    assert len(lags) == 12 and lags[:6] == [lags[0]] * 6 and lags[6:] == [lags[6]] * 6, lags


def test_a_fine_tuned_qat_point_makes_its_float_models_points_cheap():
    """LFADS: a QAT point fine-tunes the float model that PTQ points use, so once it has finished, another
    reuse factor of it is free and a PTQ precision is cheap; another QAT width (a new fine-tuning) is not."""
    text = yaml.safe_dump({
        "name": "lf", "objectives": ["behavior_r2", "latency_us"], "n_trials": 20,
        "sampler": {"name": "cost-aware", "seed": 0},
        "quantization": {"mode": {"choices": ["ptq", "qat"]}, "ptq_fractional_bits": {"choices": [8, 10]},
                         "qat_total_bits": {"choices": [8, 12]}},
        "hls": {"parallelism": {"choices": ["ic=1", "ic=2"]}}})
    cfg = parse_study(text, where="lf.yaml")
    family = cfg.search_space().family
    qat = {"quantization.mode": "qat", "quantization.qat_total_bits": 8, "hls.parallelism": "ic=1"}
    ptq = {"quantization.mode": "ptq", "quantization.ptq_fractional_bits": 8, "hls.parallelism": "ic=1"}
    space = cfg.search_space()
    float_key, own = family.training_keys(space.resolve(qat))
    assert float_key == family.training_key(space.resolve(ptq)) != own
    assert family.simulation_key(space.resolve(qat)) == family.simulation_key(
        space.resolve({**qat, "hls.parallelism": "ic=2"}))
    sampler = make_sampler(cfg)
    study = optuna.create_study(directions=cfg.directions, sampler=sampler)
    study.enqueue_trial(qat)
    t = study.ask()
    space.sample(t)
    # while it runs (training the float model, then fine-tuning), a second worker simulates a PTQ precision
    # of the float model -- it waits for that training, then simulates -- rather than a variant of the
    # running trial, which would only wait for its simulation
    running = sampler.next_point(study)
    assert running is not None and running["quantization.mode"] == "ptq"
    study.tell(t, [0.5, 1.0])
    order = []
    while (p := sampler.next_point(study)) is not None:
        order.append(p)
        study.enqueue_trial(p)
        t = study.ask()
        space.sample(t)
        study.tell(t, [0.5, 1.0])
    assert order[0] == {**qat, "hls.parallelism": "ic=2"}  # free: same simulation
    assert all(p["quantization.mode"] == "ptq" for p in order[1:]) and len(order) == 5  # 2 precisions x 2


def test_the_paper_size_space_gets_free_and_cheap_points_without_a_listing():
    """paper.yaml's independent per-layer reuse factors make 53 million points: the policy offers a finished
    trial's free variants (only reuse factors, parallelism or strategy differ) and then its model's cheap
    points, drawn around it, at once and without a warning."""
    import time
    from pathlib import Path

    from search_spaces import cost_aware

    d = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples" / "paper.yaml").read_text())
    assert d["sampler"]["name"] == "cost-aware"
    cfg = parse_study(yaml.safe_dump(d), where="paper.yaml")
    space = cfg.search_space()
    assert space.grid_size() > 10**6 and not any("cost-aware" in w for w in cfg.warnings), cfg.warnings
    sampler = make_sampler(cfg)
    study = optuna.create_study(directions=cfg.directions, sampler=sampler)
    t = study.ask()
    space.sample(t)
    study.tell(t, [0.5, 10.0, 100.0, 1000.0])
    first = study.trials[0].params
    free = set(space.family.free_params)
    t0 = time.perf_counter()
    variants = []
    while (p := sampler.next_point(study)) is not None and len(variants) < 200:
        variants.append(p)
        study.enqueue_trial(p)
        t = study.ask()
        space.sample(t)
        study.tell(t, [0.5, 10.0, 100.0, 1000.0])
    elapsed = time.perf_counter() - t0
    n_free = next((i for i, p in enumerate(variants) if sampler.simulation_key(p) != sampler.simulation_key(first)),
                  len(variants))
    # the free variants first: at most the drawn number, each differing from the first point in free params only
    assert 1 <= n_free <= cost_aware.DRAWN_NEIGHBOURS
    for p in variants[:n_free]:
        assert {k for k in p if p[k] != first.get(k)} <= free, p
    # then a cheap point of a model the first trial trained (another precision; a PTQ point of the float model
    # a QAT point fine-tuned), then its own free variants, and so on: no proposal trains anything new
    assert n_free < len(variants)
    chain = set(space.family.training_keys(space.resolve(first)))
    assert all(space.family.training_keys(space.resolve(p))[0] in chain for p in variants)
    assert len({cost_aware.point_key(p) for p in variants}) == len(variants)  # never a point twice
    assert elapsed < 60, elapsed  # drawn, not listed (a listing of the space takes hours)


def test_a_neighbourhood_too_large_to_enumerate_is_drawn(monkeypatch):
    """Above MAX_NEIGHBOURS points a model's cheap points are drawn (DRAWN_NEIGHBOURS draws, seeded by the
    neighbourhood: a new sampler draws the same ones), each within the parameter's range."""
    from search_spaces import cost_aware

    monkeypatch.setattr(cost_aware, "MAX_NEIGHBOURS", 8)
    monkeypatch.setattr(cost_aware, "DRAWN_NEIGHBOURS", 5)
    d = tiny_study_dict("cc", n_trials=12, sampler={"name": "cost-aware", "seed": 0},
                        model={"lags": 2}, quantization={"weight_bits": {"low": 4, "high": 32}, "frac_bits": 2},
                        hardware_model={"parallel_macs": {"choices": [1, 4]}})
    cfg = parse_study(yaml.safe_dump(d), where="cc.yaml")
    assert cfg.search_space().grid_size() == 29 * 2
    space = cfg.search_space()
    sampler = make_sampler(cfg)
    study = optuna.create_study(directions=cfg.directions, sampler=sampler)

    def run(p):
        study.enqueue_trial(p)
        t = study.ask()
        space.sample(t)
        study.tell(t, [0.5, 1.0, 100.0])

    run({"quantization.weight_bits": 8, "hardware_model.parallel_macs": 1})
    assert sampler.next_point(study) == {"quantization.weight_bits": 8, "hardware_model.parallel_macs": 4}  # free
    run({"quantization.weight_bits": 8, "hardware_model.parallel_macs": 4})
    p = sampler.next_point(study)  # cheap: another weight width of the trained model, drawn from 4..32
    assert p is not None and p["hardware_model.parallel_macs"] == 1 and p["quantization.weight_bits"] != 8
    key = sampler.training_key(p)
    drawn = sampler.cheap_points(key, space.resolve(study.trials[0].params))
    assert 2 <= len(drawn) <= 5 and p in drawn
    assert all(4 <= q["quantization.weight_bits"] <= 32 for q in drawn)
    assert make_sampler(cfg).cheap_points(key, space.resolve(study.trials[0].params)) == drawn


def test_draws_of_continuous_and_stepped_ranges_stay_in_them():
    from types import SimpleNamespace

    import numpy as np

    from search_spaces.params import ParamDef
    from search_spaces.space import SearchSpace
    from search_spaces.specs import Choices, FloatRange, IntRange

    declared = [(ParamDef("a", "x", float, 1.0, ""), FloatRange(1e-4, 1e-1, log=True)),
                (ParamDef("a", "y", float, 0.5, ""), FloatRange(0.0, 1.0, step=0.25)),
                (ParamDef("a", "n", int, 4, ""), IntRange(2, 64, log=True)),
                (ParamDef("a", "m", int, 4, ""), IntRange(1, 9, step=4)),
                (ParamDef("a", "c", str, "p", ""), Choices(("p", "q")))]
    space = SearchSpace(SimpleNamespace(name="t", params=tuple(d for d, _ in declared)),
                        {d.name: spec for d, spec in declared})
    rng = np.random.default_rng(0)
    draws = [space.draw(rng, {"a.c": "q"}) for _ in range(300)]
    assert all(1e-4 <= d["a.x"] <= 1e-1 for d in draws)
    assert {d["a.y"] for d in draws} == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert all(2 <= d["a.n"] <= 64 for d in draws) and len({d["a.n"] for d in draws}) > 10
    assert {d["a.m"] for d in draws} == {1, 5, 9}
    assert {d["a.c"] for d in draws} == {"q"}  # held
    xs = np.log10([d["a.x"] for d in draws])
    assert abs(np.median(xs) + 2.5) < 0.3  # log-uniform over 1e-4..1e-1: median near 10**-2.5

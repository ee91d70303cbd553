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


def test_a_space_too_large_to_list_gets_the_base_sampler_and_a_warning(tmp_path):
    """paper.yaml's independent per-layer reuse factors make 53 million points: the policy must not list them."""
    from pathlib import Path

    from search_spaces.cost_aware import MAX_LISTED_POINTS

    d = yaml.safe_load((Path(__file__).resolve().parents[1] / "examples" / "paper.yaml").read_text())
    d["sampler"] = {"name": "cost-aware", "seed": 0}
    cfg = parse_study(yaml.safe_dump(d), where="paper.yaml")
    assert cfg.search_space().grid_size() > MAX_LISTED_POINTS
    assert any("cost-aware policy lists the space's points" in w for w in cfg.warnings)
    sampler = make_sampler(cfg)
    study = optuna.create_study(directions=cfg.directions, sampler=sampler)
    t = study.ask()
    cfg.search_space().sample(t)
    study.tell(t, [0.5, 10.0, 100.0, 1000.0])
    assert sampler.next_point(study) is None  # at once: nothing listed, the base sampler proposes

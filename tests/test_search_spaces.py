"""Search spaces from study configs: define-by-run sampling with conditionals, grids, samplers,
design points. Real in-memory Optuna studies throughout."""

from __future__ import annotations

import random
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from dse.families.lfads.config import LFADSConfig, TrainConfig
from dse.hls.design import HLSDesign
from dse.study import StudyConfig, load_study, parse_study
from objectives.constraints import MISSING_VIOLATION, UserAttrConstraints
from search_spaces import ParamDef, enqueue_grid, make_sampler, record_constraints
from search_spaces.samplers import SAMPLERS
from search_spaces.specs import KINDS, Choices, Fixed, FloatRange, IntRange, kind_of

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PTQ_BITS = {"quantization.ptq_integer_bits", "quantization.ptq_fractional_bits"}
QAT_BITS = {"quantization.qat_total_bits", "quantization.qat_integer_bits", "quantization.qat_activations"}

optuna.logging.set_verbosity(optuna.logging.WARNING)


def study_config(body: str, sampler: str = "random", n_trials: int = 200) -> StudyConfig:
    head = f"name: t\nobjectives: [behavior_r2, lut]\nn_trials: {n_trials}\nsampler: {sampler}\n"
    return parse_study(head + textwrap.dedent(body), where="t.yaml")


BOTH_MODES = """
    model:
      latent_units: {choices: [8, 16]}
      input_dropout: {low: 0.0, high: 0.2}
    train:
      learning_rate: {low: 1e-4, high: 1e-2, log: true}
    quantization:
      mode: {choices: [ptq, qat]}
      ptq_integer_bits: {choices: [4, 6, 8]}
      ptq_fractional_bits: {low: 2, high: 16}
      qat_total_bits: {low: 4, high: 16, step: 2}
      qat_integer_bits: {choices: [1, 3]}
    hls:
      reuse_factor: {choices: [1, 2, 4]}
      reuse_factor_generator: {low: 1, high: 8, log: true}
      strategy: {choices: [latency, resource]}
"""


def run_study(config: StudyConfig, n: int, sampler: optuna.samplers.BaseSampler) -> list[dict]:
    """Ask/tell ``n`` trials with random objective values; return the sampled full points."""
    space = config.search_space()
    study = optuna.create_study(directions=config.directions, sampler=sampler)
    rng = random.Random(0)
    points = []
    for _ in range(n):
        trial = study.ask()
        point = space.sample(trial)
        assert set(trial.params) <= set(point)
        assert all(point[k] == v for k, v in trial.params.items())
        points.append(point)
        study.tell(trial, [rng.random(), rng.random()])
    return points


def check_conditionals(points: list[dict]) -> None:
    modes = {p["quantization.mode"] for p in points}
    assert modes == {"ptq", "qat"}
    for p in points:
        if p["quantization.mode"] == "ptq":
            assert set(p) >= PTQ_BITS and not QAT_BITS & set(p), p
        else:
            assert set(p) >= QAT_BITS and not PTQ_BITS & set(p), p
            assert p["quantization.qat_integer_bits"] < p["quantization.qat_total_bits"]


@pytest.mark.parametrize("sampler", ["random", "nsga2"])
def test_conditionals_hold_over_a_real_study(sampler: str) -> None:
    options = "{population_size: 10}" if sampler == "nsga2" else "{}"
    config = study_config(BOTH_MODES, sampler=f"{{name: {sampler}, seed: 1, options: {options}}}")
    points = run_study(config, 200, make_sampler(config))
    check_conditionals(points)
    space = config.search_space()
    for p in points:
        for name, value in p.items():
            spec = config.params[name]
            assert kind_of(spec).contains(spec, value), (name, value, spec)
        assert space.resolve(p) == p


def test_conditionals_hold_with_tpe() -> None:
    config = study_config(BOTH_MODES, sampler="{name: tpe, seed: 0, options: {n_startup_trials: 5}}", n_trials=40)
    check_conditionals(run_study(config, 40, make_sampler(config)))


@pytest.mark.parametrize("mode", ["ptq", "qat"])
def test_fixed_mode_never_shows_the_other_modes_parameters(mode: str) -> None:
    config = study_config(BOTH_MODES.replace("mode: {choices: [ptq, qat]}", f"mode: {mode}"))
    points = run_study(config, 50, make_sampler(config))
    other = QAT_BITS if mode == "ptq" else PTQ_BITS
    assert all(not other & set(p) for p in points)
    assert all(p["quantization.mode"] == mode for p in points)
    assert "quantization.mode" not in config.search_space().searched


def test_only_searched_parameters_reach_optuna() -> None:
    config = study_config(BOTH_MODES)
    study = optuna.create_study(directions=config.directions, sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    point = config.search_space().sample(trial)
    assert "model.factors" in point and "model.factors" not in trial.params  # fixed (default 4)
    assert point["model.factors"] == 4
    distributions = trial.distributions
    assert isinstance(distributions["model.latent_units"], optuna.distributions.CategoricalDistribution)
    assert isinstance(distributions["model.input_dropout"], optuna.distributions.FloatDistribution)
    assert distributions["train.learning_rate"].log
    assert distributions["hls.reuse_factor_generator"].log


# --------------------------------------------------------------------------------------- grids

SMALL_GRID = """
    quantization:
      mode: {choices: [ptq, qat]}
      ptq_integer_bits: {choices: [4, 6]}
      ptq_fractional_bits: {low: 2, high: 6, step: 2}
      qat_total_bits: {low: 8, high: 10}
      qat_integer_bits: 3
    hls:
      reuse_factor: {choices: [1, 2]}
"""


def test_grid_points_of_a_small_space() -> None:
    config = study_config(SMALL_GRID, sampler="grid", n_trials=18)
    space = config.search_space()
    points = space.grid_points()
    # by hand: (PTQ 2 integer x 3 fractional + QAT 3 totals) x 2 reuse factors = 18
    assert len(points) == space.grid_size() == 18
    assert len({tuple(sorted(p.items())) for p in points}) == 18
    ptq = [p for p in points if p["quantization.mode"] == "ptq"]
    qat = [p for p in points if p["quantization.mode"] == "qat"]
    assert len(ptq) == 12 and len(qat) == 6
    assert {p["quantization.ptq_fractional_bits"] for p in ptq} == {2, 4, 6}
    assert all(set(p) == {"quantization.mode", "quantization.ptq_integer_bits",
                          "quantization.ptq_fractional_bits", "hls.reuse_factor"} for p in ptq)
    assert all(set(p) == {"quantization.mode", "quantization.qat_total_bits", "hls.reuse_factor"} for p in qat)
    assert config.warnings == ()


def test_grid_float_steps_and_continuous_ranges() -> None:
    config = study_config("model: {input_dropout: {low: 0.0, high: 0.3, step: 0.1}}\n", sampler="grid",
                          n_trials=4)
    assert config.search_space().grid_points() == [{"model.input_dropout": v} for v in (0.0, 0.1, 0.2, 0.3)]
    continuous = study_config("model: {input_dropout: {low: 0.0, high: 0.3}}\n")
    with pytest.raises(ValueError, match="continuous"):
        continuous.search_space().grid_points()


def test_grid_sampler_runs_each_point_once() -> None:
    config = study_config(SMALL_GRID, sampler="{name: grid, seed: 0}", n_trials=18)
    space = config.search_space()
    sampler = make_sampler(config)
    assert isinstance(sampler, optuna.samplers.RandomSampler)
    study = optuna.create_study(directions=config.directions, sampler=sampler)
    assert enqueue_grid(study, space) == 18
    assert enqueue_grid(study, space) == 18  # resumed: nothing enqueued twice
    assert len(study.trials) == 18
    study.optimize(lambda t: (space.sample(t) and 0.0, 0.0), n_trials=18)
    seen = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(seen) == len(set(seen)) == 18
    assert sorted(seen) == sorted(tuple(sorted(p.items())) for p in space.grid_points())


def test_example_grid_sizes() -> None:
    # quick: E 2 x Z 2 x (PTQ 2x3 + QAT 2) x RF 2
    assert load_study(EXAMPLES / "quick.yaml").search_space().grid_size() == 64
    # paper: (PTQ 3x15 + QAT 13) x strategy 2 x per-product reuse factors: encoder 8, encoder recurrent 7,
    # ic 8, generator 7, generator recurrent 7, factors 7, logrates 3
    assert load_study(EXAMPLES / "paper.yaml").search_space().grid_size() == (3 * 15 + 13) * 2 * (
        8 * 7 * 8 * 7 * 7 * 7 * 3)


# ------------------------------------------------------------------------------------ samplers


@pytest.mark.parametrize(("name", "cls"), [
    ("nsga2", optuna.samplers.NSGAIISampler),
    ("tpe", optuna.samplers.TPESampler),
    ("random", optuna.samplers.RandomSampler),
    ("grid", optuna.samplers.RandomSampler),
    ("qmc", optuna.samplers.QMCSampler),
])
def test_make_sampler_for_each_name(name: str, cls: type) -> None:
    config = study_config(textwrap.dedent(SMALL_GRID) + "constraints: {max_utilisation: 1.0}\n",
                          sampler=f"{{name: {name}, seed: 3}}", n_trials=18)
    sampler = make_sampler(config)
    assert type(sampler) is cls
    func = getattr(sampler, "_constraints_func", None)
    if SAMPLERS[name].supports_constraints:
        assert func == UserAttrConstraints(5)
    # and it samples the space
    run_study(config, 3, sampler)


def test_sampler_options_and_seeds() -> None:
    config = study_config("", sampler="{name: nsga2, seed: 7, options: {population_size: 6, crossover_prob: 0.5}}")
    sampler = make_sampler(config)
    assert sampler._population_size == 6
    assert sampler._constraints_func is None  # no constraints in this study
    tpe = study_config(BOTH_MODES, sampler="{name: tpe, seed: 1, options: {n_startup_trials: 3}}")
    s = make_sampler(tpe)
    assert s._multivariate and s._group and s._n_startup_trials == 3
    # workers get different seeds, hence different points
    c = study_config(BOTH_MODES, sampler="{name: random, seed: 5}")
    first = [run_study(c, 5, make_sampler(c, worker=w)) for w in (0, 0, 1)]
    assert first[0] == first[1] != first[2]
    qmc = study_config("model: {input_dropout: {low: 0.0, high: 0.2}}\n",
                       sampler="{name: qmc, options: {qmc_type: halton, scramble: true}}")
    assert make_sampler(qmc)._qmc_type == "halton"


def test_constraints_reach_the_sampler() -> None:
    config = study_config("constraints: {max_lut_util: 0.5, min_behavior_r2: 0.2}\n",
                          sampler="{name: nsga2, options: {population_size: 4}}", n_trials=8)
    study = optuna.create_study(directions=config.directions, sampler=make_sampler(config))
    space = config.search_space()
    for lut_util in (0.1, 0.9):
        trial = study.ask()
        space.sample(trial)
        values = record_constraints(trial, config, {"lut_util": lut_util, "behavior_r2": 0.5})
        study.tell(trial, [0.5, 100.0])
        assert values == pytest.approx([lut_util - 0.5, -0.3])
    stored = [t.system_attrs["constraints"] for t in study.trials]
    assert stored[0] == pytest.approx((-0.4, -0.3)) and stored[1] == pytest.approx((0.4, -0.3))
    assert [t.number for t in study.best_trials] == [0]  # the infeasible trial is not on the front
    # a trial the driver never recorded constraints for (e.g. pruned) counts as infeasible
    frozen = optuna.trial.create_trial(values=[0.1, 1.0], params={}, distributions={})
    assert UserAttrConstraints(2)(frozen) == [MISSING_VIOLATION, MISSING_VIOLATION]


# ------------------------------------------------------------------------------- design points


def test_design_point_ptq() -> None:
    config = load_study(EXAMPLES / "paper.yaml")
    space = config.search_space()
    dp = space.design_point({"quantization.mode": "ptq", "quantization.ptq_integer_bits": 6,
                             "quantization.ptq_fractional_bits": 10, "hls.reuse_factor_encoder": 35,
                             "hls.recurrent_reuse_factor_encoder": 32, "hls.reuse_factor_ic": 64,
                             "hls.reuse_factor_generator": 8, "hls.recurrent_reuse_factor_generator": 16,
                             "hls.reuse_factor_factors": 16, "hls.reuse_factor_logrates": 4,
                             "hls.strategy": "resource"})
    assert dp["hls"]["precision"] == "ap_fixed<16,6>" and dp["hls"]["quantization"] == "ptq"
    assert dp["hls"]["strategy"] == "Resource" and dp["hls"]["reuse_factor"] == 1
    assert dp["hls"]["layer_reuse_factor"]["encoder"] == 35
    assert dp["hls"]["recurrent_reuse_factor"]["generator"] == 16
    assert dp["hls"]["part"] == "xcu55c-fsvh2892-2L-e" and dp["hls"]["clock_period"] == 5.0
    assert dp["hls"]["backend"] == "Vitis"
    assert dp["hardware"] == {"backend": "estimate", "part": "xcu55c", "clock_ns": 5.0}
    assert dp["model"]["quant"] is None and dp["model"]["latent_units"] == 64
    assert dp["train"]["epochs"] == 300
    HLSDesign.from_dict(dp["hls"])
    LFADSConfig.from_dict({**dp["model"], "n_neurons": 70, "n_bins": 73})
    TrainConfig(**dp["train"])


def test_design_point_qat_and_per_layer_reuse() -> None:
    config = study_config("""
        quantization: {mode: qat, qat_total_bits: {choices: [8, 10]}, qat_integer_bits: 3, qat_activations: hard}
        hls: {reuse_factor: 2, reuse_factor_encoder: 4, reuse_factor_logrates: {choices: [1, 5]},
              recurrent_reuse_factor_generator: 8}
        hardware: {backend: vivado, part: xc7z020}
    """)
    space = config.search_space()
    dp = space.design_point({"quantization.qat_total_bits": 10, "hls.reuse_factor_logrates": 5})
    # QAT: the quantizers type weights/states; unquantized values get 12 more bits (8 integer: headroom
    # against wrap-around, see dse.families.lfads.params.qat_value_precision)
    assert dp["hls"]["precision"] == "ap_fixed<22,11>" and dp["hls"]["quantization"] == "qat"
    assert dp["model"]["quant"] == {"bits": 10, "integer": 2, "activations": "hard",  # QKeras: sign excluded
                                    "init": "float", "finetune_epochs": 30}  # fine-tuned by default
    assert dp["hls"]["layer_reuse_factor"] == {"encoder": 4, "logrates": 5}
    assert dp["hls"]["recurrent_reuse_factor"] == {"generator": 8}
    assert dp["hls"]["backend"] == "Vivado" and dp["hls"]["part"] == "xc7z020-clg400-1"
    design = HLSDesign.from_dict(dp["hls"])
    assert design.layer_rf("logrates") == 5 and design.recurrent_rf("generator") == 8
    assert design.recurrent_rf("encoder") == 4
    model = LFADSConfig.from_dict({**dp["model"], "n_neurons": 12, "n_bins": 20})
    assert model.quant is not None and (model.quant.bits, model.quant.integer) == (10, 2)


def test_design_point_from_trial_params_matches_the_sampled_point() -> None:
    config = study_config(BOTH_MODES)
    space = config.search_space()
    study = optuna.create_study(directions=config.directions, sampler=optuna.samplers.RandomSampler(seed=2))
    for _ in range(20):
        trial = study.ask()
        point = space.sample(trial)
        assert space.design_point(trial.params) == space.design_point(point)
        assert space.design_point(point)["params"] == point
        study.tell(trial, [0.0, 0.0])


def test_resolve_rejects_inconsistent_points() -> None:
    space = study_config(BOTH_MODES).search_space()
    ptq = {"quantization.mode": "ptq", "quantization.ptq_integer_bits": 4, "quantization.ptq_fractional_bits": 8,
           "model.latent_units": 8, "model.input_dropout": 0.1, "train.learning_rate": 1e-3,
           "hls.reuse_factor": 1, "hls.reuse_factor_generator": 2, "hls.strategy": "latency"}
    assert space.resolve(ptq)["model.factors"] == 4
    with pytest.raises(ValueError, match="inactive"):
        space.resolve({**ptq, "quantization.qat_total_bits": 8})
    with pytest.raises(ValueError, match="unknown parameter"):
        space.resolve({**ptq, "model.latent": 8})
    with pytest.raises(ValueError, match="not in the space"):
        space.resolve({**ptq, "model.latent_units": 12})
    with pytest.raises(ValueError, match="missing"):
        space.resolve({k: v for k, v in ptq.items() if k != "hls.strategy"})


# ------------------------------------------------------------------------------- registries


def test_spec_kinds_registry() -> None:
    assert set(KINDS) == {"fixed", "int_range", "float_range", "choices"}
    assert KINDS["int_range"].values(IntRange(2, 8, step=3)) == [2, 5, 8]
    assert KINDS["float_range"].values(FloatRange(0.0, 1.0)) is None
    assert KINDS["choices"].contains(Choices((1, 2)), 2) and not KINDS["choices"].contains(Choices((1, 2)), True)
    assert KINDS["fixed"].contains(Fixed(0.5), 0.5) and not KINDS["fixed"].searched


def test_a_new_family_needs_only_a_registration(monkeypatch, request) -> None:
    import dse.families
    from dse.families.base import Family
    from objectives.decoding import BEHAVIOR_R2

    class ToySpiking(Family):
        name = "toy-spiking"
        sections = ("model", "hls")
        params = (
            ParamDef("model", "neurons", int, 32, "neurons per layer"),
            ParamDef("model", "neuron", str, "lif", "neuron model", allowed=("lif", "izhikevich")),
            ParamDef("model", "tau_ms", float, 20.0, "membrane time constant", when=(("model.neuron", ("lif",)),)),
            ParamDef("hls", "reuse_factor", int, 1, "reuse factor"),
        )
        objectives = (BEHAVIOR_R2,)
        lowering = "hls4ml"
        default_backend = "estimate"

        def build(self, point):
            return {"model": dict(point.params)}

        def run(self, trial):
            raise NotImplementedError

    # the one registry line, pointing at a module that defines FAMILY
    monkeypatch.setattr(sys.modules[__name__], "FAMILY", ToySpiking, raising=False)
    monkeypatch.setattr(dse.families, "BUILT_IN", (*dse.families.BUILT_IN, __name__))
    dse.families.reload()
    request.addfinalizer(dse.families.reload)
    config = study_config("""
        family: toy-spiking
        model: {neurons: {choices: [16, 32]}, neuron: {choices: [lif, izhikevich]}, tau_ms: {choices: [10.0, 20.0]}}
    """, sampler="grid", n_trials=6)
    space = config.search_space()
    assert space.grid_size() == 6  # 2 neurons x (lif x 2 taus + izhikevich)
    assert all(("model.tau_ms" in p) == (p["model.neuron"] == "lif") for p in space.grid_points())
    with pytest.raises(Exception, match="model.latent_units: unknown key"):
        study_config("family: toy-spiking\nmodel: {latent_units: 8}\n")


# ------------------------------------------------------------------ reuse factors against the products


@pytest.mark.parametrize("sizes", [dict(encoder_units=8, latent_units=8, factors=2, n_neurons=8),
                                   dict(encoder_units=5, latent_units=7, factors=3, n_neurons=11)])
def test_matmul_shapes_match_the_built_model(sizes) -> None:
    from dse.families.lfads.params import matmul_shapes
    from dse.families.lfads.testing import lfads_deploy
    from dse.hls.convert import matmul_sizes

    assert matmul_shapes(sizes["n_neurons"], sizes["encoder_units"], sizes["latent_units"], sizes["factors"]) == \
        matmul_sizes(lfads_deploy(0, **sizes))


def test_step_matmul_shapes_match_the_built_step() -> None:
    from dse.families.lfads.config import LFADSConfig
    from dse.families.lfads.model import build_lfads
    from dse.families.lfads.params import step_matmul_shapes
    from dse.families.lfads.step import build_step
    from dse.hls.convert import matmul_sizes

    cfg = LFADSConfig(n_neurons=11, n_bins=6, encoder_units=5, latent_units=7, factors=3, causal=True,
                      controller_units=4, controller_inputs=2)
    assert step_matmul_shapes(11, 5, 7, 3, 4, 2) == matmul_sizes(build_step(cfg, build_lfads(cfg).deploy).model)


def test_reuse_factors_of_a_causal_step_are_checked() -> None:
    """With the Resource strategy a causal point's controller products take the model-wide reuse factor, so it
    must be valid for them too; the problem names the product and the causal architecture."""
    from dse.families.lfads.params import check_reuse_factors, step_matmul_shapes
    from dse.hls.reuse import valid_reuse_factors

    specs = {"model.encoder_units": Fixed(6), "model.latent_units": Fixed(4), "model.factors": Fixed(2),
             "model.controller_units": Fixed(5), "model.controller_inputs": Fixed(3),
             "hls.strategy": Fixed("resource"), "hls.reuse_factor": Fixed(1)}
    assert not check_reuse_factors({**specs, "model.causal": Choices((True, False))}, 8)
    shapes = step_matmul_shapes(8, 6, 4, 2, 5, 3)
    bad = next(rf for rf in range(2, 64) if rf not in valid_reuse_factors(*shapes[("controller", "recurrent")]))
    problems = dict(check_reuse_factors({**specs, "model.causal": Fixed(True), "hls.reuse_factor": Fixed(bad)}, 8))
    assert "controller's" in problems["hls.reuse_factor"] and "causal" in problems["hls.reuse_factor"]


def _rf_specs(**hls) -> dict:
    return {"model.encoder_units": Choices((32, 64)), "model.latent_units": Fixed(64), "model.factors": Fixed(4),
            "hls.strategy": Choices(("latency", "resource")), **hls}


def test_invalid_reuse_factor_found_for_the_architecture_that_breaks_it() -> None:
    from dse.families.lfads.params import check_reuse_factors

    # 70 inputs: 7 is valid for the encoder's input product, 3 is not
    problems = dict(check_reuse_factors(_rf_specs(**{"hls.reuse_factor_encoder": Choices((7, 3))}), 70))
    assert list(problems) == ["hls.reuse_factor_encoder"]
    assert "3 not valid for encoder's input product 70x96" in problems["hls.reuse_factor_encoder"]
    assert "valid: 1, 2, 5, 7, 10" in problems["hls.reuse_factor_encoder"]
    # the recurrent product falls back to the layer's factor, then to the model-wide one
    problems = dict(check_reuse_factors(_rf_specs(**{"hls.reuse_factor": Fixed(2),
                                                     "hls.recurrent_reuse_factor_generator": IntRange(1, 3)}), 70))
    assert list(problems) == ["hls.recurrent_reuse_factor_generator"] and "3 not valid" in \
        problems["hls.recurrent_reuse_factor_generator"]
    # with the Latency strategy only, hls4ml takes any factor
    latency = {**_rf_specs(**{"hls.reuse_factor_encoder": Fixed(3)}), "hls.strategy": Fixed("latency")}
    assert check_reuse_factors(latency, 70) == []


def test_examples_reuse_factors_are_valid() -> None:
    from dse.families.lfads.params import check_reuse_factors

    for name in ("paper.yaml", "quick.yaml"):
        cfg = load_study(Path(__file__).resolve().parents[1] / "examples" / name)
        n = cfg.data.options.get("n_neurons", 70)
        assert check_reuse_factors(cfg.search_space().specs, n) == [], name


def test_dse_run_refuses_an_invalid_reuse_factor_before_writing(tmp_path: Path) -> None:
    import yaml
    from reliability_helpers import cli_env, dse, study_dict

    study = study_dict("bad-rf", n_trials=1, hls={"reuse_factor": 1, "reuse_factor_encoder": {"choices": [1, 3]},
                                                 "strategy": "resource"})
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    before = sorted(p.name for p in tmp_path.iterdir())
    r = dse("run", "study.yaml", cwd=tmp_path, env=cli_env(), timeout=300)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "study.yaml" in lines[0] and "hls.reuse_factor_encoder" in lines[0], lines
    assert "3 not valid for encoder's input product 8x12" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before

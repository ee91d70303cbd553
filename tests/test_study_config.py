"""study.yaml loading: parameter shapes, defaults, every error case, storage secrets, constraints."""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path

import pytest

from dse.errors import ConfigError
from dse.families.lfads.config import LFADSConfig, TrainConfig
from dse.study import (
    StudyConfig,
    StudyConfigError,
    load_study,
    redacted_storage_url,
    storage_url,
)
from objectives.constraints import MISSING_VIOLATION
from search_spaces.specs import Choices, Fixed, FloatRange, IntRange

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

HEAD = """\
name: t
objectives: [behavior_r2, latency_us]
n_trials: 10
sampler: {name: random}
"""

NO_SAMPLER = "name: t\nobjectives: [lut]\nn_trials: 30\n"


def write(tmp_path: Path, body: str, head: str = HEAD, name: str = "study.yaml") -> Path:
    path = tmp_path / name
    path.write_text(head + textwrap.dedent(body))
    return path


def load(tmp_path: Path, body: str, head: str = HEAD) -> StudyConfig:
    return load_study(write(tmp_path, body, head))


# ----------------------------------------------------------------------------------- examples


def test_quick_example_loads() -> None:
    c = load_study(EXAMPLES / "quick.yaml")
    assert c.name == "lfads-quick" and c.warnings == ()
    assert c.data.source == "synthetic"
    assert c.data.options == {"n_trials": 60, "n_bins": 30, "n_neurons": 16, "seed": 0}
    assert c.params["train.epochs"] == Fixed(60)
    assert c.params["model.latent_units"] == Choices((8, 16))
    assert c.hardware.backend == "estimate" and c.execution.workers <= 2
    assert c.n_trials == 8
    assert c.storage.url == f"sqlite:///{EXAMPLES / 'lfads-quick.db'}"
    assert not (EXAMPLES / "lfads-quick.db").exists()  # loading writes nothing


def test_causal_example_loads() -> None:
    c = load_study(EXAMPLES / "causal.yaml")
    assert c.warnings == () and c.params["model.causal"] == Choices((True, False))
    assert c.objective_names == ["behavior_r2_bin", "latency_us", "lut"]
    points = c.search_space().grid_points()
    assert {p["model.causal"] for p in points} == {True, False}
    # the controller's settings belong to the causal points only
    full = [c.search_space().resolve(p) for p in points]
    assert all(("model.controller_units" in p) == p["model.causal"] for p in full)


def test_paper_example_loads() -> None:
    c = load_study(EXAMPLES / "paper.yaml")
    assert c.data.options == {"n_trials": 170, "n_bins": 73, "n_neurons": 70, "seed": 0}
    p = c.params
    assert p["model.encoder_units"] == p["model.latent_units"] == Fixed(64) and p["model.factors"] == Fixed(4)
    assert p["quantization.ptq_integer_bits"] == Choices((4, 6, 8))
    assert p["quantization.ptq_fractional_bits"] == IntRange(2, 16)
    assert p["quantization.qat_total_bits"] == IntRange(4, 16)
    assert c.objective_names == ["behavior_r2", "latency_us", "dsp", "lut"]
    assert c.directions == ["maximize", "minimize", "minimize", "minimize"]
    assert c.hardware.part == "xcu55c" and c.hardware.clock_ns == 5.0
    assert sorted(x.metric for x in c.constraints) == ["bram_util", "dsp_util", "ff_util", "lut_util", "uram_util"]
    assert all(x.kind == "max" and x.bound == 1.0 for x in c.constraints)


# ---------------------------------------------------------------------------- parameter shapes


def test_parameter_shapes(tmp_path: Path) -> None:
    c = load(tmp_path, """
        model:
          factors: 4
          latent_units: {low: 8, high: 64, step: 8}
          encoder_units: {low: 8, high: 128, log: true}
          input_dropout: {low: 0, high: 0.2}
          ic_dropout: {low: 0.0, high: 0.3, step: 0.1}
          variational: {choices: [true, false]}
        train:
          learning_rate: {low: 1e-4, high: 1e-2, log: true}   # PyYAML reads 1e-4 as a string
          batch_size: {choices: [8, 16, 32]}
          epochs: {choices: [20]}                          # one choice: fixed
          seed: {low: 3, high: 3}                          # an empty-width range: fixed
        hls:
          strategy: {choices: [Latency, RESOURCE]}         # case-insensitive
    """)
    p = c.params
    assert p["model.factors"] == Fixed(4)
    assert p["model.latent_units"] == IntRange(8, 64, step=8)
    assert p["model.encoder_units"] == IntRange(8, 128, log=True)
    assert p["model.input_dropout"] == FloatRange(0.0, 0.2)
    assert isinstance(p["model.input_dropout"].low, float)
    assert p["model.ic_dropout"] == FloatRange(0.0, 0.3, step=0.1)
    assert p["model.variational"] == Choices((True, False))
    assert p["train.learning_rate"] == FloatRange(1e-4, 1e-2, log=True)
    assert p["train.batch_size"] == Choices((8, 16, 32))
    assert p["train.epochs"] == Fixed(20)
    assert p["train.seed"] == Fixed(3)
    assert p["hls.strategy"] == Choices(("latency", "resource"))


def test_defaults_come_from_the_model_and_training_configs(tmp_path: Path) -> None:
    c = load(tmp_path, "")
    p = c.params
    assert p["model.latent_units"] == Fixed(LFADSConfig.__dataclass_fields__["latent_units"].default)
    assert p["train.learning_rate"] == Fixed(TrainConfig().learning_rate)
    assert p["quantization.mode"] == Fixed("ptq")
    assert (p["quantization.ptq_integer_bits"], p["quantization.ptq_fractional_bits"]) == (Fixed(6), Fixed(10))
    assert "quantization.qat_total_bits" not in p  # the mode is fixed to ptq
    assert "hls.reuse_factor_encoder" not in p  # no default: inherits the model-wide reuse factor
    assert c.sampler.name == "random" and c.execution.max_retries == 1 and c.execution.ray_address is None
    assert c.hardware.backend == "estimate" and c.data.split_seed == 0


def test_other_mode_bits_are_ignored_with_a_warning(tmp_path: Path) -> None:
    c = load(tmp_path, """
        quantization: {mode: qat, qat_total_bits: 8, ptq_fractional_bits: {low: 2, high: 8}}
    """)
    assert "quantization.ptq_fractional_bits" not in c.params
    assert c.params["quantization.qat_total_bits"] == Fixed(8)
    assert len(c.warnings) == 1
    assert "quantization.ptq_fractional_bits: ignored: only used when quantization.mode is ptq" in c.warnings[0]


def test_qat_bits_rule_checks_the_extremes(tmp_path: Path) -> None:
    # largest integer bits (3) below smallest total (4): every combination valid
    c = load(tmp_path, "quantization: {mode: qat, qat_total_bits: {low: 4, high: 16}, qat_integer_bits: "
                       "{choices: [1, 3]}}\n")
    assert c.params["quantization.qat_integer_bits"] == Choices((1, 3))
    # the QAT bits do not matter when QAT cannot be chosen
    load(tmp_path, "quantization: {mode: ptq, qat_total_bits: 4, qat_integer_bits: 6}\n")


def test_objectives_constraints_sampler_execution(tmp_path: Path) -> None:
    c = load(tmp_path, """
        constraints:
          max_utilisation: {dsp: 0.8, lut: 0.9}
          max_latency_us: 50
          min_behavior_r2: 0.5
        sampler: {name: nsga2, seed: 3, options: {population_size: 4}}
        timeout_s: 60
        execution: {workers: 2, cpus_per_trial: 0.5, ray_address: auto, max_retries: 0, trial_timeout_s: 30}
        hardware: {backend: vivado, part: xc7z020-clg400-1, clock_ns: 10}
    """, head="name: t\nobjectives: [behavior_r2, {name: dsp, direction: minimize}]\nn_trials: 8\n")
    assert c.directions == ["maximize", "minimize"]
    assert c.constraint_labels == ["dsp_util <= 0.8", "lut_util <= 0.9", "latency_us <= 50", "behavior_r2 >= 0.5"]
    assert c.sampler.name == "nsga2" and c.sampler.seed == 3 and c.sampler.options == {"population_size": 4}
    assert c.timeout_s == 60.0 and c.execution.workers == 2 and c.execution.cpus_per_trial == 0.5
    assert c.execution.ray_address == "auto" and c.execution.trial_timeout_s == 30.0
    assert (c.hardware.backend, c.hardware.part, c.hardware.clock_ns) == ("vivado", "xc7z020-clg400-1", 10.0)


def test_constraint_values_signs(tmp_path: Path) -> None:
    c = load(tmp_path, """
        constraints: {max_utilisation: 1.0, max_latency_us: 50, min_behavior_r2: 0.5}
    """)
    fits = {"dsp_util": 0.2, "lut_util": 1.0, "ff_util": 0.1, "bram_util": 0.0, "uram_util": 0.0,
            "latency_us": 42.0, "behavior_r2": 0.7}
    values = c.constraint_values(fits)
    assert len(values) == 7 and all(v <= 0 for v in values)
    assert values[1] == 0.0  # exactly at the bound is feasible
    bad = c.constraint_values({**fits, "lut_util": 1.5, "latency_us": 60.0, "behavior_r2": 0.3})
    assert bad[1] == pytest.approx(0.5) and bad[5] == pytest.approx(10.0) and bad[6] == pytest.approx(0.2)
    missing = c.constraint_values({**fits, "behavior_r2": None, "latency_us": math.nan})
    assert missing[5] == missing[6] == MISSING_VIOLATION
    assert c.constraint_values({})[0] == MISSING_VIOLATION


def test_data_file_is_resolved_against_the_study_directory(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rec.npz").write_bytes(b"")  # only its existence is checked at load
    c = load(tmp_path, "data: {source: data/rec.npz, split_seed: 4}\n")
    assert c.data.source == str(tmp_path.resolve() / "data" / "rec.npz") and c.data.split_seed == 4


def test_loading_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    before = sorted(os.listdir(tmp_path))
    c = load_study(path)
    assert sorted(os.listdir(tmp_path)) == before
    assert c.storage.url == f"sqlite:///{tmp_path.resolve() / 't.db'}"


# ------------------------------------------------------------------------------------- storage


def test_storage_password_from_environment(tmp_path: Path) -> None:
    c = load(tmp_path, "storage: {url: 'postgresql://dse@db.example.org:5432/dse', password_env: DSE_PW}\n")
    secret = "s3cr/t@pw"
    assert storage_url(c, {"DSE_PW": secret}) == "postgresql://dse:s3cr%2Ft%40pw@db.example.org:5432/dse"
    redacted = redacted_storage_url(c)
    assert redacted == "postgresql://dse:***@db.example.org:5432/dse"
    assert "s3cr" not in redacted
    with pytest.raises(ConfigError, match=r"storage\.password_env: environment variable DSE_PW is not set"):
        storage_url(c, {})


def test_storage_interpolated_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = load(tmp_path, "storage: 'postgresql+psycopg2://dse:${DSE_TEST_PW}@${DSE_TEST_HOST}/dse'\n")
    monkeypatch.setenv("DSE_TEST_PW", "hunter2")
    monkeypatch.setenv("DSE_TEST_HOST", "db.internal")
    assert storage_url(c) == "postgresql+psycopg2://dse:hunter2@db.internal/dse"
    redacted = redacted_storage_url(c)
    assert "hunter2" not in redacted and "db.internal" not in redacted  # nothing is read for logs
    assert redacted == "postgresql+psycopg2://dse:***@${DSE_TEST_HOST}/dse"
    assert "hunter2" not in repr(c)


def test_relative_sqlite_storage(tmp_path: Path) -> None:
    c = load(tmp_path, "storage: sqlite:///runs/s.db\n")
    assert c.storage.url == f"sqlite:///{tmp_path.resolve() / 'runs' / 's.db'}"
    assert storage_url(c) == redacted_storage_url(c) == c.storage.url


# -------------------------------------------------------------------------------------- errors

# (id, head, body, field, part of the problem)
ERROR_CASES = [
    ("yaml-syntax", HEAD, "model: {latent_units: [8, 16}\n", "line 5", "invalid YAML"),
    ("yaml-duplicate-key", HEAD, "n_trials: 4\n", "n_trials", "given twice"),
    ("unknown-top-key", HEAD, "modle: {}\n", "modle", "did you mean 'model'"),
    ("unknown-param", HEAD, "model: {latent_unit: 8}\n", "model.latent_unit", "did you mean 'latent_units'"),
    ("unknown-range-key", HEAD, "model: {latent_units: {low: 8, hihg: 16}}\n", "model.latent_units.hihg",
     "did you mean 'high'"),
    ("unknown-section", HEAD, "search: {}\n", "search", "unknown key"),
    ("wrong-type-int", HEAD, "model: {latent_units: eight}\n", "model.latent_units", "valid integer"),
    ("wrong-type-float-int", HEAD, "model: {latent_units: 8.5}\n", "model.latent_units", "valid integer"),
    ("wrong-type-bool", HEAD, "model: {variational: 1}\n", "model.variational", "valid boolean"),
    ("wrong-type-choice", HEAD, "model: {factors: {choices: [2, x]}}\n", "model.factors.choices[1]", "integer"),
    ("bare-list", HEAD, "model: {factors: [2, 4]}\n", "model.factors", "{choices: [...]}"),
    ("section-not-mapping", HEAD, "model: 3\n", "model", "valid dictionary"),
    ("inverted-range", HEAD, "model: {latent_units: {low: 16, high: 8}}\n", "model.latent_units",
     "low (16) > high (8)"),
    ("empty-choices", HEAD, "model: {latent_units: {choices: []}}\n", "model.latent_units.choices",
     "empty choices"),
    ("duplicate-choices", HEAD, "model: {factors: {choices: [2, 2]}}\n", "model.factors.choices", "duplicate"),
    ("below-minimum", HEAD, "model: {factors: 0}\n", "model.factors", "must be >= 1"),
    ("range-end-out-of-bounds", HEAD, "model: {input_dropout: {low: 0.1, high: 1.5}}\n",
     "model.input_dropout.high", "must be < 1.0"),
    ("log-nonpositive", HEAD, "train: {min_lr: {low: 0, high: 0.1, log: true}}\n", "train.min_lr.low",
     "log range needs low > 0"),
    ("log-and-step", HEAD, "model: {latent_units: {low: 8, high: 64, log: true, step: 8}}\n",
     "model.latent_units", "log and step"),
    ("step-not-dividing", HEAD, "model: {latent_units: {low: 8, high: 60, step: 8}}\n",
     "model.latent_units.step", "multiple of step"),
    ("step-negative", HEAD, "model: {ic_dropout: {low: 0.1, high: 0.2, step: -0.1}}\n",
     "model.ic_dropout.step", "must be > 0"),
    ("range-on-string", HEAD, "hls: {strategy: {low: 1, high: 2}}\n", "hls.strategy", "{choices: [...]}"),
    ("range-not-allowed", HEAD, "hls: {table_size: {low: 256, high: 1024}}\n", "hls.table_size",
     "takes no {low, high} range"),
    ("not-power-of-two", HEAD, "hls: {table_size: {choices: [512, 1000]}}\n", "hls.table_size.choices[1]",
     "power of two"),
    ("unknown-strategy", HEAD, "hls: {strategy: resorce}\n", "hls.strategy", "did you mean 'resource'"),
    ("unknown-mode", HEAD, "quantization: {mode: qta}\n", "quantization.mode", "did you mean 'qat'"),
    ("qat-integer-above-total", HEAD, "quantization: {mode: qat, qat_total_bits: 8, qat_integer_bits: 8}\n",
     "quantization.qat_integer_bits", "fractional bit"),
    ("qat-integer-range-vs-total-range", HEAD,
     "quantization: {mode: {choices: [ptq, qat]}, qat_total_bits: {low: 4, high: 16}, "
     "qat_integer_bits: {low: 2, high: 6}}\n", "quantization.qat_integer_bits", "can be 6 while"),
    ("qat-total-too-wide", HEAD, "quantization: {mode: qat, qat_total_bits: 40}\n",
     "quantization.qat_total_bits", "must be <= 32"),
    ("ptq-no-sign-bit", HEAD, "quantization: {ptq_integer_bits: 0}\n", "quantization.ptq_integer_bits",
     "must be >= 1"),
    ("unknown-objective", "name: t\nobjectives: [behaviour_r2]\nn_trials: 3\n", "", "objectives[0]",
     "did you mean 'behavior_r2'"),
    ("duplicate-objective", "name: t\nobjectives: [lut, lut]\nn_trials: 3\n", "", "objectives[1]",
     "listed twice"),
    ("contradicting-direction", "name: t\nobjectives: [{name: dsp, direction: maximize}]\nn_trials: 3\n", "",
     "objectives[0].direction", "better when smaller"),
    ("bad-direction", "name: t\nobjectives: [{name: dsp, direction: down}]\nn_trials: 3\n", "",
     "objectives[0].direction", "'maximize' or 'minimize'"),
    ("no-objectives", "name: t\nobjectives: []\nn_trials: 3\n", "", "objectives", "at least 1 item"),
    ("missing-objectives", "name: t\nn_trials: 3\n", "", "objectives", "required"),
    ("missing-name", "objectives: [lut]\nn_trials: 3\n", "", "name", "required"),
    ("bad-name", "name: a/b\nobjectives: [lut]\nn_trials: 3\n", "", "name", "letters, digits"),
    ("negative-n-trials", "name: t\nobjectives: [lut]\nn_trials: -5\n", "", "n_trials",
     "greater than or equal to 1"),
    ("no-end", "name: t\nobjectives: [lut]\n", "", "n_trials", "give n_trials, timeout_s or both"),
    ("negative-timeout", "name: t\nobjectives: [lut]\ntimeout_s: -1\n", "", "timeout_s", "greater than 0"),
    ("unknown-sampler", NO_SAMPLER, "sampler: {name: nsga3}\n", "sampler.name", "did you mean 'nsga2'"),
    ("unknown-sampler-option", NO_SAMPLER, "sampler: {name: nsga2, options: {populaton_size: 4}}\n",
     "sampler.options.populaton_size", "did you mean 'population_size'"),
    ("bad-sampler-option", NO_SAMPLER, "sampler: {name: nsga2, options: {population_size: 1}}\n",
     "sampler.options.population_size", "greater than or equal to 2"),
    ("option-of-other-sampler", NO_SAMPLER, "sampler: {name: random, options: {population_size: 4}}\n",
     "sampler.options.population_size", "unknown key (nothing is accepted here)"),
    ("grid-continuous", NO_SAMPLER, "sampler: grid\nmodel: {input_dropout: {low: 0.0, high: 0.2}}\n",
     "model.input_dropout", "grid sampler needs finitely many values"),
    ("unknown-backend", HEAD, "hardware: {backend: vitis-hls}\n", "hardware.backend", "unknown cost backend"),
    ("unknown-part", HEAD, "hardware: {part: xcu999}\n", "hardware.part", "unknown FPGA part"),
    ("zero-clock", HEAD, "hardware: {clock_ns: 0}\n", "hardware.clock_ns", "greater than 0"),
    ("zero-workers", HEAD, "execution: {workers: 0}\n", "execution.workers", "greater than or equal to 1"),
    ("negative-retries", HEAD, "execution: {max_retries: -1}\n", "execution.max_retries",
     "greater than or equal to 0"),
    ("unknown-constraint", HEAD, "constraints: {max_utilization: 1.0}\n", "constraints.max_utilization",
     "did you mean 'max_utilisation'"),
    ("unknown-resource", HEAD, "constraints: {max_utilisation: {dsps: 0.5}}\n",
     "constraints.max_utilisation.dsps", "did you mean 'dsp'"),
    ("constraint-twice", HEAD, "constraints: {max_utilisation: 1.0, max_dsp_util: 0.5}\n",
     "constraints.max_dsp_util", "also set by max_utilisation"),
    ("constraint-impossible", HEAD, "constraints: {min_behavior_r2: 0.9, max_behavior_r2: 0.5}\n",
     "constraints.min_behavior_r2", "no design can satisfy both"),
    ("literal-password", HEAD, "storage: postgresql://dse:hunter2@db/dse\n", "storage.url", "literal password"),
    ("password-twice", HEAD, "storage: {url: 'postgresql://dse:${PW}@db/dse', password_env: PW}\n",
     "storage.password_env", "keep one"),
    ("password-env-sqlite", HEAD, "storage: {url: 'sqlite:///x.db', password_env: PW}\n",
     "storage.password_env", "meaningless"),
    ("unsupported-database", HEAD, "storage: oracle://db/x\n", "storage.url", "unsupported database"),
    ("missing-data-file", HEAD, "data: {source: nope.nwb}\n", "data.source", "no such file"),
    ("misspelt-source", HEAD, "data: {source: synthetc}\n", "data.source", "did you mean 'synthetic'"),
    ("unknown-data-option", HEAD, "data: {options: {n_neuron: 4}}\n", "data.options.n_neuron",
     "did you mean 'n_neurons'"),
    ("negative-split-seed", HEAD, "data: {split_seed: -1}\n", "data.split_seed", "greater than or equal to 0"),
    ("unknown-family", HEAD, "family: spiking\n", "family", "unknown model family"),
]


@pytest.mark.parametrize(("head", "body", "field", "problem"), [c[1:] for c in ERROR_CASES],
                         ids=[c[0] for c in ERROR_CASES])
def test_error_names_file_and_field(tmp_path: Path, head: str, body: str, field: str, problem: str) -> None:
    path = write(tmp_path, body, head)
    with pytest.raises(ConfigError) as info:
        load_study(path)
    message = str(info.value)
    line = next((x for x in message.splitlines() if x.startswith(f"{path}: {field}: ")), None)
    assert line is not None, f"no line for {field!r} in:\n{message}"
    assert problem in line, line
    assert len(message.splitlines()) == 1, message  # one problem, one line


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, """
        model:
          latent_units: {low: 16, high: 8}
          factors: 0
        hls: {strategy: fast}
    """, head="name: t\nobjectives: [behaviour_r2]\n")
    with pytest.raises(StudyConfigError) as info:
        load_study(path)
    fields = [e.field for e in info.value.errors]
    assert fields == ["model.latent_units", "model.factors", "hls.strategy", "objectives[0]", "n_trials"]
    lines = str(info.value).splitlines()
    assert len(lines) == 5 and all(x.startswith(f"{path}: ") for x in lines)
    assert "[line 5]" in lines[0]  # where the YAML gives latent_units
    assert info.value.field == "model.latent_units"  # the first problem, as a ConfigError


def test_malformed_yaml_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "model:\n  factors: 4\n   latent_units: 8\n")
    with pytest.raises(ConfigError, match=rf"^{path}: line 7: invalid YAML"):
        load_study(path)


@pytest.mark.parametrize(("text", "problem"), [("", "empty"), ("- a\n- b\n", "must be a mapping")])
def test_file_that_is_not_a_mapping(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_study(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_study(tmp_path / "absent.yaml")


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "data: {options: !!python/object/apply:os.getcwd []}\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_study(path)


def test_training_pruning_can_be_switched_off(tmp_path: Path) -> None:
    assert load(tmp_path, "").execution.prune_trainings is True
    assert load(tmp_path, "execution: {prune_trainings: false}\n").execution.prune_trainings is False
    with pytest.raises(ConfigError, match=r"execution\.prune_trainings"):
        load(tmp_path, "execution: {prune_trainings: sometimes}\n")

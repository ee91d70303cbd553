"""``hls.parallelism``: several reuse factors as one searched value (a hand-designed parallelism)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from dse.errors import ConfigError
from dse.families.lfads.params import build, check_reuse_factors, parse_parallelism
from dse.families.records import DesignPoint, HardwareTarget
from dse.study import load_study
from search_spaces.specs import Choices, Fixed

FOLDED = ("encoder=70 recurrent_encoder=64 ic=128 generator=64 recurrent_generator=64 factors=64 logrates=4")
HEAD = "name: t\nobjectives: [behavior_r2, latency_us]\nn_trials: 4\nsampler: {name: random}\n"


def study(tmp_path: Path, hls: str):
    path = tmp_path / "study.yaml"
    path.write_text(HEAD + textwrap.dedent(hls))
    return load_study(path)


def test_parse() -> None:
    assert parse_parallelism("") == {}
    assert parse_parallelism("encoder=70, recurrent_generator=8") == {"encoder": 70, "recurrent_generator": 8}
    for bad, problem in (("encoder", "not <product>=<reuse factor>"), ("decoder=2", "not <product>"),
                         ("ic=two", "not an integer"), ("ic=0", "at least 1"), ("ic=2 ic=4", "given twice")):
        with pytest.raises(ValueError, match=problem):
            parse_parallelism(bad)


def test_build_puts_each_entry_on_its_product(tmp_path: Path) -> None:
    cfg = study(tmp_path, "hls: {strategy: resource, reuse_factor: 2, parallelism: {choices: ['encoder=70 "
                          "recurrent_encoder=64', 'ic=8']}, reuse_factor_generator: 7}\n")
    space = cfg.search_space()
    enc = space.design_point({"hls.parallelism": "encoder=70 recurrent_encoder=64"})["hls"]
    assert enc["layer_reuse_factor"] == {"encoder": 70, "generator": 7}
    assert enc["recurrent_reuse_factor"] == {"encoder": 64}
    # a product the value leaves out keeps its own parameter, else the model-wide reuse factor
    ic = space.design_point({"hls.parallelism": "ic=8"})["hls"]
    assert ic["layer_reuse_factor"] == {"generator": 7, "ic": 8} and ic["reuse_factor"] == 2


def test_same_design_as_the_per_layer_parameters(tmp_path: Path) -> None:
    per_layer = study(tmp_path, "hls: {strategy: resource, reuse_factor_encoder: 70, recurrent_reuse_factor_encoder: 64, "
                                "reuse_factor_ic: 128, reuse_factor_generator: 64, recurrent_reuse_factor_generator: "
                                "64, reuse_factor_factors: 64, reuse_factor_logrates: 4}\n")
    one_value = study(tmp_path, f"hls: {{strategy: resource, parallelism: '{FOLDED}'}}\n")
    a = per_layer.search_space().design_point({})["hls"]
    b = one_value.search_space().design_point({})["hls"]
    assert a == b


def test_bad_value_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hls\.parallelism.*'decoder=2' is not"):
        study(tmp_path, "hls: {parallelism: {choices: ['ic=2', 'decoder=2']}}\n")


def test_a_product_set_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hls\.parallelism.*sets ic, which hls\.reuse_factor_ic also sets"):
        study(tmp_path, "hls: {parallelism: 'ic=8', reuse_factor_ic: {choices: [2, 4]}}\n")


def test_invalid_resource_reuse_factor_inside_a_value_is_refused() -> None:
    specs = {"hls.strategy": Fixed("resource"), "model.encoder_units": Fixed(64), "model.latent_units": Fixed(64),
             "model.factors": Fixed(4), "hls.parallelism": Choices((FOLDED, FOLDED.replace("ic=128", "ic=24")))}
    problems = dict(check_reuse_factors(specs, 70))
    assert list(problems) == ["hls.parallelism"] and "24 not valid for ic's input product 128x64" in problems[
        "hls.parallelism"]
    specs["hls.parallelism"] = Fixed(FOLDED)
    assert check_reuse_factors(specs, 70) == []
    # a product the values leave out is checked on its own parameter (the model-wide 3 divides nothing here)
    specs.update({"hls.parallelism": Fixed("ic=8"), "hls.reuse_factor": Fixed(3)})
    assert "hls.reuse_factor" in dict(check_reuse_factors(specs, 70))


def test_build_without_parallelism_is_unchanged() -> None:
    point = {"quantization.mode": "ptq", "quantization.ptq_integer_bits": 6, "quantization.ptq_fractional_bits": 10,
             "hls.reuse_factor": 1, "hls.reuse_factor_ic": 4, "hls.parallelism": "", "hls.strategy": "latency",
             "hls.io_type": "io_parallel", "hls.table_size": 1024}
    hw = HardwareTarget("estimate", "xcu55c", 5.0)
    from dse.families.lfads.params import PARAMS

    point.update({p.name: p.default for p in PARAMS if p.section in ("model", "train")})
    h = build(DesignPoint("lfads", point, hw))["hls"]
    assert h["layer_reuse_factor"] == {"ic": 4} and h["recurrent_reuse_factor"] == {}

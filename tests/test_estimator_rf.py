"""The estimator on every design hls4ml 1.3.0 accepts: reuse-factor substitution, every layer kind costed
for what it is, fallback layers reported, an uncertainty on every estimate."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dse.cost.estimator import estimate_model, estimate_specs  # noqa: E402
from dse.cost.estimator_layers import Constants, LayerSpec, Target, cost_layer  # noqa: E402
from dse.hls.reuse import used_reuse_factor, valid_reuse_factors  # noqa: E402


def _convert(model: Any, tmp_path: Path, *, strategy: str, rf: int) -> Any:
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vitis",
                                               default_precision="ap_fixed<16,6>", default_reuse_factor=rf)
    cfg["Model"]["Strategy"] = strategy
    return hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis",
                                                      io_type="io_parallel", part="xcu55c-fsvh2892-2L-e",
                                                      output_dir=str(tmp_path / "prj"))


def _rnn_model() -> Any:
    from tensorflow import keras

    x = keras.Input((6, 10))
    h = keras.layers.Bidirectional(keras.layers.GRU(8, return_sequences=True), name="bi")(x)
    h = keras.layers.GRU(12, name="gru")(h)
    return keras.Model(x, keras.layers.Dense(5, name="dense")(h))


# --------------------------------------------------------------------------------------------------
# Reuse factors
# --------------------------------------------------------------------------------------------------


def test_closest_valid_reuse_factor_is_hls4mls() -> None:
    assert valid_reuse_factors(10, 24)[:6] == (1, 2, 5, 10, 20, 30)
    assert used_reuse_factor(10, 24, 7, resource=True) == 5  # 7 is between 5 and 10: closer to 5
    assert used_reuse_factor(10, 24, 20, resource=True) == 20  # valid: kept
    assert used_reuse_factor(10, 24, 7, resource=False) == 7  # Latency strategy: hls4ml keeps any value


def test_substitutions_match_the_conversion(tmp_path: Path) -> None:
    """Converted by hls4ml itself with a reuse factor invalid for Dense, GRU and Bidirectional products: the
    estimate lists every substitution, and each chosen value is the one used_reuse_factor predicts."""
    hm = _convert(_rnn_model(), tmp_path, strategy="Resource", rf=7)
    rep = estimate_model(hm, part="xcu55c", clock_ns=5.0)
    subs = {(s["layer"], s["product"]): s for s in rep.details["reuse_factor_substitutions"]}
    sizes = {("bi", "forward input"): (10, 24), ("bi", "forward recurrent"): (8, 24),
             ("bi", "backward input"): (10, 24), ("bi", "backward recurrent"): (8, 24),
             ("gru", "input"): (16, 36), ("gru", "recurrent"): (12, 36), ("dense", "input"): (12, 5)}
    for key, (n_in, n_out) in sizes.items():
        want = used_reuse_factor(n_in, n_out, 7, resource=True)
        if want == 7:
            assert key not in subs
        else:
            assert subs[key]["requested"] == 7 and subs[key]["used"] == want, key
    assert len(subs) >= 3
    # and the estimate costs what hls4ml built: the dense's products at the substituted reuse factor
    dense = next(lc for lc in rep.details["layers"] if lc["kind"] == "dense")
    assert dense["products"] == math.ceil(12 * 5 / used_reuse_factor(12, 5, 7, resource=True))


def test_latency_strategy_keeps_any_reuse_factor(tmp_path: Path) -> None:
    rep = estimate_model(_convert(_rnn_model(), tmp_path, strategy="Latency", rf=7), part="xcu55c", clock_ns=5.0)
    assert rep.details["reuse_factor_substitutions"] == []


def test_specs_with_invalid_resource_reuse_factor_are_substituted() -> None:
    specs = [LayerSpec("g", "gru", n_in=10, n_out=8, n_state=8, timesteps=4, reuse_factor=7,
                       recurrent_reuse_factor=7, strategy="resource"),
             LayerSpec("d", "dense", n_in=8, n_out=5, reuse_factor=7, strategy="resource")]
    rep = estimate_specs(specs, part="xcu55c")
    subs = {(s["layer"], s["product"]): s["used"] for s in rep.details["reuse_factor_substitutions"]}
    assert subs == {("g", "input"): used_reuse_factor(10, 24, 7, resource=True),
                    ("g", "recurrent"): used_reuse_factor(8, 24, 7, resource=True),
                    ("d", "input"): used_reuse_factor(8, 5, 7, resource=True)}
    assert rep.details["specs"][1]["reuse_factor"] == subs[("d", "input")]


def test_latency_strategy_reuse_keeps_the_hardware_and_caps_dsps() -> None:
    """Latency strategy: RF only sets the ALLOCATION limit on mul operations.  RF 2 leaves a design whose mul
    operations fit under the limit as it was (Hector-Plata new2_44/45, ArgyKokk new2_09/10); a large RF caps
    the DSPs at the limit and the layer takes the cycles the shared multipliers need (the adder tree runs in
    the same cycles, so it is the longer of the two, not their sum), restarting after latency + 1."""
    # 40 % of the constant products stay multiplies (Hector-Plata new2_44: 1520 DSPs for 4256 products)
    target = Target(consts=replace(Constants(), const_weight_dsp_fraction=0.4))
    rf1, rf2, rf64 = (cost_layer(LayerSpec("d", "dense", n_in=64, n_out=32, reuse_factor=rf), target)
                      for rf in (1, 2, 64))
    assert rf2.dsp == rf1.dsp and rf2.lut == rf1.lut and rf2.latency == rf1.latency
    assert rf64.dsp == 32  # multiplier_limit = 64*32/64
    assert rf64.latency == max(rf1.latency, math.ceil(0.4 * 2048 / 32)) == 26 and rf64.lut == rf1.lut
    assert rf64.ii == rf64.latency + 1  # below the target II = RF = 64 (ArgyKokk new2_11: 15/16, 23/24)
    # at the default fraction RF 2's limit (1024) is below the mul operations: capped, two mul cycles,
    # which the 2-cycle product + adder tree already spans
    d1, d2 = (cost_layer(LayerSpec("d", "dense", n_in=64, n_out=32, reuse_factor=rf), Target()) for rf in (1, 2))
    assert d2.dsp == 1024 < d1.dsp and d2.latency == max(d1.latency, 2) == 2


# --------------------------------------------------------------------------------------------------
# Layer kinds
# --------------------------------------------------------------------------------------------------


def test_conv_pooling_flatten_activation_costed_for_what_they_are(tmp_path: Path) -> None:
    from tensorflow import keras

    x = keras.Input((16, 16, 3))
    h = keras.layers.Conv2D(4, 3, name="c2")(x)  # 14x14x4
    h = keras.layers.Activation("relu", name="act")(h)
    h = keras.layers.MaxPooling2D(2, name="pool2")(h)  # 7x7x4
    h = keras.layers.Reshape((49, 4), name="reshape")(h)
    h = keras.layers.Conv1D(6, 3, name="c1")(h)  # 47x6
    h = keras.layers.AveragePooling1D(2, name="pool1")(h)
    h = keras.layers.GlobalAveragePooling1D(name="gap")(h)
    h = keras.layers.Flatten(name="flat")(h)
    model = keras.Model(x, keras.layers.Dense(3, name="out")(h))
    rep = estimate_model(_convert(model, tmp_path, strategy="Latency", rf=1), part="xcu55c", clock_ns=5.0)
    kinds = {lc["name"]: lc for lc in rep.details["layers"]}
    assert rep.details["fallback_layers"] == [] and "unknown" not in {lc["kind"] for lc in kinds.values()}
    assert kinds["c2"]["kind"] == "conv2d" and kinds["c1"]["kind"] == "conv1d"
    c2 = next(s for s in rep.details["specs"] if s["name"] == "c2")
    assert c2["n_in"] == 3 * 3 * 3 and c2["n_out"] == 4 and c2["positions"] * c2["parallel"] == 14 * 14
    for name in ("pool2", "pool1", "gap"):
        assert kinds[name]["kind"] == "pooling"
    for lc in kinds.values():
        if lc["kind"] in ("pooling", "activation", "passthrough"):
            assert lc["dsp"] == 0 and lc["products"] == 0, lc["name"]
    assert kinds["c2"]["products"] == 27 * 4  # one MVP instance, applied per pixel
    assert kinds["c2"]["latency_cycles"] >= 14 * 14  # the pixels go through it one after the other


def test_unknown_layer_falls_back_without_multipliers_and_is_reported() -> None:
    dense = LayerSpec("d", "dense", n_in=16, n_out=16)
    mystery = LayerSpec("mystery", "unknown", n_in=4096, n_out=4096, note="FancyLayer")
    rep = estimate_specs([dense, mystery], part="xcu55c")
    only = estimate_specs([dense], part="xcu55c")
    assert rep.dsp == only.dsp  # the fallback charges no products
    assert rep.details["fallback_layers"] == [
        {"name": "mystery", "class": "FancyLayer",
         "reason": "no cost model for this layer kind: element-wise fallback, no multipliers"}]
    assert any("mystery" in w for w in rep.details["warnings"])
    # the fallback layer's share of the LUTs counts as 100 % uncertain
    lut_share = rep.details["layers"][1]["lut"] / rep.lut
    assert rep.details["uncertainty"]["lut"] >= lut_share - 1e-3
    assert "fallback" in rep.details["uncertainty_basis"]


def test_every_estimate_carries_an_uncertainty() -> None:
    rep = estimate_specs([LayerSpec("g", "gru", n_in=6, n_out=20, n_state=20, timesteps=10),
                          LayerSpec("d", "dense", n_in=20, n_out=4)], part="xcu55c")
    unc = rep.details["uncertainty"]
    assert set(unc) == {"latency", "dsp", "lut", "ff", "bram"}
    assert all(math.isfinite(v) and v >= 0 for v in unc.values())
    assert "recurrent" in rep.details["uncertainty_basis"]


def test_uncertainty_weights_families_by_their_share() -> None:
    from dse.cost.estimator import uncertainty
    from dse.cost.estimator_layers import LayerCost

    table = {"recurrent": {"latency": 0.1}, "dense": {"latency": 0.5}, "all": {"latency": 0.3}}
    layers = [LayerCost("g", "gru", 90, 90, 90), LayerCost("d", "dense", 10, 10, 1)]
    unc, _ = uncertainty(layers, table)
    assert unc["latency"] == pytest.approx(0.9 * 0.1 + 0.1 * 0.5)


def test_io_stream_conv_and_pooling_step_through_the_input_pixels(tmp_path: Path) -> None:
    """io_stream convolution/pooling read every input pixel through a line buffer (nnet_conv2d_stream.h,
    nnet_pooling_stream.h): one step per input pixel, against one per output pixel in io_parallel."""
    import hls4ml
    from tensorflow import keras

    x = keras.Input((12, 12, 2))
    h = keras.layers.Conv2D(3, 3, name="c2")(x)  # 10x10x3
    model = keras.Model(x, keras.layers.MaxPooling2D(2, name="pool")(h))
    reps = {}
    for io in ("io_parallel", "io_stream"):
        cfg = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vitis")
        hm = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis", io_type=io,
                                                        part="xcu55c-fsvh2892-2L-e", output_dir=str(tmp_path / io))
        reps[io] = estimate_model(hm, part="xcu55c", clock_ns=5.0)
    spec = {io: {s["name"]: s for s in r.details["specs"]} for io, r in reps.items()}
    assert spec["io_parallel"]["c2"]["positions"] * spec["io_parallel"]["c2"]["parallel"] == 10 * 10
    assert spec["io_stream"]["c2"]["positions"] == 12 * 12
    pool = {io: next(lc for lc in r.details["layers"] if lc["name"] == "pool") for io, r in reps.items()}
    assert pool["io_stream"]["latency_cycles"] >= 10 * 10 > pool["io_parallel"]["latency_cycles"]
    assert pool["io_stream"]["dsp"] == pool["io_parallel"]["dsp"] == 0


def test_clock_uncertainty_shortens_the_usable_period() -> None:
    """HLS schedules into the period minus the clock uncertainty hls4ml writes (27 % for Vitis, 12.5 % for
    Vivado by default): more uncertainty, more pipeline stages for the same logic."""
    from dse.cost.estimator import clock_uncertainty_fraction

    assert clock_uncertainty_fraction("27%", 5.0) == pytest.approx(0.27)
    assert clock_uncertainty_fraction("1.35", 5.0) == pytest.approx(0.27)
    assert clock_uncertainty_fraction(None, 5.0) is None
    specs = [LayerSpec("d", "dense", n_in=256, n_out=16)]
    lat = {u: estimate_specs(specs, part="xc7z020", clock_ns=3.0, clock_uncertainty=u).latency_cycles
           for u in (0.125, 0.27, 0.5)}
    # whole operations per cycle (chained_cycles): a step function, never fewer cycles for more uncertainty
    assert lat[0.125] <= lat[0.27] <= lat[0.5] and lat[0.125] < lat[0.5]

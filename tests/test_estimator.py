"""The analytical ``estimate`` cost backend: formulas, extractor, backend registration, calibration."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dse.cost import calibration, estimator_fit  # noqa: E402
from dse.cost.base import HardwareReport  # noqa: E402
from dse.cost.estimator import EstimatorBackend, estimate_model, estimate_specs  # noqa: E402
from dse.cost.estimator_layers import (  # noqa: E402
    CONST_WEIGHT_DSP_FRACTION,
    LAYER_COSTS,
    Constants,
    LayerSpec,
    Target,
    cost_layer,
    dsp_per_product,
    product_in_luts,
    rom_brams,
)
from dse.cost.parts import get_part  # noqa: E402
from dse.cost.registry import get_backend  # noqa: E402


def _convert(model: Any, *, strategy: str = "Latency", rf: int = 1, precision: str = "ap_fixed<16,6>",
             io_type: str = "io_parallel", tmp_path: Path) -> Any:
    return calibration.convert(model, precision=precision, reuse_factor=rf, strategy=strategy, io_type=io_type,
                            backend="Vitis", part="xcu55c", clock_ns=5.0, output_dir=str(tmp_path / "prj"))


def _layer(report: HardwareReport, kind: str) -> dict[str, Any]:
    return next(lc for lc in report.details["layers"] if lc["kind"] == kind)


def _dense(n_in: int, n_out: int, **kw: Any) -> LayerSpec:
    return LayerSpec("d", "dense", n_in=n_in, n_out=n_out, **kw)


# --------------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------------


def test_dsp48e2_operand_limit() -> None:
    us, s7 = "ultrascale+", "7series"
    assert dsp_per_product(16, 16, us) == 1
    assert dsp_per_product(27, 18, us) == 1
    assert dsp_per_product(18, 27, us) == 1  # either orientation
    assert dsp_per_product(24, 24, us) == 2  # one operand over 18 bits: two slices (paper sec. 4.2)
    assert dsp_per_product(32, 32, us) == 4
    assert dsp_per_product(26, 18, s7) == 2  # DSP48E1 is 25x18
    assert dsp_per_product(25, 18, s7) == 1


def test_narrow_products_go_to_luts() -> None:
    assert product_in_luts(10, 10)
    assert product_in_luts(16, 8)  # hls4ml's vivado_objectives: weight width < 9
    assert not product_in_luts(12, 12)
    assert not product_in_luts(16, 16)


def test_rom_brams() -> None:
    # a 30 x 16-bit ROM stays in LUTs; 30 x 192 bits is 6 BRAM18 in 512x36 mode (case18's GRU kernel)
    assert rom_brams(30, 16) == 0
    assert rom_brams(30, 192) == 6
    assert rom_brams(1024, 18, ports_needed=4) == 2  # replicated per 2 readers
    assert rom_brams(64, 8) == 0  # a small activation table stays in LUTs


def test_cost_functions_registered_by_kind() -> None:
    for kind in ("dense", "conv1d", "gru", "lstm", "simple_rnn", "activation", "softmax", "elementwise",
                 "passthrough", "unknown"):
        assert kind in LAYER_COSTS


# --------------------------------------------------------------------------------------------------
# Monotonicity and hand-computed counts (LayerSpecs)
# --------------------------------------------------------------------------------------------------


def test_higher_reuse_fewer_dsp_more_latency() -> None:
    target = Target()
    costs = [cost_layer(_dense(64, 32, reuse_factor=rf, strategy="resource"), target) for rf in (2, 4, 8, 16, 32)]
    dsps = [c.dsp for c in costs]
    lats = [c.latency for c in costs]
    assert dsps == sorted(dsps, reverse=True) and len(set(dsps)) == len(dsps)
    assert lats == sorted(lats) and len(set(lats)) == len(lats)
    assert [c.dsp for c in costs] == [64 * 32 / rf for rf in (2, 4, 8, 16, 32)]  # ceil(n_in*n_out/RF), exact


def test_wider_precision_more_dsp_narrow_precision_luts() -> None:
    target = Target()

    def cost(bits: int) -> Any:
        spec = _dense(32, 16, reuse_factor=2, strategy="resource", data_bits=bits, weight_bits=bits, accum_bits=bits)
        return cost_layer(spec, target)

    c10, c12, c16, c24, c32 = (cost(b) for b in (10, 12, 16, 24, 32))
    products = 32 * 16 // 2
    assert c16.dsp == products
    assert c24.dsp == 2 * products  # above 27x18
    assert c32.dsp == 4 * products
    assert c10.dsp == 0  # <= 10 bits: LUT multipliers
    assert c10.lut > c12.lut > 0
    assert c10.lut_products == products


def test_small_dense_rf1_hand_computed(tmp_path: Path) -> None:
    """Dense 16->8 at RF=1 through hls4ml: 128 products of constant weights, 16x16 bits."""
    from tensorflow import keras

    inp = keras.Input((16,))
    model = keras.Model(inp, keras.layers.Dense(8)(inp))
    rep = estimate_model(_convert(model, tmp_path=tmp_path), part="xcu55c", clock_ns=5.0)
    dense = _layer(rep, "dense")
    assert dense["products"] == 16 * 8
    assert dense["dsp"] == round(16 * 8 * CONST_WEIGHT_DSP_FRACTION)
    # Resource strategy at RF=4: weights from ROM, every product a DSP, 128/4 = 32 of them
    rep = estimate_model(_convert(model, strategy="Resource", rf=4, tmp_path=tmp_path), part="xcu55c", clock_ns=5.0)
    dense = _layer(rep, "dense")
    assert dense["dsp"] == 32
    assert dense["bram_18k"] == math.ceil(32 * 16 / 36)  # a 4-deep ROM of 32x16-bit words, 512x36 mode
    # the dense_resource instance rows of case18/19/21 report RF+1..RF+2 cycles; the start-and-drain cycles
    # are fitted on design totals, so within 2 cycles of that
    assert 4 + 1 <= dense["latency_cycles"] <= 4 + 2 + 2


def test_qkeras_narrow_weights_in_luts(tmp_path: Path) -> None:
    """A QDense with 6-bit weights: the extractor reads the quantizer's width, the products go to LUTs."""
    from qkeras import QDense, quantized_bits
    from tensorflow import keras

    inp = keras.Input((16,))
    q = quantized_bits(6, 0, alpha=1)
    model = keras.Model(inp, QDense(8, kernel_quantizer=q, bias_quantizer=q)(inp))
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hm = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis", io_type="io_parallel",
                                                    part="xcu55c-fsvh2892-2L-e", output_dir=str(tmp_path / "q"))
    rep = estimate_model(hm, part="xcu55c", clock_ns=5.0)
    spec = next(s for s in rep.details["specs"] if s["kind"] == "dense")
    assert spec["weight_bits"] == 6
    dense = _layer(rep, "dense")
    assert dense["dsp"] == 0 and dense["lut_products"] == 16 * 8 - spec["n_zeros"]  # zero weights vanish


# --------------------------------------------------------------------------------------------------
# Recurrent layers
# --------------------------------------------------------------------------------------------------


def test_gru_latency_is_per_step_times_timesteps(shared_dir: Path) -> None:
    """Resource-strategy GRUs against their instances in real reports (case18: GRU(20), 20 steps, RF 30/20;
    case19: GRU(120), 15 steps, RF 30/30; xcu250 at 5 ns): within 10 % of the reported worst-case latency (today
    -5 % for both), and linear in the sequence length."""
    from csynth_instances import latencies_by_kind

    target = Target()
    base = LayerSpec("g", "gru", n_in=6, n_out=20, n_state=20, reuse_factor=30, recurrent_reuse_factor=20,
                     strategy="resource")
    c10 = cost_layer(LayerSpec(**{**base.__dict__, "timesteps": 10}), target)
    c20 = cost_layer(LayerSpec(**{**base.__dict__, "timesteps": 20}), target)
    assert c20.latency == 2 * c10.latency
    big = LayerSpec("g", "gru", n_in=6, n_out=120, n_state=120, timesteps=15, reuse_factor=30,
                    recurrent_reuse_factor=30, strategy="resource", activation="tanh")
    for case, cost in (("case18", c20), ("case19", cost_layer(big, target))):
        rpt = next((shared_dir / "fixtures" / "hls_reports" / case).glob("*csynth.rpt"))
        (reported,) = latencies_by_kind(rpt, ("gru_stack",))["gru_stack"]
        assert cost.latency == pytest.approx(reported, rel=0.10), (case, cost.latency, reported)
    assert c20.dsp == c10.dsp == 6 * 60 / 30 + 20 * 60 / 20 + 3 * 20  # case18's 132, exactly


def test_gru_tables_and_hard_activations() -> None:
    """Activation tables are replicated per two parallel lookups (case19: 120+60 BRAM for GRU(120));
    hard (clip) activations need none."""
    target = Target()
    spec = LayerSpec("g", "gru", n_in=6, n_out=120, n_state=120, timesteps=15, reuse_factor=30,
                     recurrent_reuse_factor=30, strategy="resource", activation="tanh")
    soft = cost_layer(spec, target)
    assert soft.bram_18k == 32 + 640 + 120 + 60  # case19's GRU instance: 852, exactly
    hard = cost_layer(LayerSpec(**{**spec.__dict__, "activation": "dse_hard_tanh_8",
                                   "recurrent_activation": "dse_hard_sigmoid_8"}), target)
    assert hard.bram_18k == 32 + 640
    assert hard.dsp == soft.dsp


def test_gru_from_keras_scales_with_sequence_length(tmp_path: Path) -> None:
    from tensorflow import keras

    lats = []
    for steps in (8, 16):
        inp = keras.Input((steps, 4))
        model = keras.Model(inp, keras.layers.GRU(8)(inp))
        rep = estimate_model(_convert(model, tmp_path=tmp_path / str(steps)), part="xcu55c", clock_ns=5.0)
        lats.append(_layer(rep, "gru")["latency_cycles"])
    assert lats[1] == 2 * lats[0]


def test_bidirectional_directions_overlap_by_default(tmp_path: Path) -> None:
    """hls4ml's bidirectional_stack calls two independent cell instances per step (the template), and the
    Bidirectional calibration row (case05) reports one direction's latency: overlap is the default,
    ``bidirectional_parallel=False`` the sequential upper bound."""
    from tensorflow import keras

    inp = keras.Input((10, 6))
    uni = keras.Model(inp, keras.layers.GRU(8)(inp))
    bi = keras.Model(inp, keras.layers.Bidirectional(keras.layers.GRU(8), merge_mode="concat")(inp))
    r_uni = estimate_model(_convert(uni, tmp_path=tmp_path / "u"), part="xcu55c", clock_ns=5.0)
    hm_bi = _convert(bi, tmp_path=tmp_path / "b")
    r_bi = estimate_model(hm_bi, part="xcu55c", clock_ns=5.0)
    g_uni, g_bi = _layer(r_uni, "gru"), _layer(r_bi, "gru")
    assert g_bi["latency_cycles"] == g_uni["latency_cycles"]
    assert g_bi["products"] == 2 * g_uni["products"]
    assert r_bi.details["specs"][1]["directions"] == 2
    assert any("overlap" in a for a in r_bi.details["assumptions"])
    # the override: one direction after the other
    r_seq = estimate_model(hm_bi, part="xcu55c", clock_ns=5.0, bidirectional_parallel=False)
    assert _layer(r_seq, "gru")["latency_cycles"] == 2 * g_uni["latency_cycles"]


def test_lfads_model_time_distributed(tmp_path: Path) -> None:
    """The LFADS autoencoder dse deploys: every layer is recognised; the TimeDistributed dense layers are
    unrolled under the pipelined (Latency, io_parallel) top and run sequentially under dataflow (Resource)."""
    from dse.families.lfads.config import LFADSConfig
    from dse.families.lfads.model import build_lfads

    cfg = LFADSConfig(n_neurons=10, n_bins=12, encoder_units=8, latent_units=8, factors=4)
    model = build_lfads(cfg).deploy
    lat = estimate_model(_convert(model, tmp_path=tmp_path / "l"), part="xcu55c", clock_ns=5.0)
    res = estimate_model(_convert(model, strategy="Resource", tmp_path=tmp_path / "r"), part="xcu55c", clock_ns=5.0)
    # hls4ml 1.3.0's Keras converter does not wire the generator's initial_state: flagged, not fatal. dse's
    # registered workarounds (dse.hls.workarounds) wire it once any dse conversion ran in this process, so
    # the warning depends on which tests ran before: at most that one warning, never another
    for rep in (lat, res):
        assert [w for w in rep.details["warnings"] if "initial state" in w] == rep.details["warnings"]
        assert len(rep.details["warnings"]) <= 1
    kinds = [s["kind"] for s in lat.details["specs"]]
    assert kinds.count("gru") == 2 and kinds.count("dense") == 3
    td = [s for s in lat.details["specs"] if s["time_loop"] != "none"]
    assert len(td) == 2 and all(s["time_loop"] == "unrolled" and s["time_steps_wrapped"] == 12 for s in td)
    assert all(s["time_loop"] == "sequential" for s in res.details["specs"] if s["time_loop"] != "none")
    assert lat.details["pipeline_style"] == "pipeline" and res.details["pipeline_style"] == "dataflow"
    # Latency top with recurrent loops: not pipelined, II = latency + 1
    assert lat.ii_cycles == lat.latency_cycles + 1


def test_unknown_layer_is_costed_and_flagged() -> None:
    spec = LayerSpec("mystery", "unknown", n_in=16, n_out=8, note="FancyLayer")
    rep = estimate_specs([_dense(16, 16), spec], part="xcu55c")
    assert rep.details["warnings"] and "mystery" in rep.details["warnings"][0]
    mystery = rep.details["layers"][1]
    assert mystery["lut"] > 0 and mystery["latency_cycles"] > 0
    assert mystery["dsp"] == 0 and mystery["products"] == 0
    assert [f["name"] for f in rep.details["fallback_layers"]] == ["mystery"]


# --------------------------------------------------------------------------------------------------
# Backend and report
# --------------------------------------------------------------------------------------------------


def test_registered_backend_and_utilisation(tmp_path: Path) -> None:
    from tensorflow import keras

    backend = get_backend("estimate")
    assert isinstance(backend, EstimatorBackend) and backend.available()
    inp = keras.Input((16,))
    model = keras.Model(inp, keras.layers.Dense(4)(keras.layers.Dense(32, activation="relu")(inp)))
    rep = backend.cost(_convert(model, tmp_path=tmp_path), part="xcu55c", clock_ns=5.0)
    assert isinstance(rep, HardwareReport) and rep.backend == "estimate" and rep.uram == 0
    assert rep.latency_cycles >= rep.latency_cycles_best > 0 and rep.ii_cycles == 1
    assert rep.latency_us == pytest.approx(rep.latency_cycles * 5.0 / 1000)
    assert len(rep.details["layers"]) == len(rep.details["specs"])
    util = rep.utilisation()
    assert util["dsp"] == pytest.approx(rep.dsp / get_part("xcu55c").resources["dsp"])
    assert rep.fits() and 0 < util["lut"] < 0.05
    assert rep.to_dict()["utilisation"] == util


# --------------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------------


def test_shipped_constants_are_the_fit_on_every_covered_row(shared_dir: Path) -> None:
    """The constants in estimator_layers are what :func:`dse.cost.estimator_fit.fit` fits on every covered
    row of both calibration CSVs, with the selected constants (``FROZEN``) at their outside-source priors."""
    reported = calibration.load_reported(shared_dir)
    builts = calibration.build_all(reported, shared_dir)
    fitted = estimator_fit.fit(estimator_fit.covered(builts), reported)
    shipped = Constants()
    for p in estimator_fit.all_params():
        assert getattr(shipped, p) == pytest.approx(getattr(fitted, p), rel=0.02), p
    for p in estimator_fit.FROZEN:
        assert p in estimator_fit.PRIORS and getattr(shipped, p) == estimator_fit.PRIORS[p], p


def test_only_outside_priors_are_ever_frozen() -> None:
    """A constant may be held fixed only at a prior from outside the calibration set; every other constant
    of the fit has a start value only and is fitted in each fold."""
    assert set(estimator_fit.FROZEN) <= set(estimator_fit.PRIORS)
    assert set(estimator_fit.PRIORS).isdisjoint(estimator_fit.START)
    assert set(estimator_fit.all_params()) <= set(estimator_fit.PRIORS) | set(estimator_fit.START)


def test_leave_one_repository_out(shared_dir: Path) -> None:
    """Every covered row is predicted by constants fitted without its repository.  The bounds are the
    held-out level measured by bench/estimator_fidelity.py (its JSON), with a few points of margin: a
    regression check, not the 15 % goal (which the nested figure in the fidelity results does not meet)."""
    reported = calibration.load_reported(shared_dir)
    builts = calibration.build_all(reported, shared_dir)
    held_out, fits = estimator_fit.loro(builts, reported)
    covered = estimator_fit.covered(builts)
    assert sorted(c.case for c in held_out) == sorted(b.row.case for b in covered)
    assert set(fits) == {b.repo for b in covered} and len(fits) >= 8
    meds = estimator_fit.medians(held_out)
    assert meds["dsp"][0] <= 0.12 and meds["lut"][0] <= 0.32 and meds["latency"][0] <= 0.32
    assert meds["bram"][0] <= 0.05  # the BRAM rules are structural: exact on most rows
    # the recurrent family (the LFADS layers) is the best-covered one
    rec = estimator_fit.medians(held_out, "recurrent")
    assert rec["latency"][0] <= 0.1 and rec["dsp"][0] <= 0.1

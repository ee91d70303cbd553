"""The causal LFADS variant: causality of its outputs, its one-bin step model, training, settings, ``dse train``.

Small sizes throughout; training tests run a few epochs on 40 synthetic trials."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import run_dse

from dse.data import load_data, split_data
from dse.families.lfads.config import LFADSConfig, QuantSpec, TrainConfig
from dse.families.lfads.model import build_lfads

SMALL = dict(n_neurons=6, n_bins=12, encoder_units=5, latent_units=7, factors=2, controller_units=4,
             controller_inputs=3)


@pytest.fixture(scope="module")
def small_split():
    data = load_data("synthetic", n_trials=40, n_bins=12, n_neurons=6, seed=3)
    return split_data(data, seed=0)


def _spikes(n: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).poisson(0.5, (n, SMALL["n_bins"], SMALL["n_neurons"])).astype("float32")


def _randomise(model, seed: int = 1) -> None:
    """Random non-zero weights everywhere (the learned initial state starts at zero: make it matter)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])


@pytest.mark.parametrize("quant", [None, QuantSpec(8, 3)])
@pytest.mark.parametrize("ic_window", [0, 4])
def test_outputs_of_bin_t_depend_on_spikes_up_to_t_only(quant, ic_window):
    """Change the spikes of one bin b: the outputs of bins before b stay bit-identical, those from b on change
    (with an IC window k, bins before k wait for the window, so a change inside it may move them too). Without
    the controller lag; with it bin b stays too (test_with_the_controller_lag_...)."""
    m = build_lfads(LFADSConfig(**SMALL, causal=True, ic_window=ic_window, quant=quant, controller_lag=0))
    _randomise(m.deploy)
    x = _spikes()
    for b in (ic_window + 2, SMALL["n_bins"] - 1):
        y = x.copy()
        y[:, b, :] += 3.0
        (lx, fx), (ly, fy) = m.deploy.predict(x, verbose=0), m.deploy.predict(y, verbose=0)
        assert np.array_equal(lx[:, :b], ly[:, :b]) and np.array_equal(fx[:, :b], fy[:, :b])
        assert not np.allclose(fx[:, b:], fy[:, b:])


def test_the_bidirectional_model_is_not_causal():
    """The same probe on the bidirectional model moves bin 0 (so the causal test can fail)."""
    from dse.families.lfads.model import zero_gen_input

    m = build_lfads(LFADSConfig(**{k: v for k, v in SMALL.items() if not k.startswith("controller")}))
    x = _spikes()
    y = x.copy()
    y[:, -1, :] += 3.0
    g = zero_gen_input(len(x), SMALL["n_bins"])
    assert not np.allclose(m.deploy.predict([x, g], verbose=0)[1][:, 0], m.deploy.predict([y, g], verbose=0)[1][:, 0])


def test_ic_window_reads_the_window_and_a_learned_state_reads_nothing():
    """ic_window k: the generator's state at bin 0 depends on spikes of bins < k; ic_window 0: it does not."""
    for k in (0, 4):
        m = build_lfads(LFADSConfig(**SMALL, causal=True, ic_window=k))
        _randomise(m.deploy)
        x = _spikes()
        y = x.copy()
        y[:, 2, :] += 3.0  # inside the window of 4, after bin 0
        moved = not np.allclose(m.deploy.predict(x, verbose=0)[1][:, 0], m.deploy.predict(y, verbose=0)[1][:, 0])
        assert moved == (k > 2)


@pytest.mark.parametrize("variational", [False, True])
def test_deploy_graph_has_no_training_layers_and_the_kl_is_on_the_controller_inputs(variational):
    m = build_lfads(LFADSConfig(**SMALL, causal=True, variational=variational))
    names = {layer.name for layer in m.deploy.layers}
    assert {"encoder", "controller", "con_input", "gen_init", "generator", "factors", "logrates"} <= names
    assert not any("dropout" in n or "sample" in n or "logvar" in n for n in names)
    assert [i.name for i in m.deploy.inputs] == ["spikes"]
    assert type(m.deploy.get_layer("encoder")).__name__ == "GRU"  # forward only, not Bidirectional
    train_names = {layer.name for layer in m.train.layers}
    assert ("con_sample" in train_names) == variational and "ic_sample" not in train_names
    if variational:
        assert ["con_sample" in getattr(loss, "name", "") for loss in m.train.losses].count(True) == 1  # the KL


def test_config_validation_and_a_bidirectional_config_is_unchanged():
    with pytest.raises(ValueError, match="ic_window"):
        LFADSConfig(**SMALL, causal=True, ic_window=12)
    with pytest.raises(ValueError, match="causal"):
        LFADSConfig(**SMALL, ic_window=2)
    with pytest.raises(ValueError, match="controller_units"):
        LFADSConfig(**{**SMALL, "controller_units": 0}, causal=True)
    # the plain dict (and the model-cache key made from it) of a bidirectional model has no causal field
    plain = LFADSConfig(n_neurons=6, n_bins=12)
    assert set(plain.to_dict()) == {"n_neurons", "n_bins", "encoder_units", "latent_units", "factors",
                                    "input_dropout", "ic_dropout", "variational", "kl_weight", "kl_warmup_epochs",
                                    "l2_gen_recurrent", "reset_after", "quant"}
    causal = LFADSConfig(**SMALL, causal=True, ic_window=3, quant=QuantSpec(8, 2))
    assert LFADSConfig.from_dict(causal.to_dict()) == causal
    assert LFADSConfig.from_dict(plain.to_dict()) == plain


@pytest.mark.parametrize("quant", [None, QuantSpec(8, 3)])
def test_with_the_controller_lag_bin_t_depends_on_spikes_before_t_only(quant):
    """controller_lag 1: changing the spikes of bin b leaves the outputs of bins up to b bit-identical (the
    controller reads the encoder's state after b-1); those from b+1 on change. Without the lag bin b moves."""
    x = _spikes()
    b = 5
    y = x.copy()
    y[:, b, :] += 3.0
    for lag in (1, 0):
        m = build_lfads(LFADSConfig(**SMALL, causal=True, controller_lag=lag, quant=quant))
        _randomise(m.deploy)
        (lx, fx), (ly, fy) = m.deploy.predict(x, verbose=0), m.deploy.predict(y, verbose=0)
        assert np.array_equal(fx[:, :b], fy[:, :b]) and np.array_equal(lx[:, :b], ly[:, :b])
        assert np.array_equal(fx[:, b], fy[:, b]) == bool(lag)
        assert not np.allclose(fx[:, b + 1:], fy[:, b + 1:])
    with pytest.raises(ValueError, match="controller_lag"):
        LFADSConfig(**SMALL, causal=True, controller_lag=2)
    # lag 0 keeps the keys causal models had before the lag; the lagged default says so in its dict
    unlagged = LFADSConfig(**SMALL, causal=True, controller_lag=0)
    assert "controller_lag" not in unlagged.to_dict()
    assert LFADSConfig(**SMALL, causal=True).controller_lag == 1
    assert LFADSConfig(**SMALL, causal=True).to_dict()["controller_lag"] == 1
    # a stored causal config without the key (written before the lag, or lag 0) reads back unlagged
    assert LFADSConfig.from_dict(unlagged.to_dict()) == unlagged
    lagged = LFADSConfig(**SMALL, causal=True)
    assert LFADSConfig.from_dict(lagged.to_dict()) == lagged


@pytest.mark.parametrize("lag", [0, 1])
@pytest.mark.parametrize("quant", [None, QuantSpec(8, 3)])
def test_step_model_streamed_over_a_trial_equals_the_causal_model(quant, lag):
    """The one-bin step with explicit states, stepped over whole trials carrying its states, gives the full
    causal model's outputs: exactly for float and QKeras deploy models, and for the QAT reference model
    (state-quantized GRU outputs) with the step's states quantized."""
    from dse.families.lfads.step import build_step, keras_step, stream

    cfg = LFADSConfig(**SMALL, causal=True, quant=quant, controller_lag=lag)
    m = build_lfads(cfg)
    _randomise(m.train)
    from dse.families.lfads.model import sync_models

    sync_models(m)
    x = _spikes(4)
    sources = [(m.deploy, False)] + ([(m.reference, True)] if quant is not None else [])
    for source, state_outputs in sources:
        logrates, factors = source.predict(x, verbose=0)
        step = build_step(cfg, source, state_outputs)
        assert np.any(step.initial_states[2] != 0)  # the learned initial state is carried in
        s_logrates, s_factors = stream(keras_step(step.model), x, step)
        np.testing.assert_allclose(s_logrates, logrates, rtol=0, atol=1e-5)
        np.testing.assert_allclose(s_factors, factors, rtol=0, atol=1e-5)
    # and the bins depend on each other through the carried states: restarting them every bin differs
    step = build_step(cfg, m.deploy)
    fresh = np.stack([stream(keras_step(step.model), x[:, t:t + 1], step)[1][:, 0]
                      for t in range(x.shape[1])], axis=1)
    assert not np.allclose(fresh[:, 1:], m.deploy.predict(x, verbose=0)[1][:, 1:])


def test_step_model_refuses_what_it_cannot_stream():
    from dse.families.lfads.step import build_step

    with pytest.raises(ValueError, match="ic_window"):
        cfg = LFADSConfig(**SMALL, causal=True, ic_window=3)
        build_step(cfg, build_lfads(cfg).deploy)
    with pytest.raises(ValueError, match="causal"):
        plain = LFADSConfig(n_neurons=6, n_bins=12)
        build_step(plain, build_lfads(plain).deploy)


def _weights(result):
    return [w.copy() for w in result.models.deploy.get_weights()]


def test_causal_training_is_seeded_and_learns(small_split):
    from dse.families.lfads.training import train_lfads

    cfg = LFADSConfig(**{**SMALL, "n_bins": 12}, causal=True, variational=True, kl_warmup_epochs=2)
    a = train_lfads(cfg, small_split, TrainConfig(epochs=6, seed=7))
    b = train_lfads(cfg, small_split, TrainConfig(epochs=6, seed=7))
    assert all(np.array_equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))
    val = a.history["val_nll"]
    assert min(val) < val[0]
    # the learned initial state trained away from its zero initialisation
    assert np.any(a.models.deploy.get_layer("gen_init").get_weights()[0] != 0)


def test_causal_qat_trains(small_split):
    from dse.families.lfads.training import train_lfads

    r = train_lfads(LFADSConfig(**SMALL, causal=True, ic_window=3, quant=QuantSpec(8, 3)), small_split,
                    TrainConfig(epochs=2, seed=0))
    assert np.isfinite(r.history["loss"]).all()
    assert r.models.reference is not r.models.deploy  # state-quantized outputs scored, as for the bidirectional


def test_study_parameters():
    from dse.families.lfads import params
    from dse.families.records import DesignPoint, HardwareTarget
    from search_spaces.specs import Choices, Fixed

    hw = HardwareTarget("estimate", "xcu55c", 5.0)
    point: dict = {}
    for p in params.PARAMS:  # what a study that sets nothing samples: active parameters with a default
        if p.default is not None and p.active(point):
            point[p.name] = p.default
    assert "model.causal" not in point and "model.ic_window" not in point  # absent unless a study sets it
    plain = params.build(DesignPoint("lfads", point, hw))["model"]
    assert not set(plain) & {"causal", "ic_window", "controller_units", "controller_inputs", "controller_lag"}
    causal_point = {**point, "model.causal": True, "model.ic_window": 2, "model.controller_units": 16,
                    "model.controller_inputs": 3, "model.controller_lag": 1}
    model = params.build(DesignPoint("lfads", causal_point, hw))["model"]
    assert (model["causal"], model["ic_window"], model["controller_units"], model["controller_inputs"],
            model["controller_lag"]) == (True, 2, 16, 3, 1)
    assert LFADSConfig.from_dict({**model, "n_neurons": 5, "n_bins": 8}).causal
    ic = next(p for p in params.PARAMS if p.name == "model.ic_window")
    assert ic.active({"model.causal": True}) and not ic.active({"model.causal": False}) and not ic.active({})
    assert ic.problem(-1) and not ic.problem(0)
    # causal points stream one bin's step, built for a learned initial state (ic_window 0) only
    assert not params.check_causal({"model.causal": Choices((True, False))})
    assert params.check_causal({"model.causal": Choices((True, False)), "model.ic_window": Choices((0, 2))}) == [
        ("model.ic_window", "2: a causal design in a study streams one bin's step, built for a learned initial "
                            "state only (ic_window 0); dse train --causal --ic-window K trains one")]
    assert not params.check_causal({"model.causal": Fixed(False), "model.ic_window": Fixed(2)})
    assert not params.check_causal({"model.causal": Fixed(True), "model.controller_lag": Choices((0, 1))})
    assert not params.check_causal({})
    # the causal step's products: controller and its inputs, no IC layer; the IC's own reuse factor is dropped
    shapes = params.step_matmul_shapes(8, 6, 4, 2, 5, 3)
    assert ("ic", "input") not in shapes and shapes[("generator", "input")] == (3, 12)
    causal_hls = params.build(DesignPoint("lfads", {**causal_point, "model.ic_window": 0,
                                                    "hls.reuse_factor_ic": 4}, hw))["hls"]
    assert "ic" not in dict(causal_hls["layer_reuse_factor"]) and causal_hls["zero_inputs"] == []
    # the lagged controller's step carries the encoder's state in a 4th input, typed as the encoder's state
    from dse.families.lfads.step import LAG_INPUT, STATE_LAYER

    assert causal_hls["state_inputs"] == {LAG_INPUT: STATE_LAYER[LAG_INPUT]} == params.LAG_STATE_INPUTS
    unlagged = params.build(DesignPoint("lfads", {**causal_point, "model.ic_window": 0,
                                                  "model.controller_lag": 0}, hw))["hls"]
    from dse.hls import HLSDesign

    assert "state_inputs" not in unlagged and "state_inputs" not in HLSDesign.from_dict(unlagged).to_dict()
    assert params.check_ic_window({"model.causal": Fixed(True), "model.ic_window": Choices((2, 12))}, 12) == [
        ("model.ic_window", "12 not below the data's 12 bins per trial")]
    assert not params.check_ic_window({"model.causal": Fixed(True), "model.ic_window": Fixed(11)}, 12)


def test_dse_train_causal_json(small_npz, tmp_path):
    r = run_dse("train", "--causal", "--data", str(small_npz), "--epochs", "2", "--latent", "8", "--encoder", "8",
             "--controller", "4", "--json", "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["causal"] is True and report["ic_window"] == 0 and report["epochs"] == 2
    assert isinstance(report["behavior_r2_bin"], float) and report["npll"] > 0
    config = json.loads((tmp_path / "out" / "config.json").read_text())["model"]
    assert config["causal"] is True and config["controller_units"] == 4
    from dse.families.lfads.pipeline import load_model

    assert [i.name for i in load_model(tmp_path / "out" / "model.h5").inputs] == ["spikes"]  # loads back


@pytest.mark.parametrize(("args", "needle"), [
    (["--ic-window", "2"], "--ic-window/--controller/--controller-inputs/--controller-lag: needs --causal"),
    (["--causal", "--ic-window", "99"], "ic_window"),
])
def test_dse_train_causal_bad_input(args, needle, small_npz, tmp_path):
    r = run_dse("train", "--data", str(small_npz), *args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr[-2000:])
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("dse train: error:")]
    assert len(lines) == 1 and needle in lines[0], r.stderr[-2000:]


# ------------------------------------------------------------------------------------- streaming hardware


def _trained_like(quant, lag: int = 0):
    """A causal model with random (seeded) non-zero weights, its deploy and reference step models."""
    from tensorflow import keras

    from dse.families.lfads.model import sync_models
    from dse.families.lfads.step import build_step

    keras.utils.set_random_seed(0)
    cfg = LFADSConfig(**SMALL, causal=True, quant=quant, controller_lag=lag)
    m = build_lfads(cfg)
    _randomise(m.train)
    sync_models(m)
    return cfg, m, build_step(cfg, m.deploy), build_step(cfg, m.reference, state_outputs=quant is not None)


@pytest.mark.parametrize(("mode", "lag"), [("qat", 0), ("ptq", 0), ("qat", 1), ("ptq", 1)])
def test_hls_step_streamed_over_trials_equals_the_keras_step(mode, lag, tmp_path):
    """The C simulation of one bin's step, called once per bin with the states it returned, against the Keras
    step stepped the same way (and hence the full causal model), over whole trials. QAT with hard activations:
    the state-quantized Keras step, to float32 rounding (the hardware computes it bit for bit). PTQ: a design
    so wide (testing.WIDE_PTQ) that only the 2^20-entry activation tables differ from the float model."""
    from dse.families.lfads.step import hls_step, keras_step, stream
    from dse.families.lfads.testing import WIDE_PTQ, poisson_spikes
    from dse.hls import HLSDesign, compile_model

    qat = mode == "qat"
    cfg, m, deploy_step, ref_step = _trained_like(QuantSpec(8, 2, "hard") if qat else None, lag)
    x = poisson_spikes(5, SMALL["n_bins"], SMALL["n_neurons"], rate=1.0, seed=1)
    design = HLSDesign(quantization="qat", precision="ap_fixed<40,16>") if qat else WIDE_PTQ
    # lag 1: the 4th state input carries the encoder's state into the controller, in the encoder's state type
    design = replace(design, state_inputs=deploy_step.hls_state_inputs)
    assert len(deploy_step.model.inputs) == 4 + lag and bool(deploy_step.hls_state_inputs) == bool(lag)
    hls_model = compile_model(deploy_step.model, design, tmp_path / "hls").hls_model
    assert [v.name for v in hls_model.get_input_variables()] == deploy_step.model.input_names  # the call order
    lr, f = stream(hls_step(hls_model, deploy_step.model.output_names), x, deploy_step)
    lk, fk = stream(keras_step(ref_step.model), x, ref_step)
    atol = 1e-5 if qat else 1e-4
    np.testing.assert_allclose(lr, lk, rtol=0, atol=atol)
    np.testing.assert_allclose(f, fk, rtol=0, atol=atol)
    lm, fm = m.reference.predict(x.astype("float32"), verbose=0)
    np.testing.assert_allclose(f, fm, rtol=0, atol=atol)
    assert np.abs(fk[:, 1:] - fk[:, :1]).max() > 0.01  # the factors move over the trial: a real check
    if lag and qat:  # typed as a spike count (unsigned integer) instead, the carried state loses its sign
        plain = compile_model(deploy_step.model, replace(design, state_inputs={}), tmp_path / "plain").hls_model
        assert np.abs(stream(hls_step(plain, deploy_step.model.output_names), x, deploy_step)[1] - fk).max() > 0.01

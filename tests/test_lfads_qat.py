"""LFADS QAT: the training graph computes what the hardware computes (the GRU outputs state-quantized, as
hls4ml's GRU outputs its state register), and QAT fine-tuned from the float model. Small sizes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from dse.data import load_data, split_data
from dse.families.lfads.config import LFADSConfig, QuantSpec, TrainConfig
from dse.families.lfads.model import build_lfads, sync_models, zero_gen_input
from dse.families.lfads.testing import TINY, poisson_spikes
from dse.families.lfads.training import train_lfads

T, N = TINY["n_bins"], TINY["n_neurons"]


@pytest.fixture(scope="module")
def tiny_split():
    return split_data(load_data("synthetic", n_trials=30, n_bins=12, n_neurons=8, seed=0), seed=0)


def _predict(model, spikes):
    out = model.predict([spikes, zero_gen_input(len(spikes), spikes.shape[1])], verbose=0)
    return out if isinstance(out, list) else [out]


# ------------------------------------------------------------------------------- state-quantized outputs


def test_training_graph_quantizes_the_gru_outputs_and_deploy_graph_does_not():
    cfg = LFADSConfig(**TINY, quant=QuantSpec(8, 2))
    m = build_lfads(cfg)
    train_names = {layer.name for layer in m.train.layers}
    assert {"encoder_state_q", "generator_state_q"} <= train_names
    assert not {"encoder_state_q", "generator_state_q"} & {layer.name for layer in m.deploy.layers}
    assert {"encoder_state_q", "generator_state_q"} <= {layer.name for layer in m.reference.layers}
    old = build_lfads(dataclasses.replace(cfg, quant=QuantSpec(8, 2, state_outputs=False)))
    assert not any(layer.name.endswith("_state_q") for layer in old.train.layers)
    assert old.reference is old.deploy
    f = build_lfads(LFADSConfig(**TINY))
    assert f.reference is f.deploy and not any(layer.name.endswith("_state_q") for layer in f.train.layers)


def test_training_graph_equals_the_c_simulation(tmp_path):
    """The training graph of a QAT model (what the optimiser sees; dropout off at inference) against the
    bit-accurate C simulation of the same weights. With QKeras hard activations the hardware is exactly
    the state-quantized graph: the new training graph agrees to float32 rounding, the plain QKeras graph
    of the code before (GRU outputs unquantized) is off by a fraction of the state's LSB times the
    read-out gains -- orders of magnitude more."""
    from tensorflow import keras

    from dse.hls import HLSDesign, compile_model, run_csim

    spikes = poisson_spikes(6, T, N, rate=1.0, seed=1)
    keras.utils.set_random_seed(0)
    cfg = LFADSConfig(**TINY, quant=QuantSpec(8, 2, "hard"))
    new = build_lfads(cfg)
    old = build_lfads(dataclasses.replace(cfg, quant=dataclasses.replace(cfg.quant, state_outputs=False)))
    old.train.set_weights(new.train.get_weights())  # the same weights in both graphs
    sync_models(old)
    for a, b in zip(old.deploy.get_weights(), new.deploy.get_weights(), strict=True):
        assert np.array_equal(a, b)
    design = HLSDesign(quantization="qat", precision="ap_fixed<40,16>")
    sim = run_csim(compile_model(new.deploy, design, tmp_path / "hls").hls_model, spikes)
    err_new = np.abs(_predict(new.train, spikes)[0] - sim["logrates"]).max()
    err_old = np.abs(_predict(old.train, spikes)[0] - sim["logrates"]).max()
    assert err_new < 1e-5, err_new
    assert err_old > 100 * max(err_new, 1e-7), (err_old, err_new)
    # the Keras reference the metrics score is the same graph
    lr_ref, f_ref = _predict(new.reference, spikes)
    np.testing.assert_allclose(lr_ref, sim["logrates"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(f_ref, sim["factors"], rtol=0, atol=1e-5)


# ------------------------------------------------------------------------------------- fine-tuned QAT


def test_finetuned_qat_starts_from_the_float_weights(tiny_split):
    """A fine-tuning with a vanishing learning rate keeps the float weights: the QKeras model's shadow
    weights are the float model's, layer by layer; it runs finetune_epochs epochs."""
    size = dict(n_neurons=8, n_bins=12, encoder_units=6, latent_units=4, factors=2)
    tc = TrainConfig(epochs=2, batch_size=8, seed=3)
    flt = train_lfads(LFADSConfig(**size), tiny_split, tc)
    q = QuantSpec(10, 2, init="float", finetune_epochs=2, finetune_lr_scale=1e-12)
    ft = train_lfads(LFADSConfig(**size, quant=q), tiny_split, tc, init_from=flt.models.deploy)
    assert ft.epochs == 2
    for layer in flt.models.deploy.layers:
        for a, b in zip(layer.get_weights(), ft.models.deploy.get_layer(layer.name).get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    scratch = train_lfads(LFADSConfig(**size, quant=QuantSpec(10, 2)), tiny_split, tc)
    assert not np.allclose(scratch.models.deploy.get_layer("ic").get_weights()[0],
                           flt.models.deploy.get_layer("ic").get_weights()[0])
    with pytest.raises(ValueError, match="init_from"):
        train_lfads(LFADSConfig(**size, quant=q), tiny_split, tc)


def test_finetuned_qat_shares_one_float_model_with_ptq(tiny_split, tmp_path):
    """Two fine-tuned QAT points train the float model once (the first), under the key a PTQ point of the
    same data/architecture/recipe uses; each QAT point has its own key, unlike a from-scratch one."""
    from dse.families.lfads.pipeline import _train
    from dse.trial import model_cache

    size = dict(n_neurons=8, n_bins=12, encoder_units=6, latent_units=4, factors=2)
    tc = TrainConfig(epochs=2, batch_size=8, seed=3)
    trial = SimpleNamespace(spec=SimpleNamespace(pruning=None))
    fp = model_cache.data_fingerprint(tiny_split)
    root = tmp_path / "models"
    calls = []
    import dse.families.lfads.training as training_mod

    real = training_mod.train_lfads

    def counting(cfg, *a, **kw):
        calls.append(None if cfg.quant is None else (cfg.quant.bits, cfg.quant.init))
        return real(cfg, *a, **kw)

    training_mod.train_lfads = counting
    try:
        q8 = LFADSConfig(**size, quant=QuantSpec(8, 2, init="float", finetune_epochs=1))
        q10 = LFADSConfig(**size, quant=QuantSpec(10, 2, init="float", finetune_epochs=1))
        a = _train(trial, tiny_split, q8, tc, fp, root)
        b = _train(trial, tiny_split, q10, tc, fp, root)
        flt = _train(trial, tiny_split, LFADSConfig(**size), tc, fp, root)  # a PTQ point: cached already
    finally:
        training_mod.train_lfads = real
    assert calls == [None, (8, "float"), (10, "float")]
    assert flt.hit
    assert a.info["init_from"] == b.info["init_from"] == flt.key
    assert a.info["float_model_trained_here"] and not b.info["float_model_trained_here"]
    assert a.info["epochs"] == 1
    assert json.loads((Path(a.path) / "train.json").read_text())["model"]["quant"]["init"] == "float"
    keys = {model_cache.model_key(fp, LFADSConfig(**size, quant=QuantSpec(8, 2, init=i, finetune_epochs=e)).to_dict(),
                                  tc.to_dict()) for i, e in (("scratch", 30), ("float", 30), ("float", 1))}
    assert len(keys) == 3 and a.key in keys and flt.key not in keys


def test_study_parameters_build_the_quant_spec():
    from dse.families.lfads import params
    from dse.families.records import DesignPoint, HardwareTarget

    hw = HardwareTarget("estimate", "xcu55c", 5.0)
    point = {p.name: p.default for p in params.PARAMS}
    assert point["quantization.qat_init"] == "float"  # a study's QAT points fine-tune by default
    point.update({"quantization.mode": "qat", "quantization.qat_init": "float", "quantization.qat_finetune_epochs": 7})
    q = params.build(DesignPoint("lfads", point, hw))["model"]["quant"]
    assert q["init"] == "float" and q["finetune_epochs"] == 7
    point["quantization.qat_init"] = "scratch"
    q = params.build(DesignPoint("lfads", point, hw))["model"]["quant"]
    assert q["init"] == "scratch" and "finetune_epochs" not in q  # a scratch key does not depend on it
    ft = next(p for p in params.PARAMS if p.name == "quantization.qat_finetune_epochs")
    assert ft.active({"quantization.mode": "qat", "quantization.qat_init": "float"})
    assert not ft.active({"quantization.mode": "qat", "quantization.qat_init": "scratch"})
    assert not ft.active({"quantization.mode": "ptq"})

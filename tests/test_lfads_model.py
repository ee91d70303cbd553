"""LFADS model family: shapes, variants, determinism, the QKeras shim, the training recipe."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dse.data import load_data, split_data
from dse.families.lfads.config import LFADSConfig, QuantSpec, TrainConfig
from dse.families.lfads.model import build_lfads, zero_gen_input
from dse.families.lfads.training import train_lfads

SMALL = dict(n_neurons=12, n_bins=20, encoder_units=8, latent_units=8, factors=3)


@pytest.fixture(scope="module")
def small_split():
    data = load_data("synthetic", n_trials=40, n_bins=20, n_neurons=12, seed=3)
    return split_data(data, seed=0)


@pytest.mark.parametrize("variational", [False, True])
@pytest.mark.parametrize("quant", [None, QuantSpec(8, 3)])
def test_deploy_shapes_and_names(variational, quant):
    m = build_lfads(LFADSConfig(**SMALL, variational=variational, quant=quant))
    x = np.random.default_rng(0).poisson(0.3, (5, 20, 12)).astype("float32")
    logrates, factors = m.deploy.predict([x, zero_gen_input(5, 20)], verbose=0)
    assert logrates.shape == (5, 20, 12) and factors.shape == (5, 20, 3)
    assert [i.name for i in m.deploy.inputs] == ["spikes", "gen_input"]
    names = {layer.name for layer in m.deploy.layers}
    assert {"encoder", "ic", "generator", "factors", "logrates"} <= names
    # the deploy graph has no dropout or sampling, whatever the variant
    assert not any("dropout" in n or "sample" in n or "logvar" in n for n in names)
    assert m.train.output_shape == (None, 20, 12)


def test_vae_deploys_the_same_graph_as_the_ae():
    ae = build_lfads(LFADSConfig(**SMALL)).deploy
    vae = build_lfads(LFADSConfig(**SMALL, variational=True)).deploy
    assert [(layer.name, type(layer).__name__) for layer in ae.layers] == [
        (layer.name, type(layer).__name__) for layer in vae.layers
    ]
    assert ae.count_params() == vae.count_params()


def test_generator_starts_from_the_initial_condition():
    """Changing the spikes must change the factors at t=0 only through the IC (gen input is zero)."""
    m = build_lfads(LFADSConfig(**SMALL)).deploy
    rng = np.random.default_rng(1)
    a = rng.poisson(0.3, (1, 20, 12)).astype("float32")
    b = rng.poisson(0.3, (1, 20, 12)).astype("float32")
    _, fa = m.predict([a, zero_gen_input(1, 20)], verbose=0)
    _, fb = m.predict([b, zero_gen_input(1, 20)], verbose=0)
    assert not np.allclose(fa[0, 0], fb[0, 0])


def test_qkeras_gru_needs_the_compat_shim():
    """QKeras 0.9.0's QGRU calls TF internals removed in 2.15; without the shim it fails."""
    code = (
        "import numpy as np\n"
        "from qkeras import QGRU\n"
        "from tensorflow import keras\n"
        "x = keras.Input((4, 3)); y = QGRU(2, reset_after=True, recurrent_quantizer='quantized_bits(8, 2)')(x)\n"
        "keras.Model(x, y).predict(np.zeros((1, 4, 3)), verbose=0)\n"
    )
    bare = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert bare.returncode != 0 and ("is_sequence" in bare.stderr or "unstack" in bare.stderr)
    shimmed = subprocess.run(
        [sys.executable, "-c", "from dse.families.lfads import qkeras_compat; qkeras_compat.apply()\n" + code],
        capture_output=True, text=True,
    )
    assert shimmed.returncode == 0, shimmed.stderr[-2000:]


def test_qgru_without_recurrent_quantizer_is_broken_in_qkeras_090():
    """QKeras 0.9.0 defect: a QGRU without ``recurrent_quantizer`` multiplies the state by
    ``self.kernel`` instead of the recurrent kernel (qrecurrent.py, QGRUCell.call), so it fails (or,
    when n_in == units, silently computes the wrong thing). dse's builder always sets every quantizer."""
    code = (
        "from dse.families.lfads import qkeras_compat; qkeras_compat.apply()\n"
        "from qkeras import QGRU\nfrom tensorflow import keras\n"
        "x = keras.Input((4, 3)); QGRU(2, reset_after=True)(x)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode != 0 and "Dimensions must be equal" in r.stderr
    m = build_lfads(LFADSConfig(**SMALL, quant=QuantSpec(8, 2)))
    grus = [m.deploy.get_layer("generator"), m.deploy.get_layer("encoder").forward_layer,
            m.deploy.get_layer("encoder").backward_layer]
    assert all(g.cell.recurrent_quantizer is not None and g.cell.state_quantizer is not None for g in grus)


def test_quantspec_and_config_validation():
    with pytest.raises(ValueError, match="integer"):
        QuantSpec(bits=6, integer=6)
    with pytest.raises(ValueError, match="bits"):
        QuantSpec(bits=1)
    with pytest.raises(ValueError, match="encoder_units"):
        LFADSConfig(n_neurons=3, n_bins=4, encoder_units=0)
    cfg = LFADSConfig(**SMALL, quant=QuantSpec(10, 2))
    assert LFADSConfig.from_dict(cfg.to_dict()) == cfg


def _weights(result):
    return [w.copy() for w in result.models.deploy.get_weights()]


def test_same_seed_same_weights(small_split):
    tc = TrainConfig(epochs=3, seed=7)
    a = _weights(train_lfads(LFADSConfig(**SMALL), small_split, tc))
    b = _weights(train_lfads(LFADSConfig(**SMALL), small_split, tc))
    c = _weights(train_lfads(LFADSConfig(**SMALL), small_split, TrainConfig(epochs=3, seed=8)))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_training_reduces_the_validation_nll(small_split):
    r = train_lfads(LFADSConfig(**SMALL), small_split, TrainConfig(epochs=15, seed=0))
    val = r.history["val_nll"]
    assert min(val) < val[0]
    assert 1 <= r.best_epoch <= r.epochs == len(val)
    assert r.stopped_reason in {"max_epochs", "early_stopping"}


def test_qat_training_runs_and_weights_are_quantized(small_split):
    r = train_lfads(LFADSConfig(**SMALL, quant=QuantSpec(6, 2)), small_split, TrainConfig(epochs=2))
    from qkeras.utils import model_save_quantized_weights

    assert np.isfinite(r.history["loss"]).all()
    # quantized weights of a 6-bit, 2-integer quantizer lie on the 2^-3 grid
    q = model_save_quantized_weights(r.models.deploy)
    k = q["ic"]["weights"][0]
    assert np.allclose(k * 8, np.round(k * 8))

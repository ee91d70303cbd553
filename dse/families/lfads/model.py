"""The LFADS autoencoder (Keras 2 functional API), float and QKeras variants, AE and VAE.

Graph (paper, sec. 2.1; names are fixed because conversion and the cache refer to them)::

    spikes (T, N) -> [input_dropout] -> encoder = Bidirectional(GRU(E)) -> final states (2E)
        -> [ic_dropout] -> ic = Dense(Z)                         (VAE: also ic_logvar, sampling)
    gen_input (T, 1) zeros -> generator = GRU(Z, return_sequences, initial_state=ic) -> (T, Z)
        -> factors = TimeDistributed(Dense(F, no bias)) -> logrates = TimeDistributed(Dense(N))

``gen_input`` is an all-zero second input instead of a ``Lambda`` that makes zeros, because hls4ml
cannot convert ``Lambda`` layers. ``logrates`` are log expected counts per bin (log λ).

Two models are built: the *training* model (dropout, VAE sampling + KL, output ``logrates`` only)
and the *deploy* model (no dropout, IC = posterior mean, outputs ``[logrates, factors]``), which is
what hls4ml converts. They share weights by layer name, so the VAE deploys the same graph as the AE.

QAT with ``QuantSpec.state_outputs`` (the default): the training model passes each GRU's outputs
through the GRU's state quantizer (``QActivation`` layers ``encoder_state_q``/``generator_state_q``,
no weights), because the hardware's GRU outputs its quantized state register; a third model, the
*reference*, is the deploy model with those layers, i.e. what the C simulation computes up to the
sigmoid/tanh tables, and is what the Keras-side metrics score. The deploy model keeps the plain QGRU
(hls4ml's QGRU already quantizes its state), so the generated hardware is the same as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from tensorflow import keras

from dse.families.lfads.config import LFADSConfig
from dse.families.lfads.layers import Layers as _Layers
from dse.families.lfads.layers import LearnedState, SampleIC, TakeBin, generator_readout

SPIKES, GEN_INPUT = "spikes", "gen_input"
ENCODER, IC, IC_LOGVAR, GENERATOR, FACTORS, LOGRATES = (
    "encoder", "ic", "ic_logvar", "generator", "factors", "logrates",
)
GEN_INPUT_DIM = 1
#: Layers of the VAE training graphs that the deploy graphs do not have (bidirectional, causal).
TRAINING_ONLY = (IC_LOGVAR, "ic_sample", "con_logvar", "con_sample")


@dataclass
class LFADSModels:
    train: keras.Model  # inputs [spikes, gen_input] -> logrates
    deploy: keras.Model  # inputs [spikes, gen_input] -> [logrates, factors]
    config: LFADSConfig
    reference: keras.Model | None = None  # deploy + state-quantized GRU outputs (QAT), else the deploy model

    def __post_init__(self) -> None:
        if self.reference is None:
            self.reference = self.deploy


def _build(cfg: LFADSConfig, training_graph: bool, state_outputs: bool | None = None) -> keras.Model:
    """``state_outputs``: quantize the GRU outputs (default: in the training graph, for QAT with
    ``QuantSpec.state_outputs``); the deploy graph never does (hls4ml's QGRU does it in the hardware)."""
    L = _Layers(cfg.quant, cfg.reset_after)
    if state_outputs is None:
        state_outputs = training_graph
    state_outputs = bool(state_outputs and cfg.quant is not None and cfg.quant.state_outputs)
    spikes = keras.Input((cfg.n_bins, cfg.n_neurons), name=SPIKES)
    gen_input = keras.Input((cfg.n_bins, GEN_INPUT_DIM), name=GEN_INPUT)

    x = spikes
    if training_graph and cfg.input_dropout > 0:
        x = keras.layers.Dropout(cfg.input_dropout, name="input_dropout")(x)
    enc = keras.layers.Bidirectional(
        L.gru(cfg.encoder_units, name="encoder_gru", return_sequences=False),
        merge_mode="concat",
        name=ENCODER,
    )(x)
    enc = L.state_q(enc, "encoder_state_q", state_outputs)
    if training_graph and cfg.ic_dropout > 0:
        enc = keras.layers.Dropout(cfg.ic_dropout, name="ic_dropout")(enc)
    ic = L.dense(cfg.latent_units, name=IC)(enc)
    if cfg.variational and training_graph:
        logvar = L.dense(cfg.latent_units, name=IC_LOGVAR)(enc)
        # start the posterior narrow (std ~0.1): unit-variance sampling noise at initialisation drowns
        # the IC and the generator learns to ignore it
        logvar = keras.layers.Lambda(lambda v: v - 4.6, name="ic_logvar_offset")(logvar)
        ic = SampleIC(cfg.kl_weight, cfg.n_bins * cfg.n_neurons, name="ic_sample")([ic, logvar])

    logrates, factors = generator_readout(L, cfg, gen_input, ic, state_outputs)
    outputs = logrates if training_graph else [logrates, factors]
    name = "lfads_train" if training_graph else "lfads_reference" if state_outputs else "lfads"
    return keras.Model([spikes, gen_input], outputs, name=name)


def build_lfads(cfg: LFADSConfig) -> LFADSModels:
    """Build the training, deploy and reference models of ``cfg`` (weights shared by copying, see
    :func:`sync_deploy_weights`)."""
    build = _build
    if cfg.causal:
        from dse.families.lfads.causal import build_causal as build
    train = build(cfg, training_graph=True)
    deploy = build(cfg, training_graph=False)
    reference = None
    if cfg.quant is not None and cfg.quant.state_outputs:
        reference = build(cfg, training_graph=False, state_outputs=True)
    models = LFADSModels(train=train, deploy=deploy, config=cfg, reference=reference)
    sync_models(models)
    return models


def sync_deploy_weights(train: keras.Model, deploy: keras.Model) -> None:
    """Copy the weights of every deploy layer from the training layer of the same name."""
    for layer in deploy.layers:
        if layer.weights:
            layer.set_weights(train.get_layer(layer.name).get_weights())


def sync_models(models: LFADSModels) -> None:
    """Copy the training model's weights into the deploy model and the reference model."""
    sync_deploy_weights(models.train, models.deploy)
    if models.reference is not models.deploy:
        sync_deploy_weights(models.train, models.reference)


def copy_weights(source: keras.Model, target: keras.Model) -> list[str]:
    """Copy the weights of every ``target`` layer from the ``source`` layer of the same name (e.g. a
    float deploy model into its QKeras training twin: QGRU/QDense hold the weights of GRU/Dense, same
    names and shapes). Returns the names of the layers copied. A weighted target layer missing from
    ``source`` is an error, except the training-only VAE layers (``ic_logvar``, ``ic_sample``; the causal
    variant's ``con_logvar``, ``con_sample``), which a deploy model does not have and which keep their
    initialisation."""
    copied = []
    names = {layer.name for layer in source.layers}
    for layer in target.layers:
        if not layer.weights or (layer.name in TRAINING_ONLY and layer.name not in names):
            continue
        if layer.name not in names:
            raise KeyError(f"layer {layer.name!r} has no counterpart in {source.name!r}")
        layer.set_weights(source.get_layer(layer.name).get_weights())
        copied.append(layer.name)
    return copied


def zero_gen_input(n_trials: int, n_bins: int):
    """The all-zero generator input sequence for ``n_trials`` trials."""
    import numpy as np

    return np.zeros((n_trials, n_bins, GEN_INPUT_DIM), dtype=np.float32)


def custom_objects() -> dict:
    """Objects needed to load a saved LFADS model (QKeras layers and quantizers included)."""
    from dse.families.lfads import qkeras_compat

    qkeras_compat.apply()
    from qkeras.utils import _add_supported_quantized_objects


    objs: dict = {"SampleIC": SampleIC, "LearnedState": LearnedState, "TakeBin": TakeBin}
    _add_supported_quantized_objects(objs)
    return objs

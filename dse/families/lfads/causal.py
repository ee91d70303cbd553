"""The causal LFADS graph: every output of bin t depends on the spikes of bins 0..t only (after the IC window).

Graph (Keras 2 functional API; names are fixed because the step model and conversion refer to them)::

    spikes (T, N) -> [input_dropout] -> encoder = GRU(E, return_sequences)                  -> (T, E)
        -> controller = GRU(C, return_sequences)                                               -> (T, C)
        -> con_input = TimeDistributed(Dense(U)) = u_t        (VAE: con_logvar, sampling, KL on u)
    initial state h_0 of the generator:
        ic_window 0: gen_init = a learned vector (LearnedState), the same for every trial
        ic_window k: ic = Dense(Z)(encoder state after bin k-1)  (bins 0..k-1 wait for it: k bins of latency)
    generator = GRU(Z, return_sequences, initial_state=h_0)(u)                                  -> (T, Z)
        -> factors = TimeDistributed(Dense(F, no bias)) -> logrates = TimeDistributed(Dense(N))

Why this shape: the paper's LFADS (and dse's bidirectional one) infers one initial condition from the
whole trial, so nothing comes out before the trial ends. Here the encoder runs forward only and what
the trial tells the generator arrives bin by bin as inferred inputs (LFADS's controller), so one bin's
step is a chain of three GRU cells and two dense layers with the three GRU states carried from bin to
bin (:mod:`dse.families.lfads.step`). Unlike the original LFADS controller this one does not read the
previous bin's factors: the step stays a feed-forward chain (no shared layer inside one step), which is
what hls4ml converts; the generator's own state carries that history.

The KL term (``variational``) is on the controller's inputs, against a standard-normal prior per bin
(LFADS uses an autoregressive prior; kept simple here), scaled like the bidirectional model's: KL per
trial (summed over bins and inputs) divided by T*N, times ``kl_weight``, with the same warm-up.

Known weakness: the controller reads bin t's spikes and the generator predicts bin t's rates from them, so
the model can pass a bin's spikes through to its own rates; the input dropout is the only thing against
it, the small KL weight barely is. The rates then fit the spikes better and the true rates worse than the
bidirectional model's: ``dse train [--causal] --epochs 150`` on the default synthetic data gave bits/spike
0.51 vs 0.30 and rate R2 0.56 vs 0.83 (causal vs bidirectional; behaviour R2 per bin 0.79 vs 0.86; with
``--variational`` the causal model's were the same to 0.01). LFADS' remedies
(coordinated dropout, a larger KL weight on the inputs, or a controller that reads bins up to t-1 only)
are not built yet. ``controller_lag: 1`` is the third: the controller reads the encoder's state after bin t-1,
so bin t's factors depend on the spikes before t only (see LFADSConfig.controller_lag for what it measured).

QAT: the same QKeras layers and the same ``state_outputs`` treatment as :mod:`dse.families.lfads.model`
(each GRU's outputs through its state quantizer in the training and reference graphs).
"""

from __future__ import annotations

from tensorflow import keras

from dse.families.lfads.config import LFADSConfig
from dse.families.lfads.layers import Layers as _Layers
from dse.families.lfads.layers import LearnedState, SampleIC, TakeBin, generator_readout

SPIKES = "spikes"
ENCODER, CONTROLLER, CON_INPUT, CON_LOGVAR, CON_SAMPLE = "encoder", "controller", "con_input", "con_logvar", "con_sample"
GEN_INIT, IC_STATE, IC, GENERATOR, FACTORS, LOGRATES = (
    "gen_init", "ic_window_state", "ic", "generator", "factors", "logrates",
)
#: GRU layers of the causal graph, in the order one bin's step runs them.
RECURRENT = (ENCODER, CONTROLLER, GENERATOR)


def build_causal(cfg: LFADSConfig, training_graph: bool, state_outputs: bool | None = None) -> keras.Model:
    """The causal graph of ``cfg`` (see the module docstring); ``state_outputs`` as in
    :func:`dse.families.lfads.model._build`. Input ``spikes`` only; outputs ``logrates`` (training graph)
    or ``[logrates, factors]``."""

    if not cfg.causal:
        raise ValueError("build_causal builds the causal variant; cfg.causal is False")
    L = _Layers(cfg.quant, cfg.reset_after)
    if state_outputs is None:
        state_outputs = training_graph
    state_outputs = bool(state_outputs and cfg.quant is not None and cfg.quant.state_outputs)
    spikes = keras.Input((cfg.n_bins, cfg.n_neurons), name=SPIKES)

    x = spikes
    if training_graph and cfg.input_dropout > 0:
        x = keras.layers.Dropout(cfg.input_dropout, name="input_dropout")(x)
    enc = L.gru(cfg.encoder_units, name=ENCODER, return_sequences=True)(x)
    enc = L.state_q(enc, "encoder_state_q", state_outputs)
    if cfg.controller_lag:  # bin t's controller reads the encoder's state after bin t-1 (zeros before bin 0)
        enc_prev = keras.layers.ZeroPadding1D((1, 0), name="encoder_state_lag_pad")(enc)
        con_in = keras.layers.Cropping1D((0, 1), name="encoder_state_lag")(enc_prev)
    else:
        con_in = enc
    con = L.gru(cfg.controller_units, name=CONTROLLER, return_sequences=True)(con_in)
    con = L.state_q(con, "controller_state_q", state_outputs)
    u = keras.layers.TimeDistributed(L.dense(cfg.controller_inputs, name="con_input_dense"), name=CON_INPUT)(con)
    if cfg.variational and training_graph:
        logvar = keras.layers.TimeDistributed(L.dense(cfg.controller_inputs, name="con_logvar_dense"),
                                              name=CON_LOGVAR)(con)
        # start the posterior narrow (std ~0.1), as the bidirectional model's IC (model.py)
        logvar = keras.layers.Lambda(lambda v: v - 4.6, name="con_logvar_offset")(logvar)
        u = SampleIC(cfg.kl_weight, cfg.n_neurons, name=CON_SAMPLE)([u, logvar])  # per bin: / N, summed: / T*N

    if cfg.ic_window == 0:
        h0 = LearnedState(cfg.latent_units, name=GEN_INIT)(spikes)
    else:
        h = TakeBin(cfg.ic_window - 1, name=IC_STATE)(enc)
        if training_graph and cfg.ic_dropout > 0:
            h = keras.layers.Dropout(cfg.ic_dropout, name="ic_dropout")(h)
        h0 = L.dense(cfg.latent_units, name=IC)(h)
    logrates, factors = generator_readout(L, cfg, u, h0, state_outputs)
    outputs = logrates if training_graph else [logrates, factors]
    name = "lfads_causal_train" if training_graph else "lfads_causal_reference" if state_outputs else "lfads_causal"
    return keras.Model(spikes, outputs, name=name)

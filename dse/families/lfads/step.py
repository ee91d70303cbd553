"""One bin of the causal LFADS as its own model, with the GRU states as explicit inputs and outputs.

The streaming hardware computes one 10 ms bin per call and keeps the three GRU states between calls;
this is that computation as a Keras model, built from a trained causal model's weights::

    inputs:  spikes_t (1, N), encoder_state (E), controller_state (C), generator_state (Z)
             [, encoder_state_lag (E): controller_lag 1 only]
    encoder    = GRU(E)(spikes_t, initial_state=encoder_state)             -> encoder_state'  (E)
    controller = GRU(C)(encoder_state' as a 1-bin sequence, initial_state=controller_state) -> (C)
                 (controller_lag 1: encoder_state_lag instead of encoder_state')
    con_input  = Dense(U)(controller_state')                                -> u_t            (U)
    generator  = GRU(Z)(u_t as a 1-bin sequence, initial_state=generator_state) -> generator_state' (Z)
    factors    = Dense(F, no bias)(generator_state');  logrates = Dense(N)(factors)
    outputs: [logrates_t, factors_t, encoder_state', controller_state', generator_state'] (the new states are
             the GRU layers' outputs, so an output is named after its layer: logrates, ..., generator)

A GRU over a one-bin sequence with an initial state is exactly one step of its cell (its output is its
new state), and hls4ml converts GRUs with initial states (the bidirectional model's generator is one),
so the step needs no custom layer. Stepping it over a trial, carrying the states, gives the full causal
model's outputs (:func:`stream`; tests/test_lfads_causal.py checks it).

With ``controller_lag`` 1 the controller reads the encoder's state from before this bin. That value is the
encoder's state input, but it cannot feed the controller too: hls4ml types an initial state as its GRU's state
and updates it in place (``nnet::gru_stack``), so a second reader would see the new state or the wrong type.
The step therefore takes a fourth state input, ``encoder_state_lag``, that the logic around the design loads
with the same encoder state as ``encoder_state`` (:attr:`StepModel.carry`); the conversion gives it the
encoder's state type (``HLSDesign.state_inputs``), so the value the controller reads is exactly the stored one.

The states start at zero (encoder, controller) and at the learned ``gen_init`` vector (generator). An
inferred initial condition (``ic_window`` > 0) needs the generator to wait for the window and then catch
up, a second design beside the step; not built yet, so :func:`build_step` refuses it.

QAT with state-quantized outputs (the reference model): each new state goes through its GRU's state
quantizer before it is output and carried, as the hardware's state register holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from tensorflow import keras

from dse.families.lfads.causal import CON_INPUT, CONTROLLER, ENCODER, FACTORS, GEN_INIT, GENERATOR, LOGRATES
from dse.families.lfads.config import LFADSConfig

SPIKES_T = "spikes_t"
STATE_INPUTS = ("encoder_state", "controller_state", "generator_state")
LAG_INPUT = "encoder_state_lag"
#: The step's outputs: [logrates, factors, encoder, controller, generator]; the new states from index 2.
STATE_OUTPUT = {"encoder_state": 2, "controller_state": 3, "generator_state": 4, LAG_INPUT: 2}
#: Which recurrent layer's state each state input carries (its hls4ml type is that layer's state type).
STATE_LAYER = {"encoder_state": ENCODER, "controller_state": CONTROLLER, "generator_state": GENERATOR,
               LAG_INPUT: ENCODER}


@dataclass
class StepModel:
    """The step model and the states a trial starts from."""

    model: keras.Model
    initial_states: tuple[np.ndarray, ...]  # one 1-d array per state input, in input order
    config: LFADSConfig

    @property
    def state_inputs(self) -> tuple[str, ...]:
        """The state inputs' names in call order (after the bin's spikes)."""
        return tuple(self.model.input_names[1:])

    @property
    def hls_state_inputs(self) -> dict[str, str]:
        """``HLSDesign.state_inputs`` of this step: the inputs that carry a state into another layer than its
        GRU (the lagged encoder state), by the GRU whose state type they take."""
        return {n: STATE_LAYER[n] for n in self.state_inputs if n == LAG_INPUT}

    @property
    def carry(self) -> tuple[int, ...]:
        """For each state input, the index of the output that it takes for the next bin."""
        return tuple(STATE_OUTPUT[n] for n in self.state_inputs)


def build_step(cfg: LFADSConfig, source: keras.Model, state_outputs: bool = False) -> StepModel:
    """The one-bin step of the causal model ``source`` (its deploy or reference model), weights copied by
    layer name. ``state_outputs``: quantize the new states (pass True for the QAT reference model)."""
    from qkeras import QActivation

    from dse.families.lfads.layers import Layers as _Layers

    if not cfg.causal:
        raise ValueError("the step model is of the causal variant; cfg.causal is False")
    if cfg.ic_window:
        raise ValueError(f"the step model of an inferred initial condition (ic_window {cfg.ic_window}) is not "
                         "built yet; ic_window 0 (a learned initial state) streams")
    L = _Layers(cfg.quant, cfg.reset_after)
    quantize = bool(state_outputs and cfg.quant is not None and cfg.quant.state_outputs)

    def state(x, layer_name: str):
        return QActivation(L._q(), name=f"{layer_name}_state_q")(x) if quantize else x

    spikes = keras.Input((1, cfg.n_neurons), name=SPIKES_T)
    h_enc = keras.Input((cfg.encoder_units,), name=STATE_INPUTS[0])
    h_con = keras.Input((cfg.controller_units,), name=STATE_INPUTS[1])
    h_gen = keras.Input((cfg.latent_units,), name=STATE_INPUTS[2])
    enc = L.gru(cfg.encoder_units, name=ENCODER, return_sequences=False)(spikes, initial_state=h_enc)
    enc = state(enc, ENCODER)
    # controller_lag 1: the controller reads the encoder's state before this bin (the state input), else after
    h_lag = keras.Input((cfg.encoder_units,), name=LAG_INPUT) if cfg.controller_lag else None
    con = L.gru(cfg.controller_units, name=CONTROLLER, return_sequences=False)(
        keras.layers.Reshape((1, cfg.encoder_units), name="encoder_state_seq")(enc if h_lag is None else h_lag),
        initial_state=h_con)
    con = state(con, CONTROLLER)
    u = L.dense(cfg.controller_inputs, name=CON_INPUT)(con)
    gen = L.gru(cfg.latent_units, name=GENERATOR, return_sequences=False)(
        keras.layers.Reshape((1, cfg.controller_inputs), name="con_input_seq")(u), initial_state=h_gen)
    gen = state(gen, GENERATOR)
    factors = L.dense(cfg.factors, name=FACTORS, use_bias=False)(gen)
    logrates = L.dense(cfg.n_neurons, name=LOGRATES)(factors)
    inputs = [spikes, h_enc, h_con, h_gen] + ([h_lag] if h_lag is not None else [])
    model = keras.Model(inputs, [logrates, factors, enc, con, gen], name="lfads_causal_step")
    for name in (ENCODER, CONTROLLER, CON_INPUT, GENERATOR, FACTORS, LOGRATES):
        # TimeDistributed(Dense) holds its Dense's weights, so the step's Dense takes them as they are
        model.get_layer(name).set_weights(source.get_layer(name).get_weights())
    (g0,) = source.get_layer(GEN_INIT).get_weights()
    zeros = (np.zeros(cfg.encoder_units, np.float32), np.zeros(cfg.controller_units, np.float32))
    lag = (np.zeros(cfg.encoder_units, np.float32),) if h_lag is not None else ()
    return StepModel(model, (*zeros, np.asarray(g0, np.float32), *lag), cfg)


#: One call of a step: [spikes_t (trials, 1, N), states...] -> [logrates, factors, states...] (trials, size).
StepFn = Callable[[list[np.ndarray]], Sequence[np.ndarray]]


def keras_step(model: keras.Model) -> StepFn:
    """The Keras step model as a :data:`StepFn` (one batched call per bin)."""
    return lambda inputs: [np.asarray(o) for o in model(inputs, training=False)]


def stream(step: StepFn, spikes: np.ndarray, start: StepModel) -> tuple[np.ndarray, np.ndarray]:
    """Run ``step`` over every bin of ``spikes`` (trials, bins, N), all trials at once, from ``start``'s initial
    states, carrying the states from one call to the next as the hardware does (``start.carry``). Returns
    ``(logrates, factors)``, (trials, bins, .)."""
    n_trials, n_bins, _ = spikes.shape
    states = [np.tile(np.asarray(s, np.float32)[None, :], (n_trials, 1)) for s in start.initial_states]
    logrates, factors = [], []
    for t in range(n_bins):
        out = step([spikes[:, t : t + 1, :].astype(np.float32), *states])
        logrates.append(np.asarray(out[0], np.float64).reshape(n_trials, -1))
        factors.append(np.asarray(out[1], np.float64).reshape(n_trials, -1))
        states = [np.asarray(out[i], np.float32).reshape(n_trials, -1) for i in start.carry]
    return np.stack(logrates, axis=1), np.stack(factors, axis=1)


def hls_step(hls_model, output_names: Sequence[str]) -> StepFn:
    """The compiled hls4ml step (its C simulation) as a :data:`StepFn`: one call per bin over all trials, the
    outputs put in the Keras step model's order (``output_names``, its ``output_names``). In one process:
    the state lives in the arrays passed in and out (hls4ml's GRU with an initial state keeps none)."""
    from dse.hls import csim

    names = csim.output_names(hls_model)
    missing = [n for n in output_names if n not in names]
    if missing:
        raise ValueError(f"the hls model has outputs {names}, not {missing}")
    order = [names.index(n) for n in output_names]

    def step(inputs: list[np.ndarray]) -> list[np.ndarray]:
        out = csim.predict_parallel(hls_model, [np.ascontiguousarray(x, dtype=np.float64) for x in inputs], 1)
        return [out[i] for i in order]

    return step


def run_csim_stream(hls_model, step_model: StepModel, spikes: np.ndarray):
    """The bit-accurate C simulation of a causal design over whole trials: the compiled step called once per
    bin, all trials at a time, carrying the states it returns (:func:`stream` over :func:`hls_step`).
    Returns a :class:`dse.hls.csim.CSimOutput` with ``logrates`` and ``factors`` of shape (trials, bins, .),
    like the bidirectional design's :func:`dse.hls.csim.run_csim`. ``spikes`` must be exactly representable in
    the step's input type (checked, as there)."""
    import time

    from dse.hls.csim import CSimOutput, _check_counts

    spikes = np.ascontiguousarray(np.asarray(spikes, dtype=np.float64))
    first = hls_model.get_input_variables()[0]
    if spikes.ndim != 3 or spikes.shape[2] != int(first.shape[-1]):
        raise ValueError(f"spikes: expected shape (trials, bins, {first.shape[-1]}), got {spikes.shape}")
    _check_counts(spikes, first)
    t0 = time.perf_counter()
    logrates, factors = stream(hls_step(hls_model, step_model.model.output_names), spikes, step_model)
    return CSimOutput({LOGRATES: logrates, FACTORS: factors}, time.perf_counter() - t0)

"""Small models, data and reference models for testing and benchmarking the conversion path."""

from __future__ import annotations

from typing import Any

import numpy as np

from dse.hls.design import HLSDesign

TINY = {"n_neurons": 8, "n_bins": 10, "encoder_units": 8, "latent_units": 8, "factors": 2}
PAPER = {"n_neurons": 70, "n_bins": 73, "encoder_units": 64, "latent_units": 64, "factors": 4}

#: A design so wide that the C simulation is the float model up to the activation tables: 24 fractional
#: bits everywhere and 2^20-entry tables (input step 16/2^20 for sigmoid, 8/2^20 for tanh) with 30
#: fractional bits.
WIDE_PTQ = HLSDesign(precision="ap_fixed<40,16>", table_size=2**20, table_precision="ap_fixed<32,2>")

#: QAT design: quantizer precisions, wide intermediates (so that only the quantizers and the tables
#: differ from QKeras), 2^16-entry tables whose entries have the 16 fractional bits of a 16-bit
#: quantized sigmoid, rounded like QKeras.
WIDE_QAT = HLSDesign(
    quantization="qat",
    precision="ap_fixed<40,16>",
    table_size=2**16,
    table_precision="ap_fixed<17,1,AP_RND_CONV,AP_SAT>",
)


def lfads_deploy(seed: int = 0, quant: Any = None, **sizes: int) -> Any:
    """An untrained (seeded, hence reproducible) LFADS deploy model; ``sizes`` default to :data:`TINY`."""
    from tensorflow import keras

    from dse.families.lfads.config import LFADSConfig
    from dse.families.lfads.model import build_lfads

    keras.utils.set_random_seed(seed)
    return build_lfads(LFADSConfig(**{**TINY, **sizes}, quant=quant)).deploy


def poisson_spikes(
    n_trials: int, n_bins: int, n_neurons: int, rate: float = 1.0, seed: int = 0
) -> np.ndarray:
    """Integer spike counts, float64, (trials, bins, neurons)."""
    return np.random.default_rng(seed).poisson(rate, (n_trials, n_bins, n_neurons)).astype(np.float64)


def state_quantized_reference(model: Any) -> Any:
    """The QKeras LFADS ``model`` with each GRU's *outputs* passed through its state quantizer.

    A QGRU quantizes h_{t-1} when it reads it but outputs the unquantized h_t; hls4ml's GRU keeps the
    state in one register of the state type and outputs that register. This model (same layer
    objects, hence same weights) computes what the hardware computes, up to the activations; with
    QKeras *hard* activations the C simulation equals it bit for bit.
    """
    from qkeras import QActivation
    from tensorflow import keras

    from dse.families.lfads.model import ENCODER, FACTORS, GENERATOR, IC, LOGRATES

    def quantize_outputs(layer: Any, x: Any) -> Any:
        cell = getattr(getattr(layer, "forward_layer", layer), "cell", None)
        q = getattr(cell, "state_quantizer_internal", None)
        return QActivation(q)(x) if q is not None else x

    spikes, gen_input = model.inputs
    enc = quantize_outputs(model.get_layer(ENCODER), model.get_layer(ENCODER)(spikes))
    ic = model.get_layer(IC)(enc)
    gen = model.get_layer(GENERATOR)
    h = quantize_outputs(gen, gen(gen_input, initial_state=ic))
    factors = model.get_layer(FACTORS)(h)
    logrates = model.get_layer(LOGRATES)(factors)
    return keras.Model([spikes, gen_input], [logrates, factors], name="lfads_state_quantized")

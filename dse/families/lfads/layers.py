"""The custom Keras layers of the LFADS graphs (saved with the models: :func:`dse.families.lfads.model.custom_objects`)
and the factory of the layer types of one variant (float Keras or QKeras), shared by the bidirectional graph
(:mod:`dse.families.lfads.model`), the causal graph (:mod:`dse.families.lfads.causal`) and its one-bin step
(:mod:`dse.families.lfads.step`)."""

from __future__ import annotations

import tensorflow as tf
from tensorflow import keras

from dse.families.lfads.config import QuantSpec


class SampleIC(keras.layers.Layer):
    """VAE posterior sampling of the initial condition, with the KL term added as a loss.

    In training: ic = mean + exp(logvar / 2) * eps, eps ~ N(0, I); outside training: the mean. The KL
    divergence to a standard-normal prior (per trial, summed over Z) is divided by ``elements`` (T·N)
    so that it is on the scale of the per-element Poisson NLL, then multiplied by ``kl_weight``.
    """

    def __init__(self, kl_weight: float = 1.0, elements: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.kl_weight = kl_weight
        self.elements = elements

    def build(self, input_shape) -> None:
        # KL warm-up: the training recipe ramps this from 0 to 1 (posterior collapse otherwise: with the
        # full KL from the first epoch the IC carried no information, behaviour R2 ~0 on synthetic data)
        self.kl_scale = self.add_weight(name="kl_scale", shape=(), initializer="ones", trainable=False)
        super().build(input_shape)

    def call(self, inputs, training=None):
        mean, logvar = inputs
        logvar = tf.clip_by_value(logvar, -10.0, 10.0)
        kl = -0.5 * tf.reduce_sum(1.0 + logvar - tf.square(mean) - tf.exp(logvar), axis=-1)
        self.add_loss(self.kl_scale * self.kl_weight * tf.reduce_mean(kl) / float(self.elements))
        if training:
            return mean + tf.exp(0.5 * logvar) * tf.random.normal(tf.shape(mean))
        return mean

    def get_config(self) -> dict:
        return {**super().get_config(), "kl_weight": self.kl_weight, "elements": self.elements}


class Layers:
    """Factory of the layer types for one variant (float Keras or QKeras)."""

    def __init__(self, quant: QuantSpec | None, reset_after: bool) -> None:
        self.quant = quant
        self.reset_after = reset_after
        if quant is not None:
            from dse.families.lfads import qkeras_compat

            qkeras_compat.apply()

    def _q(self):
        from qkeras import quantized_bits

        return quantized_bits(self.quant.bits, self.quant.integer, alpha=1)

    def gru(self, units: int, name: str, return_sequences: bool, **kw) -> keras.layers.Layer:
        if self.quant is None:
            return keras.layers.GRU(units, return_sequences=return_sequences, reset_after=self.reset_after,
                                    name=name, **kw)
        from qkeras import QGRU, quantized_sigmoid, quantized_tanh

        real = self.quant.activations == "real"
        return QGRU(
            units,
            return_sequences=return_sequences,
            reset_after=self.reset_after,
            activation=quantized_tanh(self.quant.bits, use_real_tanh=real),
            recurrent_activation=quantized_sigmoid(self.quant.bits, use_real_sigmoid=real),
            kernel_quantizer=self._q(),
            recurrent_quantizer=self._q(),
            bias_quantizer=self._q(),
            state_quantizer=self._q(),
            name=name,
            **kw,
        )

    def state_q(self, x, name: str, on: bool):
        """``x`` through the GRU state quantizer when ``on`` (what the hardware's state register holds)."""
        if not on:
            return x
        from qkeras import QActivation

        return QActivation(self._q(), name=name)(x)

    def dense(self, units: int, name: str, use_bias: bool = True) -> keras.layers.Layer:
        if self.quant is None:
            return keras.layers.Dense(units, use_bias=use_bias, name=name)
        from qkeras import QDense

        return QDense(units, use_bias=use_bias, kernel_quantizer=self._q(),
                      bias_quantizer=self._q() if use_bias else None, name=name)


class LearnedState(keras.layers.Layer):
    """A learned vector, repeated for every trial of the batch: the generator's initial state when no IC
    window is inferred (the batch size is read from the layer's input, whose values are not used)."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape) -> None:
        self.state = self.add_weight(name="state", shape=(self.units,), initializer="zeros", trainable=True)
        super().build(input_shape)

    def call(self, inputs):
        return tf.tile(self.state[tf.newaxis, :], [tf.shape(inputs)[0], 1])

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


class TakeBin(keras.layers.Layer):
    """``x[:, index]`` of a sequence ``(batch, bins, features)``: the encoder's state after the IC window."""

    def __init__(self, index: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = index

    def call(self, inputs):
        return inputs[:, self.index]

    def get_config(self) -> dict:
        return {**super().get_config(), "index": self.index}


def generator_readout(L: Layers, cfg, inputs, initial_state, state_outputs: bool):
    """The generator GRU from ``initial_state`` over ``inputs``, then factors and log-rates per bin (the part
    the bidirectional and the causal graphs share); returns ``(logrates, factors)``."""
    gen = L.gru(
        cfg.latent_units,
        name="generator",
        return_sequences=True,
        recurrent_regularizer=keras.regularizers.l2(cfg.l2_gen_recurrent) if cfg.l2_gen_recurrent else None,
    )(inputs, initial_state=initial_state)
    gen = L.state_q(gen, "generator_state_q", state_outputs)
    factors = keras.layers.TimeDistributed(L.dense(cfg.factors, name="factors_dense", use_bias=False),
                                           name="factors")(gen)
    logrates = keras.layers.TimeDistributed(L.dense(cfg.n_neurons, name="logrates_dense"), name="logrates")(factors)
    return logrates, factors

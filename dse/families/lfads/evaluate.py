"""Scoring an LFADS model (Keras or its C simulation) with the metrics of ``objectives``.

Both paths go through :func:`score` with a ``predict`` function, so the float model and the
bit-accurate FPGA simulation are scored identically: the behaviour decoder is fit on the *same
predictor's* factors of the training trials, and bits/spike use the training trials' per-neuron
mean rate as the null model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dse.data.base import DataSplit, NeuralData
from dse.families.lfads.metrics import evaluate

Predict = Callable[[NeuralData], tuple[np.ndarray, np.ndarray]]  # -> (log_rates, factors)


def score(split: DataSplit, predict: Predict, on: str = "test") -> dict[str, float | None]:
    """Metrics on ``split.<on>`` trials of a model given by ``predict`` (log-rates, factors)."""
    target: NeuralData = getattr(split, on)
    log_rates, factors = predict(target)
    _, train_factors = predict(split.train)
    null_rates = split.train.spikes.mean(axis=(0, 1))
    return evaluate(
        spikes=target.spikes,
        log_rates=log_rates,
        factors=factors,
        behavior=target.behavior,
        bin_width_s=target.bin_width_s,
        train_factors=train_factors,
        train_behavior=split.train.behavior,
        true_rates=target.rates,
        null_rates=null_rates,
    )


def keras_predictor(deploy) -> Predict:
    from dse.families.lfads.training import predict

    return lambda data: predict(deploy, data)

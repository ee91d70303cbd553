"""The classic baseline for decoding: a causal linear decoder, ridge on the last few bins of spikes.

Features of bin t are the spike counts of bins t-L+1..t (zeros before the trial starts), so the decoded
position at bin t depends only on spikes up to t, like the SNN's. The decoder is
:func:`objectives.metrics.behavior_r2` in its bin form (standardised features, ridge penalty by
group-k-fold over training trials, variance-weighted R² on test trials) — the same scoring as the SNN.
The number of lags L is chosen on the validation trials (fit on training trials) from ``lag_grid``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dse.families.snn.tasks import Task
from objectives.decoding import behavior_r2

DEFAULT_LAGS = (1, 2, 3, 5, 8, 12)


def lagged(spikes: np.ndarray, lags: int) -> np.ndarray:
    """(trials, bins, n) counts → (trials, bins, n * lags): bins t, t-1, ..., t-lags+1 side by side."""
    x = np.asarray(spikes, dtype=np.float64)
    cols = [x]
    for d in range(1, lags):
        shifted = np.zeros_like(x)
        shifted[:, d:] = x[:, :-d]
        cols.append(shifted)
    return np.concatenate(cols, axis=2)


def causal_linear_decoder(task: Task, lag_grid: Sequence[int] = DEFAULT_LAGS) -> dict[str, Any]:
    """Behaviour R² of the causal ridge decoder on ``task.test``; lags chosen on ``task.valid``."""
    if task.kind != "regression":
        raise ValueError(f"the causal linear decoder is for behaviour decoding, not task {task.name!r}")
    valid_r2 = {}
    for lags in lag_grid:
        valid_r2[int(lags)] = behavior_r2(lagged(task.train.x, lags), task.train.y,
                                          lagged(task.valid.x, lags), task.valid.y, form="bin")
    best = max(valid_r2, key=valid_r2.get)
    test = behavior_r2(lagged(task.train.x, best), task.train.y, lagged(task.test.x, best), task.test.y,
                       form="bin")
    return {"behavior_r2": test, "lags": best, "valid_r2_by_lags": valid_r2}

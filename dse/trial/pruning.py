"""Pruning hopeless trainings by a family's training signal (a median rule over earlier trainings' curves).

Optuna's pruners only work for single-objective studies (``Trial.report`` raises for
multi-objective ones), so dse applies the median-stopping rule itself: after ``warmup_epochs``,
a training whose signal (lower is better; the family names it, ``Family.pruning_signal``, e.g. a
validation loss) at epoch e is worse than the median, at the same epoch, of at least ``min_curves``
comparable earlier trainings by more than ``margin`` (relative; default 1 %, because validation losses of
different models differ by a few per cent and epoch-to-epoch noise is of the order of 0.1 %) is stopped.
Earlier curves come from the trained-model cache (``train.json`` of each entry), which is shared by every
worker of the study; the family says which entries are comparable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


class TrainingPruned(Exception):
    """Raised from the epoch hook to stop a hopeless training."""


def earlier_curves(cache_root: Path, signal: str, same: Mapping[str, Any]) -> list[list[float]]:
    """The ``signal`` curves (``history[signal]`` of each cached training's ``train.json``) of the earlier
    trainings whose ``train.json`` holds the values ``same`` gives, by dotted path (e.g. the data's
    fingerprint and the model's quantization: a family decides which trainings are comparable)."""
    curves = []
    for info_file in sorted(cache_root.glob("*/train.json")):
        try:
            info = json.loads(info_file.read_text())
        except (OSError, ValueError):
            continue
        if all(_at(info, path) == value for path, value in same.items()) and info.get("history", {}).get(signal):
            curves.append([float(v) for v in info["history"][signal]])
    return curves


def _at(info: Mapping[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(info, Mapping):
            return None
        info = info.get(part)
    return info


class MedianRule:
    def __init__(self, curves: list[list[float]], warmup_epochs: int = 15, min_curves: int = 4,
                 margin: float = 0.01, signal: str = "validation loss") -> None:
        self.curves = curves
        self.signal = signal
        self.warmup = warmup_epochs
        self.min_curves = min_curves
        self.margin = margin

    def check(self, epoch: int, value: float) -> None:
        """Raise :class:`TrainingPruned` if this training should stop (``epoch`` is 0-based)."""
        if not math.isfinite(value):
            return  # the non-finite-loss guard of the training recipe reports this as a failure
        if epoch + 1 < self.warmup:
            return
        # an earlier curve that stopped sooner counts with its best (final restored) value
        at = [c[epoch] if epoch < len(c) else min(c) for c in self.curves]
        if len(at) < self.min_curves:
            return
        median = float(np.median(at))
        if value > median * (1.0 + self.margin):
            raise TrainingPruned(
                f"{self.signal} {value:.4f} at epoch {epoch + 1} is worse than the median {median:.4f} "
                f"of {len(at)} earlier trainings by more than {self.margin:.1%}")

"""Pruning hopeless trainings by validation NLL (a median rule over earlier trainings' curves).

Optuna's pruners only work for single-objective studies (``Trial.report`` raises for
multi-objective ones), so dse applies the median-stopping rule itself: after ``warmup_epochs``,
a training whose validation NLL at epoch e is worse than the median, at the same epoch, of at least
``min_curves`` earlier trainings on the same data by more than ``margin`` (relative; default 1 %,
because validation NLLs of different models differ by a few per cent and epoch-to-epoch noise is of
the order of 0.1 %) is stopped. Earlier curves come from the trained-
model cache (``train.json`` of each entry), which is shared by every worker of the study.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


class TrainingPruned(Exception):
    """Raised from the epoch hook to stop a hopeless training."""


def earlier_curves(cache_root: Path, data_fp: str, quant: dict | None = None) -> list[list[float]]:
    """Validation-NLL curves of earlier trainings on the same data *and the same quantization*.

    QKeras models converge more slowly than float ones: compared with float curves, 12- and 16-bit QAT
    trainings of the paper-size model were pruned at epoch 46 although they would have ended close to
    the float model, so a curve only counts against trainings with identical quantizers (or none).
    """
    curves = []
    for info_file in cache_root.glob("*/train.json"):
        try:
            info = json.loads(info_file.read_text())
        except (OSError, ValueError):
            continue
        if info.get("model", {}).get("quant") != quant:
            continue
        if info.get("data_fingerprint") == data_fp and info.get("history", {}).get("val_nll"):
            curves.append([float(v) for v in info["history"]["val_nll"]])
    return curves


class MedianRule:
    def __init__(self, curves: list[list[float]], warmup_epochs: int = 15, min_curves: int = 4,
                 margin: float = 0.01) -> None:
        self.curves = curves
        self.warmup = warmup_epochs
        self.min_curves = min_curves
        self.margin = margin

    def check(self, epoch: int, val_nll: float) -> None:
        """Raise :class:`TrainingPruned` if this training should stop (``epoch`` is 0-based)."""
        if not math.isfinite(val_nll):
            return  # the non-finite-loss guard of the training recipe reports this as a failure
        if epoch + 1 < self.warmup:
            return
        # an earlier curve that stopped sooner counts with its best (final restored) value
        at = [c[epoch] if epoch < len(c) else min(c) for c in self.curves]
        if len(at) < self.min_curves:
            return
        median = float(np.median(at))
        if val_nll > median * (1.0 + self.margin):
            raise TrainingPruned(
                f"validation NLL {val_nll:.4f} at epoch {epoch + 1} is worse than the median {median:.4f} "
                f"of {len(at)} earlier trainings by more than {self.margin:.1%}")

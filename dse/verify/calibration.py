"""A study's own calibration of its estimates: per metric, the ratio real/estimate over its verified designs.

Each verified design gives, per hardware metric, the ratio of the real tool's number to the estimate of the
same design. The model is one multiplicative factor per metric, the geometric mean of those ratios (an
estimator's errors are relative: a design twice as big is off by twice as many LUTs), with its spread: the
sample standard deviation ``s`` of the log ratios, stated as the relative error ``exp(s) - 1`` that a
calibrated estimate keeps (one standard deviation). A metric is calibrated only from :data:`MIN_DESIGNS`
designs on, the least that gives a spread; pairs where either number is zero or missing carry no ratio (a
design without DSPs says nothing of how DSPs are estimated).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Fewest verified designs with a ratio of a metric before that metric is calibrated.
MIN_DESIGNS = 2


@dataclass(frozen=True)
class MetricRatio:
    """real ≈ ``ratio`` × estimate for one metric, over ``n`` designs, with relative error ``error`` (0.1 = ±10 %)."""

    metric: str
    n: int
    ratio: float
    error: float


@dataclass(frozen=True)
class Calibration:
    """The study's ratios (only the metrics with at least :data:`MIN_DESIGNS` designs) and how many verified
    designs it was fitted on."""

    designs: int
    ratios: Mapping[str, MetricRatio]

    def apply(self, estimate: Mapping[str, float]) -> dict[str, float]:
        """``estimate`` with every calibrated metric multiplied by its ratio (the others as they are)."""
        return {k: (v * self.ratios[k].ratio if k in self.ratios and v is not None else v) for k, v in estimate.items()}

    def line(self, metrics: Sequence[str] = ()) -> str:
        """``calibrated on N designs of this study, error ±x % (lut), ...`` for ``metrics`` (default: all)."""
        shown = [self.ratios[m] for m in (metrics or sorted(self.ratios)) if m in self.ratios]
        errors = ", ".join(f"±{100 * r.error:.1f} % ({r.metric})" for r in shown)
        return f"calibrated on {self.designs} designs of this study, error {errors or 'unknown'}"

    def to_dict(self) -> dict[str, object]:
        return {"designs": self.designs,
                "ratios": {m: {"n": r.n, "ratio": r.ratio, "error": r.error} for m, r in self.ratios.items()}}


def fit(pairs: Sequence[tuple[Mapping[str, float], Mapping[str, float]]]) -> Calibration | None:
    """The calibration of (estimate, real) metric pairs of verified designs; None below :data:`MIN_DESIGNS`."""
    if len(pairs) < MIN_DESIGNS:
        return None
    logs: dict[str, list[float]] = {}
    for estimate, real in pairs:
        for metric, est in estimate.items():
            got = real.get(metric)
            if _positive(est) and _positive(got):
                logs.setdefault(metric, []).append(math.log(float(got) / float(est)))
    ratios = {}
    for metric, values in logs.items():
        if len(values) < MIN_DESIGNS:
            continue
        mean = sum(values) / len(values)
        s = math.sqrt(sum((x - mean) ** 2 for x in values) / (len(values) - 1))
        ratios[metric] = MetricRatio(metric, len(values), math.exp(mean), math.exp(s) - 1.0)
    return Calibration(len(pairs), ratios) if ratios else None


def _positive(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0

"""Objectives of a design-space exploration: accuracy metrics and the registry of objective names."""

from objectives.metrics import (
    DEFAULT_ALPHAS,
    NULL_RATE_FLOOR,
    behavior_r2,
    bits_per_spike,
    evaluate,
    poisson_npll,
    rate_r2,
)
from objectives.registry import OBJECTIVES, Objective, get_objective, objective_names

__all__ = [
    "DEFAULT_ALPHAS",
    "NULL_RATE_FLOOR",
    "OBJECTIVES",
    "Objective",
    "behavior_r2",
    "bits_per_spike",
    "evaluate",
    "get_objective",
    "objective_names",
    "poisson_npll",
    "rate_r2",
]

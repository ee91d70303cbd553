"""Objectives of a design-space exploration: the registry of objective definitions, constraints, repeated
design points, the Pareto front, and the decoding accuracy shared by families."""

from objectives.decoding import BEHAVIOR_R2, BEHAVIOR_R2_BIN, DEFAULT_ALPHAS, behavior_r2
from objectives.registry import HARDWARE, Objective, ObjectiveClash, ObjectiveRegistry, hardware_registry

__all__ = [
    "BEHAVIOR_R2",
    "BEHAVIOR_R2_BIN",
    "DEFAULT_ALPHAS",
    "HARDWARE",
    "Objective",
    "ObjectiveClash",
    "ObjectiveRegistry",
    "behavior_r2",
    "hardware_registry",
]

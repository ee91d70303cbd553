"""What the driver sends to a worker: one design point and where things live (plain, picklable)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from dse.families.records import Design

#: The median rule's settings (dse.trial.pruning.MedianRule); a study can only switch it off.
DEFAULT_PRUNING: dict[str, Any] = {"enabled": True, "warmup_epochs": 15, "min_curves": 4, "margin": 0.01}


@dataclass
class TrialSpec:
    study_name: str
    trial_number: int
    design: Design  # SearchSpace.design_point() (its stored dict form is accepted too)
    data: dict[str, Any]  # {"source", "options", "split_seed"}
    objectives: list[str]
    work_dir: str  # this trial's artifact directory
    model_cache_dir: str  # trained models shared by trials (dse.trial.model_cache)
    build_cache_dir: str  # compiled/synthesised designs and simulation outputs shared by trials
    max_utilisation: float | None = None  # preflight: prune before training if the estimate exceeds it
    pruning: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PRUNING))
    reuse_csim: bool = True  # reuse the simulation outputs of a numerically identical design

    def __post_init__(self) -> None:
        if not isinstance(self.design, Design):
            if not isinstance(self.design, Mapping):
                raise TypeError(f"design must be a Design, got {type(self.design).__name__}")
            self.design = Design.from_dict(self.design)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for a Ray task's argument): the design in its stored dict form (``asdict`` would also
        walk the Design's records only for them to be replaced)."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"design": self.design.to_dict()}

"""What the driver sends to a worker: one design point and where things live (plain, picklable)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: The median rule's settings (dse.trial.pruning.MedianRule); a study can only switch it off.
DEFAULT_PRUNING: dict[str, Any] = {"enabled": True, "warmup_epochs": 15, "min_curves": 4, "margin": 0.01}


@dataclass
class TrialSpec:
    study_name: str
    trial_number: int
    design: dict[str, Any]  # SearchSpace.design_point(): "family", "params", "hardware" + the family's own keys
    data: dict[str, Any]  # {"source", "options", "split_seed"}
    objectives: list[str]
    work_dir: str  # this trial's artifact directory
    model_cache_dir: str  # trained models shared by trials (dse.trial.model_cache)
    build_cache_dir: str  # compiled/synthesised designs and simulation outputs shared by trials
    max_utilisation: float | None = None  # preflight: prune before training if the estimate exceeds it
    pruning: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PRUNING))
    reuse_csim: bool = True  # reuse the simulation outputs of a numerically identical design

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

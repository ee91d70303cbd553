"""The ``analytic`` cost backend: a family's own closed-form count of cycles and resources.

Some families can count what their generated hardware uses without a tool (the test family's
multiply-accumulate datapath; a calibrated model of a generated HDL design). They lower a design to an
:class:`AnalyticDesign`; this backend checks it against the part and reports it like any other
backend, so objectives, constraints and utilisation work the same for every family.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from dse.cost.base import RESOURCES, CostBackend, HardwareReport, register_backend
from dse.cost.parts import get_part


@dataclass(frozen=True)
class AnalyticDesign:
    """Cycle and resource counts of one design, with the name of the model that produced them."""

    model: str
    latency_cycles: int
    ii_cycles: int
    dsp: int = 0
    lut: int = 0
    ff: int = 0
    bram_18k: int = 0
    uram: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("latency_cycles", "ii_cycles", *RESOURCES):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"AnalyticDesign.{name}: must be a non-negative integer, got {value!r}")


@register_backend
class AnalyticBackend(CostBackend):
    name = "analytic"
    source = "analytic model"
    costs = "analytic"
    needs_project = False
    description = "a family's closed-form cycle and resource counts, checked against the part"

    def cost(self, design: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        if not isinstance(design, AnalyticDesign):
            raise TypeError(f"the analytic backend costs an AnalyticDesign, got {type(design).__name__}")
        if clock_ns <= 0:
            raise ValueError(f"clock_ns must be > 0, got {clock_ns}")
        get_part(part)  # unknown part -> KeyError naming the known ones
        counts = {k: v for k, v in asdict(design).items() if k not in ("model", "details")}
        return HardwareReport(backend=self.name, part=part, clock_ns=float(clock_ns),
                              latency_cycles_best=design.latency_cycles, tool_version=design.model,
                              details=dict(design.details), **counts)

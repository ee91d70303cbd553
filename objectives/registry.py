"""The objectives a study can optimise or report: name, direction, unit and meaning, in one registry.

Hardware objectives come from a cost backend's :class:`dse.cost.base.HardwareReport` (``latency_us``,
``latency_cycles``, the resource counts and their fractions of the target part) and are defined here
(:data:`HARDWARE`). Accuracy objectives belong to the model family that measures them: each family
declares its own (``Family.objectives``), and dse merges them into one :class:`ObjectiveRegistry`
(``dse.families.objective_registry()``), which refuses two different definitions of one name.
``direction`` uses Optuna's spelling, so it can be passed straight to ``optuna.create_study(directions=...)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["HARDWARE", "Objective", "ObjectiveClash", "ObjectiveRegistry", "hardware_registry"]

Direction = Literal["maximize", "minimize"]
Kind = Literal["accuracy", "hardware"]


@dataclass(frozen=True)
class Objective:
    """One objective metric: its name, whether larger or smaller is better, unit and meaning."""

    name: str
    direction: Direction
    unit: str
    description: str
    kind: Kind = "accuracy"

    @property
    def sign(self) -> int:
        """+1 when larger is better, −1 when smaller is better (to turn any objective into a score)."""
        return 1 if self.direction == "maximize" else -1

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than value ``b`` for this objective."""
        return a > b if self.direction == "maximize" else a < b


class ObjectiveClash(ValueError):
    """Two sources define one objective name differently."""


class ObjectiveRegistry:
    """Objectives by name, each with the source (a family, the cost backends) that defined it first."""

    def __init__(self, source: str = "", objectives: Iterable[Objective] = ()) -> None:
        self._by_name: dict[str, Objective] = {}
        self._source: dict[str, str] = {}
        self.add(source, objectives)

    def add(self, source: str, objectives: Iterable[Objective]) -> None:
        """Merge ``objectives`` of ``source``; the same definition twice is fine, a different one is not."""
        for o in objectives:
            old = self._by_name.get(o.name)
            if old is not None and old != o:
                fields = [f for f in ("direction", "unit", "description", "kind") if getattr(old, f) != getattr(o, f)]
                raise ObjectiveClash(f"{source}: objective {o.name!r} is already defined by {self._source[o.name]} "
                                     f"with another {'/'.join(fields)}")
            if old is None:
                self._by_name[o.name], self._source[o.name] = o, source

    def get(self, name: str) -> Objective:
        """The objective called ``name``; ``KeyError`` naming the known objectives otherwise."""
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown objective {name!r}; known: {', '.join(sorted(self._by_name))}") from None

    def source(self, name: str) -> str:
        return self._source[name]

    def names(self, kind: Kind | None = None) -> list[str]:
        """Sorted names of all objectives, or of the ``"accuracy"`` or ``"hardware"`` ones."""
        return sorted(n for n, o in self._by_name.items() if kind is None or o.kind == kind)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Objective]:
        return iter(self._by_name.values())


def _hw(name: str, unit: str, description: str) -> Objective:
    return Objective(name, "minimize", unit, description, "hardware")


#: The resources a report counts: (objective, unit, what it counts, the objective of its fraction of the part).
_RESOURCES = (("dsp", "DSP slices", "DSP slices", "dsp_util"), ("lut", "LUTs", "look-up tables", "lut_util"),
              ("ff", "FFs", "flip-flops", "ff_util"), ("bram_18k", "BRAM18K", "18 Kb block RAMs", "bram_util"),
              ("uram", "URAM", "UltraRAM blocks", "uram_util"))

#: What every cost backend's report measures.
HARDWARE: tuple[Objective, ...] = (
    _hw("latency_us", "us", "worst-case latency of one inference"),
    _hw("latency_cycles", "cycles", "worst-case latency of one inference in clock cycles"),
    _hw("ii_cycles", "cycles", "initiation interval: clock cycles between two inferences the design accepts "
        "(for a design that computes one time bin per call, between two bins)"),
    *(_hw(name, unit, f"{what} used") for name, unit, what, _ in _RESOURCES),
    *(_hw(util, "fraction", f"{what} used / available on the part") for _, _, what, util in _RESOURCES),
)


def hardware_registry() -> ObjectiveRegistry:
    """A registry holding the hardware objectives (families add theirs)."""
    return ObjectiveRegistry("the cost backends", HARDWARE)

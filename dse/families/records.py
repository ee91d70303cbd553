"""The records a family and the core exchange: small, frozen, picklable.

- :class:`HardwareTarget`: the study's cost backend, part and clock.
- :class:`DesignPoint`: one complete point of a study (every active parameter by name) with its target;
  what :meth:`Family.build <dse.families.base.Family.build>` receives.
- :class:`Design`: the point plus the family's own settings that ``build`` returned; what a trial runs
  (``TrialContext.design``). It reads as the plain dict it is stored as (``design["model"]``,
  ``dict(design)``), so databases and caches written before it existed keep their form, while new code
  uses the typed fields (``design.hardware.part``).
- :class:`ExportRequest`: a finished trial's stored record, for ``Family.export``.
- :class:`FamilyCommand`: a ``dse`` sub-command of the family's own.
- :class:`TrainRequest` / :class:`TrainReport`: ``dse train``'s parsed options in, the metrics out (the
  core prints them as JSON or as the family's summary lines).

The core adds the keys every design carries (``family``, ``params``, ``hardware``); a family returns
only its own, and may not reuse those names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dse.trial.result import TrialResult

#: The keys the core adds to every design; a family's own settings may not use them.
COMMON_KEYS = ("family", "params", "hardware")


@dataclass(frozen=True)
class HardwareTarget:
    """Where a design is costed: a cost backend's name, the FPGA part and the clock period."""

    backend: str
    part: str
    clock_ns: float

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "part": self.part, "clock_ns": float(self.clock_ns)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HardwareTarget:
        return cls(str(d["backend"]), str(d["part"]), float(d["clock_ns"]))

    @classmethod
    def of(cls, hardware: Any) -> HardwareTarget:
        """From anything with ``backend``/``part``/``clock_ns`` attributes (a study's hardware section)."""
        if isinstance(hardware, HardwareTarget):
            return hardware
        return cls(str(hardware.backend), str(hardware.part), float(hardware.clock_ns))


@dataclass(frozen=True)
class DesignPoint:
    """A complete design point of family ``family``: every active parameter by its dotted name."""

    family: str
    params: Mapping[str, Any]
    hardware: HardwareTarget

    def __getitem__(self, name: str) -> Any:
        return self.params[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


@dataclass(frozen=True, eq=False)
class Design(Mapping[str, Any]):
    """A point and the family's own settings for it; a read-only mapping of its stored dict form."""

    point: DesignPoint
    own: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clash = sorted(set(self.own) & set(COMMON_KEYS))
        if clash:
            raise ValueError(f"family {self.point.family!r}: build() returned {clash}, which the core adds itself")

    @property
    def family(self) -> str:
        return self.point.family

    @property
    def params(self) -> Mapping[str, Any]:
        return self.point.params

    @property
    def hardware(self) -> HardwareTarget:
        return self.point.hardware

    def to_dict(self) -> dict[str, Any]:
        """The stored form: the family's own keys plus ``family``, ``params`` and ``hardware``."""
        return {**self.own, "family": self.family, "params": dict(self.params), "hardware": self.hardware.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Design:
        if isinstance(d, Design):
            return d
        point = DesignPoint(str(d["family"]), dict(d.get("params", {})), HardwareTarget.from_dict(d["hardware"]))
        return cls(point, {k: v for k, v in d.items() if k not in COMMON_KEYS})

    def __getitem__(self, key: str) -> Any:
        if key == "family":
            return self.family
        if key == "params":
            return dict(self.params)
        if key == "hardware":
            return self.hardware.to_dict()
        return self.own[key]

    def __iter__(self) -> Iterator[str]:
        yield from self.own
        yield from COMMON_KEYS

    def __len__(self) -> int:
        return len(self.own) + len(COMMON_KEYS)

    def __eq__(self, other: object) -> bool:  # equal to its stored form, as the dict it replaces was
        return isinstance(other, Mapping) and self.to_dict() == dict(other)

    __hash__ = None  # type: ignore[assignment]  # mutable contents, like the dict it stands for

    def __reduce__(self) -> tuple[Any, ...]:  # pickle by fields, not through the Mapping protocol
        return (Design, (self.point, dict(self.own)))


@dataclass(frozen=True)
class ExportRequest:
    """What a family's export gets: the trial's stored record and where the study keeps things."""

    source: str  # the study file, for error messages
    study: str
    number: int
    design: Design  # as stored with the trial, with the study's hardware target
    result: TrialResult
    data: dict[str, Any]  # the study's data spec (DataConfig.spec())
    build_cache_dir: Path

    @property
    def params(self) -> Mapping[str, Any]:
        return self.design.params


@dataclass(frozen=True)
class FamilyCommand:
    """A ``dse`` sub-command a family adds (``dse estimate`` for hls4ml models): its name and the function that
    adds its parser to dse's sub-parsers (setting ``func``), like ``dse.commands.*``'s ``add_parser``. It runs
    whenever dse's parser is built, so it must import no heavy library (import those inside the command)."""

    name: str
    add_parser: Callable[[Any], None]


@dataclass(frozen=True)
class TrainRequest:
    """``dse train --family F``: the family's options as parsed (by the arguments it declared)."""

    family: str
    options: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:  # options read like argparse's namespace: request.epochs
        try:
            return self.__dict__["options"][name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class TrainReport:
    """What ``dse train`` prints: ``metrics`` as one JSON object (``--json``), else ``lines``."""

    metrics: Mapping[str, Any]
    lines: tuple[str, ...] = ()

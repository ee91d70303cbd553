"""The plain record one DSE trial produces (what a Ray task returns and what storage persists).

It lives in ``storage`` because storage persists it and sits below the service (dse imports storage, never
the other way round); the service uses it as :mod:`dse.trial.result`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["complete", "failed", "pruned"]


@dataclass
class Artifact:
    kind: str  # "model", "hls_project", "reports", ...
    path: str
    sha256: str | None = None


@dataclass
class TrialResult:
    """Everything a trial measured.

    ``objectives`` maps every metric name of ``objectives.registry`` that was measured to its value
    (accuracy from the C simulation when there is one, hardware from the cost backend).
    ``accuracy`` holds the breakdown by source: ``{"float": {...}, "csim": {...}}``.
    ``hardware`` is ``HardwareReport.to_dict()`` (backend, tool_version, part, clock_ns, latency,
    II, DSP, LUT, FF, BRAM_18K, URAM, utilisation).
    ``timings`` are seconds per phase (data, train, convert, compile, csim, cost, ...).
    """

    params: dict[str, Any]
    status: Status = "complete"
    objectives: dict[str, float | None] = field(default_factory=dict)
    accuracy: dict[str, dict[str, float | None]] = field(default_factory=dict)
    hardware: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    fail_reason: str | None = None
    cache: dict[str, bool] = field(default_factory=dict)  # e.g. {"model": True, "hls": False}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrialResult:
        d = dict(d)
        d["artifacts"] = [Artifact(**a) for a in d.get("artifacts", [])]
        return cls(**d)

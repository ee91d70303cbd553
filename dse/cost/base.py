"""The hardware-cost interface: one report type, backends registered by name.

Like Optuna's samplers and hls4ml's backends, a cost backend is a small class registered under a
name (``estimate``, ``vitis``, ``vivado``; later e.g. ``yosys`` for generated spiking accelerators).
The rest of dse only sees :class:`HardwareReport`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from dse.cost.parts import Part, get_part

RESOURCES = ("dsp", "lut", "ff", "bram_18k", "uram")


@dataclass
class HardwareReport:
    """Latency and resources of one design, from a synthesis tool or the estimator."""

    backend: str
    part: str
    clock_ns: float
    latency_cycles: int  # worst case
    latency_cycles_best: int
    ii_cycles: int
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    uram: int = 0
    clock_est_ns: float | None = None
    tool_version: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def latency_us(self) -> float:
        return self.latency_cycles * self.clock_ns / 1000.0

    def utilisation(self) -> dict[str, float]:
        """Fraction (0..1+) of the part's resources this design uses."""
        p: Part = get_part(self.part)
        out = {}
        for r in RESOURCES:
            total = p.resources[r]
            out[r] = (getattr(self, r) / total) if total else 0.0
        return out

    def fits(self, max_utilisation: float = 1.0) -> bool:
        return all(v <= max_utilisation for v in self.utilisation().values())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["latency_us"] = self.latency_us
        d["utilisation"] = self.utilisation()
        return d


class CostBackend(ABC):
    """Turns a converted hls4ml model into a :class:`HardwareReport`."""

    name: ClassVar[str]
    # Whether ``cost`` needs a written hls4ml project (HLS tools) or only the converted graph (estimator).
    needs_project: ClassVar[bool] = True

    @abstractmethod
    def cost(self, hls_model: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        """Cost ``hls_model`` (an ``hls4ml.model.ModelGraph``) on ``part`` at ``clock_ns``."""

    def available(self) -> bool:
        """Whether this backend can run on this machine (e.g. the HLS tool is on PATH)."""
        return True


_BACKENDS: dict[str, type[CostBackend]] = {}


def register_backend(cls: type[CostBackend]) -> type[CostBackend]:
    """Class decorator: make ``cls`` available as ``get_backend(cls.name)``."""
    _BACKENDS[cls.name] = cls
    return cls


def get_backend(name: str, **kwargs: Any) -> CostBackend:
    # Import the built-in backends so they register themselves.
    from dse.cost import estimator, synthesis  # noqa: F401

    try:
        cls = _BACKENDS[name]
    except KeyError:
        raise KeyError(f"unknown cost backend {name!r}; known: {sorted(_BACKENDS)}") from None
    return cls(**kwargs)


def backend_names() -> list[str]:
    from dse.cost import estimator, synthesis  # noqa: F401

    return sorted(_BACKENDS)

"""The hardware-cost interface: one report type, and backends that describe themselves.

Like Optuna's samplers and hls4ml's backends, a cost backend is a small class registered under a
name (:mod:`dse.cost.registry` lists the built-in ones). A backend says what it can cost
(``costs``: the kind of lowered design a model family produces, e.g. ``"hls4ml"`` for a converted
hls4ml graph, ``"hdl"`` for a generated HDL project), which executable it runs (``executable``;
``None`` for pure Python) and therefore which Ray resource a node must offer to run its trials
(:attr:`CostBackend.ray_resource`). The rest of dse only sees :class:`HardwareReport`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from dse.cost.parts import Part, get_part

#: The resources of a part that a design uses, and the objective-registry name of each one's utilisation.
RESOURCES = ("dsp", "lut", "ff", "bram_18k", "uram")
UTIL_METRIC = {"dsp": "dsp_util", "lut": "lut_util", "ff": "ff_util", "bram_18k": "bram_util", "uram": "uram_util"}
#: The hardware objectives every report provides (objectives.registry names), besides the utilisations.
HARDWARE_METRICS = ("latency_us", "latency_cycles", "ii_cycles", "dsp", "lut", "ff", "bram_18k", "uram")


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


    def metrics(self) -> dict[str, float]:
        """The hardware objectives of this report by registry name (:data:`HARDWARE_METRICS` + utilisations)."""
        m = {k: float(getattr(self, k)) for k in HARDWARE_METRICS if k != "latency_us"}
        m["latency_us"] = float(self.latency_us)
        for res, frac in self.utilisation().items():
            m[UTIL_METRIC[res]] = float(frac)
        return m


class CostBackend(ABC):
    """Turns a lowered design (what a model family's trial produced) into a :class:`HardwareReport`.

    Class attributes describe the backend (checked by :func:`register_backend`):

    - ``name``: how study.yaml's ``hardware.backend`` names it;
    - ``costs``: the kind of lowered design it accepts; a study whose family lowers to another kind is
      refused when it is loaded (``Family.lowering``);
    - ``executable``: the tool it runs, or ``None``; a trial that uses it needs a Ray node offering the
      custom resource of that name (:attr:`ray_resource`), so a cluster routes it to a node with the tool;
    - ``needs_project``: whether ``cost`` needs the design written out as a project for the tool, or only
      the in-memory design (an estimator);
    - ``description``: what it does, and ``source``: where its numbers come from, in a few words (what
      ``dse compare``, ``dse status``, the dashboard and the docs say of a report of this backend);
      ``measured``: whether a real tool produced them (True) or a model estimated them (False);
      ``source_keys``: the report keys :meth:`source_of` reads besides ``backend`` (the views read only
      these of a trial's stored attributes to label it, :func:`dse.cost.registry.source_keys`).
    """

    name: ClassVar[str]
    costs: ClassVar[str]
    executable: ClassVar[str | None] = None
    needs_project: ClassVar[bool] = True
    description: ClassVar[str] = ""
    source: ClassVar[str]
    measured: ClassVar[bool] = False
    source_keys: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def source_of(cls, hardware: dict[str, Any]) -> str:
        """Where the numbers of one of this backend's reports (``HardwareReport.to_dict()``) come from."""
        return cls.source or cls.name

    @classmethod
    def note_sections(cls, hardware: dict[str, Any]) -> list[str]:
        """Markdown lines the trial's dashboard note shows of this backend's own report details."""
        return []

    @abstractmethod
    def cost(self, design: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        """Cost ``design`` (of the kind ``costs`` names) on ``part`` at ``clock_ns``."""

    def available(self) -> bool:
        """Whether this backend can run on this machine (e.g. the tool is on PATH)."""
        return True

    @classmethod
    def ray_resource(cls) -> str | None:
        """The Ray custom resource a node must offer to run this backend's trials (its executable)."""
        return cls.executable


_BACKENDS: dict[str, type[CostBackend]] = {}


def register_backend(cls: type[CostBackend]) -> type[CostBackend]:
    """Class decorator: make ``cls`` available by name (:func:`dse.cost.registry.get_backend`)."""
    for attr in ("name", "costs", "source"):
        if not isinstance(getattr(cls, attr, None), str):
            raise TypeError(f"cost backend {cls.__name__} must set the class attribute {attr!r}")
    _BACKENDS[cls.name] = cls
    return cls


def unregister_backend(name: str) -> None:
    """Forget the backend called ``name`` (a test that registered its own backend cleans up after itself)."""
    _BACKENDS.pop(name, None)


def registered() -> dict[str, type[CostBackend]]:
    """The backends registered so far (use :mod:`dse.cost.registry`, which loads the built-in ones)."""
    return dict(_BACKENDS)

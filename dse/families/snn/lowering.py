"""The SNN's lowered design: a quantized network as generated VHDL, in the form dse's HDL cost backends
cost (:class:`dse.cost.hdl.HDLDesign`).

``cycles`` come from the bit-exact reference model's cycle model on the study's test inputs (exact for
the generated VHDL, tests/test_snn_vhdl.py), so the event-driven scan's data-dependent latency is what
the test data costs: worst case and best case over the samples. A decoder that answers every bin (one time
step per bin, one or two layers) is costed per bin (``per_bin``): the closed-loop latency from a
bin's first input beat to its output, worst and best over every bin of the test trials
(:func:`dse.families.snn.reference.step_latency`); otherwise per run (a whole trial or image).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dse.families.snn.network import QuantizedSNN

#: how many block-RAM primitives of each synthesis family make one ``bram_18k`` unit of HardwareReport:
#: Xilinx reports RAMB36 equivalents (two 18 Kbit halves); Lattice parts count their own primitives.
BRAM_18K_PER_UNIT = {"xilinx": 2.0, "ecp5": 1.0, "ice40": 1.0}


@dataclass
class SNNHardware:
    """``net`` as generated VHDL; ``inputs`` (samples, T, n_in) integer test inputs: cycles are measured on
    them and the synthesized netlist is simulated on ``inputs[:check_samples]`` against the reference."""

    net: QuantizedSNN
    inputs: np.ndarray
    cache_dir: str | None = None
    check_samples: int = 2
    rom_style: str = "auto"  # dse.families.snn.synth.mark_roms
    per_bin: bool = False  # cycles() are a bin's closed-loop latency, not a run's (see the module docstring)

    def cycles(self) -> tuple[int, int]:
        from dse.families.snn.reference import simulate, step_latency

        ref = simulate(self.net, self.inputs)
        counts = (step_latency(self.net, self.inputs, ref.spikes, self.net.scan) if self.per_bin
                  else ref.cycles[self.net.scan])
        return int(counts.max()), int(counts.min())

    def synthesize(self, part: str, *, work_dir: str | None, freq_mhz: float) -> dict[str, Any]:
        import json

        from dse.families.snn.synth import synthesize

        r = synthesize(self.net, part, work_dir=work_dir, cache_dir=self.cache_dir,
                       check_inputs=self.inputs[: self.check_samples], freq_mhz=freq_mhz, rom_style=self.rom_style)
        return {"lut": r.lut, "ff": r.ff, "dsp": r.dsp,
                "bram_18k": int(np.ceil(r.bram * BRAM_18K_PER_UNIT[r.family])),
                "max_clock_mhz": r.max_clock_mhz, "tool_version": json.dumps(r.tool_versions, sort_keys=True),
                "details": {"carry": r.carry, "bram_primitives": r.bram, "logic_depth": r.logic_depth,
                            "latches": r.latches, "checks": r.checks, "seconds": r.seconds, "cached": r.cached,
                            "hdl_hash": r.hdl_hash, "synthesis_family": r.family,
                            "pnr_utilisation": r.pnr_utilisation}}

    def estimate(self, part: str) -> dict[str, Any]:
        """The calibrated analytic model (:mod:`dse.families.snn.hw_estimate`): Xilinx 7-series only."""
        return estimate_counts(self.net, part, self.rom_style)

    def write(self, out: Path) -> list[Path]:
        """The VHDL sources (and testbench) into ``out``."""
        from dse.families.snn.ghdl import write_design

        return write_design(self.net, out)


def estimate_counts(net: QuantizedSNN, part: str, rom_style: str = "auto") -> dict[str, Any]:
    """``hw_estimate`` as the counts the HDL cost backends take, with its calibration error as uncertainty."""
    from dse.families.snn import hw_estimate
    from dse.families.snn.synth import parse_part

    if parse_part(part)["family"] != "xilinx":
        raise ValueError(f"the SNN estimate is calibrated on Yosys synth_xilinx results; {part!r} is not a Xilinx "
                         "part (use the yosys backend)")
    est = hw_estimate.estimate(net, rom_style=rom_style)
    return {"lut": round(est.lut), "ff": round(est.ff), "dsp": est.dsp,
            "bram_18k": int(np.ceil(est.bram * BRAM_18K_PER_UNIT["xilinx"])), "max_clock_mhz": None,
            "tool_version": "dse snn hw_estimate (fitted to Yosys 0.23 synth_xilinx)",
            "details": {"uncertainty": {"lut": hw_estimate.ERROR["lut"], "ff": hw_estimate.ERROR["ff"],
                                        "bram_18k": hw_estimate.ERROR["bram"]},
                        "uncertainty_basis": "largest relative error on the calibration designs",
                        "features": est.features}}

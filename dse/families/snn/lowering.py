"""The SNN's lowered design: a quantized network as generated VHDL, in the form dse's HDL cost backends
cost (:class:`dse.cost.hdl.HDLDesign`).

``cycles`` come from the bit-exact reference model's cycle model on the study's test inputs (exact for
the generated VHDL, tests/test_snn_vhdl.py), so the event-driven scan's data-dependent latency is what
the test data costs: worst case and best case over the samples.
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

    def cycles(self) -> tuple[int, int]:
        from dse.families.snn.reference import simulate

        counts = simulate(self.net, self.inputs).cycles[self.net.scan]
        return int(counts.max()), int(counts.min())

    def synthesize(self, part: str, *, work_dir: str | None, freq_mhz: float) -> dict[str, Any]:
        import json

        from dse.families.snn.synth import synthesize

        r = synthesize(self.net, part, work_dir=work_dir, cache_dir=self.cache_dir,
                       check_inputs=self.inputs[: self.check_samples], freq_mhz=freq_mhz)
        return {"lut": r.lut, "ff": r.ff, "dsp": r.dsp,
                "bram_18k": int(np.ceil(r.bram * BRAM_18K_PER_UNIT[r.family])),
                "max_clock_mhz": r.max_clock_mhz, "tool_version": json.dumps(r.tool_versions, sort_keys=True),
                "details": {"carry": r.carry, "bram_primitives": r.bram, "logic_depth": r.logic_depth,
                            "latches": r.latches, "checks": r.checks, "seconds": r.seconds, "cached": r.cached,
                            "hdl_hash": r.hdl_hash, "synthesis_family": r.family,
                            "pnr_utilisation": r.pnr_utilisation}}

    def estimate(self, part: str) -> dict[str, Any]:
        from dse.families.snn import hw_estimate

        return hw_estimate.as_counts(hw_estimate.estimate(self.net, part))

    def write(self, out: Path) -> list[Path]:
        """The VHDL sources (and testbench) into ``out``."""
        from dse.families.snn.ghdl import write_design

        return write_design(self.net, out)

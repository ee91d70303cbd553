"""VHDL generator for a QuantizedSNN (written for dse; the architecture follows SEMANTICS.md).

Architecture (one entity per layer, specialised by the generator, plus a top and a package):
  * Layers form a pipeline of T + L - 1 stages; a controller in the top starts every active layer of a
    stage (layer l works on its step s - l) and waits until all are done. A layer latches its input
    spikes when it starts, so the producer may already compute its next step.
  * Per layer a control unit scans one input per clock: the inputs, then (recurrent) the layer's own
    spikes of the previous step. It addresses a weight memory with one row per input holding every
    neuron's weight (a ROM; Yosys infers BRAM where it pays), read with one cycle of latency.
  * N neuron datapaths in parallel: a saturating adder into the membrane (LIF2: into the synaptic
    current), then one update cycle per step: (LIF2: v <- sat(leak(v) + i)), fire (v >= theta), reset
    (zero / subtract / none), leak by shift for the next step (readout: latch v(t) as the output).
    Doing the leak at the end of step t-1 instead of the start of step t is the same arithmetic.
  * Layer 0 takes its input as a stream (valid/ready, index, value, last): the "full" scan streams every
    input (n_in beats a step, as Spiker+ scans its input register), the "event" scan streams only the
    nonzero inputs as address events (at least one beat: a zero-valued one when nothing spiked). Layers
    > 0 scan their latched input vector: "full" with a shift register (every input costs a clock), "event"
    with a lowest-set-bit finder (x and -x) and a one-hot-to-index OR tree (only spikes cost a clock).
Synthesis traps avoided on purpose: every selection is an if/elsif (GHDL 2.0's Verilog writer drops
`case ... when others` arms), the arithmetic right shift is a sign-extended slice (the same writer emits
numeric_std's shift_right(signed) as a logical `>>`), constant arrays are written one element per line, and port maps connect
whole signals only (GHDL rejects non-static port slices).

Reuse factor R (QuantizedSNN.reuse_factor): a layer's neurons share ceil(n_out / R) datapaths, each
serving its neurons one per clock (neurons.py): every scanned input costs one clock per group and the
update one clock per group; membranes live in memories and the weight memory holds one word per
(group, input) with one weight per datapath. R = 1 generates the fully parallel design above.

Modules: plan (derived sizes), layer (weight memory, scan control), neurons (datapaths, membrane
memories), top (stage controller), package (arithmetic helpers), testbench and streams (simulation I/O).

Cycles: see dse.families.snn.reference (STAGE_OVERHEAD, RUN_OVERHEAD); a test checks them against GHDL.
"""

from __future__ import annotations

from collections.abc import Sequence

from dse.families.snn.hdl.common import INPUT_FILE, OUTPUT_FILE, PACKAGE, TB, TOP, index_bits
from dse.families.snn.hdl.layer import layer_vhdl
from dse.families.snn.hdl.package import package_vhdl
from dse.families.snn.hdl.streams import format_inputs, format_outputs, parse_outputs, parse_step_latency
from dse.families.snn.hdl.testbench import verilog_testbench, vhdl_testbench
from dse.families.snn.hdl.top import top_vhdl
from dse.families.snn.network import QuantizedSNN

__all__ = ["INPUT_FILE", "OUTPUT_FILE", "PACKAGE", "TB", "TOP", "format_inputs", "format_outputs", "generate",
           "generate_testbench", "index_bits", "parse_outputs", "parse_step_latency"]


def generate(net: QuantizedSNN, reuse_factor: int | Sequence[int] | None = None) -> dict[str, str]:
    """The synthesizable design: {file name: VHDL}, in analysis order. `reuse_factor` overrides the
    network's (QuantizedSNN.reuse_factor; 1 = one datapath per neuron)."""
    if reuse_factor is not None:
        net = net.with_reuse(reuse_factor)
    files = {f"{PACKAGE}.vhd": package_vhdl()}
    for li in range(len(net.layers)):
        files[f"snn_layer{li}.vhd"] = layer_vhdl(net, li)
    files[f"{TOP}.vhd"] = top_vhdl(net)
    return files


def generate_testbench(net: QuantizedSNN) -> dict[str, str]:
    """The VHDL testbench (GHDL) and a Verilog one of the same behaviour for synthesized netlists."""
    return {f"{TB}.vhd": vhdl_testbench(net), f"{TB}.v": verilog_testbench(net)}

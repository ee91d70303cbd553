"""Fast analytic estimate of cycles, LUT, FF and BRAM of a generated SNN design on Xilinx 7-series.

For preflight and for sizes Yosys is too slow for. Cycles are exact (the reference's cycle model; for the
event-driven scan the mean over given inputs, or an expectation from input density and spike rates).
Resources come from structural counts of the generated VHDL (hdl/): the datapaths' adder and mux bits
(per neuron type), the weight memory in LUTs (distinct columns x a per-column cost by depth measured by
Yosys on bare ROMs with the generator's gated address), the scan vectors and counters, the event scan's
lowest-set-bit logic, the membranes' LUT RAM (counted exactly) and flip-flops; 4 LUT constants and 1 FF
constant are fitted by relative least squares to checked Yosys synth_xilinx designs
(bench/snn_reuse_calibration.py, which reports the error on held-out designs and by leave-one-out; ERROR
below states the held-out bound).

Weight memory: Yosys 0.23 maps a layer's ROM to block RAM when it fills its RAMB18s well (see
BRAM_BITS_PER_RAMB18), else to LUTs; the study's hdl.rom_style can force either. RAMB18 count: slices of
the word width in RAMB18E1 aspect ratios (512x36 ... 16Kx1) as Yosys packs them; reported in RAMB36
equivalents. Shared datapaths (reuse factor R): the datapath count replaces the neuron count, the ROM holds
groups x fan-in words of datapaths x weight bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dse.families.snn import reference
from dse.families.snn.hdl.plan import LayerPlan
from dse.families.snn.network import QuantizedSNN

# Yosys (memory_libmap's cost model, not modelled) puts a ROM in block RAM when it fills its RAMB18s well
# enough: observed 256 x 192 (8,192 bits a RAMB18) and 196 x 384 (6,842) in LUTs, 256 x 384 (8,937),
# 1,024 x 12 (12,288) and 784 x 768 (14,000) in block RAM.
BRAM_BITS_PER_RAMB18 = 8600
# LUTs a weight-memory column costs in LUT logic (ROM_COLUMN_LUTS[depth], linear between depths): the
# generator's address is zero while nothing is issued (addr <= index when issuing, else 0), and with that
# gate ABC no longer maps a column to the ideal ceil(depth / 64) LUT6 + MUXF7/F8 (at 256 words 4 LUTs; gated,
# 10.83). Measured, not fitted: Yosys synth_xilinx on a bare gated ROM of each
# depth with random contents (bench/snn_reuse_calibration.py, "rom_cost" in its JSON).
ROM_COLUMN_LUTS = {16: 1.0, 32: 1.02, 64: 1.06, 96: 4.42, 128: 4.71, 196: 7.69, 256: 10.83, 384: 16.23, 512: 20.17}
# Fitted (bench/snn_reuse_calibration.py) by relative least squares on its fitted designs: LUTs per datapath
# adder/mux bit, per estimated weight-memory LUT, per bit of the layers' scan vectors and counters, per bit
# of the event scan's lowest-set-bit logic, and a constant (the top's stage controller).
LUT_KEYS = ("datapath_bits", "rom_luts", "scan_bits", "event_bits")
LUT_COEF = {"datapath_bits": 1.035, "rom_luts": 1.173, "scan_bits": 1.899, "event_bits": 2.179, "const": 62.62}
FF_COEF = {"struct": 0.9508, "const": 0.0}
# Largest relative error (|estimate - yosys| / yosys), bench/results/snn_reuse_calibration.json: on 19
# held-out checked designs (R 1 ... 32, 3 ... 256 inputs, both scans, IF / LIF / LIF2 / readout, 5 ... 8 weight
# bits, LUT and block-RAM ROMs) LUT 33 % (the digits 256-128-10 full scan at R = 4), 15 of 19 within 15 %;
# FF 6 %; BRAM exact on every held-out design, one RAMB18 over on one fitted design (96-64-10, R = 64).
# At that design ABC maps the 32 shared datapaths' next-membrane logic as wide functions (MUXF7/F8 pairs of
# LUT6): bench/results/snn_flatten_variance.json synthesizes its structure flattened and with the hierarchy
# kept; flattening adds 3 % to the full scan's layers but takes 24 % off the event scan's, whose layer 0 is
# the same VHDL: the same datapaths cost a quarter less in one design than in the other, which no count of
# parts follows.
# Leave-one-out over all 34 designs: LUT 32 %, FF 6 %. Stated bounds:
ERROR = {"lut": 0.34, "ff": 0.07, "bram": 0.34}

_RAMB18_MODES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))


@dataclass
class HwEstimate:
    cycles_full: int
    cycles_event: float | None  # mean over the given inputs (or expectation); None when unknown
    lut: float
    ff: float
    bram: float  # RAMB36 equivalents
    dsp: int
    features: dict


def ramb18_count(rows: int, width: int) -> int:
    """RAMB18s for a rows x width ROM: slices of the width in one aspect ratio, the rest in the best other
    (Yosys packs 4096 x 48 as 5 x 2 RAMB18 of 2048 x 9 plus one 4096 x 4: 11, not 12). Yosys 0.23 can beat
    this on deep narrow ROMs: a bare 32768 x 6 ROM took 11 RAMB18 and about 35 LUTs of muxes, the model says 12."""
    if width <= 0:
        return 0
    best = min(math.ceil(rows / d) * math.ceil(width / w) for d, w in _RAMB18_MODES)
    for d, w in _RAMB18_MODES:
        whole = width // w
        if whole and width % w:
            best = min(best, whole * math.ceil(rows / d) + ramb18_count(rows, width % w))
    return best


def _bits(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


def lutram_luts(words: int, width: int) -> int:
    """LUTs of a words x width memory with one shared address in Xilinx LUT RAM as Yosys maps it: RAM32M
    (4 LUTs, 32 words x 2 bits on each of its 4 ports: 8 bits) up to 32 words, else RAM64M (4 LUTs,
    64 x 1 bit a port: 4 bits) per 64 words."""
    if words <= 32:
        return 4 * math.ceil(width / 8)
    return 4 * math.ceil(words / 64) * math.ceil(width / 4)


def _rom_in_bram(rows: int, width: int, rom_style: str) -> bool:
    if rom_style != "auto":
        return rom_style == "block"
    return rows * width > BRAM_BITS_PER_RAMB18 * ramb18_count(rows, width)


def rom_column_luts(depth: int) -> float:
    """LUTs of one weight-memory column of `depth` words in LUT logic (ROM_COLUMN_LUTS, linear between
    the measured depths, proportional to the depth beyond the deepest)."""
    ks = sorted(ROM_COLUMN_LUTS)
    if depth > ks[-1]:
        return ROM_COLUMN_LUTS[ks[-1]] * depth / ks[-1]
    return float(np.interp(depth, ks, [ROM_COLUMN_LUTS[k] for k in ks]))


def rom_columns(plan: LayerPlan) -> int:
    """Distinct non-constant bit columns of a layer's weight memory: Yosys drops constant columns and
    shares equal ones (a complement costs an inverter, which is no LUT), e.g. the sign-extension bits of
    weights that use few of their bits."""
    rows = plan.rom_rows()
    bits = np.frombuffer("".join(rows).encode(), dtype=np.uint8).reshape(len(rows), -1) == ord("1")
    bits = bits ^ bits[:1]  # complement every column to start at 0: a column and its complement coincide
    live = bits[:, bits.any(axis=0)]
    return int(np.unique(live.T, axis=0).shape[0]) if live.size else 0


def _update_ops(neuron: str, reset: str) -> int:
    """Membrane-wide add/subtract/compare operations of the update phase (hdl/neurons.py): compare with
    theta, the subtracting reset, leak(v) = v - (v >> k) per leaky state, LIF2's v + current."""
    fire = 1  # compare and subtracting reset share one subtractor (Yosys alumacc: v >= theta is its carry)
    return {"IF": fire, "LIF": fire + 1, "LIF2": fire + 3, "readout": 1}[neuron]


def _layer_features(net: QuantizedSNN, li: int, rom_style: str, f: dict) -> None:
    p = LayerPlan.of(net, li)
    lay = p.layer
    mb, wb, vb = p.mb, p.wb, p.vb
    paths = p.units if p.shared else p.n_out  # datapaths
    n_mem = 2 if p.lif2 else 1
    # accumulate: mul_small's vb - 1 shift-adds of (wb + vb + 1)-bit products, sat_add's adder one bit wider
    # than its widest operand; update: _update_ops membrane-wide operations; the next-value mux of each
    # membrane (and current) bit
    prod = wb + vb + 1
    acc = max(mb, prod) + 1 + (vb - 1) * prod
    f["datapath_bits"] += paths * (acc + _update_ops(lay.neuron, lay.reset) * mb + n_mem * mb)
    rows, width = p.rom_depth, p.word
    if _rom_in_bram(rows, width, rom_style):
        f["ramb18"] += ramb18_count(rows, width)
        rom_ff = 0
    else:
        f["rom_luts"] += rom_columns(p) * rom_column_luts(rows)
        rom_ff = width  # the ROM's output register is made of flip-flops
    # the latched scan vector (a shift register with load; event scan: its lowest set bit, cleared bit by
    # bit, and the one-hot index's OR trees) and the row / group counters and address adders
    pend = p.pw
    f["scan_bits"] += pend + p.cw + p.gw + (2 * p.aw if p.shared else 0)
    if p.event and pend:
        f["event_bits"] += pend + _bits(pend) * pend / 10
    out_bits = mb if not lay.spiking else 1
    if p.shared:
        # membranes (and currents) in LUT RAM, counted exactly; flip-flops: valid bits, output shift
        # register, group counters
        f["lutram"] += n_mem * lutram_luts(p.groups, p.units * mb)
        gw = _bits(p.groups)
        regs = n_mem * p.groups + p.groups * p.units * out_bits + 2 * gw + _bits(rows)
    else:
        regs = lay.n_out * (mb * n_mem + out_bits)
    f["struct_ff"] += regs + rom_ff + pend + _bits(max(lay.fan_in, lay.n_out)) + vb + 1 + 3


def features(net: QuantizedSNN, rom_style: str = "auto") -> dict:
    """Structural counts of the generated design (see hdl/ for what each layer contains); rom_style as
    synth.mark_roms."""
    f = {"datapath_bits": 0.0, "rom_luts": 0.0, "scan_bits": 0.0, "event_bits": 0.0, "lutram": 0.0,
         "struct_ff": 0.0, "ramb18": 0}
    for li in range(len(net.layers)):
        _layer_features(net, li, rom_style, f)
    f["struct_ff"] += _bits(net.time_steps + len(net.layers)) + 3
    return f


def estimate(net: QuantizedSNN, x: np.ndarray | None = None, *, input_density: float | None = None,
             spike_rates: list[float] | None = None, rom_style: str = "auto") -> HwEstimate:
    """Estimate a design. Event-scan cycles: exact mean over x when given, else an expectation from the
    input density (fraction of nonzero inputs per step) and per-layer spike rates, else None."""
    f = features(net, rom_style)
    lut = sum(LUT_COEF.get(k, 0.0) * f[k] for k in LUT_KEYS) + f["lutram"] + LUT_COEF["const"]
    ff = FF_COEF["struct"] * f["struct_ff"] + FF_COEF["const"]
    full = reference.full_scan_cycles(net)
    event = None
    if x is not None:
        ref = reference.simulate(net, x)
        event = float(ref.cycles["event"].mean())
    elif input_density is not None and spike_rates is not None:
        n_l, t = len(net.layers), net.time_steps
        lengths = []
        for li, lay in enumerate(net.layers):
            src = input_density * net.n_in if li == 0 else spike_rates[li - 1] * net.layers[li - 1].n_out
            rec = spike_rates[li] * lay.n_out if lay.recurrent else 0.0
            g = net.groups[li]
            lengths.append(max(src + rec, 1.0) * g + g - 1)
        total = reference.RUN_OVERHEAD
        for stage in range(t + n_l - 1):
            total += max(lengths[li] for li in range(n_l) if 0 <= stage - li < t) + reference.STAGE_OVERHEAD
        event = float(total)
    return HwEstimate(cycles_full=full, cycles_event=event, lut=float(lut), ff=float(ff), bram=f["ramb18"] / 2,
                      dsp=0, features=f)


def fit(designs: list[tuple[QuantizedSNN, dict]]) -> tuple[dict, dict, dict]:
    """Fit LUT and FF constants to [(net, {"lut", "ff", "bram", optional "rom_style"})] by non-negative
    least squares (the LUT-RAM LUTs are counted, not fitted). Returns (lut_coef, ff_coef, max relative errors)."""
    from scipy.optimize import nnls

    keys = list(LUT_KEYS)
    feats = [features(n, r.get("rom_style", "auto")) for n, r in designs]
    a = np.array([[f[k] for k in keys] + [1.0] for f in feats])
    y = np.array([r["lut"] for _, r in designs], dtype=float)
    fixed = np.array([f["lutram"] for f in feats])
    # relative least squares: weight each design by 1/y so small designs count as much as large ones
    coef, _ = nnls(a / y[:, None], (y - fixed) / y)
    lut_coef = dict(zip([*keys, "const"], (float(c) for c in coef), strict=True))
    af = np.array([[f["struct_ff"], 1.0] for f in feats])
    yf = np.array([r["ff"] for _, r in designs], dtype=float)
    cf, _ = nnls(af / yf[:, None], np.ones_like(yf))
    ff_coef = {"struct": float(cf[0]), "const": float(cf[1])}
    err_lut = np.abs(a @ coef + fixed - y) / y
    err_ff = np.abs(af @ cf - yf) / yf
    err_bram = [abs(f["ramb18"] / 2 - r["bram"]) / max(r["bram"], 1.0) for f, (_, r) in zip(feats, designs,
                                                                                           strict=True)]
    return lut_coef, ff_coef, {"lut": float(err_lut.max()), "ff": float(err_ff.max()),
                               "bram": float(max(err_bram))}


def calibration_designs() -> list[tuple[str, QuantizedSNN]]:
    """The designs the constants are fitted on (small enough to synthesize and check in about a minute
    each on 2 cores): LUT-ROM and BRAM-ROM layers, both scans, LIF2, recurrence, integer-current input."""
    from dse.families.snn.network import random_network

    spec = [
        ("64-32-10 LIF full", dict(sizes=[64, 32, 10])),
        ("64-32-10 LIF event", dict(sizes=[64, 32, 10], scan="event")),
        ("48-24-6 LIF2 rec full", dict(sizes=[48, 24, 6], neuron="LIF2", recurrent=[True, False])),
        ("32-16-4 IF/readout event in3", dict(sizes=[32, 16, 4], neuron=["IF", "readout"], scan="event",
                                              input_bits=3)),
        ("96-48-10 LIF event", dict(sizes=[96, 48, 10], scan="event")),
        ("196-64-10 LIF full", dict(sizes=[196, 64, 10])),
        ("256-32-10 LIF event", dict(sizes=[256, 32, 10], scan="event")),
    ]
    out = []
    for i, (name, kw) in enumerate(spec):
        sizes = kw.pop("sizes")
        out.append((name, random_network(sizes, time_steps=3, weight_bits=6, membrane_bits=8, theta=12, seed=i,
                                         **kw)))
    return out


def reuse_designs() -> tuple[list[tuple[str, QuantizedSNN, str]], list[tuple[str, QuantizedSNN, str]]]:
    """Designs spanning the reuse factor, network size, bits and ROM placement: (fitted, held out), each
    (name, network, rom_style); small enough to synthesize and check in a minute or two each."""
    from dse.families.snn.network import random_network

    def net(sizes, seed, **kw):
        kw = {"weight_bits": 6, "membrane_bits": 8, "theta": 12, **kw}
        return random_network(sizes, time_steps=3, seed=seed, **kw)

    fitted = [
        ("64-32-10 LIF full R4", net([64, 32, 10], 20, reuse_factor=4), "auto"),
        ("64-32-10 LIF event R16", net([64, 32, 10], 21, scan="event", reuse_factor=16), "auto"),
        ("48-24-6 LIF2 rec full R3", net([48, 24, 6], 22, neuron="LIF2", recurrent=[True, False], reuse_factor=3),
         "auto"),
        ("32-16-4 IF/readout event in3 R4", net([32, 16, 4], 23, neuron=["IF", "readout"], scan="event",
                                                 input_bits=3, reuse_factor=4), "auto"),
        ("96-48-10 LIF event R8 block", net([96, 48, 10], 24, scan="event", reuse_factor=8), "block"),
        ("128-64-10 LIF full w4 m6 R32 block", net([128, 64, 10], 25, weight_bits=4, membrane_bits=6, theta=6,
                                                   reuse_factor=32), "block"),
        ("64-40-10 LIF event w8 m10 R2", net([64, 40, 10], 26, scan="event", weight_bits=8, membrane_bits=10,
                                             theta=40, reuse_factor=2), "auto"),
        ("96-64-10 LIF event R64 block", net([96, 64, 10], 27, scan="event", reuse_factor=64), "block"),
    ]
    held_out = [
        ("40-20-5 LIF full R5", net([40, 20, 5], 30, reuse_factor=5), "auto"),
        ("80-40-10 LIF event w5 m7 R10 block", net([80, 40, 10], 31, scan="event", weight_bits=5, membrane_bits=7,
                                                   theta=10, reuse_factor=10), "block"),
        ("24-16-4 LIF2 event R4", net([24, 16, 4], 32, scan="event", neuron="LIF2", reuse_factor=4), "auto"),
        # added before any of them was synthesized or the model revised: one per axis the fitted set is thin on
        ("128-64-10 LIF event R4", net([128, 64, 10], 33, scan="event", reuse_factor=4), "auto"),
        ("48-32-6 IF full w5 m7 R8", net([48, 32, 6], 34, neuron="IF", weight_bits=5, membrane_bits=7,
                                         reuse_factor=8), "auto"),
        ("32-24-8 LIF2 rec event R2", net([32, 24, 8], 35, scan="event", neuron="LIF2", recurrent=[True, False],
                                          reuse_factor=2), "auto"),
        ("100-50-10 LIF full R10 distributed", net([100, 50, 10], 36, reuse_factor=10), "distributed"),
        ("64-32-10 LIF event R 8/1", net([64, 32, 10], 37, scan="event", reuse_factor=[8, 1]), "auto"),
        ("160-80-10 LIF full w7 m9 R16 block", net([160, 80, 10], 38, weight_bits=7, membrane_bits=9, theta=30,
                                                   reuse_factor=16), "block"),
        ("72-36-8 IF/readout event in2 R3", net([72, 36, 8], 39, scan="event", neuron=["IF", "readout"],
                                                input_bits=2, reuse_factor=3), "auto"),
    ]
    return fitted, held_out

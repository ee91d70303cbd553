"""Fast analytic estimate of cycles, LUT, FF and BRAM of a generated SNN design on Xilinx 7-series.

For preflight and for sizes Yosys is too slow for. Cycles are exact (the reference's cycle model; for the
event-driven scan the mean over given inputs, or an expectation from input density and spike rates).
Resources come from structural counts of the generated VHDL with a few constants fitted by least squares
to Yosys synth_xilinx results of checked designs (bench/snn_hardware.py --calibrate, which prints the
constants pasted below and the estimator's error on every calibration design; the error bounds below
are the largest relative errors found there, and a test checks them on designs synthesized in the test).

Weight memory: Yosys 0.23 maps a layer's ROM to block RAM when it fills its RAMB18s well (see
BRAM_BITS_PER_RAMB18), else to LUTs (a fitted cost per bit); the study's hdl.rom_style can force either.
RAMB18 count: slices of the word width in RAMB18E1 aspect ratios (512x36 ... 16Kx1) as Yosys packs them;
reported in RAMB36 equivalents. Shared datapaths (reuse factor R): the datapath count replaces the
neuron count, the ROM holds groups x fan-in words of datapaths x weight bits, the membranes' LUT RAM is
counted exactly (RAM32M / RAM64M as Yosys maps them) and the sharing logic (masks, group decoder) is fitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dse.families.snn import reference
from dse.families.snn.network import QuantizedSNN

# Yosys (memory_libmap's cost model, not modelled) puts a ROM in block RAM when it fills its RAMB18s well
# enough: observed 256 x 192 (8,192 bits a RAMB18) and 196 x 384 (6,842) in LUTs, 256 x 384 (8,937),
# 1,024 x 12 (12,288) and 784 x 768 (14,000) in block RAM.
BRAM_BITS_PER_RAMB18 = 8600
# Fitted (bench/snn_reuse_calibration.py) on 15 checked designs: the R = 1 calibration designs of
# bench/snn_hardware.py --calibrate and 8 designs spanning R, size, bits and ROM placement.
LUT_KEYS = ("adder_bits", "rom_lut_bits", "scan_event", "scan_full", "share_bits")
LUT_COEF = {"adder_bits": 1.509, "rom_lut_bits": 0.0562, "scan_event": 8.065, "scan_full": 4.654,
            "share_bits": 0.1663, "const": 0.0}
FF_COEF = {"struct": 0.9508, "const": 0.0}
# Largest relative error (|estimate - yosys| / yosys), bench/results/snn_reuse_calibration.json: on the fitted
# designs LUT 19.3 % (196-64-10, R = 1), FF 6.5 %, BRAM off by one RAMB18 on one design (96-64-10, R = 64);
# on 3 held-out shared designs LUT 22.3 % (40-20-5 full scan, R = 5, underestimated), FF 4.9 %, BRAM exact.
# Earlier held-out R = 1 designs (tests/test_snn_hw_estimate.py) were within 28 % LUT. Stated bounds:
ERROR = {"lut": 0.30, "ff": 0.07, "bram": 0.0}

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
    (Yosys packs 4096 x 48 as 5 x 2 RAMB18 of 2048 x 9 plus one 4096 x 4: 11, not 12)."""
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


def _layer_features(net: QuantizedSNN, li: int, rom_style: str, f: dict) -> None:
    lay = net.layers[li]
    mb, wb = net.membrane_bits, net.weight_bits
    units, groups = net.units[li], net.groups[li]
    shared = groups > 1
    paths = units if shared else lay.n_out  # datapaths
    rows, width = lay.fan_in * groups, paths * wb
    vb = net.input_bits if li == 0 else 1
    n_mem = 2 if lay.neuron == "LIF2" else 1
    # accumulate (sat add of a (wb+vb)-bit product into mb bits) + update (compare, reset, leak)
    per_path = mb + max(0, vb - 1) * (wb + vb) + mb * n_mem
    f["adder_bits"] += paths * per_path
    if _rom_in_bram(rows, width, rom_style):
        f["ramb18"] += ramb18_count(rows, width)
        rom_ff = 0
    else:
        f["rom_lut_bits"] += rows * width
        rom_ff = width  # the ROM's output register is made of flip-flops
    pend = (lay.n_out if lay.recurrent else 0) if li == 0 else lay.fan_in
    f["scan_event" if net.scan == "event" else "scan_full"] += pend + (_bits(net.n_in) if li == 0 else 0)
    out_bits = mb if not lay.spiking else 1
    if shared:
        # membranes (and currents) in LUT RAM (counted exactly), the zero mask and write-data muxes,
        # the group decoder; flip-flops: valid bits, output shift register, group counters
        f["lutram"] += n_mem * lutram_luts(groups, units * mb)
        f["share_bits"] += n_mem * units * mb + groups
        gw = _bits(groups)
        regs = n_mem * groups + groups * units * out_bits + 2 * gw + _bits(rows)
    else:
        regs = lay.n_out * (mb * n_mem + out_bits)
    f["struct_ff"] += regs + rom_ff + pend + _bits(max(lay.fan_in, lay.n_out)) + vb + 1 + 3


def features(net: QuantizedSNN, rom_style: str = "auto") -> dict:
    """Structural counts of the generated design (see hdl/ for what each layer contains); rom_style as
    synth.mark_roms."""
    f = {"adder_bits": 0.0, "rom_lut_bits": 0.0, "scan_event": 0.0, "scan_full": 0.0, "share_bits": 0.0,
         "lutram": 0.0, "struct_ff": 0.0, "ramb18": 0}
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
    ]
    return fitted, held_out

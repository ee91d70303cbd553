"""Resources of common FPGA parts (from the vendors' product tables and HLS reports' totals).

The totals for xcu50 and xc7z020 agree with the ``avail_*`` columns of real csynth reports in
``../shared/calibration/hls_reports.csv``. Lattice parts count their own primitives under the common
names: ``lut`` = LUT4, ``dsp`` = MULT18X18D (ECP5) / SB_MAC16 (iCE40 UltraPlus), ``bram_18k`` = block RAM
primitives (ECP5 DP16KD, 18 Kbit; iCE40 SB_RAM40_4K, 4 Kbit).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    name: str  # the prefix, e.g. "xcu55c"
    family: str  # "ultrascale+" or "7series" (DSP48E2 27x18 vs DSP48E1 25x18), "ecp5", "ice40"
    resources: dict[str, int]  # dsp, lut, ff, bram_18k, uram
    default_device: str  # a full part string hls4ml/Vitis accept
    #: The logic fabric, where it differs within a family in speed: ``"artix7"`` for the 7-series parts
    #: built on the Artix-7 fabric (Artix-7, and the Zynq-7000 7z007s/7z010/7z012s/7z014s/7z015/7z020,
    #: whose programmable logic is Artix-7; the larger Zynqs and Kintex/Virtex-7 have the faster
    #: Kintex-7-class fabric [Xilinx DS190 Zynq-7000 overview]); "" otherwise.  The cost estimator scales
    #: its logic delays on these parts by ``artix7_delay_scale`` (``dse.cost.estimator_layers``).
    fabric: str = ""


PARTS: dict[str, Part] = {
    p.name: p
    for p in [
        Part("xcu55c", "ultrascale+", {"dsp": 9024, "lut": 1303680, "ff": 2607360, "bram_18k": 4032, "uram": 960},
             "xcu55c-fsvh2892-2L-e"),
        Part("xcu50", "ultrascale+", {"dsp": 5952, "lut": 871680, "ff": 1743360, "bram_18k": 2688, "uram": 640},
             "xcu50-fsvh2104-2L-e"),
        Part("xcu250", "ultrascale+", {"dsp": 12288, "lut": 1728000, "ff": 3456000, "bram_18k": 5376, "uram": 1280},
             "xcu250-figd2104-2L-e"),
        Part("xcvu9p", "ultrascale+", {"dsp": 6840, "lut": 1182240, "ff": 2364480, "bram_18k": 4320, "uram": 960},
             "xcvu9p-flga2577-2-e"),
        Part("xcvu13p", "ultrascale+", {"dsp": 12288, "lut": 1728000, "ff": 3456000, "bram_18k": 5376, "uram": 1280},
             "xcvu13p-flga2577-2-e"),
        Part("xczu9eg", "ultrascale+", {"dsp": 2520, "lut": 274080, "ff": 548160, "bram_18k": 1824, "uram": 0},
             "xczu9eg-ffvb1156-2-e"),
        Part("xc7z020", "7series", {"dsp": 220, "lut": 53200, "ff": 106400, "bram_18k": 280, "uram": 0},
             "xc7z020-clg400-1", fabric="artix7"),
        Part("xc7vx690t", "7series", {"dsp": 3600, "lut": 433200, "ff": 866400, "bram_18k": 2940, "uram": 0},
             "xc7vx690t-ffg1927-2"),
        # small parts of the kind Spiker+ targets (Artix-7), and Lattice parts nextpnr can place and route
        Part("xc7a35t", "7series", {"dsp": 90, "lut": 20800, "ff": 41600, "bram_18k": 100, "uram": 0},
             "xc7a35tcpg236-1", fabric="artix7"),
        Part("xc7a100t", "7series", {"dsp": 240, "lut": 63400, "ff": 126800, "bram_18k": 270, "uram": 0},
             "xc7a100tcsg324-1", fabric="artix7"),
        Part("lfe5u-25f", "ecp5", {"dsp": 28, "lut": 24288, "ff": 24288, "bram_18k": 56, "uram": 0},
             "lfe5u-25f-6bg381c"),
        Part("lfe5u-45f", "ecp5", {"dsp": 72, "lut": 43848, "ff": 43848, "bram_18k": 108, "uram": 0},
             "lfe5u-45f-6bg381c"),
        Part("lfe5u-85f", "ecp5", {"dsp": 156, "lut": 83640, "ff": 83640, "bram_18k": 208, "uram": 0},
             "lfe5u-85f-6bg381c"),
        Part("ice40up5k", "ice40", {"dsp": 8, "lut": 5280, "ff": 5280, "bram_18k": 30, "uram": 0}, "ice40up5k-sg48"),
        Part("ice40hx8k", "ice40", {"dsp": 0, "lut": 7680, "ff": 7680, "bram_18k": 32, "uram": 0}, "ice40hx8k-ct256"),
    ]
}


def get_part(name: str) -> Part:
    """Look a part up by its prefix or by a full part string (``xcu55c-fsvh2892-2L-e``)."""
    key = name.lower()
    # longest prefix first so that xcu55c is not taken for xcu50
    for prefix in sorted(PARTS, key=len, reverse=True):
        if key.startswith(prefix):
            return PARTS[prefix]
    raise KeyError(f"unknown FPGA part {name!r}; known: {', '.join(sorted(PARTS))}")


def full_part_name(name: str) -> str:
    """The full part string for ``name`` (a prefix maps to its default device)."""
    p = get_part(name)
    return name if "-" in name else p.default_device

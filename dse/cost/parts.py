"""Resources of common AMD/Xilinx parts (from the vendors' product tables and HLS reports' totals).

The totals for xcu50 and xc7z020 agree with the ``avail_*`` columns of real csynth reports in
``../shared/calibration/hls_reports.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    name: str  # the prefix, e.g. "xcu55c"
    family: str  # "ultrascale+" or "7series": decides DSP48E2 (27x18) vs DSP48E1 (25x18)
    resources: dict[str, int]  # dsp, lut, ff, bram_18k, uram
    default_device: str  # a full part string hls4ml/Vitis accept


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
             "xc7z020-clg400-1"),
        Part("xc7vx690t", "7series", {"dsp": 3600, "lut": 433200, "ff": 866400, "bram_18k": 2940, "uram": 0},
             "xc7vx690t-ffg1927-2"),
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

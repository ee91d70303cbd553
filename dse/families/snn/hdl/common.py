"""Names and small helpers shared by the VHDL generator's modules."""

from __future__ import annotations

import math

from dse.families.snn.network import QuantizedSNN

PACKAGE = "snn_pkg"
TOP = "snn_top"
TB = "snn_tb"
INPUT_FILE = "inputs.txt"
OUTPUT_FILE = "outputs.txt"


def addr_bits(n: int) -> int:
    """Bits to hold 0..n-1 (at least 1)."""
    return max(1, math.ceil(math.log2(max(n, 2))))


def sbin(value: int, width: int) -> str:
    return format(int(value) & ((1 << width) - 1), f"0{width}b")


def index_bits(net: QuantizedSNN) -> int:
    """Width of the top's in_index port."""
    return addr_bits(net.n_in)

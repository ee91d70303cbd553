"""``dse hdl GRAPH.nir``: a spiking network from another framework (NIR) to a checked hardware project."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from dse.families.snn.hdl_command import add_arguments, run

    p = sub.add_parser("hdl", help="a NIR spiking network to a checked VHDL project (GHDL + Yosys)")
    add_arguments(p)
    p.set_defaults(func=run)

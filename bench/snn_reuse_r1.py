"""R = 1 against "today's design" (the generator before the reuse factor), like for like.

The issue that asked for the SNN reuse factor wanted R = 1 to give the design of the time (same cycles,
LUT within 2 %) and quoted 256-128-10 -> 4,361 LUT, 1,459 FF, 11 BRAM36 (Yosys synth_xilinx, xc7a100t,
6-bit weights, 8-bit membranes, LIF, full scan, T = 25; it does not say which weights: no 256-input task
existed then). bench/snn_reuse.py's R = 1 full row on the trained digits16 network reads more LUT. This
script separates the possible causes on one network at a time:

1. generator: the trained 256-128-10 at R = 1 through the old generator (commit OLD_GENERATOR, run from
   git archive by bench/snn_old_generator.py) and today's; the VHDL files compared byte for byte;
2. ROM placement: today's synthesis with rom_style "auto" (no attribute: the old flow's Verilog and Yosys
   script exactly; the old synth.py differs only in the LUT count and the attribute) and "block" (what
   bench/snn_reuse.py uses);
3. LUT counting: logic LUTs (LUT1-6, the old count) and the LUTs of distributed RAM / shift registers
   (added to today's count), both from the same netlist's cells;
4. the network: a random-weight 256-128-10 built like bench/snn_hardware.py's Spiker+ network (LIF in both
   layers, threshold 64/48, frac_bits 0) with 256 inputs, a guess at the issue's, under the old flow.

    nice -n 10 .venv/bin/python bench/snn_reuse_r1.py [--cache DIR] [--styles auto block] [--skip-random]
        [--no-netlist-check]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import RESULTS, git_rev, load_average, machine  # noqa: E402
from snn_old_generator import OLD_GENERATOR, net_from_json, net_to_json, old_generate  # noqa: E402

PART = "xc7a100t"
# The issue's figure for "today's design" (the reuse-factor issue's opening paragraph).
ISSUE = {"lut": 4361, "ff": 1459, "bram36": 11, "cycles": None}


def random_issue_network(n_in: int = 256, seed: int = 0):
    """bench/snn_hardware.py's random Spiker+ network with n_in inputs (same distributions and seed)."""
    from dse.families.snn.network import QuantizedSNN, SNNLayer

    rng = np.random.default_rng(seed)
    w0 = np.clip(np.round(rng.normal(0.0, 6.0, size=(n_in, 128)) - 0.15), -32, 31).astype(int)
    w1 = np.clip(np.round(rng.normal(0.0, 10.0, size=(128, 10))), -32, 31).astype(int)
    layers = [SNNLayer(w0, neuron="LIF", reset="subtract", k_beta=3, theta_int=64, name="hidden"),
              SNNLayer(w1, neuron="LIF", reset="subtract", k_beta=3, theta_int=48, name="out")]
    return QuantizedSNN(layers, weight_bits=6, membrane_bits=8, frac_bits=0, input_bits=1, time_steps=25,
                        scan="full", name="spikerplus_mnist")


def synth_row(name: str, net, x: np.ndarray, rom_style: str, cache: Path, netlist_check: bool) -> dict:
    from dse.families.snn import reference, synth

    t0 = time.perf_counter()
    r = synth.synthesize(net, PART, cache_dir=cache, check_inputs=x[:1] if netlist_check else None,
                         netlist_check=netlist_check, timeout=7200, rom_style=rom_style)
    lut_memory = synth.xilinx_lut_memory(r.cells)
    cycles = reference.simulate(net, x[:1]).cycles[net.scan]
    return {"design": name, "rom_style": rom_style, "lut": r.lut, "lut_logic": r.lut - lut_memory,
            "lut_memory": lut_memory, "ff": r.ff, "bram36": r.bram, "dsp": r.dsp, "cycles": int(cycles[0]),
            "cells": r.cells, "checks": r.checks, "hdl_hash": r.hdl_hash, "cached": r.cached, "seconds": r.seconds,
            "wall_seconds": time.perf_counter() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "dse" / "snn_reuse_synthesis"))
    ap.add_argument("--styles", nargs="*", default=["auto"], choices=["auto", "block"],
                    help="ROM placements synthesized for the trained network (block is also bench/snn_reuse.py's "
                         "R = 1 row)")
    ap.add_argument("--skip-random", action="store_true", help="no random-weight (issue-like) network")
    ap.add_argument("--no-netlist-check", action="store_true",
                    help="latch check only, no gate-level simulation (the LUT counts do not depend on it)")
    args = ap.parse_args()
    command = "python bench/snn_reuse_r1.py " + " ".join(sys.argv[1:])
    commit = git_rev()
    from snn_reuse import behaviour, behaviour_of, train_network

    from dse.families.snn import hdl
    from dse.families.snn.train import set_determinism

    set_determinism(0)
    net, x, info = train_network("digits16", None)
    stored = json.loads((RESULTS / "snn_reuse.json").read_text())
    r1 = next(r for r in stored["rows"] if (r["reuse"], r["scan"]) == (1, "full"))
    event = stored["rows"][0]
    same_network = (info["qat"] == stored["network"]["qat"]
                    and behaviour(net, x, event["reuse"], event["scan"]) == behaviour_of(event))
    net = net.with_reuse(1).with_scan("full")

    # 1. generator: old (before R) and today's on the same network
    d = net_to_json(net)
    old = old_generate([d])[0]
    new = hdl.generate(net)
    rebuilt_same = hdl.generate(net_from_json(d)) == new  # the JSON carries everything the VHDL depends on
    files = {f: {"old_sha256": hashlib.sha256(old[f].encode()).hexdigest()[:16] if f in old else None,
                 "new_sha256": hashlib.sha256(new[f].encode()).hexdigest()[:16] if f in new else None,
                 "identical": old.get(f) == new.get(f), "chars": len(new.get(f, ""))} for f in sorted({*old, *new})}
    identical = all(v["identical"] for v in files.values())
    print(f"VHDL old ({OLD_GENERATOR}) vs today's at R = 1: {'identical' if identical else 'DIFFERENT'}", file=sys.stderr)

    data = {"command": command, "commit": commit, "machine": machine(), "old_generator": OLD_GENERATOR,
            "issue": ISSUE, "network": info, "same_network_as_snn_reuse_json": same_network,
            "vhdl": {"identical": identical, "rebuilt_from_json_same": rebuilt_same, "files": files},
            "snn_reuse_r1_full_row": {k: r1[k] for k in ("lut", "ff", "bram36", "cycles_max", "rom_style", "cells")},
            "syntheses": []}
    designs = [(f"trained digits16 256-128-10 (today's = old VHDL: {'identical' if identical else 'differs'})",
                net, style) for style in args.styles]
    if not args.skip_random:
        designs.append(("random 256-128-10 like bench/snn_hardware.py (LIF/LIF, frac_bits 0)", random_issue_network(),
                        "auto"))
    out = RESULTS / "snn_reuse_r1.json"
    for name, n, style in designs:
        data["syntheses"].append(synth_row(name, n, x, style, Path(args.cache), not args.no_netlist_check))
        s = data["syntheses"][-1]
        print(f"{name}, rom_style={style}: {s['lut']} LUT ({s['lut_logic']} logic + {s['lut_memory']} memory), "
              f"{s['ff']} FF, {s['bram36']} BRAM36, {s['cycles']} cycles", file=sys.stderr)
        data.update(date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), load=load_average())
        out.write_text(json.dumps(data, indent=1))
    if not designs:
        data.update(date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), load=load_average())
        out.write_text(json.dumps(data, indent=1))
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

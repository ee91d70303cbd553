"""Refit the SNN hardware estimate (dse.families.snn.hw_estimate) on checked Yosys designs spanning the reuse
factor, and measure its error on designs not used in the fit.

1. Weight-memory cost: Yosys synth_xilinx on a bare ROM of each depth in ROM_DEPTHS (random contents,
   ROM_WIDTH columns, registered output) whose address is gated as the generator gates it (the index while
   issuing, else 0): LUTs per column, the table hw_estimate.ROM_COLUMN_LUTS holds.
2. Designs: fitted = hw_estimate.calibration_designs() (R = 1) + reuse_designs()[0]; held out =
   reuse_designs()[1] (fixed before any of them was synthesized) and the 256-128-10 digits designs of
   bench/results/snn_reuse.py's JSON (trained weights, xc7a100t, ROMs in block RAM; their Yosys numbers are
   read from that file, the estimate is computed on a random network of the same structure: no feature of
   a block-RAM-ROM design depends on the weights). Every design here is synthesized with Yosys
   synth_xilinx for xc7a35t and checked (no latch, gate-level netlist simulation equal to the integer
   reference); a design Yosys cannot map is listed with its error and left out.
3. The LUT and FF constants are fitted on the fitted group; the error is reported on the held-out group and
   by leave-one-out over every design (each refitted without it).

Writes bench/results/snn_reuse_calibration.{json,md} and prints the constants to paste into hw_estimate.py.

    nice -n 10 .venv/bin/python bench/snn_reuse_calibration.py [--cache DIR] [--from-json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import RESULTS, git_rev, load_average, machine  # noqa: E402

from dse.families.snn import hw_estimate, synth  # noqa: E402
from dse.families.snn.network import random_network  # noqa: E402

PART = "xc7a35t"
ROM_DEPTHS = (16, 32, 64, 96, 128, 196, 256, 384, 512)
ROM_WIDTH = 48


def rom_cost(depth: int, width: int = ROM_WIDTH, seed: int = 0) -> dict:
    """Yosys synth_xilinx LUTs of a bare depth x width ROM in logic, address gated like the generator's."""
    rng = np.random.default_rng(seed)
    aw = max(1, int(np.ceil(np.log2(depth))))
    bits = rng.integers(0, 2, size=(depth, width))
    init = "\n".join(f"  m[{i}] = {width}'b{''.join(map(str, bits[i]))};" for i in range(depth))
    src = (f"module rom(input clk, input [{aw - 1}:0] a, input issue, input scan, output reg [{width - 1}:0] q);\n"
           f'(* rom_style = "logic" *) reg [{width - 1}:0] m [0:{depth - 1}];\ninitial begin\n{init}\nend\n'
           "always @(posedge clk) q <= m[(issue & scan) ? a : 0];\nendmodule\n")
    with tempfile.TemporaryDirectory(prefix="dse_rom_") as tmp:
        (Path(tmp) / "rom.v").write_text(src)
        subprocess.run([*synth.yosys_command(), "-q", "-p",
                        "read_verilog rom.v; synth_xilinx -flatten -top rom; tee -q -o stat.json stat -json"],
                       cwd=tmp, check=True, capture_output=True, timeout=1800)
        stat = json.loads((Path(tmp) / "stat.json").read_text())
    mod = stat.get("design") or next(iter(stat["modules"].values()))
    cells = {k: int(v) for k, v in mod["num_cells_by_type"].items()}
    lut = sum(n for c, n in cells.items() if re.fullmatch(r"LUT[1-6]", c))
    return {"depth": depth, "width": width, "lut": lut, "lut_per_column": lut / width, "cells": cells}


def run(designs, cache: str) -> tuple[list[tuple[object, dict]], list[dict]]:
    out, failed = [], []
    for name, net, style in designs:
        t0 = time.perf_counter()
        try:
            res = synth.synthesize(net, PART, cache_dir=cache, check_inputs=synth.check_samples(net, samples=1),
                                   rom_style=style, timeout=7200)
        except (synth.ToolError, synth.SynthesisCheckError) as e:
            failed.append({"name": name, "rom_style": style, "error": str(e).splitlines()[0][:300]})
            print(json.dumps(failed[-1]), file=sys.stderr, flush=True)
            continue
        row = {"name": name, "part": PART, "rom_style": style, "units": net.units, "groups": net.groups,
               "lut": res.lut, "ff": res.ff, "bram": res.bram, "dsp": res.dsp, "cells": res.cells,
               "checks": res.checks, "seconds": time.perf_counter() - t0}
        print(json.dumps({k: row[k] for k in ("name", "lut", "ff", "bram", "seconds")}), file=sys.stderr, flush=True)
        out.append((net, row))
    return out, failed


def digits_designs() -> list[tuple[object, dict]]:
    """bench/snn_reuse.py's checked 256-128-10 rows, each with a network of the same structure."""
    data = json.loads((RESULTS / "snn_reuse.json").read_text())
    info = data["network"]
    out = []
    for r in data["rows"]:
        net = random_network(info["sizes"], neuron=["LIF", "readout"], k_beta=3, time_steps=info["time_steps"],
                             weight_bits=info["quant"]["weight_bits"], membrane_bits=info["quant"]["membrane_bits"],
                             scan=r["scan"], reuse_factor=r["reuse"])
        out.append((net, {"name": f"digits 256-128-10 {r['scan']} R{r['reuse']}", "part": "xc7a100t",
                          "rom_style": r["rom_style"], "units": r["units"], "groups": r["groups"], "lut": r["lut"],
                          "ff": r["ff"], "bram": r["bram36"], "dsp": r["dsp"], "cells": r["cells"],
                          "checks": r["checks"], "source": "bench/results/snn_reuse.json"}))
    return out


def evaluate(designs: list[tuple[object, dict]]) -> list[dict]:
    out = []
    for net, r in designs:
        e = hw_estimate.estimate(net, rom_style=r.get("rom_style", "auto"))
        out.append({**r, "est_lut": e.lut, "est_ff": e.ff, "est_bram": e.bram,
                    "lut_err": (e.lut - r["lut"]) / r["lut"], "ff_err": (e.ff - r["ff"]) / r["ff"],
                    "bram_exact": e.bram == r["bram"]})
    return out


def max_err(rows: list[dict]) -> dict:
    return {"lut": max(abs(r["lut_err"]) for r in rows), "ff": max(abs(r["ff_err"]) for r in rows),
            "bram_exact": all(r["bram_exact"] for r in rows)}


def leave_one_out(designs: list[tuple[object, dict]]) -> list[dict]:
    """Each design's error with the constants refitted on all the others."""
    saved = dict(hw_estimate.LUT_COEF), dict(hw_estimate.FF_COEF)
    out = []
    try:
        for i, (net, r) in enumerate(designs):
            lut_coef, ff_coef, _ = hw_estimate.fit(designs[:i] + designs[i + 1:])
            hw_estimate.LUT_COEF.update(lut_coef)
            hw_estimate.FF_COEF.update(ff_coef)
            e = evaluate([(net, r)])[0]
            out.append({"name": r["name"], "lut_err": e["lut_err"], "ff_err": e["ff_err"]})
    finally:
        hw_estimate.LUT_COEF.update(saved[0])
        hw_estimate.FF_COEF.update(saved[1])
    return out


def markdown(data: dict) -> str:
    lines = ["## SNN hardware estimate refitted across the reuse factor", "",
             f"- command: `{data['command']}`", f"- machine: {data['machine']}",
             f"- date: {data['date']}, commit {data['commit']}", f"- load average at the end: {data['load']}", "",
             "Weight memory in LUTs: Yosys synth_xilinx on a bare ROM with the generator's gated address (the "
             "index while issuing, else 0), random contents, "
             f"{ROM_WIDTH} columns: LUTs per column by depth (the estimate's ROM_COLUMN_LUTS; measured, not fitted): "
             + ", ".join(f"{r['depth']}: {r['lut_per_column']:.2f}" for r in data["rom_cost"]) + ".", "",
             f"Designs: Yosys synth_xilinx ({PART}; the digits rows xc7a100t, from bench/results/snn_reuse.json), "
             "every design checked (no latch, netlist simulation equal to the integer reference). Constants "
             f"({', '.join(f'{k} {v:.3f}' for k, v in data['lut_coef'].items() if k != 'const')}; FF "
             f"{data['ff_coef']['struct']:.3f} per structural flip-flop) fitted on the first group only. The held-out "
             "group was fixed before any of its designs was synthesized or the model revised: the 3 held-out "
             "designs of the previous refit, 7 designs added one per axis the fitted set is thin on, and the 10 "
             "checked 256-128-10 digits points (trained weights, T = 25, both scans, R = 1 ... 32). The constants never "
             "saw them, but the model's structure was revised while its errors on every design, held out ones "
             "included, were in view: the held-out figures are not blind to that choice.", "",
             "| design | group | datapaths | LUT (Yosys / estimate) | FF (Yosys / estimate) | BRAM36 (Yosys / estimate) "
             "| leave-one-out LUT |", "|---|---|---|---|---|---|---|"]
    loo = {r["name"]: r for r in data["leave_one_out"]}
    for group, rows in (("fitted", data["fitted"]), ("held out", data["held_out"])):
        for r in rows:
            units = " / ".join(map(str, r.get("units", []))) or "one per neuron"
            lines.append(f"| {r['name']} | {group} | {units} | {r['lut']} / {r['est_lut']:.0f} ({r['lut_err']:+.0%}) | "
                         f"{r['ff']} / {r['est_ff']:.0f} ({r['ff_err']:+.0%}) | {r['bram']:g} / {r['est_bram']:g} | "
                         f"{loo[r['name']]['lut_err']:+.0%} |")
    for r in data["failed"]:
        lines.append(f"| {r['name']} | held out | - | Yosys failed: {r['error']} | | | |")
    f, h, lo = data["fit_max_rel_error"], data["held_out_max_rel_error"], data["leave_one_out_max_rel_error"]
    lines += ["", f"Largest relative error: fitted LUT {f['lut']:.1%}, FF {f['ff']:.1%}; held out ({len(data['held_out'])} "
              f"designs) LUT {h['lut']:.1%}, FF {h['ff']:.1%}, BRAM {'exact' if h['bram_exact'] else 'NOT exact'}; "
              f"leave-one-out over all {len(data['leave_one_out'])} designs LUT {lo['lut']:.1%}, FF {lo['ff']:.1%}. "
              f"The issue's bound (15 % LUT and FF) is "
              f"{'met' if h['lut'] <= 0.15 and h['ff'] <= 0.15 else 'not met'} on the held-out designs; "
              f"held-out designs within 15 % LUT: {sum(abs(r['lut_err']) <= 0.15 for r in data['held_out'])} of "
              f"{len(data['held_out'])}.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "dse" / "snn_reuse_synthesis"))
    ap.add_argument("--from-json", action="store_true", help="rewrite the markdown from the JSON only")
    args = ap.parse_args()
    if args.from_json:
        (RESULTS / "snn_reuse_calibration.md").write_text(
            markdown(json.loads((RESULTS / "snn_reuse_calibration.json").read_text())))
        return
    costs = [rom_cost(d) for d in ROM_DEPTHS]
    print(json.dumps([(c["depth"], round(c["lut_per_column"], 2)) for c in costs]), file=sys.stderr, flush=True)
    hw_estimate.ROM_COLUMN_LUTS.clear()
    hw_estimate.ROM_COLUMN_LUTS.update({c["depth"]: round(c["lut_per_column"], 2) for c in costs})
    fitted_specs, held_specs = hw_estimate.reuse_designs()
    r1 = [(name, net, "auto") for name, net in hw_estimate.calibration_designs()]
    held, failed = run(held_specs, args.cache)
    fitted, failed_fit = run(r1 + fitted_specs, args.cache)
    if failed_fit:
        sys.exit(f"bench/snn_reuse_calibration.py: fitted design(s) failed: {failed_fit}")
    held += digits_designs()
    lut_coef, ff_coef, fit_err = hw_estimate.fit(fitted)
    hw_estimate.LUT_COEF.update(lut_coef)
    hw_estimate.FF_COEF.update(ff_coef)
    fitted_rows, held_rows = evaluate(fitted), evaluate(held)
    loo = leave_one_out(fitted + held)
    data = {"command": "python bench/snn_reuse_calibration.py " + " ".join(sys.argv[1:]), "machine": machine(),
            "commit": git_rev(), "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load": load_average(), "part": PART, "rom_cost": costs,
            "rom_column_luts": dict(hw_estimate.ROM_COLUMN_LUTS), "lut_coef": lut_coef, "ff_coef": ff_coef,
            "fit_max_rel_error": fit_err, "held_out_max_rel_error": max_err(held_rows),
            "leave_one_out_max_rel_error": {"lut": max(abs(r["lut_err"]) for r in loo),
                                            "ff": max(abs(r["ff_err"]) for r in loo)},
            "fitted": fitted_rows, "held_out": held_rows, "leave_one_out": loo, "failed": failed}
    (RESULTS / "snn_reuse_calibration.json").write_text(json.dumps(data, indent=1, default=str))
    (RESULTS / "snn_reuse_calibration.md").write_text(markdown(data))
    print(json.dumps({k: data[k] for k in ("rom_column_luts", "lut_coef", "ff_coef", "fit_max_rel_error",
                                            "held_out_max_rel_error", "leave_one_out_max_rel_error")}, indent=1))


if __name__ == "__main__":
    main()

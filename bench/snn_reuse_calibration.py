"""Refit the SNN hardware estimate (dse.families.snn.hw_estimate) on checked Yosys designs spanning the reuse
factor, and measure its error on designs not used in the fit.

Fitted: the R = 1 calibration designs of bench/snn_hardware.py --calibrate (their checked results are read
from bench/results/snn_hw_calibration.json) plus hw_estimate.reuse_designs()[0]; held out:
hw_estimate.reuse_designs()[1]. Every design is synthesized with Yosys synth_xilinx for xc7a35t and checked
(no latch, gate-level netlist simulation equal to the integer reference). Writes
bench/results/snn_reuse_calibration.json and prints the constants to paste into hw_estimate.py.

    nice -n 10 .venv/bin/python bench/snn_reuse_calibration.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import RESULTS, git_rev, load_average, machine  # noqa: E402

from dse.families.snn import hw_estimate, synth  # noqa: E402

PART = "xc7a35t"


def run(designs, cache: str) -> list[tuple[object, dict]]:
    out = []
    for name, net, style in designs:
        t0 = time.perf_counter()
        res = synth.synthesize(net, PART, cache_dir=cache, check_inputs=synth.check_samples(net, samples=1),
                               rom_style=style, timeout=7200)
        row = {"name": name, "rom_style": style, "units": net.units, "groups": net.groups, "lut": res.lut,
               "ff": res.ff, "bram": res.bram, "dsp": res.dsp, "cells": res.cells, "checks": res.checks,
               "seconds": time.perf_counter() - t0}
        print(json.dumps({k: row[k] for k in ("name", "lut", "ff", "bram", "seconds")}), file=sys.stderr, flush=True)
        out.append((net, row))
    return out


def markdown(data: dict) -> str:
    lines = ["## SNN hardware estimate refitted across the reuse factor", "",
             f"- command: `{data['command']}`", f"- machine: {data['machine']}",
             f"- date: {data['date']}, commit {data['commit']}", f"- load average at the end: {data['load']}", "",
             f"Yosys synth_xilinx for {data['part']}, every design checked (no latch, netlist simulation equal to the "
             "integer reference). Constants fitted on the first group, error measured on the held-out group "
             "(not used in the fit).", "",
             "| design | group | datapaths | LUT (Yosys / estimate) | FF (Yosys / estimate) | BRAM36 (Yosys / estimate) |",
             "|---|---|---|---|---|---|"]
    for group, rows in (("fitted", data["fitted"]), ("held out", data["held_out"])):
        for r in rows:
            units = " / ".join(map(str, r.get("units", []))) or "one per neuron"
            lines.append(f"| {r['name']} | {group} | {units} | {r['lut']} / {r['est_lut']:.0f} ({r['lut_err']:+.0%}) | "
                         f"{r['ff']} / {r['est_ff']:.0f} ({r['ff_err']:+.0%}) | {r['bram']:g} / {r['est_bram']:g} |")
    f, h = data["fit_max_rel_error"], data["held_out_max_rel_error"]
    lines += ["", f"Largest relative error: fitted LUT {f['lut']:.1%}, FF {f['ff']:.1%}; held out LUT {h['lut']:.1%}, "
              f"FF {h['ff']:.1%}, BRAM {'exact' if h['bram_exact'] else 'NOT exact'}. The issue's bound (15 % LUT and "
              f"FF) is {'met' if h['lut'] <= 0.15 and h['ff'] <= 0.15 else 'not met for LUT'} on the held-out designs.",
              ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "dse" / "snn_reuse_synthesis"))
    args = ap.parse_args()
    fitted_specs, held_specs = hw_estimate.reuse_designs()
    old = json.loads((RESULTS / "snn_hw_calibration.json").read_text())
    by_name = dict(hw_estimate.calibration_designs())
    r1 = [(by_name[d["name"]], {**d, "rom_style": "auto"}) for d in old["designs"] if d["name"] in by_name]
    fitted = r1 + run(fitted_specs, args.cache)
    held = run(held_specs, args.cache)
    lut_coef, ff_coef, fit_err = hw_estimate.fit(fitted)
    hw_estimate.LUT_COEF.update(lut_coef)
    hw_estimate.FF_COEF.update(ff_coef)

    def rows(designs):
        out = []
        for net, r in designs:
            e = hw_estimate.estimate(net, rom_style=r.get("rom_style", "auto"))
            out.append({**{k: v for k, v in r.items() if k != "cells"}, "est_lut": e.lut, "est_ff": e.ff,
                        "est_bram": e.bram, "lut_err": (e.lut - r["lut"]) / r["lut"],
                        "ff_err": (e.ff - r["ff"]) / r["ff"], "bram_exact": e.bram == r["bram"]})
        return out

    held_rows = rows(held)
    held_err = {"lut": max(abs(r["lut_err"]) for r in held_rows), "ff": max(abs(r["ff_err"]) for r in held_rows),
                "bram_exact": all(r["bram_exact"] for r in held_rows)}
    data = {"command": "python bench/snn_reuse_calibration.py " + " ".join(sys.argv[1:]), "machine": machine(),
            "commit": git_rev(), "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load": load_average(), "part": PART, "lut_coef": lut_coef, "ff_coef": ff_coef,
            "fit_max_rel_error": fit_err, "held_out_max_rel_error": held_err, "fitted": rows(fitted),
            "held_out": held_rows}
    (RESULTS / "snn_reuse_calibration.json").write_text(json.dumps(data, indent=1, default=str))
    (RESULTS / "snn_reuse_calibration.md").write_text(markdown(data))
    print(json.dumps({k: data[k] for k in ("lut_coef", "ff_coef", "fit_max_rel_error", "held_out_max_rel_error")},
                     indent=1))


if __name__ == "__main__":
    main()

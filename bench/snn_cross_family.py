"""The cross-family table on the default synthetic data: the Pareto fronts of an
LFADS study and the SNN decoder study side by side (`dse compare`), and the SNN decoder's behaviour R²
next to the causal linear decoder on the same test trials.

LFADS: bench/lfads_decoder_study.yaml (the default LFADS, one float training shared by PTQ points
ap_fixed<16,6>/<12,6> x reuse factor {1, 8}, the analytic hls4ml `estimate` backend, xcu55c at 5 ns).
SNN: bench/snn_decoder_study.yaml (bench/snn_decoder_study.py). Both on the same data (synthetic,
default options) and split (split_seed 0 -> the same 17 test trials). ``--run`` runs the LFADS study first
(runs folder: $DSE_RUNS_DIR, default /tmp/bench-snn/runs).

Usage: python bench/snn_cross_family.py [--run] [--lfads-wall-seconds S]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, header, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LFADS = ROOT / "bench" / "lfads_decoder_study.yaml"
SNN = ROOT / "bench" / "snn_decoder_study.yaml"
DSE = [sys.executable, "-m", "dse.cli"]
ENV = {**os.environ, "DSE_RUNS_DIR": os.environ.get("DSE_RUNS_DIR", "/tmp/bench-snn/runs"), "COLUMNS": "220"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="store_true", help="run the LFADS study (dse run) first")
    ap.add_argument("--lfads-wall-seconds", type=float, default=None)
    ap.add_argument("--out", default="/tmp/bench-snn/compare")
    ap.add_argument("--linear-json", default=None,
                    help="the causal linear decoder's result (JSON) from an earlier run: it takes minutes")
    args = ap.parse_args()
    wall = args.lfads_wall_seconds
    if args.run:
        t0 = time.perf_counter()
        subprocess.run([*DSE, "run", str(LFADS), "--no-progress"], check=True, env=ENV, cwd=ROOT)
        wall = time.perf_counter() - t0
    files = [str(LFADS.relative_to(ROOT)), str(SNN.relative_to(ROOT))]
    table = subprocess.run([*DSE, "compare", *files, "-o", args.out], capture_output=True, text=True, env=ENV,
                           cwd=ROOT)
    csv = subprocess.run([*DSE, "compare", *files, "--format", "csv"], capture_output=True, text=True, env=ENV,
                         cwd=ROOT)
    png = Path(args.out) / "compare.png"
    if png.exists():
        shutil.copy2(png, RESULTS / "snn_cross_family.png")

    # the SNN decoder next to the causal linear decoder on the same test trials
    import sys as _s

    _s.path.insert(0, str(ROOT / "bench"))
    from snn_decoder_study import load

    from dse.families.snn.baselines import causal_linear_decoder
    from dse.families.snn.tasks import decode_task

    if args.linear_json:
        import json

        lin = json.loads(Path(args.linear_json).read_text())
    else:
        lin = causal_linear_decoder(decode_task("synthetic", seed=0))
    _, _, snn = load(SNN)
    _, _, lf = load(LFADS)
    snn_done = [r for r in snn.values() if r and r.status == "complete"]
    lf_done = [r for r in lf.values() if r and r.status == "complete"]
    md = [header("Cross-family table: LFADS vs SNN on the default synthetic data (dse compare)",
                 "python bench/snn_cross_family.py " + " ".join(_s.argv[1:])),
          "- note: 2 cores shared with other agents' processes (1-minute load average 7.9-17.7 in `uptime` samples during the runs); seconds are "
          "wall-clock under that load",
          f"- LFADS study `{files[0]}`: default LFADS (E=64, Z=64, F=4), one float training, PTQ ap_fixed<6+F,6> "
          f"F in {{6, 10}} x reuse factor {{1, 8}}, backend `estimate` (analytic hls4ml estimate), xcu55c at 5 ns; "
          f"{len(lf_done)} of {len(lf)} trials complete; wall time of `dse run` "
          f"{f'{wall:.0f} s' if wall else '–'}",
          f"- SNN study `{files[1]}` (bench/results/snn_decoder_study.md): {len(snn_done)} of {len(snn)} trials "
          "complete; Yosys synthesis for xc7a35t at 10 ns",
          "- same data (synthetic, default options: 170 trials x 73 bins x 70 neurons) and split (split_seed 0: "
          "136/17/17, the same 17 test trials); accuracy = behaviour R² per bin (`behavior_r2_bin`: an affine "
          "map from the model's state at each bin to the hand position at that bin, fitted on the training "
          "trials); LFADS's factors come from a bidirectional encoder that has seen the whole trial (not "
          "causal), the SNN reads out bin by bin (causal)\n",
          "### `dse compare`\n", "```", table.stdout.strip() or table.stderr.strip(), "```", "",
          "CSV (`dse compare ... --format csv`):\n", "```", csv.stdout.strip() or csv.stderr.strip(), "```", "",
          "Plot: `snn_cross_family.png` (`dse compare ... -o DIR` writes compare.png/.html/.csv).\n",
          "### SNN decoder vs the causal linear decoder (same 17 test trials)\n",
          "| decoder | behaviour R² per bin (test) | causal | note |", "|---|---|---|---|",
          f"| causal linear decoder (ridge on the last {lin['lags']} bins; lags chosen on validation) | "
          f"{lin['behavior_r2']:.4f} | yes | validation R² by lags: "
          + ", ".join(f"{k}: {v:.3f}" for k, v in lin["valid_r2_by_lags"].items()) + " |"]
    for r in sorted(snn_done, key=lambda r: -(r.objectives.get("behavior_r2_bin") or -9)):
        p, q = r.params, r.accuracy.get("quantization", {})
        md.append(f"| SNN H={p.get('model.hidden_units')} PTQ W={p.get('quantization.weight_bits')} "
                  f"(M{q.get('membrane_bits', 0):.0f}/F{q.get('frac_bits', 0):.0f}) {p.get('hdl.scan')} scan: "
                  f"integer | {r.objectives.get('behavior_r2_bin'):.4f} | yes | float model "
                  f"{r.accuracy.get('float', {}).get('behavior_r2_bin', float('nan')):.4f}; LUT "
                  f"{(r.hardware or {}).get('lut')}, {(r.hardware or {}).get('latency_us', float('nan')):.1f} µs |")
    for r in sorted(lf_done, key=lambda r: -(r.objectives.get("behavior_r2_bin") or -9)):
        p, hw = r.params, r.hardware or {}
        md.append(f"| LFADS PTQ F={p.get('quantization.ptq_fractional_bits')} RF={p.get('hls.reuse_factor')} "
                  f"(C-sim) | {r.objectives.get('behavior_r2_bin', float('nan')):.4f} | no | float "
                  f"{r.accuracy.get('float', {}).get('behavior_r2_bin', float('nan')):.4f}; LUT {hw.get('lut')}, "
                  f"{hw.get('latency_us', float('nan')):.2f} µs (estimate) |")
    md.append("")
    write_result("snn_cross_family", "\n".join(md))


if __name__ == "__main__":
    main()

"""Trial cost at the paper size: seconds per phase for a fresh PTQ trial, a fresh QAT trial and PTQ
trials whose trained model comes from the cache.

Targets (2-core machine): a cached PTQ trial <= 15 s median; the pipeline's own overhead (everything
but training and g++) <= 10 % of a fresh trial. Storage time is measured by saving each result into
a real SQLite database.

Usage: python bench/bench_trial_cost.py [--epochs N] [--cached-repeats K]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, write_result  # noqa: E402

PHASES = ("data", "preflight", "train", "load_model", "convert", "gxx", "compile", "csim", "csim_metrics", "cost",
          "storage", "total")


def design(quant: str, frac: int, epochs: int) -> dict:
    hls = {"quantization": quant, "precision": f"ap_fixed<{6 + frac},6>", "reuse_factor": 2,
           "strategy": "Resource", "io_type": "io_parallel", "table_size": 1024, "part": "xcu55c-fsvh2892-2L-e",
           "clock_period": 5.0, "backend": "Vitis"}
    model = {"encoder_units": 64, "latent_units": 64, "factors": 4,
             "quant": {"bits": 16, "integer": 5, "activations": "real"} if quant == "qat" else None}
    return {"family": "lfads", "model": model, "train": {"epochs": epochs, "seed": 0}, "hls": hls,
            "hardware": {"backend": "estimate", "part": "xcu55c", "clock_ns": 5.0},
            "params": {"mode": quant, "frac": frac}}


def one(spec, db, *, before: bool = False, rf: int | None = None) -> dict:
    """One trial; ``before``: as the pipeline ran before the speed-ups (no C-sim reuse, one process for
    g++ and C-sim)."""
    import os

    from dse.hls.cpus import WORKERS_ENV
    from dse.trial.runner import run_trial

    if rf is not None:  # with the Latency strategy: 70-input products take only RF 1 or 2 under Resource
        spec.design["hls"].update(reuse_factor=rf, strategy="Latency")
    spec.reuse_csim = not before
    if before:
        os.environ[WORKERS_ENV] = "1"
    try:
        r = run_trial(spec)
    finally:
        os.environ.pop(WORKERS_ENV, None)
    if r.status != "complete":
        raise SystemExit(f"trial failed: {r.fail_reason}")
    t0 = time.perf_counter()
    db.project.save_result("bench", spec.trial_number, spec.trial_number, r)
    t = dict(r.timings)
    t["storage"] = time.perf_counter() - t0
    t["total"] += t["storage"]
    t["overhead"] = t["total"] - t.get("train", 0.0) - t.get("gxx", 0.0) if not r.cache.get("model") else \
        t["total"] - t.get("gxx", 0.0)
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=300, help="max epochs (the default recipe early-stops)")
    ap.add_argument("--cached-repeats", type=int, default=3)
    args = ap.parse_args()
    from dse.trial.spec import TrialSpec
    from storage import open_storage

    tmp = Path(tempfile.mkdtemp(prefix="dse-bench-"))
    db = open_storage(f"sqlite:///{tmp / 'bench.db'}")
    data = {"source": "synthetic", "options": {}, "split_seed": 0}

    def spec(n: int, quant: str, frac: int) -> TrialSpec:
        return TrialSpec("bench", n, design(quant, frac, args.epochs), data, ["behavior_r2", "latency_us"],
                         str(tmp / f"t{n}"), str(tmp / "models"), str(tmp / "hls"), None)

    rows = {"PTQ fresh (trains)": [one(spec(0, "ptq", 10), db)]}
    k_range = range(args.cached_repeats)
    # a new precision each: g++ and C-sim run (no reuse possible); before = one process, no reuse
    rows["PTQ cached model, before the speed-ups"] = [one(spec(1 + k, "ptq", 3 + 2 * k), db, before=True)
                                                      for k in k_range]
    rows["PTQ cached model, new precision"] = [one(spec(20 + k, "ptq", 4 + 2 * k), db) for k in k_range]
    # the same precisions at another reuse factor and strategy: the C-sim outputs are reused, no g++
    rows["PTQ cached model, precision seen at another RF"] = [one(spec(40 + k, "ptq", 4 + 2 * k), db, rf=1)
                                                              for k in k_range]
    rows["QAT fresh (trains)"] = [one(spec(60, "qat", 10), db)]
    md = header("Trial cost at the paper size (phase seconds; RF 2, Resource, estimator backend)",
                f"python bench/bench_trial_cost.py --epochs {args.epochs} --cached-repeats {args.cached_repeats}")
    md += "\n| trial | " + " | ".join(PHASES) + " | overhead | overhead % |\n|---|" + "---|" * (len(PHASES) + 2) + "\n"
    for name, ts in rows.items():
        med = {k: statistics.median(t.get(k, 0.0) for t in ts) for k in (*PHASES, "overhead")}
        md += f"| {name} (n={len(ts)}) | " + " | ".join(f"{med[k]:.2f}" for k in PHASES)
        md += f" | {med['overhead']:.2f} | {100 * med['overhead'] / med['total']:.1f} |\n"
    md += ("\n`overhead` = everything but training and g++ (for a cached-model trial: everything but g++). "
           "Targets: cached PTQ trial <= 15 s median; overhead <= 10 % of a fresh trial. `before the speed-ups` "
           "runs the same code with C-sim reuse off and one process for g++ and C-sim (`DSE_HLS_JOBS=1`), "
           "i.e. as the pipeline ran before forked C-simulation, parallel g++ units and C-sim reuse.\n")
    write_result("trial_cost", md)


if __name__ == "__main__":
    main()

"""Ray scaling: throughput of the same study with 1 and 2 workers, and the driver's overhead per trial.

The study is examples/quick.yaml turned into a fixed grid of 8 design points (encoder 8/16 x latent
8/16 x PTQ/QAT), times ``--seeds`` training seeds (a longer study amortises Ray's start), so every
configuration evaluates exactly the same trials, each with its own training (nothing is shared through
the caches: every configuration starts from empty runs/ and database). Configurations: 1 worker x 1 CPU, 2 workers x 1 CPU, 1 worker x 2 CPUs.

Driver overhead per trial = (Optuna's trial duration: ask -> tell, as the driver sees it) - (the
trial's own time inside its Ray task). It covers dispatch, moving the result back, saving it and
telling Optuna; the first trial of each worker also pays the worker process start and imports.

Usage: python bench/ray_scaling.py [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [("1 worker x 1 CPU", 1, 1), ("2 workers x 1 CPU", 2, 1), ("1 worker x 2 CPUs", 1, 2)]


def study(name: str, db: Path, workers: int, cpus: int, seeds: int = 1) -> dict:
    d = yaml.safe_load((ROOT / "examples" / "quick.yaml").read_text())
    d.update({
        "name": name,
        "storage": {"url": f"sqlite:///{db}"},
        "quantization": {"mode": {"choices": ["ptq", "qat"]}, "ptq_integer_bits": 6, "ptq_fractional_bits": 8,
                         "qat_total_bits": 12, "qat_integer_bits": 3, "qat_activations": "hard"},
        "hls": {"reuse_factor": 1, "strategy": "latency", "io_type": "io_parallel"},
        "sampler": {"name": "grid", "seed": 0},
        "n_trials": 8 * seeds,
        # no pruning: which training the median rule stops depends on the order trials finish in, which
        # differs with the workers; every configuration must do the same work
        "execution": {"workers": workers, "cpus_per_trial": cpus, "max_retries": 0, "trial_timeout_s": 1200,
                      "prune_trainings": False},
    })
    d.pop("timeout_s", None)
    if seeds > 1:
        d["train"] = {**d.get("train", {}), "seed": {"choices": list(range(seeds))}}
    return d


def measure(work: Path, label: str, workers: int, cpus: int, seeds: int = 1) -> dict:
    import optuna

    from storage import open_storage

    tag = f"w{workers}c{cpus}"
    run_dir = work / tag
    run_dir.mkdir(parents=True, exist_ok=False)
    db = run_dir / "study.db"
    path = run_dir / "study.yaml"
    cfg = study(f"scaling-{tag}", db, workers, cpus, seeds)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    dse = Path(sys.executable).with_name("dse")
    t0 = time.perf_counter()
    proc = subprocess.run([str(dse), "run", str(path), "--no-progress"], cwd=run_dir, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{label}: dse run failed:\n{proc.stderr[-3000:]}")
    st = open_storage(f"sqlite:///{db}")
    s = optuna.load_study(study_name=cfg["name"], storage=st.optuna)
    trials = [t for t in s.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(trials) != cfg["n_trials"]:
        raise SystemExit(f"{label}: {len(trials)} of {cfg['n_trials']} trials complete; the configurations must do "
                         "the same work")
    inside, seen, overhead = [], [], []
    for t in trials:
        r = st.project.load_result(cfg["name"], t.number)
        inside.append(float(r.timings["total"]))
        seen.append((t.datetime_complete - t.datetime_start).total_seconds())
        overhead.append(seen[-1] - inside[-1])
    first = min(t.datetime_start for t in s.trials)
    last = max(t.datetime_complete for t in trials)
    return {"label": label, "workers": workers, "cpus": cpus, "wall_s": wall, "complete": len(trials),
            "trials_per_hour": 3600 * len(trials) / wall, "study_span_s": (last - first).total_seconds(),
            "task_s_sum": sum(inside), "overhead_median_s": statistics.median(overhead),
            "overhead_max_s": max(overhead), "overhead_min_s": min(overhead)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--configs", nargs="*", default=[f"w{w}c{c}" for _, w, c in CONFIGS],
                    help="which configurations (w<workers>c<cpus>; the first is the speed-up's base)")
    ap.add_argument("--earlier", type=Path, default=None,
                    help="ray_scaling.json of an earlier run, shown below this one (before/after a change)")
    ap.add_argument("--earlier-label", default="earlier run")
    ap.add_argument("--seeds", type=int, default=1, help="training seeds per design point (8 x SEEDS trials)")
    args = ap.parse_args()
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="dse-ray-scaling-"))).resolve()
    rows = []
    for label, workers, cpus in CONFIGS:
        if f"w{workers}c{cpus}" in args.configs:
            rows.append(measure(work, label, workers, cpus, args.seeds))
            print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["trials_per_hour"]
    earlier = json.loads(args.earlier.read_text()) if args.earlier else []
    for r in earlier:
        r["label"] = f"{r['label']} ({args.earlier_label})"
    earlier_base = earlier[0]["trials_per_hour"] if earlier else 1.0
    cmd = "python bench/ray_scaling.py" + (f" --seeds {args.seeds}" if args.seeds > 1 else "") + (f" --configs {' '.join(args.configs)}" if args.configs else "") + (
        f" --earlier {args.earlier} --earlier-label '{args.earlier_label}'" if args.earlier else "")
    md = header(f"Ray scaling (examples/quick.yaml as a fixed {8 * args.seeds}-point grid, every trial trains)", cmd)
    md += ("\n| configuration | wall time (s) | trials | trials/hour | speed-up | sum of in-task seconds | "
           "driver overhead per trial: median (min-max) s |\n|---|---|---|---|---|---|---|\n")
    for r in rows + earlier:
        b = base if r in rows else earlier_base
        md += (f"| {r['label']} | {r['wall_s']:.0f} | {r['complete']} | {r['trials_per_hour']:.0f} | "
               f"{r['trials_per_hour'] / b:.2f}x | {r['task_s_sum']:.0f} | {r['overhead_median_s']:.2f} "
               f"({r['overhead_min_s']:.2f}-{r['overhead_max_s']:.2f}) |\n")
    md += ("\nWall time includes starting the local Ray (and the workers' TensorFlow imports); `sum of in-task "
           "seconds` is what the trials measured inside their Ray tasks. Speed-ups are against the first row of the "
           "same run.\n")
    (work / "ray_scaling.json").write_text(json.dumps(rows, indent=1))
    write_result("ray_scaling", md)


if __name__ == "__main__":
    main()

"""Search efficiency measured live: ``dse run`` with each sampler against the paper-size grid.

The grid (``bench/search_grid.py --workdir GRID``) evaluated every one of its design points with the
real pipeline; its wall time and its hypervolume are the reference. Each run here is one real
``dse run`` of the *same* design space as one study -- the grid's four parallelism presets become one
categorical parameter, ``hls.parallelism`` -- with one sampler and seed, from nothing: a fresh
database, a fresh model cache and a fresh HLS/C-sim cache (``DSE_RUNS_DIR``, ``DSE_CACHE_DIR``), so
every training (pruned ones included), TensorFlow tracing, g++ build, C simulation, Ray start-up and
sampler second is charged. Same machine, same workers as the grid.

While a run goes, the script reads its database every few seconds and computes the hypervolume of the
trials completed so far (times from the trials' own completion stamps, counted from the moment
``dse run`` was started); it stops the run (SIGINT: the driver's clean stop) once the hypervolume
reaches ``--stop-fraction`` of the grid's, or after ``--max-minutes``.

Hypervolume: of the feasible front (constraints as dse stored them); 1 - behaviour R2 clipped to [0, 1],
reference 1; latency, DSP, LUT divided by the grid's feasible maximum, reference 1.1.

Usage:
  python bench/search_live.py --grid /tmp/live/grid --workdir /tmp/live/search \\
      --runs cost-aware:0 cost-aware:1 tpe:0 nsga2:0 random:0 [--max-minutes 15] [--stop-fraction 0.95]
  python bench/search_live.py --grid /tmp/live/grid --workdir /tmp/live/search --report-only
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, header, load_average, write_result  # noqa: E402
from search_grid import PRESETS, grid_presets, study_name, study_yaml  # noqa: E402

OBJECTIVES = ("behavior_r2", "latency_us", "dsp", "lut")
#: The stored grid of 2026-11-21 (its replay, bench/results/search_efficiency.md, removed with this script's first run): from-scratch QAT,
#: 208 points, 66.6 single-worker minutes charged from its measured phases.
STORED_GRID_SINGLE_WORKER_S = 66.6 * 60
REFERENCE = np.array([1.0, 1.1, 1.1, 1.1])


def parallelism(preset: str) -> str:
    """A grid preset (``reuse_factor_<layer>`` / ``recurrent_reuse_factor_<layer>``) as one ``hls.parallelism``."""
    return " ".join(f"{k.replace('reuse_factor_', '')}={v}" for k, v in PRESETS[preset].items())


# ------------------------------------------------------------------------------------------ grid


def trial_rows(storage_url: str, name: str) -> list[dict[str, Any]]:
    """Completed trials of one study: values, feasibility, completion time, whether a duplicate."""
    import optuna

    from objectives.constraints import CONSTRAINTS_ATTR

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=storage_url)
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.state != optuna.trial.TrialState.COMPLETE or t.values is None:
            continue
        cons = t.user_attrs.get(CONSTRAINTS_ATTR)
        rows.append({"number": t.number, "values": [float(v) for v in t.values],
                     "feasible": cons is not None and all(c <= 0 for c in cons),
                     "complete": t.datetime_complete.timestamp(), "params": t.params,
                     "duplicate": t.user_attrs.get("duplicate_of") is not None})
    return rows


class Hypervolume:
    """Hypervolume of feasible points, normalised by the grid's feasible maxima."""

    def __init__(self, grid_rows: list[dict[str, Any]]) -> None:
        feas = [r["values"] for r in grid_rows if r["feasible"]]
        self.max = [max(v[i] for v in feas) for i in range(1, len(OBJECTIVES))]

    def losses(self, v: list[float]) -> list[float]:
        return [min(max(1.0 - v[0], 0.0), 1.0)] + [v[i] / self.max[i - 1] for i in range(1, len(v))]

    def __call__(self, rows: list[dict[str, Any]]) -> float:
        from optuna._hypervolume import compute_hypervolume

        losses = [self.losses(r["values"]) for r in rows if r["feasible"]]
        losses = [x for x in losses if all(a < b for a, b in zip(x, REFERENCE, strict=True))]
        return float(compute_hypervolume(np.array(losses), REFERENCE)) if losses else 0.0


def simulation_costs(grid: Path) -> dict[tuple, dict[str, float]]:
    """Measured seconds of each of the grid's simulations (its precision): the training it did (0 when the
    model came from the cache; the float model's training is reported once, under "float") and the rest
    of the trial that first simulated it (conversion, g++, C simulation, metrics)."""
    import optuna

    from storage import open_storage

    st = open_storage(f"sqlite:///{grid / 'grid.db'}")
    out: dict[tuple, dict[str, float]] = {}
    for preset in grid_presets(grid):
        name = study_name(preset)
        for t in optuna.load_study(study_name=name, storage=st.optuna).trials:
            r = st.project.load_result(name, t.number)
            key = _numerics(t.params)
            if r is None or r.cache.get("csim") or key in out:
                continue
            tm = r.timings
            out[key] = {"train": float(tm.get("train", 0.0)) if r.cache.get("model") is False else 0.0,
                        "rest": float(tm.get("total", 0.0)) - float(tm.get("train", 0.0))
                        - float(tm.get("preflight", 0.0))}
    return out


def _numerics(params: dict[str, Any]) -> tuple:
    return tuple(sorted((k, v) for k, v in params.items() if k.startswith("quantization.")))


def floor(grid: Path, rows: list[dict[str, Any]], hv: Hypervolume, workers: int, grid_s: float) -> str:
    """What even a search that knew the answer must pay: the fewest simulations (greedy) that reach 95 % of
    the grid's hypervolume, with their measured trainings and simulations, on ``workers`` workers."""
    grid_hv = hv(rows)
    by_sim: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        by_sim.setdefault(_numerics(r["params"]), []).append(r)
    chosen: list[tuple] = []
    got: list[dict[str, Any]] = []
    while hv(got) < 0.95 * grid_hv:
        best = max((k for k in by_sim if k not in chosen), key=lambda k: hv(got + by_sim[k]))
        chosen.append(best)
        got += by_sim[best]
    costs = simulation_costs(grid)
    float_s = max(c["train"] for k, c in costs.items() if dict(k).get("quantization.mode") == "ptq")
    # after the float model: each QAT point's fine-tuning, and every simulation
    after_float = [costs[k]["rest"] + (costs[k]["train"] if dict(k)["quantization.mode"] == "qat" else 0.0)
                   for k in chosen]
    work = float_s + sum(after_float)
    chain = float_s + max(after_float)
    bound = max(chain, (work + (workers - 1) * float_s) / workers)  # nothing else can run while the float model trains
    names = ", ".join(_design_name(dict(k)) for k in chosen)
    return (f"\n**The floor.** The fewest simulations that reach 95 % of the grid's hypervolume (greedy, knowing the "
            f"grid's answers): {len(chosen)} -- {names}, each with its four parallelism variants. With the grid's "
            f"measured seconds (float training {float_s:.0f} s, which every point needs first; each QAT point's "
            f"fine-tuning; each simulation's conversion, g++ and C simulation) that is {work:.0f} s of work, and on "
            f"{workers} workers at least {bound:.0f} s ({bound / 60:.1f} min) before Ray's and TensorFlow's start "
            f"-- already 1/{grid_s / bound:.1f} of the grid rerun: the 1/16 target against a grid that itself "
            "reuses the float model and every C simulation is out of reach for any search order.\n")


def _design_name(q: dict[str, Any]) -> str:
    if q["quantization.mode"] == "qat":
        return f"QAT {q['quantization.qat_total_bits']} bits"
    i, f = q["quantization.ptq_integer_bits"], q["quantization.ptq_fractional_bits"]
    return f"PTQ <{i + f},{i}>"


def load_grid(grid: Path) -> tuple[list[dict[str, Any]], float, list[str]]:
    """(every grid trial, the grid's wall seconds, its presets)."""
    runs = json.loads((grid / "grid_runs.json").read_text())["rows"]
    rows = []
    for preset in grid_presets(grid):
        rows += trial_rows(f"sqlite:///{grid / 'grid.db'}", study_name(preset))
    return rows, sum(r["wall_s"] for r in runs), [r["preset"] for r in runs]


# ----------------------------------------------------------------------------------------- a run


def run_yaml(sampler: str, seed: int, presets: list[str], db: Path, workers: int, qat_step: int) -> dict:
    cfg = study_yaml(presets[0], db, workers, qat_step)
    hls = {k: v for k, v in cfg["hls"].items() if "reuse_factor_" not in k}
    hls["parallelism"] = {"choices": [parallelism(p) for p in presets]}
    cfg.update({"name": f"live-{sampler}-{seed}", "hls": hls, "sampler": {"name": sampler, "seed": seed},
                "n_trials": cfg["n_trials"] * len(presets)})
    return cfg


def curve(rows: list[dict[str, Any]], start: float, hv: Hypervolume) -> list[tuple[int, float, float]]:
    """[(trials completed, seconds since the start, hypervolume)] in completion order."""
    done: list[dict[str, Any]] = []
    out = []
    for r in sorted(rows, key=lambda r: r["complete"]):
        done.append(r)
        out.append((len(done), r["complete"] - start, hv(done)))
    return out


def live_run(args: argparse.Namespace, sampler: str, seed: int, presets: list[str], hv: Hypervolume,
             target: float) -> dict[str, Any]:
    work = args.workdir.resolve() / f"{sampler}-{seed}"
    if work.exists():
        raise SystemExit(f"{work} exists: every run starts from nothing; remove it first")
    work.mkdir(parents=True)
    db = work / "study.db"
    cfg = run_yaml(sampler, seed, presets, db, args.workers, args.qat_step)
    path = work / "study.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = {**os.environ, "DSE_RUNS_DIR": str(work / "runs"), "DSE_CACHE_DIR": str(work / "hls-cache")}
    dse = Path(sys.executable).with_name("dse")
    start = time.time()
    log = (work / "dse.log").open("w")
    proc = subprocess.Popen([str(dse), "run", str(path), "--no-progress"], cwd=work, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    reached, stopped = None, "finished"
    while proc.poll() is None:
        time.sleep(args.poll_s)
        elapsed = time.time() - start
        try:
            rows = trial_rows(f"sqlite:///{db}", cfg["name"])
        except Exception:  # the study is not created yet
            rows = []
        if reached is None and rows and hv(rows) >= target:
            reached = elapsed
        if reached is not None and args.stop_fraction is not None:
            stopped = "target reached"
        elif elapsed > args.max_minutes * 60:
            stopped = "time limit"
        else:
            continue
        proc.send_signal(signal.SIGTERM)  # the driver's clean stop (SIGINT may be ignored: nohup)
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        break
    wall = time.time() - start
    rows = trial_rows(f"sqlite:///{db}", cfg["name"])
    return {"sampler": sampler, "seed": seed, "start": start, "wall_s": wall, "rc": proc.returncode,
            "stopped": stopped, "load_end": load_average(), "curve": curve(rows, start, hv),
            "n_complete": len(rows), "n_duplicates": sum(r["duplicate"] for r in rows),
            "qat_points": sum(r["params"].get("quantization.mode") == "qat" for r in rows),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


# ------------------------------------------------------------------------------------------ report


def first_reaching(c: list[tuple[int, float, float]], target: float) -> tuple[int, float] | None:
    return next(((n, s) for n, s, h in c if h >= target), None)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--grid", type=Path, required=True)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--runs", nargs="*", default=[], help="SAMPLER:SEED ...")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--qat-step", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=15.0)
    ap.add_argument("--stop-fraction", type=float, default=None,
                    help="stop a run once its hypervolume reaches this fraction of the grid's")
    ap.add_argument("--poll-s", type=float, default=5.0)
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    grid_rows, grid_s, presets = load_grid(args.grid)
    hv = Hypervolume(grid_rows)
    grid_hv = hv(grid_rows)
    target = 0.95 * grid_hv
    args.workdir.mkdir(parents=True, exist_ok=True)
    store = args.workdir / "live_runs.json"
    runs = json.loads(store.read_text()) if store.exists() else []
    for spec in [] if args.report_only else args.runs:
        sampler, seed = spec.split(":")
        stop_at = target if args.stop_fraction is None else args.stop_fraction * grid_hv
        r = live_run(args, sampler, int(seed), presets, hv, stop_at)
        r["stop_fraction"], r["max_minutes"] = args.stop_fraction, args.max_minutes
        runs.append(r)
        store.write_text(json.dumps(runs))
        hit = first_reaching(r["curve"], target)
        print(f"{spec}: {r['n_complete']} trials in {r['wall_s'] / 60:.1f} min, final HV "
              f"{(r['curve'][-1][2] if r['curve'] else 0) / grid_hv:.3f} of the grid's, 95 % "
              f"{'at %.1f min' % (hit[1] / 60) if hit else 'not reached'} ({r['stopped']})", flush=True)
    plot(runs, grid_hv, grid_s, RESULTS / "search_live.png")
    report(args, runs, grid_rows, grid_hv, grid_s, target)


def plot(runs: list[dict[str, Any]], grid_hv: float, grid_s: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    colours = {"cost-aware": "tab:red", "tpe": "tab:orange", "nsga2": "tab:blue", "random": "tab:green"}
    labelled = set()
    for r in runs:
        if not r["curve"]:
            continue
        _, s, h = zip(*r["curve"], strict=True)
        ax.step(np.array(s) / 60, np.array(h) / grid_hv, where="post", color=colours.get(r["sampler"], "k"),
                alpha=0.8, label=None if r["sampler"] in labelled else r["sampler"])
        labelled.add(r["sampler"])
    ax.axhline(0.95, color="k", ls="--", lw=0.8)
    ax.axvline(grid_s / 16 / 60, color="r", ls=":", lw=1, label="grid rerun time / 16")
    ax.set_xlabel("minutes since `dse run` started (live, 2 workers)")
    ax.set_ylabel("hypervolume / grid hypervolume")
    ax.set_ylim(0, 1.05)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def report(args, runs, grid_rows, grid_hv, grid_s, target) -> None:
    md = header("Search efficiency, live: `dse run` per sampler against the paper-size grid",
                f"python bench/search_live.py --grid {args.grid} --workdir {args.workdir} --runs ... "
                "(one invocation per group of runs; results accumulate in live_runs.json)")
    feasible = sum(r["feasible"] for r in grid_rows)
    md += (f"\nGrid rerun (`bench/search_grid.py`, current code: QAT fine-tuned from the float model, "
           f"{args.workers} workers): {len(grid_rows)} points ({feasible} feasible), hypervolume {grid_hv:.4f}, "
           f"**{grid_s / 60:.1f} min wall** (bench/results/search_grid.md). Stored grid of 2026-11-21 "
           f"(from-scratch QAT): {STORED_GRID_SINGLE_WORKER_S / 60:.1f} single-worker minutes.\n\n"
           "Each run: a fresh `dse run` (fresh database and caches) of the same space as one study, "
           f"{args.workers} workers x 1 CPU, local Ray; time counted from the moment `dse run` started, "
           "so Ray's start, TensorFlow, every training, g++ build and C simulation are charged.\n\n")
    md += ("| sampler | seed | trials completed (duplicates) | QAT points | wall of the run | stopped | "
           "minutes to 95 % | / grid rerun (wall) | / stored grid: wall vs its single-worker minutes | / stored grid: "
           "worker-minutes | HV / grid HV at the end | load at end |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    by_sampler: dict[str, list[float | None]] = {}
    for r in runs:
        hit = first_reaching(r["curve"], target)
        final = r["curve"][-1][2] / grid_hv if r["curve"] else 0.0
        by_sampler.setdefault(r["sampler"], []).append(hit[1] if hit else None)
        md += (f"| {r['sampler']} | {r['seed']} | {r['n_complete']} ({r['n_duplicates']}) | {r['qat_points']} | "
               f"{r['wall_s'] / 60:.1f} min | {r['stopped']} | "
               + (f"{hit[1] / 60:.2f} | 1/{grid_s / hit[1]:.1f} | 1/{STORED_GRID_SINGLE_WORKER_S / hit[1]:.1f} | "
                  f"1/{STORED_GRID_SINGLE_WORKER_S / (args.workers * hit[1]):.1f} | " if hit else "never | - | - | - | ")
               + f"{final:.3f} | {r['load_end']} |\n")
    md += "\nMedian over seeds (a seed that never reached 95 % counts as its run's whole wall time, a lower bound):\n\n"
    md += "| sampler | seeds | reached 95 % | median minutes to 95 % | median / grid rerun |\n|---|---|---|---|---|\n"
    for sampler, hits in by_sampler.items():
        walls = [h if h is not None else r["wall_s"] for h, r in
                 zip(hits, [r for r in runs if r["sampler"] == sampler], strict=True)]
        med = statistics.median(walls)
        md += (f"| {sampler} | {len(hits)} | {sum(h is not None for h in hits)} | {med / 60:.2f} | "
               f"1/{grid_s / med:.1f} |\n")
    md += floor(args.grid, grid_rows, Hypervolume(grid_rows), args.workers, grid_s)
    md += "\n![hypervolume vs time](bench/results/search_live.png)\n"
    write_result("search_live", md)


if __name__ == "__main__":
    main()

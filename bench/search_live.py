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

Results: the runs accumulate in ``WORKDIR/live_runs.json``; each invocation then writes
bench/results/search_live.json (the grid's figures, the floor, and every run with the exact command line and
commit of the invocation that ran it) and renders bench/results/search_live.md and .png from that JSON
alone. ``--report-only`` re-renders from bench/results/search_live.json and refuses without it.

Usage:
  python bench/search_live.py --grid /tmp/live/grid --workdir /tmp/live/search \\
      --runs cost-aware:0 cost-aware:1 tpe:0 nsga2:0 random:0 [--max-minutes 15] [--stop-fraction 0.95]
  python bench/search_live.py --report-only
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

from common import RESULTS, load_average, read_json, run_meta, write_json, write_result  # noqa: E402
from search_grid import PRESETS, grid_presets, study_name, study_yaml  # noqa: E402

NAME = "search_live"
OBJECTIVES = ("behavior_r2", "latency_us", "dsp", "lut")
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


def floor(grid: Path, rows: list[dict[str, Any]], hv: Hypervolume, workers: int) -> dict[str, Any]:
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
    return {"simulations": [_design_name(dict(k)) for k in chosen], "float_train_s": float_s, "work_s": work,
            "workers": workers, "bound_s": bound}


def floor_text(f: dict[str, Any], grid_s: float) -> str:
    return (f"\n**The floor.** The fewest simulations that reach 95 % of the grid's hypervolume (greedy, knowing the "
            f"grid's answers): {len(f['simulations'])} -- {', '.join(f['simulations'])}, each with its parallelism "
            f"variants. With the grid's measured seconds (float training {f['float_train_s']:.0f} s, which every point "
            "needs first; each QAT point's fine-tuning; each simulation's conversion, g++ and C simulation) that is "
            f"{f['work_s']:.0f} s of work, and on {f['workers']} workers at least {f['bound_s']:.0f} s "
            f"({f['bound_s'] / 60:.1f} min) before Ray's and TensorFlow's start -- already 1/{grid_s / f['bound_s']:.1f} "
            "of the grid rerun: the 1/16 target against a grid that itself reuses the float model and every C "
            "simulation is out of reach for any search order.\n")


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
    ap.add_argument("--grid", type=Path, help="the grid's workdir (bench/search_grid.py --workdir)")
    ap.add_argument("--workdir", type=Path, help="the live runs' workdir (runs accumulate in live_runs.json)")
    ap.add_argument("--runs", nargs="*", default=[], help="SAMPLER:SEED ...")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--qat-step", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=15.0)
    ap.add_argument("--stop-fraction", type=float, default=None,
                    help="stop a run once its hypervolume reaches this fraction of the grid's")
    ap.add_argument("--poll-s", type=float, default=5.0)
    ap.add_argument("--report-only", action="store_true",
                    help=f"only re-render the markdown and plot from bench/results/{NAME}.json")
    args = ap.parse_args()
    if args.report_only:
        render(read_json(NAME, "python bench/search_live.py --grid GRID --workdir WORKDIR --runs SAMPLER:SEED ..."))
        return
    if args.grid is None or args.workdir is None:
        ap.error("--grid and --workdir are required unless --report-only")
    grid_rows, grid_s, presets = load_grid(args.grid)
    hv = Hypervolume(grid_rows)
    grid_hv = hv(grid_rows)
    target = 0.95 * grid_hv
    args.workdir.mkdir(parents=True, exist_ok=True)
    store = args.workdir / "live_runs.json"
    runs = json.loads(store.read_text()) if store.exists() else []
    for spec in args.runs:
        sampler, seed = spec.split(":")
        stop_at = target if args.stop_fraction is None else args.stop_fraction * grid_hv
        r = live_run(args, sampler, int(seed), presets, hv, stop_at)
        r["stop_fraction"], r["max_minutes"] = args.stop_fraction, args.max_minutes
        r["meta"] = run_meta()  # this invocation's exact command line and the commit of the code that ran
        runs.append(r)
        store.write_text(json.dumps(runs))
        hit = first_reaching(r["curve"], target)
        print(f"{spec}: {r['n_complete']} trials in {r['wall_s'] / 60:.1f} min, final HV "
              f"{(r['curve'][-1][2] if r['curve'] else 0) / grid_hv:.3f} of the grid's, 95 % "
              f"{'at %.1f min' % (hit[1] / 60) if hit else 'not reached'} ({r['stopped']})", flush=True)
    missing = [i for i, r in enumerate(runs) if "meta" not in r]
    if missing:
        raise SystemExit(f"{store}: runs {missing} carry no command/commit (made before this script recorded them); "
                         "start a fresh --workdir")
    data = {"meta": run_meta(), "grid": {"dir": str(args.grid), "points": len(grid_rows),
                                         "feasible": sum(r["feasible"] for r in grid_rows), "hypervolume": grid_hv,
                                         "wall_s": grid_s, "presets": presets, "workers": args.workers,
                                         "floor": floor(args.grid, grid_rows, hv, args.workers)},
            "target_fraction": 0.95, "runs": runs}
    write_json(NAME, data)
    render(data)


def render(data: dict[str, Any]) -> None:
    """The plot and the markdown, every number read from the JSON ``data``."""
    plot(data, RESULTS / f"{NAME}.png")
    write_result(NAME, report(data))


def plot(data: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid_hv, grid_s = data["grid"]["hypervolume"], data["grid"]["wall_s"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colours = {"cost-aware": "tab:red", "tpe": "tab:orange", "nsga2": "tab:blue", "random": "tab:green"}
    labelled = set()
    for r in data["runs"]:
        if not r["curve"]:
            continue
        _, s, h = zip(*r["curve"], strict=True)
        ax.step(np.array(s) / 60, np.array(h) / grid_hv, where="post", color=colours.get(r["sampler"], "k"),
                alpha=0.8, label=None if r["sampler"] in labelled else r["sampler"])
        labelled.add(r["sampler"])
    ax.axhline(data["target_fraction"], color="k", ls="--", lw=0.8)
    ax.axvline(grid_s / 16 / 60, color="r", ls=":", lw=1, label="grid rerun time / 16")
    ax.set_xlabel(f"minutes since `dse run` started (live, {data['grid']['workers']} workers)")
    ax.set_ylabel("hypervolume / grid hypervolume")
    ax.set_ylim(0, 1.05)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def _header(data: dict[str, Any]) -> str:
    """The rendering's header: every invocation that ran runs (its exact command, the commit of its code, date,
    load), then the invocation that wrote the JSON."""
    m = data["meta"]
    md = (f"## Search efficiency, live: `dse run` per sampler against the paper-size grid\n\n"
          f"- machine: {m['machine']}\n- numbers read from: bench/results/{NAME}.json (written {m['date']} by "
          f"`{m['command']}`, commit {m['commit']})\n- runs made by:\n")
    seen: dict[tuple[str, str], list[str]] = {}
    for r in data["runs"]:
        seen.setdefault((r["meta"]["command"], r["meta"]["commit"]), []).append(f"{r['sampler']}:{r['seed']}")
    for (command, commit), which in seen.items():
        md += f"  - `{command}` at commit {commit} ({', '.join(which)})\n"
    return md


def report(data: dict[str, Any]) -> str:
    g, runs = data["grid"], data["runs"]
    grid_hv, grid_s, workers = g["hypervolume"], g["wall_s"], g["workers"]
    target = data["target_fraction"] * grid_hv
    pct = f"{100 * data['target_fraction']:.0f} %"
    md = _header(data)
    md += (f"\nGrid (`bench/search_grid.py --workdir {g['dir']}`, its grid_runs.json; presets "
           f"{', '.join(g['presets'])}; {workers} workers): {g['points']} points ({g['feasible']} feasible), "
           f"hypervolume {grid_hv:.4f}, **{grid_s / 60:.1f} min wall**.\n\n"
           "Each run: a fresh `dse run` (fresh database and caches) of the same space as one study, "
           f"{workers} workers x 1 CPU, local Ray; time counted from the moment `dse run` started, "
           "so Ray's start, TensorFlow, every training, g++ build and C simulation are charged. Wall times on the "
           "shared machine: see each run's load.\n\n")
    md += (f"| sampler | seed | trials completed (duplicates) | QAT points | wall of the run | stopped | "
           f"minutes to {pct} | / grid rerun (wall) | HV / grid HV at the end | load at end |\n"
           "|---|---|---|---|---|---|---|---|---|---|\n")
    by_sampler: dict[str, list[tuple[float | None, float]]] = {}
    for r in runs:
        hit = first_reaching(r["curve"], target)
        final = r["curve"][-1][2] / grid_hv if r["curve"] else 0.0
        by_sampler.setdefault(r["sampler"], []).append((hit[1] if hit else None, r["wall_s"]))
        md += (f"| {r['sampler']} | {r['seed']} | {r['n_complete']} ({r['n_duplicates']}) | {r['qat_points']} | "
               f"{r['wall_s'] / 60:.1f} min | {r['stopped']} | "
               + (f"{hit[1] / 60:.2f} | 1/{grid_s / hit[1]:.1f} | " if hit else "never | - | ")
               + f"{final:.3f} | {r['load_end']} |\n")
    md += (f"\nMedian over seeds (a seed that never reached {pct} counts as its run's whole wall time, a lower "
           "bound):\n\n")
    md += (f"| sampler | seeds | reached {pct} | median minutes to {pct} | median / grid rerun |\n"
           "|---|---|---|---|---|\n")
    for sampler, hits in by_sampler.items():
        med = statistics.median(h if h is not None else wall for h, wall in hits)
        md += (f"| {sampler} | {len(hits)} | {sum(h is not None for h, _ in hits)} | {med / 60:.2f} | "
               f"1/{grid_s / med:.1f} |\n")
    md += floor_text(g["floor"], grid_s)
    md += f"\n![hypervolume vs time](bench/results/{NAME}.png)\n"
    return md


if __name__ == "__main__":
    main()

"""Search efficiency: NSGA-II, multi-objective TPE and random search against the exhaustive grid.

The grid (``bench/search_grid.py``) evaluated every design point once with the real pipeline and
stored it; this script *replays* the samplers against those stored results. Each sampler runs
dse's own sampler builder (``search_spaces.make_sampler``) on dse's own search space of the grid
study, plus the parallelism preset as one more categorical parameter, and instead of running a
trial it looks the point up in the grid database. That makes every sampler see exactly the values
a real run would have measured, at no cost, so several seeds per sampler are affordable.

Time is charged as a real single-worker ``dse run`` would spend it, from the grid's own
measurements: a point's model is trained once (its ``train.json`` seconds) and then comes from the
model cache; its numerics (precision; reuse factors do not change them) are compiled and
C-simulated once (that trial's g++ + C-sim seconds) and then come from the C-sim cache; every point
also pays its own remaining measured seconds (convert, cost, metrics, storage). A repeated point
costs nothing (the driver reuses the stored result). The grid's time is the same sum over all points.

Hypervolume: of the feasible Pareto front (constraints as stored by dse), objectives behaviour R^2
(max), latency, DSP and LUT (min), each normalised: 1 - R^2 clipped to [0, 1] with reference 1
(R^2 = 0 adds nothing); latency/DSP/LUT divided by the grid's feasible maximum, reference 1.1.

Usage: python bench/search_efficiency.py --workdir /tmp/dse-grid [--seeds 5] [--trials 120]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, header, write_result  # noqa: E402

OBJECTIVES = ("behavior_r2", "latency_us", "dsp", "lut")
PRESET = "hls.parallelism_preset"
SAMPLERS = ("nsga2", "tpe", "random")


@dataclass
class Point:
    key: tuple
    values: tuple[float, ...] | None  # None: not complete
    feasible: bool
    constraints: list[float]
    model: str  # model cache key
    numeric: tuple  # (model, precision): what one C simulation covers
    train_s: float
    numeric_s: float  # g++ + C-sim of the trial that computed these numbers
    rest_s: float  # everything else this point measured


def point_key(params: dict[str, Any], preset: str) -> tuple:
    return (preset, *sorted((k, v) for k, v in params.items() if k != PRESET))


def load_grid(workdir: Path) -> tuple[dict[tuple, Point], list[str], Any]:
    import optuna
    from search_grid import grid_presets, grid_results

    from dse.study import load_study

    points: dict[tuple, Point] = {}
    numeric_first: dict[tuple, float] = {}
    train_s: dict[str, float] = {}
    for preset, t, r in grid_results(workdir):
        model_art = next((a for a in r.artifacts if a.kind == "model"), None)
        model = Path(model_art.path).parent.name if model_art else "?"
        if model_art and model not in train_s:
            info = json.loads((Path(model_art.path).parent / "train.json").read_text())
            train_s[model] = float(info["train_seconds"])
        numeric = (model, tuple(sorted((k, v) for k, v in t.params.items() if k.startswith("quantization."))))
        tm = r.timings
        reused = bool(r.cache.get("csim"))
        num_s = float(tm.get("gxx", 0.0)) + (0.0 if reused else float(tm.get("csim", 0.0)))
        if num_s > 0 and not reused:
            numeric_first[numeric] = max(numeric_first.get(numeric, 0.0), num_s)
        rest = float(tm.get("total", 0.0)) - float(tm.get("train", 0.0)) - num_s
        cons = list(t.user_attrs.get("constraints") or [])
        complete = t.state == optuna.trial.TrialState.COMPLETE
        vals = tuple(float(v) for v in t.values) if complete else None
        feasible = complete and all(c <= 0 for c in cons)
        k = point_key(t.params, preset)
        points[k] = Point(k, vals, feasible, cons, model, numeric, 0.0, 0.0, max(rest, 0.0))
    for p in points.values():
        p.train_s = train_s.get(p.model, 0.0)
        p.numeric_s = numeric_first.get(p.numeric, 0.0)
    presets = grid_presets(workdir)
    cfg = load_study(workdir / f"grid-{presets[0]}.yaml")
    return points, presets, cfg


class Normaliser:
    def __init__(self, points: list[Point]) -> None:
        feas = [p.values for p in points if p.feasible and p.values]
        self.max = [max(v[i] for v in feas) for i in range(1, len(OBJECTIVES))]

    def losses(self, values: tuple[float, ...]) -> list[float]:
        return [min(max(1.0 - values[0], 0.0), 1.0)] + [values[i] / self.max[i - 1] for i in range(1, len(values))]

    @property
    def reference(self) -> np.ndarray:
        return np.array([1.0] + [1.1] * (len(OBJECTIVES) - 1))


def hypervolume(points: list[Point], norm: Normaliser) -> float:
    from optuna._hypervolume import compute_hypervolume

    losses = [norm.losses(p.values) for p in points if p.feasible and p.values]
    losses = [x for x in losses if all(a < b for a, b in zip(x, norm.reference, strict=True))]
    if not losses:
        return 0.0
    return float(compute_hypervolume(np.array(losses), norm.reference))


class Clock:
    """Seconds a single-worker run has spent, with the model and C-sim caches."""

    def __init__(self) -> None:
        self.models: set[str] = set()
        self.numerics: set[tuple] = set()
        self.seen: set[tuple] = set()
        self.seconds = 0.0

    def charge(self, p: Point) -> None:
        if p.key in self.seen:
            return
        self.seen.add(p.key)
        if p.model not in self.models:
            self.models.add(p.model)
            self.seconds += p.train_s
        if p.numeric not in self.numerics:
            self.numerics.add(p.numeric)
            self.seconds += p.numeric_s
        self.seconds += p.rest_s


def grid_cost(points: dict[tuple, Point]) -> float:
    clock = Clock()
    for p in points.values():
        clock.charge(p)
    return clock.seconds


def replay(sampler: str, seed: int, n_trials: int, points: dict[tuple, Point], presets: list[str], cfg: Any,
           norm: Normaliser) -> list[tuple[int, float, float]]:
    """[(trial, seconds, hypervolume)] after each trial of one sampler run."""
    import dataclasses

    import optuna

    from search_spaces import SearchSpace, make_sampler
    from search_spaces.samplers import CONSTRAINTS_ATTR

    scfg = dataclasses.replace(cfg, sampler=dataclasses.replace(cfg.sampler, name=sampler, seed=seed,
                                                                options=cfg.sampler.options if sampler == "nsga2"
                                                                else {}))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(directions=["maximize", "minimize", "minimize", "minimize"],
                                    sampler=make_sampler(scfg))
    space = SearchSpace.from_config(cfg)
    clock, found, curve = Clock(), [], []
    for i in range(n_trials):
        trial = study.ask()
        flat = space.sample(trial)
        preset = trial.suggest_categorical(PRESET, presets)
        searched = {k: v for k, v in flat.items() if k in trial.params}
        p = points.get(point_key(searched, preset))
        if p is None:
            raise KeyError(f"point not in the grid: {searched} {preset}")
        clock.charge(p)
        trial.set_user_attr(CONSTRAINTS_ATTR, p.constraints if p.constraints else [1.0])
        if p.values is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, list(p.values))
            found.append(p)
        curve.append((i + 1, clock.seconds, hypervolume(found, norm)))
    return curve


def first_reaching(curve: list[tuple[int, float, float]], target: float) -> tuple[int, float] | None:
    for n, s, hv in curve:
        if hv >= target:
            return n, s
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=120)
    args = ap.parse_args()
    points, presets, cfg = load_grid(args.workdir)
    norm = Normaliser(list(points.values()))
    grid_hv = hypervolume(list(points.values()), norm)
    grid_s = grid_cost(points)
    target = 0.95 * grid_hv
    curves: dict[str, list[list[tuple[int, float, float]]]] = {}
    for sampler in SAMPLERS:
        curves[sampler] = [replay(sampler, seed, args.trials, points, presets, cfg, norm) for seed in range(args.seeds)]
        print(sampler, [c[-1][2] / grid_hv for c in curves[sampler]], flush=True)
    (RESULTS / "search_efficiency.json").write_text(json.dumps(
        {"grid_hv": grid_hv, "grid_seconds": grid_s, "n_points": len(points), "curves": curves}, indent=None))
    plot(curves, grid_hv, grid_s, RESULTS / "search_efficiency.png")
    report(args, points, grid_hv, grid_s, target, curves)


def plot(curves, grid_hv: float, grid_s: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colours = {"nsga2": "tab:blue", "tpe": "tab:orange", "random": "tab:green"}
    styles = {"nsga2": "-", "tpe": "--", "random": ":"}  # NSGA-II's first generation is random: curves overlap
    for sampler, runs in curves.items():
        for k, c in enumerate(runs):
            n, s, hv = zip(*c, strict=True)
            rel = np.array(hv) / grid_hv
            kw = {"color": colours[sampler], "ls": styles[sampler], "alpha": 0.7, "label": sampler if k == 0 else None}
            axes[0].plot(n, rel, **kw)
            axes[1].plot(np.array(s) / 60, rel, **kw)
    for ax in axes:
        ax.axhline(0.95, color="k", ls="--", lw=0.8)
        ax.set_ylabel("hypervolume / grid hypervolume")
        ax.set_ylim(0, 1.05)
    axes[0].set_xlabel("trials")
    axes[1].axvline(grid_s / 16 / 60, color="r", ls=":", lw=1, label="grid time / 16")
    axes[1].set_xlabel("single-worker minutes (measured phase costs, caches)")
    axes[0].legend()
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def report(args, points, grid_hv, grid_s, target, curves) -> None:
    md = header("Search efficiency against the exhaustive grid (replayed on the grid's stored results)",
                f"python bench/search_efficiency.py --workdir {args.workdir} --seeds {args.seeds} "
                f"--trials {args.trials}")
    feasible = sum(p.feasible for p in points.values())
    md += (f"\nGrid: {len(points)} design points ({feasible} feasible), hypervolume {grid_hv:.4f}, "
           f"**{grid_s / 60:.1f} single-worker minutes** (trainings {sum_unique(points, 'train') / 60:.1f}, "
           f"g++ + C-sim {sum_unique(points, 'numeric') / 60:.1f}, everything else "
           f"{sum(p.rest_s for p in points.values()) / 60:.1f}). Target: 95 % of its hypervolume in "
           f"<= {grid_s / 16 / 60:.1f} min (1/16).\n\n")
    md += ("| sampler | seeds reaching 95 % | trials to 95 % (median) | minutes to 95 % (median) | "
           "time / grid time (median) | final HV / grid HV (median, "
           f"{args.trials} trials) |\n|---|---|---|---|---|---|\n")
    for sampler, runs in curves.items():
        hits = [first_reaching(c, target) for c in runs]
        ok = [h for h in hits if h]
        med_n = statistics.median(h[0] for h in ok) if ok else math.nan
        med_s = statistics.median(h[1] for h in ok) if ok else math.nan
        final = statistics.median(c[-1][2] / grid_hv for c in runs)
        md += (f"| {sampler} | {len(ok)}/{len(runs)} | {med_n:g} | {med_s / 60:.1f} | "
               f"1/{grid_s / med_s:.1f} | {final:.3f} |\n" if ok else
               f"| {sampler} | 0/{len(runs)} | - | - | - | {final:.3f} |\n")
    md += "\nPer seed (trials, minutes) to 95 %: " + "; ".join(
        f"{s}: " + ", ".join(f"({h[0]}, {h[1] / 60:.1f})" if h else "never" for h in
                             (first_reaching(c, target) for c in runs)) for s, runs in curves.items()) + "\n"
    md += bound_analysis(points, grid_s)
    md += "\n![hypervolume curves](bench/results/search_efficiency.png)\n"
    write_result("search_efficiency", md)


def bound_analysis(points: dict[tuple, Point], grid_s: float) -> str:
    """What any search strategy must at least pay to reach 95 %: the modes it needs and their trainings."""
    ps = list(points.values())
    norm = Normaliser(ps)
    grid_hv = hypervolume(ps, norm)
    by_mode: dict[str, list[Point]] = {}
    for p in ps:
        by_mode.setdefault(str(dict(p.key[1:]).get("quantization.mode")), []).append(p)
    lines = [f"{m} points alone reach {hypervolume(v, norm) / grid_hv:.1%} of the grid's hypervolume" for m, v in
             sorted(by_mode.items())]
    text = "\nWhere the time goes: " + "; ".join(lines) + ". "
    ptq, qat = by_mode.get("ptq", []), by_mode.get("qat", [])
    if ptq and qat and hypervolume(ptq, norm) < 0.95 * grid_hv:
        float_s = min(p.train_s for p in ptq)
        qat_s = min(p.train_s for p in qat)
        floor = float_s + qat_s
        text += (f"So 95 % needs PTQ points (one float training, {float_s:.0f} s) *and* at least one QAT model (the "
                 f"cheapest QAT training took {qat_s:.0f} s): any strategy, even one that knew the answer, spends at "
                 f"least {floor / 60:.1f} min before its first useful QAT point, i.e. 1/{grid_s / floor:.1f} of the "
                 f"grid's time at best, against the 1/16 target.\n")
    return text


def sum_unique(points: dict[tuple, Point], what: str) -> float:
    seen: dict[Any, float] = {}
    for p in points.values():
        if what == "train":
            seen[p.model] = p.train_s
        else:
            seen[p.numeric] = p.numeric_s
    return sum(seen.values())


if __name__ == "__main__":
    main()

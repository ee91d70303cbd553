"""The exhaustive grid that mirrors the paper's hand scans, run with ``dse run`` at the paper size.

PTQ integer bits {4, 6, 8} x fractional bits 2..16 and QAT total bits 4..16 (``--qat-step``), each
crossed with three parallelism presets (per-layer Resource reuse factors, below). One study per
preset (``lfads-grid-<preset>``), all in one SQLite database and one shared model/HLS cache, so the
three share every training and every C simulation (reuse factors do not change the numbers, see
dse.hls.csim_cache). This is the paper-size study dse is built to run, and the ground truth of
``bench/search_live.py``, which runs the samplers live against it.

Usage:
  python bench/search_grid.py --workdir /tmp/dse-grid [--seed-models DIR] [--workers 2] [--qat-step 2]

``--seed-models`` links already-trained models (a model cache directory, e.g. the one
``bench/paper_scans.py --workdir`` leaves) into the shared cache; their training seconds, measured
when they were trained, stay in their ``train.json`` and are reported separately.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header_from_meta, run_meta, write_json, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# Per-layer reuse factors (all valid for the Resource strategy at the paper size, see examples/paper.yaml).
PRESETS: dict[str, dict[str, int]] = {
    # fully folded: every product at its largest valid reuse factor
    "folded": {"reuse_factor_encoder": 70, "recurrent_reuse_factor_encoder": 64, "reuse_factor_ic": 128,
               "reuse_factor_generator": 64, "recurrent_reuse_factor_generator": 64, "reuse_factor_factors": 64,
               "reuse_factor_logrates": 4},
    # half-way
    "balanced": {"reuse_factor_encoder": 35, "recurrent_reuse_factor_encoder": 16, "reuse_factor_ic": 32,
                 "reuse_factor_generator": 16, "recurrent_reuse_factor_generator": 16, "reuse_factor_factors": 16,
                 "reuse_factor_logrates": 2},
    # as parallel as the estimator says the U55C holds at 16 bits, nearly: 100.5 % of its DSPs, 101 % of its BRAM
    "fast": {"reuse_factor_encoder": 10, "recurrent_reuse_factor_encoder": 8, "reuse_factor_ic": 8,
             "reuse_factor_generator": 8, "recurrent_reuse_factor_generator": 8, "reuse_factor_factors": 8,
             "reuse_factor_logrates": 2},
    # "fast" with the encoder's input product folded further (RF 14): fits at 16 bits (92 % DSP, 93 % BRAM)
    "fast-fit": {"reuse_factor_encoder": 14, "recurrent_reuse_factor_encoder": 8, "reuse_factor_ic": 8,
                 "reuse_factor_generator": 8, "recurrent_reuse_factor_generator": 8, "reuse_factor_factors": 8,
                 "reuse_factor_logrates": 2},
}


def study_name(preset: str) -> str:
    return f"lfads-grid-{preset}"


def grid_presets(workdir: Path) -> list[str]:
    """The presets the grid in ``workdir`` has run, in order."""
    return [r["preset"] for r in json.loads((workdir / "grid_runs.json").read_text())["rows"]]


def grid_results(workdir: Path) -> Iterator[tuple[str, Any, Any]]:
    """``(preset, Optuna trial, stored TrialResult)`` for every trial of the grid's studies with a result."""
    import optuna

    from storage import open_storage

    st = open_storage(f"sqlite:///{workdir / 'grid.db'}")
    for preset in grid_presets(workdir):
        name = study_name(preset)
        for t in optuna.load_study(study_name=name, storage=st.optuna).trials:
            r = st.project.load_result(name, t.number)
            if r is not None:
                yield preset, t, r


def study_yaml(preset: str, db: Path, workers: int, qat_step: int) -> dict:
    base = yaml.safe_load((ROOT / "examples" / "paper.yaml").read_text())
    qat_points = len(range(4, 17, qat_step))
    base.update({
        "name": study_name(preset),
        "storage": {"url": f"sqlite:///{db}"},
        "quantization": {"mode": {"choices": ["ptq", "qat"]}, "ptq_integer_bits": {"choices": [4, 6, 8]},
                         "ptq_fractional_bits": {"low": 2, "high": 16},
                         "qat_total_bits": {"low": 4, "high": 16, "step": qat_step}, "qat_integer_bits": 3,
                         # real sigmoid/tanh (tables), as bench/paper_scans.py trained them
                         "qat_activations": "real"},
        "hls": {"reuse_factor": 1, **PRESETS[preset], "strategy": "resource", "io_type": "io_parallel",
                "table_size": 1024},
        "sampler": {"name": "grid", "seed": 0},
        "n_trials": 45 + qat_points,
        "execution": {"workers": workers, "cpus_per_trial": 1, "max_retries": 1, "trial_timeout_s": 7200},
    })
    return base


def seed_cache(cache: Path, models: Path | None) -> list[dict]:
    (cache / "models").mkdir(parents=True, exist_ok=True)
    seeded = []
    if models is None:
        return seeded
    for entry in sorted(models.iterdir()):
        info = entry / "train.json"
        if not info.is_file():
            continue
        link = cache / "models" / entry.name
        if not link.exists():
            link.symlink_to(entry.resolve(), target_is_directory=True)
        d = json.loads(info.read_text())
        seeded.append({"key": entry.name, "quant": d["model"]["quant"], "train_seconds": d["train_seconds"],
                       "epochs": d["epochs"]})
    return seeded


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--seed-models", type=Path, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--qat-step", type=int, default=2)
    ap.add_argument("--presets", nargs="*", default=list(PRESETS))
    args = ap.parse_args()
    work = args.workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    db = work / "grid.db"
    cache = work / "shared-cache"
    seeded = seed_cache(cache, args.seed_models)
    dse = Path(sys.executable).with_name("dse")
    done = work / "grid_runs.json"
    previous = json.loads(done.read_text()) if done.exists() else {"rows": [], "seeded": []}
    rows = [r for r in previous["rows"] if r["preset"] not in args.presets]  # a later run of a preset replaces it
    for preset in args.presets:
        cfg = study_yaml(preset, db, args.workers, args.qat_step)
        path = work / f"grid-{preset}.yaml"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        runs = work / "runs" / cfg["name"]
        runs.mkdir(parents=True, exist_ok=True)
        if not (runs / "cache").exists():
            (runs / "cache").symlink_to(cache, target_is_directory=True)
        t0 = time.perf_counter()
        # its own HLS/C-sim cache too (not ~/.cache/dse): the grid pays for every simulation it reports
        env = {**os.environ, "DSE_CACHE_DIR": os.environ.get("DSE_CACHE_DIR", str(work / "hls-cache"))}
        proc = subprocess.run([str(dse), "run", str(path), "--no-progress"], cwd=work, env=env)
        wall = time.perf_counter() - t0
        rows.append({"preset": preset, "wall_s": wall, "rc": proc.returncode, **summarise(db, cfg["name"]),
                     "meta": run_meta()})  # a later invocation may rerun other presets: each row says who ran it
        print(json.dumps(rows[-1]), flush=True)
        done.write_text(json.dumps({"rows": rows, "seeded": seeded or previous["seeded"]}, indent=1))
    seeded = seeded or previous["seeded"]
    data = {"meta": run_meta(), "workdir": str(args.workdir), "workers": args.workers, "qat_step": args.qat_step,
            "rows": rows, "seeded": seeded}
    write_json("search_grid", data)
    write_result("search_grid", report(data))


def summarise(db: Path, name: str) -> dict:
    import optuna

    from storage import open_storage

    st = open_storage(f"sqlite:///{db}")
    study = optuna.load_study(study_name=name, storage=st.optuna)
    states: dict[str, int] = {}
    phases: dict[str, float] = {}
    trained = csim_reused = 0
    for t in study.trials:
        states[t.state.name] = states.get(t.state.name, 0) + 1
        r = st.project.load_result(name, t.number)
        if r is None:
            continue
        for k, v in r.timings.items():
            phases[k] = phases.get(k, 0.0) + float(v)
        trained += int(r.cache.get("model") is False)
        csim_reused += int(bool(r.cache.get("csim")))
    return {"states": states, "phase_sums_s": {k: round(v, 1) for k, v in sorted(phases.items())},
            "trainings_run": trained, "csim_reused": csim_reused, "pareto": len(study.best_trials)}


def report(data: dict) -> str:
    """The markdown of one grid run, every number read from its JSON (bench/results/search_grid.json)."""
    rows, seeded = data["rows"], data["seeded"]
    md = header_from_meta("The paper-size grid study (dse run, estimator backend)", data["meta"], "search_grid.json")
    runs = {(r.get("meta") or {}).get("command", "unknown (a row of an earlier script version)"):
            (r.get("meta") or {}).get("commit", "unknown") for r in rows}
    if list(runs) != [data["meta"]["command"]]:
        md += "- presets run by:\n" + "".join(f"  - `{c}` at commit {k}\n" for c, k in runs.items())
    md += ("\nOne `dse run` per parallelism preset (grid sampler, local Ray, "
           f"{data['workers']} workers x 1 CPU, SQLite); the studies share one model/HLS/C-sim cache (the first "
           "one to need a training or a C simulation pays for it).\n\n")
    md += ("| study | wall time | trials by state | trainings run | C-sim reused | Pareto size "
           "| sum of phase seconds |\n|---|---|---|---|---|---|---|\n")
    for r in rows:
        ph = ", ".join(f"{k} {v:.0f}" for k, v in r["phase_sums_s"].items() if v >= 1)
        md += (f"| {study_name(r['preset'])} | {r['wall_s'] / 60:.1f} min | {r['states']} | {r['trainings_run']} | "
               f"{r['csim_reused']} | {r['pareto']} | {ph} |\n")
    total = sum(r["wall_s"] for r in rows)
    md += f"\nTotal wall time of the grid: **{total / 60:.1f} min**"
    if seeded:
        md += (" plus the trainings linked in from an earlier run (not repeated here), measured when they ran: "
               + "; ".join(f"{'float' if s['quant'] is None else 'QAT ' + str(s['quant']['bits']) + ' bits'} "
                           f"{s['train_seconds']:.0f} s" for s in seeded))
    md += ".\n"
    return md


if __name__ == "__main__":
    main()

"""The SNN decoder study on the default synthetic data: Pareto front, wall time,
trial cost per phase, and what training and synthesis caching saved.

The study is bench/snn_decoder_study.yaml (12 grid points: hidden {32, 64} x PTQ weight bits {4, 6, 8} x
scan {full, event}, checked GHDL + Yosys synthesis for xc7a35t). ``--run`` runs it with ``dse run``
(runs folder: $DSE_RUNS_DIR, default /tmp/bench-snn/runs); without it the stored results are reported.

Caching: a trial whose float model came from the model cache (``cache.model``) avoided a training,
estimated as the median train-phase seconds of the trials that trained the same network; a trial whose
synthesis came from the synthesis cache (``cache.synthesis``) avoided the cost-phase seconds of the trial
that synthesized the same design (same network and bits). ``--rerun`` also re-runs the same grid as a
second study (``<name>-rerun``) whose cache folder starts as a copy of the first study's: every trial then
hits both caches, which measures a cached trial's cost.

Usage: python bench/snn_decoder_study.py [--run] [--rerun] [--wall-seconds S]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, header, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "bench" / "snn_decoder_study.yaml"
PHASES = ("data", "preflight", "train", "quantize", "integer_model", "lower", "cost", "total")
DSE = [sys.executable, "-m", "dse.cli"]


def runs_dir() -> Path:
    return Path(os.environ.get("DSE_RUNS_DIR", "/tmp/bench-snn/runs"))


def run_study(study: Path) -> float:
    env = {**os.environ, "DSE_RUNS_DIR": str(runs_dir())}
    t0 = time.perf_counter()
    subprocess.run([*DSE, "run", str(study), "--no-progress"], check=True, env=env, cwd=ROOT)
    return time.perf_counter() - t0


def rerun_file(study: Path) -> Path:
    """The same study under ``<name>-rerun`` (its own database), its cache a copy of the first study's."""
    import yaml

    cfg = yaml.safe_load(study.read_text())
    name = cfg["name"]
    cfg["name"] = name + "-rerun"
    cfg["storage"] = cfg["storage"].replace(".db", "-rerun.db")
    out = runs_dir().parent / (cfg["name"] + ".yaml")
    out.write_text(yaml.safe_dump(cfg, sort_keys=False))
    src, dst = runs_dir() / name / "cache", runs_dir() / cfg["name"] / "cache"
    if not dst.exists():
        shutil.copytree(src, dst)
    return out


def load(study: Path):
    from dse.study import load_study, storage_url
    from storage.db import open_storage

    cfg = load_study(str(study))
    st = open_storage(storage_url(cfg))
    df = st.project.results(cfg.name)
    results = {int(n): st.project.load_result(cfg.name, int(n)) for n in df["number"]}
    return cfg, df, results


def _med(xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f}" if xs else "–"


def network_key(r) -> tuple:
    p = r.params
    return tuple(sorted((k, str(v)) for k, v in p.items() if not k.startswith(("quantization", "hdl", "scan"))
                        and "weight_bits" not in k and k not in ("scan",)))


def design_key(r) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in r.params.items()))


def phase_table(results: dict, title: str) -> tuple[list[str], dict]:
    done = {n: r for n, r in results.items() if r and r.status == "complete"}
    md = [f"{title} ({len(done)} complete trials): median seconds per phase (min–max)\n",
          "| trials | " + " | ".join(PHASES) + " |", "|---" * (1 + len(PHASES)) + "|"]
    groups = {"all": list(done.values()),
              "trained (model cache miss)": [r for r in done.values() if not r.cache.get("model")],
              "model from cache": [r for r in done.values() if r.cache.get("model")],
              "synthesized (synthesis cache miss)": [r for r in done.values() if not r.cache.get("synthesis")],
              "synthesis from cache": [r for r in done.values() if r.cache.get("synthesis")]}
    stats = {}
    for label, rs in groups.items():
        if not rs:
            continue
        cells = []
        for ph in PHASES:
            xs = [r.timings[ph] for r in rs if ph in r.timings]
            cells.append(f"{_med(xs)} ({min(xs):.1f}–{max(xs):.1f})" if xs else "–")
            stats[(label, ph)] = statistics.median(xs) if xs else None
        md.append(f"| {label} ({len(rs)}) | " + " | ".join(cells) + " |")
    return md, stats


def caching(results: dict, base: dict | None = None) -> list[str]:
    """``base``: the study whose trials did the work (for a re-run whose every trial hit the caches)."""
    done = [r for r in results.values() if r and r.status == "complete"]
    train_by_net: dict[tuple, list[float]] = {}
    cost_by_design: dict[tuple, list[float]] = {}
    for r in [r for r in (base or results).values() if r and r.status == "complete"]:
        if not r.cache.get("model"):
            train_by_net.setdefault(network_key(r), []).append(r.timings.get("train", 0.0))
        if not r.cache.get("synthesis"):
            cost_by_design.setdefault(design_key(r), []).append(r.timings.get("cost", 0.0))
    m_hits = [r for r in done if r.cache.get("model")]
    s_hits = [r for r in done if r.cache.get("synthesis")]
    all_train = [t for ts in train_by_net.values() for t in ts]
    saved_t = sum(statistics.median(train_by_net.get(network_key(r)) or all_train or [0.0]) for r in m_hits)
    waited_t = sum(r.timings.get("train", 0.0) for r in m_hits)
    all_cost = [t for ts in cost_by_design.values() for t in ts]
    saved_s = sum(statistics.median(cost_by_design.get(design_key(r)) or all_cost or [0.0]) for r in s_hits)
    waited_s = sum(r.timings.get("cost", 0.0) for r in s_hits)
    total = sum(r.timings.get("total", 0.0) for r in done)
    return [f"- trials with a model-cache hit: {len(m_hits)} of {len(done)} ({len(train_by_net)} float trainings in the study that trained "
            f"for {len(done)} trials); training avoided ≈ {saved_t:.0f} s (per hit: the median train phase of the "
            f"trials that trained the same network); the hits' own train phases (loading the model, or waiting "
            f"for a concurrent trial that was training the same network) sum to {waited_t:.0f} s, so the net "
            f"saving in trial seconds is ≈ {saved_t - waited_t:.0f} s",
            f"- trials with a synthesis-cache hit: {len(s_hits)} of {len(done)}; synthesis avoided ≈ {saved_s:.0f} s "
            f"(per hit: the cost phase of the trial that synthesized the same design, else the median cost phase "
            f"of all synthesizing trials); the hits' own cost phases sum to {waited_s:.0f} s",
            *(["- no synthesis-cache hit is possible within this grid: every point (network x weight bits x scan) "
               "is a different HDL design; the synthesis cache pays off when a study is resumed, re-run or "
               "repeats a design (`--rerun` measures that: see the re-run below)"]
              if not s_hits else []),
            f"- sum of the trials' own seconds: {total:.0f} s; without the caches ≈ "
            f"{total + saved_t - waited_t + saved_s - waited_s:.0f} s"]


def study_wall(df) -> float:
    import pandas as pd

    s = pd.to_datetime(df["started_at"]).min()
    if pd.isna(s):
        s = pd.to_datetime(df["created_at"]).min()
    f = pd.to_datetime(df["finished_at"]).max()
    return (f - s).total_seconds()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", default=str(STUDY))
    ap.add_argument("--run", action="store_true", help="run the study (dse run) before reporting")
    ap.add_argument("--rerun", action="store_true", help="also run the same grid with a copy of the caches")
    ap.add_argument("--wall-seconds", type=float, default=None,
                    help="the measured wall time of a `dse run` done outside this script")
    ap.add_argument("--rerun-wall-seconds", type=float, default=None)
    args = ap.parse_args()
    study = Path(args.study)
    wall = run_study(study) if args.run else args.wall_seconds
    rerun = rerun_file(study) if args.rerun or args.rerun_wall_seconds is not None else None
    rerun_wall = args.rerun_wall_seconds
    if args.rerun:
        rerun_wall = run_study(rerun)
    cfg, df, results = load(study)
    pareto = subprocess.run([*DSE, "pareto", str(study)], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "200"}).stdout
    status = subprocess.run([*DSE, "status", str(study)], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "200"}).stdout
    n_done = sum(1 for r in results.values() if r and r.status == "complete")
    md = [header("SNN decoder study on the default synthetic data (dse run, Yosys synthesis)",
                 "python bench/snn_decoder_study.py " + " ".join(sys.argv[1:])),
          "- note: 2 cores shared with other agents' processes (other sessions' tests and benchmarks ran at the "
          "same time; 1-minute load average 7.9-17.7 in `uptime` samples during the run); the study ran as `DSE_RUNS_DIR=/tmp/bench-snn/runs dse run bench/snn_decoder_study.yaml` (wall time measured around it), the re-run with `--rerun`; seconds are wall-clock under that load",
          f"- study: `{study.relative_to(ROOT)}` — data: synthetic, default options (170 trials x 73 bins x 70 "
          "neurons), split_seed 0 (136/17/17); 1 recurrent LIF layer (k_beta=2), current input (2 bits), 100 "
          "epochs; grid hidden {32, 64} x PTQ weight bits {4, 6, 8} x scan {full, event}; backend `yosys` "
          "(GHDL -> Yosys synth_xilinx, latch check, gate-level netlist simulated = integer reference), "
          "xc7a35t at 10 ns; 2 workers (Ray), 1 CPU each",
          f"- wall time of `dse run`: {f'{wall:.0f} s' if wall else '–'} (first trial start to last trial end "
          f"in the database: {study_wall(df):.0f} s; it includes Ray's start); {n_done} of {len(df)} trials complete\n",
          "- latency: a bin's closed-loop latency at 100 MHz, from its first input beat to its output (the worst bin "
          "of the 17 test trials; `latency_per: bin`, exact: reference.step_latency); event-scan cycles depend on "
          "the input spikes (the column `cycles` is the worst bin). Runs before c1e6858 recorded a whole trial's "
          "cycles here, and their hardware raised out_valid only when a pipeline stage ended: in a closed loop a "
          "bin's output then waited for the next bin's inputs\n",
          "### Pareto front (`dse pareto`)\n", "```", pareto.strip(), "```", "",
          "### All trials\n",
          "| trial | hidden | W | M/F | scan | R² bin (integer) | R² bin (float) | latency µs | cycles | LUT | FF | "
          "BRAM18 | model cache | synthesis cache |", "|---" * 14 + "|"]
    for n, r in sorted(results.items()):
        if not r or r.status != "complete":
            md.append(f"| {n} | {r.status if r else '?'} ({(r.fail_reason or '')[:80] if r else ''}) |")
            continue
        p, hw = r.params, r.hardware or {}
        q = r.accuracy.get("quantization", {})
        md.append(f"| {n} | {p.get('model.hidden_units', p.get('hidden_units'))} | "
                  f"{p.get('quantization.weight_bits', p.get('weight_bits'))} | "
                  f"{q.get('membrane_bits', '?'):.0f}/{q.get('frac_bits', '?'):.0f} | {p.get('hdl.scan', p.get('scan'))} | "
                  f"{r.objectives.get('behavior_r2_bin', float('nan')):.4f} | "
                  f"{r.accuracy.get('float', {}).get('behavior_r2_bin', float('nan')):.4f} | "
                  f"{hw.get('latency_us', float('nan')):.1f} | {hw.get('latency_cycles', '–')} | {hw.get('lut')} | "
                  f"{hw.get('ff')} | {hw.get('bram_18k')} | {'hit' if r.cache.get('model') else 'trained'} | "
                  f"{'hit' if r.cache.get('synthesis') else 'synthesized'} |")
    ptab, _ = phase_table(results, "### Trial cost per phase")
    md += ["", *ptab, "", "### Caching", "", *caching(results)]
    if rerun is not None:
        _, rdf, rres = load(rerun)
        rtab, _ = phase_table(rres, f"#### The same grid re-run with a copy of the caches (study `{rerun.stem}`)")
        md += ["", f"Re-run: wall time {f'{rerun_wall:.0f} s' if rerun_wall else '–'} (database: "
               f"{study_wall(rdf):.0f} s) against {f'{wall:.0f} s' if wall else '–'} for the first run.", "",
               *rtab, "", *caching(rres, base=results)]
    md += ["", "<details><summary>dse status</summary>\n", "```", status.strip(), "```", "</details>", ""]
    write_result("snn_decoder_study", "\n".join(md))
    _ = RESULTS


if __name__ == "__main__":
    main()

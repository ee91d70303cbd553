"""Estimate-then-verify against synthesis in every trial, on the SNN decoder study.

The same 12-point grid (bench/snn_decoder_study.yaml: hidden {32, 64} x PTQ weight bits {4, 6, 8} x scan
{full, event}, xc7a35t at 10 ns, 2 workers) runs twice with ``dse run``, each with a fresh database, runs
folder and caches:

* ``synthesis``: ``hardware.backend: yosys`` — checked Yosys synthesis (GHDL, synth_xilinx, latch check,
  gate-level netlist simulation equal to the integer reference) in every trial;
* ``estimate-verify``: the SNN family's default — ``hdl-estimate`` costs every trial, and the designs that
  enter the front are verified with the same checked Yosys synthesis as Ray tasks beside the trials
  (``hardware.verify.top_k`` = the number of trials, so every design of the front gets verified, not only
  the best 3 of the default).

Reported: wall time of each ``dse run`` (the ratio is the claim), the number of syntheses each ran, and the
two fronts as ``dse pareto --format json`` shows them (verified numbers where they exist): the same designs
(parameters) with the same numbers, and every row of the estimate-then-verify front verified.

    python bench/snn_verify_front.py [--modes estimate-verify synthesis] [--out snn_verify_front]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, git_rev, load_average, machine, run_study  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "bench" / "snn_decoder_study.yaml"
MODES = ("estimate-verify", "synthesis")


def study_for(mode: str, base: dict, folder: Path) -> Path:
    """The bench study in ``mode``, its database in ``folder``."""
    cfg = json.loads(json.dumps(base))
    cfg["name"] = f"snn-verify-{mode}"
    cfg["storage"] = f"sqlite:///{folder / 'study.db'}"
    hardware = {k: v for k, v in cfg["hardware"].items() if k in ("part", "clock_ns")}
    if mode == "synthesis":
        hardware["backend"] = "yosys"
    else:  # the family's default backend (hdl-estimate) and verification, every front design verified
        hardware["verify"] = {"backend": "yosys", "top_k": int(cfg["n_trials"])}
    cfg["hardware"] = hardware
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


class LoadSampler(threading.Thread):
    """1-minute load averages every ``every`` seconds while a run lasts."""

    def __init__(self, every: float = 30.0) -> None:
        super().__init__(daemon=True)
        self.every, self.samples, self._stop = every, [], threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(round(os.getloadavg()[0], 2))

    def stop(self) -> list[float]:
        self._stop.set()
        return self.samples


def run_mode(mode: str, base: dict) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"dse-verify-bench-{mode}-"))
    study = study_for(mode, base, folder)
    sampler = LoadSampler()
    sampler.start()
    try:
        wall, front = run_study(study, folder / "runs")
    finally:
        loads = sampler.stop()
    return {"mode": mode, "wall_seconds": wall, "syntheses": count_syntheses(study), "front": front,
            "load_1min_samples": loads, "folder": str(folder)}


def count_syntheses(study: Path) -> dict:
    """Trials and verifications of the study, and how many of each ran a Yosys synthesis."""
    from dse.study import load_study, storage_url
    from storage.db import open_storage

    cfg = load_study(str(study))
    st = open_storage(storage_url(cfg))
    df = st.project.results(cfg.name)
    results = [st.project.load_result(cfg.name, int(n)) for n in df["number"]]
    trials_synth = sum(1 for r in results if r and r.status == "complete" and r.hardware.get("backend") == "yosys")
    done = st.verifications.done(cfg.name)
    return {"trials": len(results), "trials_synthesized": trials_synth, "verifications": len(done)}


PARAMS = ("model.hidden_units", "quantization.weight_bits", "hdl.scan")


def design(row: dict) -> tuple:
    """A front row's design point: its grid parameters (``dse pareto --format json`` nests them in params)."""
    return tuple(row["params"].get(p) for p in PARAMS)


def compare(runs: dict[str, dict]) -> dict:
    """Same designs on both fronts, with the same numbers; the estimate-then-verify front all verified."""
    a, b = runs["synthesis"]["front"], runs["estimate-verify"]["front"]
    da, db = {design(r): r for r in a}, {design(r): r for r in b}
    same = sorted(set(da) & set(db), key=str)
    metrics = ("behavior_r2_bin", "latency_us", "lut")
    diffs = {str(d): {m: (da[d].get(m), db[d].get(m)) for m in metrics if da[d].get(m) != db[d].get(m)}
             for d in same}
    return {"same_designs": set(da) == set(db), "only_synthesis": [str(d) for d in set(da) - set(db)],
            "only_estimate_verify": [str(d) for d in set(db) - set(da)],
            "numbers_differ": {d: v for d, v in diffs.items() if v},
            "estimate_verify_rows_verified": sum(1 for r in b if r.get("hardware_source") == "Yosys synthesis"),
            "estimate_verify_rows": len(b),
            "wall_ratio": runs["estimate-verify"]["wall_seconds"] / runs["synthesis"]["wall_seconds"]}


def render(res: dict) -> str:
    runs, c = res["runs"], res["comparison"]
    lines = ["## SNN: estimate-then-verify vs synthesis in every trial (snn_decoder_study grid)", "",
             f"- command: `{res['command']}`", f"- machine: {res['machine']}",
             f"- date: {res['date']}, commit {res['commit']}", f"- load average at the end: {res['load']}", "",
             "Study: bench/snn_decoder_study.yaml (12 grid points, 2 workers, xc7a35t at 10 ns), run twice with a "
             "fresh database, runs folder and caches: `synthesis` = checked Yosys synthesis in every trial; "
             "`estimate-verify` = the SNN family's default (`hdl-estimate` in every trial, the front's designs "
             "verified by the same checked Yosys synthesis; top_k = 12 so that every front design is verified). "
             "Wall time is that of `dse run` (Ray's start included).", "",
             "| mode | wall time s | trials | trials synthesized | verifications | 1-min load during the run (min-max) |",
             "|---|---|---|---|---|---|"]
    for mode in MODES:
        if mode not in runs:
            continue
        r = runs[mode]
        s = r["syntheses"]
        ld = r["load_1min_samples"] or [0.0]
        lines.append(f"| {mode} | {r['wall_seconds']:.0f} | {s['trials']} | {s['trials_synthesized']} | "
                     f"{s['verifications']} | {min(ld):.1f}-{max(ld):.1f} |")
    if c:
        lines += ["", f"- wall-time ratio estimate-verify / synthesis: {c['wall_ratio']:.2f} "
                      f"(goal <= 0.25: {'met' if c['wall_ratio'] <= 0.25 else 'not met'})",
                  f"- same front designs: {'yes' if c['same_designs'] else 'no'}"
                  + (f" (only with synthesis: {c['only_synthesis']}; only with estimate-verify: "
                     f"{c['only_estimate_verify']})" if not c["same_designs"] else ""),
                  f"- shared front designs whose numbers differ: {len(c['numbers_differ'])}"
                  + (f" {c['numbers_differ']}" if c["numbers_differ"] else ""),
                  f"- estimate-verify front rows verified by Yosys: {c['estimate_verify_rows_verified']} of "
                  f"{c['estimate_verify_rows']}"]
        ev, sy = runs["estimate-verify"]["syntheses"], runs["synthesis"]["syntheses"]
        lines.append(f"- syntheses run: estimate-verify {ev['verifications']} verifications for {ev['trials']} designs, "
                     f"synthesis {sy['trials_synthesized']}: every design the estimate put on its front at some "
                     "point was verified (top_k = all), so the wall time can only shrink as far as the estimate's "
                     "front is smaller than the grid")
        if res.get("comparison_note"):
            lines.append(f"- {res['comparison_note']}")
    if res.get("timing_note"):
        lines += ["", f"**Timing caveat:** {res['timing_note']}"]
    for mode in MODES:
        if mode not in runs:
            continue
        lines += ["", f"### Front, {mode} (`dse pareto --format json`)", "",
                  "| hidden | W | scan | behavior_r2_bin | latency_us | lut | hardware_source | estimate_lut |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in sorted(runs[mode]["front"], key=lambda r: str(design(r))):
            h, w, s = design(r)
            lines.append(f"| {h} | {w} | {s} | {r.get('behavior_r2_bin', 0):.4f} | {r.get('latency_us', 0):.2f} | "
                         f"{r.get('lut', 0):.0f} | {r.get('hardware_source', '')} | {r.get('estimate_lut', '')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--out", default="snn_verify_front")
    ap.add_argument("--from-json", help="re-render the markdown of a saved run")
    args = ap.parse_args(argv)
    if args.from_json:
        res = json.loads(Path(args.from_json).read_text())
        if set(MODES) <= set(res["runs"]):
            res["comparison"] = compare(res["runs"])  # recomputed from the stored fronts
            res["comparison_note"] = (f"comparison recomputed from the stored fronts by `python bench/snn_verify_front.py "
                                      f"--from-json {args.from_json}` at commit {git_rev()}")
            Path(args.from_json).write_text(json.dumps(res, indent=1, default=str))
    else:
        base = yaml.safe_load(STUDY.read_text())
        res = {"command": "python " + " ".join(shlex.quote(a) for a in ["bench/snn_verify_front.py", *sys.argv[1:]]),
               "commit": git_rev(), "machine": machine(),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": {}}
        for mode in args.modes:
            res["runs"][mode] = run_mode(mode, base)
            (RESULTS / f"{args.out}.json").write_text(json.dumps(res, indent=1, default=str))
        res["load"] = load_average()
        res["comparison"] = compare(res["runs"]) if set(MODES) <= set(res["runs"]) else None
        (RESULTS / f"{args.out}.json").write_text(json.dumps(res, indent=1, default=str))
    (RESULTS / f"{args.out}.md").write_text(render(res))
    print((RESULTS / f"{args.out}.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a study's own calibration does to its estimates: error of the raw estimate vs the calibrated one,
against the real tool's report of the same design.

Input: finished studies whose designs have a real report — the trial's own report when the study's backend
is a real tool (``hardware.backend: yosys``), or a verification (``hardware.verify`` / ``dse verify``). The
estimate of each such design is the study's stored estimate when its backend is the estimator, otherwise the
estimator re-run on the trial's rebuilt design (``dse.verify.task.recost``, the same code a verification
runs). Two ways to use the study's calibration (``dse.verify.calibration.fit``, the one ``dse pareto``
applies), so no design is predicted from its own report:

* ``sequential``: design i (in trial order) corrected by the calibration of the designs before it (what a
  running study does to its later estimates; from the third design on, the first two give no calibration);
* ``leave-one-out``: design i corrected by the calibration of every other design.

Errors are relative, |estimate - real| / real, per hardware metric (designs whose real number is 0 skipped).

    DSE_RUNS_DIR=<the study's runs folder> python bench/verify_calibration.py STUDY.yaml [...] [--estimator hdl-estimate]
    python bench/verify_calibration.py --from-bench bench/results/snn_verify_front.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import RESULTS, git_rev, load_average, machine  # noqa: E402

METRICS = ("lut", "ff", "bram_18k", "dsp", "latency_us")


def pairs_of(study_file: str, estimator: str) -> tuple[str, list[dict]]:
    """(study name, [{trial, estimate, real}] in trial order) of the study's designs with a real report."""
    import optuna

    from dse.study import load_study, storage_url
    from dse.verify.task import recost, request_of
    from dse.verify.view import report_metrics
    from storage.db import open_storage

    cfg = load_study(study_file)
    st = open_storage(storage_url(cfg))
    study = optuna.load_study(study_name=cfg.name, storage=st.optuna)
    verified = st.verifications.done(cfg.name)
    out = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.state.name != "COMPLETE" or t.user_attrs.get("duplicate_of") is not None:
            continue
        result = st.project.load_result(cfg.name, t.number)
        if result is None or not result.hardware:
            continue
        own = result.hardware
        if t.number in verified:
            real, estimate = verified[t.number].hardware, own
        elif own.get("backend") != estimator:
            real, estimate = own, recost(request_of(cfg, st, study, t.number), estimator)
        else:
            continue  # an estimate nobody verified
        if estimate.get("backend") != estimator:
            continue
        out.append({"trial": t.number, "params": dict(t.params),
                    "estimate": report_metrics(estimate), "real": report_metrics(real)})
    return cfg.name, out


def errors(pairs: list[dict]) -> dict:
    from dse.verify.calibration import fit

    def rel(est: float, real: float) -> float:
        return abs(est - real) / real

    rows = []
    for i, p in enumerate(pairs):
        before = fit([(q["estimate"], q["real"]) for q in pairs[:i]])
        others = fit([(q["estimate"], q["real"]) for j, q in enumerate(pairs) if j != i])
        row = {"trial": p["trial"]}
        for m in METRICS:
            est, real = p["estimate"].get(m), p["real"].get(m)
            if not real or est is None:
                continue
            row[m] = {"real": real, "estimate": est, "raw": rel(est, real),
                      "sequential": rel(before.apply({m: est})[m], real) if before else None,
                      "loo": rel(others.apply({m: est})[m], real) if others else None}
        rows.append(row)
    summary = {}
    for m in METRICS:
        cells = [r[m] for r in rows if m in r]
        if not cells:
            continue
        seq = [c for c in cells if c["sequential"] is not None]
        summary[m] = {"designs": len(cells),
                      "raw_median": statistics.median(c["raw"] for c in cells),
                      "loo_median": statistics.median(c["loo"] for c in cells if c["loo"] is not None),
                      "sequential_designs": len(seq),
                      "sequential_raw_median": statistics.median(c["raw"] for c in seq) if seq else None,
                      "sequential_median": statistics.median(c["sequential"] for c in seq) if seq else None}
    return {"rows": rows, "summary": summary}


def render(res: dict) -> str:
    lines = ["## A study's own calibration of its estimates (raw vs calibrated error against the real report)", "",
             f"- command: `{res['command']}`", f"- machine: {res['machine']}",
             f"- date: {res['date']}, commit {res['commit']}", f"- load average at the end: {res['load']}", "",
             "Estimator: `" + res["estimator"] + "`; real numbers: checked Yosys synthesis of the same designs. "
             "Calibration: `dse.verify.calibration` (one ratio per metric, the geometric mean of real/estimate), "
             "fitted on other designs of the same study only: `sequential` = the designs before it in trial order "
             "(what a running study applies to its later estimates), `leave-one-out` = every other design. "
             "Median relative error |estimate - real| / real.", ""]
    for s in res["studies"]:
        lines += [f"### {s['study']} ({len(s['pairs'])} designs with a real report)", "",
                  f"Study file `{s['file']}` (run before this with `dse run`; its header says how).", "",
                  "| metric | designs | raw median | leave-one-out median | sequential: designs | raw median on them | sequential median |",
                  "|---|---|---|---|---|---|---|"]
        for m, v in s["errors"]["summary"].items():
            def pct(x):
                return "–" if x is None else f"{100 * x:.1f} %"
            lines.append(f"| {m} | {v['designs']} | {pct(v['raw_median'])} | {pct(v['loo_median'])} | "
                         f"{v['sequential_designs']} | {pct(v['sequential_raw_median'])} | {pct(v['sequential_median'])} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("studies", nargs="*", help="study files (their runs folder in $DSE_RUNS_DIR)")
    ap.add_argument("--from-bench", help="the studies of a bench/snn_verify_front.py run (its JSON)")
    ap.add_argument("--estimator", default="hdl-estimate")
    ap.add_argument("--out", default="verify_calibration")
    args = ap.parse_args(argv)
    jobs: list[tuple[str, str]] = [(s, os.environ.get("DSE_RUNS_DIR", "")) for s in args.studies]
    if args.from_bench:
        bench = json.loads(Path(args.from_bench).read_text())
        jobs += [(str(Path(r["folder"]) / "study.yaml"), str(Path(r["folder"]) / "runs"))
                 for r in bench["runs"].values()]
    if not jobs:
        ap.error("give study files or --from-bench")
    studies = []
    for study_file, runs in jobs:
        if runs:
            os.environ["DSE_RUNS_DIR"] = runs
        name, pairs = pairs_of(study_file, args.estimator)
        studies.append({"study": name, "file": study_file, "pairs": pairs, "errors": errors(pairs)})
    res = {"command": "python " + " ".join(shlex.quote(a) for a in ["bench/verify_calibration.py", *sys.argv[1:]]),
           "commit": git_rev(), "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load": load_average(), "estimator": args.estimator, "studies": studies}
    (RESULTS / f"{args.out}.json").write_text(json.dumps(res, indent=1, default=str))
    (RESULTS / f"{args.out}.md").write_text(render(res))
    print(render(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The SNN reuse factor inside a `dse run` study, run by dse itself into a fresh database and runs folder.

Default: bench/snn_reuse_study.yaml (256-128-10 on digits16, R = 16, full scan, checked Yosys synthesis in the
trial), results in bench/results/snn_reuse_study.json (quoted by bench/snn_reuse's markdown). With
``--study examples/snn-digits16.yaml --out snn_digits16_front`` it runs the example that searches R with the
weight bits and the scan (the SNN default: the calibrated estimate in every trial, checked Yosys synthesis of
the front's best designs) and renders its front as bench/results/snn_digits16_front.md.

The study file is copied into a new temporary folder (its default storage, sqlite beside the file, is then a
new database) and run with DSE_RUNS_DIR in that folder, so nothing cached by an earlier run is reused; then
`dse pareto --format json` gives the rows. The JSON records the command, commit, machine, date, load before
and after, and the wall time of `dse run` (under the machine's load: see load).

    python bench/snn_reuse_study.py [--study FILE] [--out NAME] [--keep DIR]
    python bench/snn_reuse_study.py --out NAME --from-json    # re-render the markdown of a saved run
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    RESULTS,
    command_line,
    load_average,
    machine,
    read_json,
    run_study_copy,
)

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "bench" / "snn_reuse_study.yaml"


def run(study_src: Path, keep: Path | None) -> dict:
    """`dse run` then `dse pareto --format json` of a copy of ``study_src`` in a new folder."""
    r = run_study_copy(study_src, keep, "snn_reuse_study_")
    try:
        rel = str(study_src.resolve().relative_to(ROOT))
    except ValueError:
        rel = str(study_src)
    return {"command": command_line(), "commit": r["commit"], "machine": machine(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_start": r["load_start"],
            "load": load_average(), "wall_seconds": r["wall_seconds"],
            "wall_note": "wall time of `dse run` (training, quantization, costing, checked synthesis) on the shared "
                         "machine under the load recorded",
            "study": rel, "study_sha256": hashlib.sha256(study_src.read_bytes()).hexdigest()[:16],
            "dse_commands": [f"DSE_RUNS_DIR=<new folder>/runs dse run <new folder>/{study_src.name} --no-progress",
                             f"dse pareto <new folder>/{study_src.name} --format json",
                             f"dse status <new folder>/{study_src.name}"],
            "status": r["status"], "rows": r["rows"]}


def _num(v, fmt: str) -> str:
    return format(v, fmt) if isinstance(v, int | float) else "-"


def render(name: str, data: dict) -> str:
    """The front of the run as a markdown section; every figure read from ``data``."""
    rows = data["rows"]
    verified = [r for r in rows if r.get("hardware_source") == "Yosys synthesis"]
    lines = [f"## SNN reuse factor searched by a `dse run` study ({data['study']})", "",
             f"- command: `{data['command']}`", f"- machine: {data['machine']}",
             f"- date: {data['date']}, commit {data['commit']}",
             f"- load average at the start / end (1/5/15 min): {data['load_start']} / {data['load']}",
             f"- numbers read from: bench/results/{name}.json", "",
             f"`dse run` wall time {data['wall_seconds']:,.0f} s ({data['wall_note']}). The study's front, as "
             "`dse pareto --format json` gives it: hardware numbers from checked Yosys synthesis where "
             "`hardware_source` says so (the estimate it replaced beside it), otherwise the calibrated estimate. "
             f"{len(verified)} of {len(rows)} front rows verified by Yosys.", "",
             "| trial | R | scan | weight bits | integer accuracy | latency us | LUT | FF | BRAM36 | hardware_source "
             "| estimate LUT |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r.get("latency_us") or 0)):
        p = r.get("params", {})  # dse pareto --format json nests the trial's parameters
        lines.append(
            f"| {r['number']} | {p.get('hdl.reuse_factor', '-')} | {p.get('hdl.scan', '-')} "
            f"| {p.get('quantization.weight_bits', '-')} "
            f"| {_num(r.get('integer_accuracy'), '.4f')} | {_num(r.get('latency_us'), ',.1f')} "
            f"| {_num(r.get('lut'), ',.0f')} | {_num(r.get('ff'), ',.0f')} "
            f"| {_num((r.get('bram_18k') or 0) / 2, 'g')} | {r.get('hardware_source', '-')} "
            f"| {_num(r.get('estimate_lut'), ',.0f')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, default=STUDY, help="the study file (default: %(default)s)")
    ap.add_argument("--out", default="snn_reuse_study", help="results name in bench/results (default: %(default)s)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="run in this new folder and keep it (default: a temporary folder, removed at the end)")
    ap.add_argument("--from-json", action="store_true", help="only re-render bench/results/OUT.md from OUT.json")
    args = ap.parse_args()
    if args.from_json:
        data = read_json(args.out, f"python bench/snn_reuse_study.py --out {args.out} --study FILE")
    else:
        if not args.study.is_file():
            sys.exit(f"--study {args.study}: no such file")
        if args.keep is not None and args.keep.exists():
            sys.exit(f"--keep {args.keep}: already exists (the study must start from an empty database)")
        data = run(args.study, args.keep)
        out = RESULTS / f"{args.out}.json"
        out.write_text(json.dumps(data, indent=1) + "\n")
        print(f"written to {out}: {len(data['rows'])} Pareto row(s), dse run {data['wall_seconds']:.0f} s",
              file=sys.stderr)
    if args.out != "snn_reuse_study":  # that one is quoted by bench/snn_reuse's markdown, not a section
        (RESULTS / f"{args.out}.md").write_text(render(args.out, data))
        print(render(args.out, data))


if __name__ == "__main__":
    main()

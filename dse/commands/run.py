"""``dse run study.yaml``: start or resume a study."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start or resume a study")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--no-progress", action="store_true", help="no live progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dse.commands._study import load
    from dse.driver import run_study

    cfg = load(args.study)
    for w in cfg.warnings:
        print(f"warning: {w}", file=sys.stderr)
    s = run_study(cfg, progress=not args.no_progress, ray_address=args.address)
    print(f"study {s.study_name}: {s.complete} complete, {s.pruned} pruned, {s.failed} failed "
          f"({s.this_run} run now, {s.retried} re-queued); Pareto front: {s.pareto_size} design(s)")
    print(f"results: {s.storage}")
    print(f"artifacts: {s.paths.trials}")
    for f in s.failures[-5:]:
        print(f"  failed {f}")
    if s.interrupted:
        print(f"interrupted: the database is consistent; resume with: dse run {args.study}", file=sys.stderr)
        return 130
    print(f"next: dse pareto {args.study}  |  dse status {args.study}  |  dse dashboard {args.study}")
    return 0

"""``dse export study.yaml --trial N -o DIR``: a deployable package of one trial."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export one trial as a deployable hls4ml package")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--trial", type=int, required=True, help="trial number (see `dse pareto`)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the package directory (new or empty)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dse.commands._study import load, open_study
    from dse.export import export_trial

    cfg = load(args.study)
    st, study = open_study(cfg)
    out = export_trial(cfg, st, study, args.trial, args.output, force=args.force)
    print(f"exported trial {args.trial} to {out}; see {out / 'README.md'}")
    return 0

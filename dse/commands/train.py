"""``dse train [--family NAME] ...``: train one model of a family with its default recipe and report it.

The options after ``--family`` are the family's own (:meth:`dse.families.base.Family.add_train_arguments`),
so the parser is built for the family named on the command line (default: the default family).
"""

from __future__ import annotations

import argparse
import json

from dse.families import DEFAULT_FAMILY, family_names, get_family
from dse.families.records import TrainRequest


def _family_in(argv: list[str] | None) -> str:
    args = argv or []
    for i, a in enumerate(args):
        if a == "--family" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--family="):
            return a.split("=", 1)[1]
    return DEFAULT_FAMILY


def add_parser(sub: argparse._SubParsersAction, argv: list[str] | None = None) -> None:
    name = _family_in(argv)
    p = sub.add_parser("train", help="train one model with a family's default recipe and report its metrics")
    p.add_argument("--family", default=DEFAULT_FAMILY, choices=family_names(),
                   help=f"model family (default {DEFAULT_FAMILY}); the options below are its own")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object on the last line")
    if name in family_names():
        get_family(name).add_train_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = {k: v for k, v in vars(args).items() if k not in ("family", "func", "json", "command")}
    report = get_family(args.family).train(TrainRequest(args.family, options))
    print(json.dumps(dict(report.metrics), default=str) if args.json else "\n".join(report.lines))
    return 0

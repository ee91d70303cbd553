"""``dse dashboard study.yaml``: optuna-dashboard on the study's storage (127.0.0.1 by default)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="start optuna-dashboard on the study's storage")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from optuna_dashboard import run_server

    from dse.commands._study import load, open_study

    cfg = load(args.study)
    st, _ = open_study(cfg)
    print(f"optuna-dashboard for {cfg.name} ({st.redacted_url}) on http://{args.host}:{args.port}/")
    run_server(st.optuna, host=args.host, port=args.port)
    return 0

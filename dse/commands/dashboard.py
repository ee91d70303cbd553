"""``dse dashboard study.yaml``: optuna-dashboard on the study's storage and artifact store.

Serves the study's database (SQLite or PostgreSQL) and its artifact store (``runs/<study>/artifacts``,
where the driver uploads each trial's files: :mod:`dse.driver.dashboard_notes`), on 127.0.0.1 by
default. A study written by an older dse gets its metric names here too (the dashboard would otherwise
call the objectives "Objective 0", ...).
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="start optuna-dashboard on the study's storage and artifacts")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from optuna_dashboard import run_server

    from dse.commands._study import load, open_study
    from dse.driver.dashboard_notes import artifact_dir, artifact_store, set_metric_names
    from dse.driver.paths import study_paths

    cfg = load(args.study)
    st, study = open_study(cfg)
    set_metric_names(study, study.user_attrs.get("objectives") or cfg.objective_names)
    root = study_paths(cfg).root
    store = artifact_store(root, create=artifact_dir(root).parent.exists())
    print(f"optuna-dashboard for {cfg.name} ({st.redacted_url}; artifacts: {artifact_dir(root)}) "
          f"on http://{args.host}:{args.port}/", flush=True)
    run_server(st.optuna, host=args.host, port=args.port, artifact_store=store)
    return 0

"""``dse status study.yaml``: progress, failures with reasons, best trials."""

from __future__ import annotations

import argparse
from collections import Counter


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="progress, failures and best trials of a study")
    p.add_argument("study", help="the study file (YAML)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from dse.commands._study import load, open_study
    from objectives.pareto import study_pareto

    cfg = load(args.study)
    st, study = open_study(cfg)
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name for t in trials)
    con = Console()
    con.print(f"[bold]{cfg.name}[/bold] in {st.redacted_url}")
    from objectives.designs import is_duplicate

    n_dup = sum(is_duplicate(t) for t in trials)
    con.print("trials: " + ", ".join(f"{k.lower()} {v}" for k, v in sorted(states.items()))
              + (f" (target {cfg.n_trials} design points)" if cfg.n_trials else "")
              + (f"; {n_dup} repeated an earlier design point (not evaluated again, not counted)" if n_dup else ""))
    failed = [t for t in trials if t.state.name in ("FAIL", "PRUNED")]
    if failed:
        t = Table(title="failed / pruned trials")
        t.add_column("trial", justify="right")
        t.add_column("state")
        t.add_column("reason")
        for tr in failed[-20:]:
            t.add_row(str(tr.number), tr.state.name.lower(), str(tr.user_attrs.get("fail_reason", "")))
        con.print(t)
    from dse.cost.registry import hardware_source
    from objectives.designs import shared_by

    front = study_pareto(study)
    sharing = shared_by(trials)
    t = Table(title=f"Pareto front ({len(front)} designs)")
    t.add_column("trial", justify="right")
    for name in cfg.objective_names:
        t.add_column(name, justify="right")
    t.add_column("hardware from")
    t.add_column("params")
    t.add_column("same design")
    for tr in front:
        t.add_row(str(tr.number), *[f"{v:.4g}" for v in tr.values], hardware_source(tr.user_attrs),
                  ", ".join(f"{k.split('.')[-1]}={v}" for k, v in tr.params.items()),
                  ", ".join(map(str, sharing.get(tr.number, []))))
    con.print(t)
    return 0

"""``dse status study.yaml``: progress, failures with reasons, best trials."""

from __future__ import annotations

import argparse
from collections import Counter

#: Front designs ``dse status`` shows, best first (a large study's front has hundreds; `dse pareto` has them all).
FRONT_ROWS = 25


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="progress, failures and best trials of a study")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--front-rows", type=int, default=FRONT_ROWS, metavar="N",
                   help=f"show the front's N best designs (default {FRONT_ROWS}; 0: all; `dse pareto` lists all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from dse.commands._study import load, open_study

    cfg = load(args.study)
    st, study = open_study(cfg)
    from dse.verify.view import rank, verified_front, view_attrs

    trials = st.read_trials(cfg.name, user_attrs=view_attrs(cfg))
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
    from objectives.designs import shared_by

    front, hardware = verified_front(cfg, st, study, trials)
    sharing = shared_by(trials)
    limit = getattr(args, "front_rows", FRONT_ROWS)
    shown_front = rank(front, hardware.values, cfg.directions)[:limit] if limit > 0 else front
    title = f"Pareto front ({len(front)} designs)"
    if len(shown_front) < len(front):
        title += f": the {len(shown_front)} best by {cfg.objective_names[0]} (ties by the next objectives)"
    t = Table(title=title)
    t.add_column("trial", justify="right")
    for name in cfg.objective_names:
        t.add_column(name, justify="right")
    t.add_column("hardware from")
    t.add_column("params")
    t.add_column("same design")
    for tr in shown_front:
        shown = hardware.trials.get(tr.number)
        values = hardware.values.get(tr.number, tr.values)
        cells = [f"{v:.4g}" + _replaced(shown, name) for v, name in zip(values, cfg.objective_names, strict=True)]
        t.add_row(str(tr.number), *cells, shown.source if shown else "?",
                  ", ".join(f"{k.split('.')[-1]}={v}" for k, v in tr.params.items()),
                  ", ".join(map(str, sharing.get(tr.number, []))))
    con.print(t)
    if len(shown_front) < len(front):
        con.print(f"{len(front) - len(shown_front)} more front designs: `dse pareto {args.study}` lists them all "
                  "(or --front-rows 0)")
    _verification_lines(con, cfg, st, hardware)
    return 0


def _replaced(shown, metric: str) -> str:
    """`` (est. X)``: the estimate a verified or calibrated number replaced."""
    if shown is None or metric not in shown.estimate:
        return ""
    return f" (est. {shown.estimate[metric]:.4g})"


def _verification_lines(con, cfg, st, hardware) -> None:
    """How many designs are verified (and by what), and the calibration the estimates get."""
    rows = st.verifications.rows(cfg.name)
    if not rows and cfg.verify is None:
        return
    by_status = Counter(v.status for v in rows)
    backend = cfg.verify.backend if cfg.verify is not None else ", ".join(sorted({v.backend for v in rows}))
    con.print(f"verification ({backend}): " + (", ".join(f"{k} {v}" for k, v in sorted(by_status.items()))
                                               or "none yet"))
    if hardware.calibration is not None:
        hw = [o for o in cfg.objective_names if o in hardware.calibration.ratios]
        con.print(f"estimates {hardware.calibration.line(hw)}")
    elif cfg.verify is not None and cfg.verify.calibrate:
        con.print("estimates not calibrated yet (needs 2 verified designs)")

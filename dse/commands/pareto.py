"""``dse pareto study.yaml``: the feasible Pareto front with parameters and every metric.

Each hardware objective whose stored report states an uncertainty (the estimator's cross-validated error) has a
``<metric>_err`` column beside it: the relative error (0.24 = +-24 %), so a user sees which numbers are
solid; csv/json/parquet carry every ``*_err`` column. With ``hardware.verify`` (or after ``dse verify``) the
front is that of the real numbers where a verification has them (:mod:`dse.verify.view`): ``hardware_source``
says per row where its numbers come from, and ``estimate_<metric>`` keeps each estimate a real (or calibrated)
number replaced.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dse.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pareto", help="the Pareto front of a study")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    p.add_argument("-o", "--output", type=Path, default=None, help="write to this file instead of stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from dse.commands._study import load, open_study, trial_rows
    from dse.verify.view import verified_front, view_attrs

    if args.format == "parquet" and args.output is None:
        raise ConfigError("command line", "parquet needs an output file", "--output")
    if args.output is not None and not args.output.parent.resolve().is_dir():
        raise ConfigError(str(args.output), "directory does not exist", "--output")
    cfg = load(args.study)
    st, study = open_study(cfg)
    trials = st.read_trials(cfg.name, user_attrs=view_attrs(cfg))
    front, hardware = verified_front(cfg, st, study, trials)
    rows = trial_rows(cfg, st, front, trials, hardware)
    if args.format == "json":
        text = json.dumps(rows, indent=1, default=str)
        return _emit(text, args.output)
    flat = pd.DataFrame([{**{k: v for k, v in r.items() if k not in ("params", "values", "same_design")},
                          "same_design": " ".join(map(str, r["same_design"])),
                          **{f"param_{k}": v for k, v in r["params"].items()}} for r in rows])
    if args.format == "csv":
        return _emit(flat.to_csv(index=False), args.output)
    if args.format == "parquet":
        flat.to_parquet(args.output, index=False)
        print(f"written {len(flat)} rows to {args.output}", file=sys.stderr)
        return 0
    objectives = [c for name in cfg.objective_names for c in (name, f"{name}_err", f"estimate_{name}")
                  if c == name or c in flat.columns]
    shown = [c for c in ("latency_per", "hardware_source") if c in flat.columns]
    cols = ["number", *objectives, *shown] + [c for c in flat.columns if c.startswith("param_")]
    if len(flat) and flat["same_design"].str.len().any():
        cols.append("same_design")  # trials that repeated the design point (not evaluated again)
    text = flat[cols].to_string(index=False) if len(flat) else "(the Pareto front is empty)"
    return _emit(text + "\n", args.output)


def _emit(text: str, output: Path | None) -> int:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text)
        print(f"written to {output}", file=sys.stderr)
    return 0

"""``dse compare a.yaml b.yaml ...``: the Pareto fronts of several studies (any families) side by side.

For each study its feasible Pareto front (each distinct design once) is read from its database; the
union is ranked again over accuracy (``--metric``), latency and LUTs, and printed as one table (or CSV /
JSON) plus a plot (``-o DIR``). Every row says where its hardware numbers come from (the cost backend:
hls4ml estimate, Vitis/Vivado report, Yosys synthesis, nextpnr post-route) and whether the model is
causal (can decode bin by bin in a closed loop). Studies on different data or splits are refused: the
accuracies would not be comparable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from dse.cost.registry import hardware_source
from dse.errors import ConfigError

AXES = ("latency_us", "lut")
#: The hardware numbers each row shows (verified, calibrated or estimated: ``hardware_source`` says which).
HW_COLUMNS = ("latency_us", "lut", "ff", "dsp", "bram_18k")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="the Pareto fronts of several studies (families) side by side")
    p.add_argument("studies", nargs="+", type=Path, help="study files (YAML), two or more")
    p.add_argument("--metric", default="behavior_r2_bin",
                   help="the accuracy metric to compare (default behavior_r2_bin: per bin, as a decoder runs)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("-o", "--output", type=Path, default=None, help="directory for compare.png/.html/.csv")
    p.add_argument("--allow-different-data", action="store_true", help="compare studies on different data")
    p.set_defaults(func=run)


def rows(studies: list[Path], metric: str, allow_different_data: bool = False) -> list[dict[str, Any]]:
    from dse.commands._study import load, open_study
    from dse.families import get_family, objective_registry
    from dse.verify.view import verified_front
    from objectives.pareto import nondominated

    if len(studies) < 2:
        raise ConfigError("command line", "give at least two study files", "studies")
    try:
        direction = objective_registry().get(metric).sign
    except KeyError as e:
        raise ConfigError("command line", str(e.args[0]), "--metric") from None
    out: list[dict[str, Any]] = []
    data0 = None
    for path in studies:
        cfg = load(str(path))
        spec = json.dumps(cfg.data.spec(), sort_keys=True)
        if data0 is None:
            data0 = (spec, cfg.source)
        elif spec != data0[0] and not allow_different_data:
            raise ConfigError(cfg.source, f"its data or split differ from {data0[1]}'s: accuracies would not be "
                              "comparable (--allow-different-data to compare anyway)", "data")
        family = get_family(cfg.family)
        space = cfg.search_space()  # a design point's fixed settings too (whether it is causal, say)
        st, study = open_study(cfg)
        front, hardware = verified_front(cfg, st, study)
        results = st.project.load_results(cfg.name, [t.number for t in front])
        for t in front:
            result = results.get(t.number)
            if result is None or result.hardware is None:
                continue
            shown = hardware.trials.get(t.number)
            hw = dict(shown.metrics) if shown is not None and shown.estimate else result.hardware
            acc = result.objectives.get(metric)
            if acc is None:
                raise ConfigError(cfg.source, f"trial {t.number} has no {metric!r} (family {cfg.family!r} "
                                  f"measures {', '.join(family.metrics)})", "--metric")
            out.append({"study": cfg.name, "family": cfg.family, "trial": t.number, metric: acc,
                        **{k: hw[k] for k in HW_COLUMNS}, "part": result.hardware["part"],
                        "hardware_source": shown.source if shown is not None else hardware_source(result.hardware),
                        **{f"estimate_{k}": v for k, v in (shown.estimate if shown else {}).items() if k in HW_COLUMNS},
                        "latency_per": result.hardware.get("latency_per", "inference"),
                        "causal": family.is_causal(space.resolve(t.params)), "params": dict(t.params)})
    if out:
        vals = np.array([[-direction * r[metric], r["latency_us"], r["lut"]] for r in out], dtype=float)
        for r, keep in zip(out, nondominated(vals), strict=True):
            r["joint_front"] = bool(keep)
    return sorted(out, key=lambda r: (not r.get("joint_front"), -direction * r[metric]))


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    table = rows(args.studies, args.metric, args.allow_different_data)
    if not table:
        raise ConfigError("command line", "no complete, feasible design in these studies yet", "studies")
    flat = pd.DataFrame([{k: v for k, v in r.items() if k != "params"} for r in table])
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        flat.to_csv(args.output / "compare.csv", index=False)
        _plot(table, args.metric, args.output)
    if args.format == "json":
        print(json.dumps(table, default=str))
    elif args.format == "csv":
        sys.stdout.write(flat.to_csv(index=False))
    else:
        print(flat.to_string(index=False))
        kinds = sorted({str(r["latency_per"]) for r in table})
        if len(kinds) > 1:  # e.g. a causal LFADS step (per bin) beside designs that answer per trial
            print(f"note: latency_us is per {' / per '.join(kinds)} (column latency_per): not the same quantity, "
                  "so the joint front compares unlike latencies")
        if args.output is not None:
            print(f"written: {args.output / 'compare.png'}, {args.output / 'compare.html'}, "
                  f"{args.output / 'compare.csv'}")
    return 0


def _plot(table: list[dict[str, Any]], metric: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.express as px

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, x in zip(axes, AXES, strict=True):
        for (study, family), marker in zip(sorted({(r["study"], r["family"]) for r in table}), "osd^v<>", strict=False):
            pts = [r for r in table if r["study"] == study]
            ax.scatter([r[x] for r in pts], [r[metric] for r in pts], marker=marker,
                       label=f"{study} ({family}{', causal' if all(r['causal'] for r in pts) else ''})")
            for r in pts:
                ax.annotate(r["hardware_source"].split()[0], (r[x], r[metric]), fontsize=6, alpha=0.7)
        ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Pareto fronts side by side (labels: where the hardware numbers come from)")
    fig.tight_layout()
    fig.savefig(out / "compare.png", dpi=120)
    plt.close(fig)
    px.scatter(table, x="latency_us", y=metric, size=[max(1.0, float(r["lut"])) ** 0.5 for r in table],
               color="study", symbol="hardware_source", log_x=True,
               hover_data=["family", "trial", "lut", "ff", "dsp", "bram_18k", "causal", "part"]).write_html(
        out / "compare.html")

"""``dse plot study.yaml -o DIR``: Pareto-front pictures (PNG and HTML) and parameter importances."""

from __future__ import annotations

import argparse
import itertools
import warnings
from pathlib import Path

from dse.errors import ConfigError
from objectives.constraints import UserAttrConstraints


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="Pareto-front and parameter-importance plots")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("-o", "--output", type=Path, required=True, help="directory for the pictures")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as ovm

    from dse.commands._study import load, open_study

    cfg = load(args.study)
    _, study = open_study(cfg)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not complete:
        raise ConfigError(cfg.source, "no complete trials to plot yet", "trials")
    out = args.output
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(str(out), f"cannot create the directory: {e.strerror}", "--output") from None
    names = cfg.objective_names
    written = []
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    cfunc = UserAttrConstraints(len(cfg.constraints)) if cfg.constraints else None
    for i, j in itertools.combinations(range(len(names)), 2):
        tag = f"pareto_{names[i]}_vs_{names[j]}"
        targets = lambda t, i=i, j=j: (t.values[i], t.values[j])  # noqa: E731
        fig = optuna.visualization.plot_pareto_front(study, targets=targets, target_names=[names[i], names[j]],
                                                     constraints_func=cfunc)
        fig.write_html(out / f"{tag}.html")
        ax = ovm.plot_pareto_front(study, targets=targets, target_names=[names[i], names[j]],
                                   constraints_func=cfunc)
        ax.figure.savefig(out / f"{tag}.png", dpi=120, bbox_inches="tight")
        plt.close(ax.figure)
        written += [f"{tag}.html", f"{tag}.png"]
    if len(complete) >= 3 and any(t.params for t in complete):
        for k, name in enumerate(names):
            tag = f"importance_{name}"
            try:
                fig = optuna.visualization.plot_param_importances(study, target=lambda t, k=k: t.values[k],
                                                                  target_name=name)
                fig.write_html(out / f"{tag}.html")
                ax = ovm.plot_param_importances(study, target=lambda t, k=k: t.values[k], target_name=name)
                ax.figure.savefig(out / f"{tag}.png", dpi=120, bbox_inches="tight")
                plt.close(ax.figure)
                written += [f"{tag}.html", f"{tag}.png"]
            except (RuntimeError, ValueError) as e:  # e.g. a parameter that never varied
                print(f"skipped importance of {name}: {e}")
    print(f"wrote {len(written)} files to {out}: " + ", ".join(written))
    return 0

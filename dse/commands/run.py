"""``dse run study.yaml``: start or resume a study."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from dse.errors import ConfigError, DataError, UserInputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start or resume a study")
    p.add_argument("study", help="the study file (YAML)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--no-progress", action="store_true", help="no live progress bar")
    p.set_defaults(func=run)


def check_inputs(cfg, address: str | None = None) -> None:
    """Refuse bad input before anything is written and before Ray or TensorFlow start.

    The study file is valid once loaded, but trials would still fail one by one (or the driver crash
    after creating the database) on what only shows when used: output locations that cannot be
    created, and a data file that exists but cannot be loaded. Both are checked here, leaving nothing
    behind: the data is only read.
    """
    from dse.driver.paths import study_paths
    from dse.study.config import storage_url

    url = storage_url(cfg)  # a password variable that is not set: ConfigError
    if not (address or cfg.execution.ray_address):
        import shutil

        from dse.cost.registry import backend_class

        tool = backend_class(cfg.hardware.backend).ray_resource()
        if tool and shutil.which(tool) is None:
            raise ConfigError(cfg.source, f"the {cfg.hardware.backend!r} cost backend runs {tool}, which is not on "
                              "PATH here; install it or join a Ray cluster whose nodes offer it (--address)",
                              "hardware.backend")
    runs = study_paths(cfg).root
    if "DSE_RUNS_DIR" in os.environ:
        _check_creatable(runs, "DSE_RUNS_DIR", None)
    else:
        _check_creatable(runs, cfg.source, "artifacts")
    if url.startswith("sqlite:///"):
        _check_creatable(Path(url[len("sqlite:///"):]).parent, cfg.source, "storage")
    try:
        data = cfg.data.load()
    except UserInputError:
        raise
    except Exception as e:  # a loader that let a library error through: still the data's fault
        first = str(e).splitlines()[0] if str(e) else ""
        raise DataError(cfg.data.source, f"cannot be loaded: {type(e).__name__}: {first}") from None
    space = cfg.search_space()
    # the family's checks against the data and its environment, e.g. reuse factors against the products
    # the data sizes
    for name, problem in space.family.data_checks(space.specs, data, cfg.hardware):
        raise ConfigError(cfg.source, problem, field=name)


def _check_creatable(path: Path, where: str, field: str | None) -> None:
    """``path`` is a directory dse can write in, or could be created as one.

    Tried for real, with a temporary directory made and removed in the nearest existing ancestor:
    permission bits do not tell (root, read-only or pseudo file systems such as /proc).
    """
    existing = path.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(where, f"cannot create {path}: {existing} is not a directory", field)
    try:
        tempfile.TemporaryDirectory(prefix=".dse-probe-", dir=existing).cleanup()
    except OSError as e:
        raise ConfigError(where, f"cannot create {path}: cannot write in {existing} ({e.strerror})",
                          field) from None


def run(args: argparse.Namespace) -> int:
    from dse.commands._study import load
    from dse.driver import run_study

    cfg = load(args.study)
    check_inputs(cfg, args.address)
    for w in cfg.warnings:
        print(f"warning: {w}", file=sys.stderr)
    s = run_study(cfg, progress=not args.no_progress, ray_address=args.address)
    print(f"study {s.study_name}: {s.complete} complete, {s.pruned} pruned, {s.failed} failed "
          f"({s.this_run} run now, {s.retried} re-queued); Pareto front: {s.pareto_size} design(s)")
    print(f"results: {s.storage}")
    print(f"artifacts: {s.paths.trials}")
    if s.duplicates:
        print(f"{s.duplicates} proposed point(s) had been evaluated already: their results were reused, "
              "not counted as design points")
    if s.exhausted:
        print("the search space has no design point left that was not evaluated")
    for f in s.failures[-5:]:
        print(f"  failed {f}")
    if s.interrupted:
        print(f"interrupted: the database is consistent; resume with: dse run {args.study}", file=sys.stderr)
        return 130
    print(f"next: dse pareto {args.study}  |  dse status {args.study}  |  dse dashboard {args.study}")
    return 0

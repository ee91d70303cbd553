"""Export one trial as a deployable package: what every family writes, plus the family's payload.

Every package has ``design.json`` (the design point: Optuna params and the family's design) and
``reports/`` (accuracy.json, hardware.json, result.json); the family adds its hardware project, model
and README (:meth:`dse.families.base.Family.export`).

The package is assembled in a temporary directory beside the target and renamed into place, so a
failure leaves nothing half-written; every path written is checked to lie inside the target.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dse.errors import ConfigError
from dse.families.records import Design, DesignPoint, ExportRequest

__all__ = ["ExportRequest", "copytree_inside", "export_trial", "inside"]


def inside(root: Path, path: Path) -> Path:
    """``path``, after checking it lies inside ``root`` (no escape through ``..`` or links)."""
    root_r, path_r = root.resolve(), path.resolve()
    if root_r != path_r and root_r not in path_r.parents:
        raise ConfigError(str(path), f"refusing to write outside the export directory {root}", "--output")
    return path


def copytree_inside(src: Path, dst: Path, root: Path) -> None:
    """Copy ``src`` to ``dst`` (inside ``root``) without following links or copying build objects."""
    for p in src.rglob("*"):
        rel = p.relative_to(src)
        target = inside(root, dst / rel)
        if p.is_symlink():
            continue  # never follow links out of the cache into the package
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif p.suffix not in (".so", ".o"):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, target)


def export_trial(cfg: Any, st: Any, study: Any, number: int, out: Path, *, force: bool = False) -> Path:
    """Write trial ``number`` of the study as a package in ``out`` (see the module docstring)."""
    from dse.driver.paths import study_paths
    from dse.families import get_family

    trials = {t.number: t for t in st.read_trials(cfg.name)}
    if number not in trials:
        raise ConfigError(cfg.source, f"trial {number} does not exist (the study has trials "
                          f"0..{max(trials) if trials else -1})", "--trial")
    trial = trials[number]
    if trial.state.name != "COMPLETE":
        raise ConfigError(cfg.source, f"trial {number} is {trial.state.name.lower()}, not complete", "--trial")
    result = st.project.load_result(cfg.name, number)
    design = trial.user_attrs.get("design")
    if result is None or design is None:
        raise ConfigError(cfg.source, f"trial {number} has no stored result/design", "--trial")

    out = Path(out)
    if out.is_symlink():  # replacing it would remove the link, or write where it points, not where asked
        raise ConfigError(str(out), "is a symbolic link; give the directory it points to", "--output")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        raise ConfigError(str(out), "exists and is not an empty directory (use --force to replace)", "--output")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise ConfigError(str(out), f"parent directory {parent} does not exist", "--output")
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=parent))
    except OSError as e:
        raise ConfigError(str(out), f"cannot write there: {e.strerror}", "--output") from None
    # the stored summary is the family's own settings (and its name); the result keeps the full point it ran
    point = DesignPoint(cfg.family, dict(result.params), cfg.hardware)
    own = {k: v for k, v in design.items() if k != "family"}
    req = ExportRequest(cfg.source, cfg.name, number, Design(point, own), result, cfg.data.spec(),
                        study_paths(cfg).build_cache)
    try:
        get_family(cfg.family).export(req, work)
        (work / "design.json").write_text(json.dumps({"trial": number, "family": cfg.family, "params": trial.params,
                                                      **design}, indent=1, default=str))
        rep = inside(work, work / "reports")
        rep.mkdir()
        (rep / "accuracy.json").write_text(json.dumps(result.accuracy, indent=1, default=str))
        (rep / "hardware.json").write_text(json.dumps(result.hardware, indent=1, default=str))
        (rep / "result.json").write_text(json.dumps(result.to_dict(), indent=1, default=str))
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out

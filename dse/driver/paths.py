"""Where a study's artifacts and caches live: ``runs/<study name>/`` beside the study file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class StudyPaths:
    root: Path
    trials: Path
    model_cache: Path
    build_cache: Path


def study_paths(cfg: Any) -> StudyPaths:
    """``$DSE_RUNS_DIR/<name>`` or ``runs/<name>/`` beside the study file: trials/, cache/models/ (trained
    models), cache/hls/ (compiled or synthesised designs and simulation outputs; the folder keeps the name it
    had before families existed, so older studies keep their caches)."""
    base = Path(cfg.source).resolve().parent if cfg.source and Path(cfg.source).exists() else Path.cwd()
    root = Path(os.environ.get("DSE_RUNS_DIR", base / "runs")) / cfg.name
    return StudyPaths(root, root / "trials", root / "cache" / "models", root / "cache" / "hls")

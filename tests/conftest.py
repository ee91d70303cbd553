"""Shared fixtures. Reference material lives in ../shared beside the repository (never copied in)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DSE_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"reference material not found at {SHARED} (set DSE_SHARED_DIR)")
    return SHARED


def run_dse(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m dse.cli ARGS`` in a subprocess (as a user runs it), its output captured."""
    return subprocess.run([sys.executable, "-m", "dse.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory) -> Path:
    """A small synthetic data file (30 trials x 16 bins x 10 neurons) in the format ``--data`` reads."""
    import numpy as np

    from dse.data import load_data

    d = load_data("synthetic", n_trials=30, n_bins=16, n_neurons=10, seed=1)
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, spikes=d.spikes, behavior=d.behavior, rates=d.rates, bin_width_s=d.bin_width_s)
    return path

"""``dse train`` end to end on a small NPZ file, and its bad-input handling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dse.data import load_data


def _dse(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dse.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory) -> Path:
    d = load_data("synthetic", n_trials=30, n_bins=16, n_neurons=10, seed=1)
    path = tmp_path_factory.mktemp("data") / "small.npz"
    np.savez(path, spikes=d.spikes, behavior=d.behavior, rates=d.rates, bin_width_s=d.bin_width_s)
    return path


def test_train_json_reports_the_metrics(small_npz, tmp_path):
    r = _dse("train", "--data", str(small_npz), "--epochs", "2", "--latent", "8", "--encoder", "8", "--json",
             "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("behavior_r2", "rate_r2", "npll", "bits_per_spike", "epochs", "train_seconds"):
        assert key in report
    assert report["epochs"] == 2 and report["rate_r2"] is not None and report["npll"] > 0
    assert (tmp_path / "out" / "model.h5").is_file() and (tmp_path / "out" / "metrics.json").is_file()


def test_train_qat_json(small_npz):
    r = _dse("train", "--data", str(small_npz), "--epochs", "1", "--latent", "8", "--encoder", "8",
             "--qat-bits", "8", "--qat-integer-bits", "3", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])["qat_bits"] == 8


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--data", "/nonexistent/x.npz"], "/nonexistent/x.npz: file not found"),
        (["--qat-bits", "40"], "--qat-bits"),
        (["--qat-integer-bits", "3"], "--qat-integer-bits: needs --qat-bits"),
        (["--qat-bits", "6", "--qat-integer-bits", "6"], "integer"),
        (["--epochs", "0"], "epochs"),
    ],
)
def test_train_bad_input_is_one_line_exit_2(args, needle, tmp_path):
    r = _dse("train", *args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr[-2000:])
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("dse train: error:")]
    assert len(lines) == 1 and needle in lines[0], r.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []  # nothing written

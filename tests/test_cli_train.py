"""``dse train`` end to end on a small NPZ file, and its bad-input handling."""

from __future__ import annotations

import json

import pytest
from conftest import run_dse


def test_train_json_reports_the_metrics(small_npz, tmp_path):
    r = run_dse("train", "--data", str(small_npz), "--epochs", "2", "--latent", "8", "--encoder", "8", "--json",
             "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("behavior_r2", "rate_r2", "npll", "bits_per_spike", "epochs", "train_seconds"):
        assert key in report
    assert report["epochs"] == 2 and report["rate_r2"] is not None and report["npll"] > 0
    assert (tmp_path / "out" / "model.h5").is_file() and (tmp_path / "out" / "metrics.json").is_file()


def test_train_qat_json(small_npz):
    r = run_dse("train", "--data", str(small_npz), "--epochs", "1", "--latent", "8", "--encoder", "8",
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
    r = run_dse("train", *args, cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr[-2000:])
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("dse train: error:")]
    assert len(lines) == 1 and needle in lines[0], r.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []  # nothing written

"""bench/verify_calibration.py's error bookkeeping, on hand-computed pairs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "verify_calibration", Path(__file__).resolve().parents[1] / "bench" / "verify_calibration.py")
vc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vc)


def pair(trial: int, est: float, real: float) -> dict:
    return {"trial": trial, "estimate": {"lut": est}, "real": {"lut": real}}


def test_a_constant_ratio_is_corrected_exactly_and_no_design_predicts_itself():
    # real = 1.2 x estimate for every design: raw error 1/6 of the real number, calibrated 0
    res = vc.errors([pair(0, 100, 120), pair(1, 200, 240), pair(2, 50, 60)])
    s = res["summary"]["lut"]
    assert s["raw_median"] == pytest.approx(20 / 120)
    assert s["loo_median"] == pytest.approx(0.0, abs=1e-12)
    # sequential: only the third design has two designs before it
    assert s["sequential_designs"] == 1 and s["sequential_median"] == pytest.approx(0.0, abs=1e-12)
    assert res["rows"][0]["lut"]["sequential"] is None


def test_an_outlier_is_predicted_from_the_others_only():
    # designs 0, 1: real = 2 x estimate; design 2: real = estimate. Leave-one-out for design 2 uses ratio 2:
    # its calibrated estimate is 2 x 100 = 200 against 100 real (error 1.0), worse than raw (0.0).
    res = vc.errors([pair(0, 10, 20), pair(1, 30, 60), pair(2, 100, 100)])
    row = res["rows"][2]["lut"]
    assert row["raw"] == 0.0 and row["loo"] == pytest.approx(1.0) and row["sequential"] == pytest.approx(1.0)
    # design 0 left out: the others' ratios 2 and 1 give the geometric mean sqrt(2)
    assert res["rows"][0]["lut"]["loo"] == pytest.approx(abs(10 * 2 ** 0.5 - 20) / 20)

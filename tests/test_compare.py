"""``dse compare`` end to end: two real small studies (the numpy ``tiny`` family, real local Ray, real SQLite),
run by the CLI, compared by the CLI; the joint front is checked against a dominance count done here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability_helpers import dse, tiny_study_dict, write_study


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory) -> Path:
    """Two tiny studies over the same data: short histories at any precision, and long 12-bit histories."""
    root = tmp_path_factory.mktemp("compare")
    write_study(root, tiny_study_dict("short", n_trials=3, model={"lags": {"choices": [1, 2]}}), "short.yaml")
    write_study(root, tiny_study_dict("long", n_trials=3, model={"lags": 3},
                                      quantization={"weight_bits": 12, "frac_bits": 4}), "long.yaml")
    for name in ("short", "long"):
        r = dse("run", f"{name}.yaml", "--no-progress", cwd=root, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    return root


def test_compare_ranks_the_union_of_two_real_fronts(two_studies):
    root = two_studies
    out = root / "plots"
    r = dse("compare", "short.yaml", "long.yaml", "--metric", "behavior_r2", "--format", "json", "-o", str(out),
            cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(r.stdout)
    fronts = {name: json.loads(dse("pareto", f"{name}.yaml", "--format", "json", cwd=root).stdout)
              for name in ("short", "long")}
    # every study's own front, each design once, with the numbers its pareto command shows
    for name, front in fronts.items():
        mine = {row["trial"]: row for row in rows if row["study"] == name}
        assert set(mine) == {p["number"] for p in front}, name
        for p in front:
            assert mine[p["number"]]["behavior_r2"] == p["behavior_r2"]
            assert mine[p["number"]]["lut"] == p["lut"] and mine[p["number"]]["latency_us"] == p["latency_us"]
            assert mine[p["number"]]["hardware_source"] == "analytic model" and mine[p["number"]]["family"] == "tiny"
    assert {row["study"] for row in rows} == {"short", "long"}
    # the joint front: not dominated in (-R², latency, LUT) by any row of either study
    points = [(-row["behavior_r2"], row["latency_us"], row["lut"]) for row in rows]
    for row, p in zip(rows, points, strict=True):
        assert row["joint_front"] == (not any(_dominates(q, p) for q in points)), row
    assert rows[0]["joint_front"]  # the joint front first
    assert {p.name for p in out.iterdir()} == {"compare.png", "compare.html", "compare.csv"}
    assert len((out / "compare.csv").read_text().splitlines()) == len(rows) + 1


def test_compare_refuses_studies_on_other_data_and_unknown_metrics(two_studies):
    root = two_studies
    other = tiny_study_dict("short", n_trials=3, model={"lags": {"choices": [1, 2]}})
    other["data"]["options"]["seed"] = 1
    write_study(root, other, "other.yaml")
    r = dse("compare", "short.yaml", "other.yaml", cwd=root)
    assert r.returncode == 2
    assert "other.yaml" in r.stderr and "data or split differ" in r.stderr
    r = dse("compare", "short.yaml", "long.yaml", "--metric", "nope", cwd=root)
    assert r.returncode == 2 and "--metric" in r.stderr

"""No wasted trials: a repeated design point neither runs nor counts, and Pareto output lists it once."""

from __future__ import annotations

import json

import optuna
from reliability_helpers import dse, tiny_study_dict, write_study


def _study(tmp_path, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / (name + '.db')}")


def test_a_repeated_point_is_not_run_not_counted_and_listed_once(tmp_path):
    # 2 x 2 = 4 distinct points; random sampling with n_trials 4 repeats points long before it has seen all 4
    study = tiny_study_dict("dups", n_trials=4, sampler={"name": "random", "seed": 3},
                            model={"lags": {"choices": [1, 2]}}, quantization={"weight_bits": 8, "frac_bits": 4},
                            hardware_model={"parallel_macs": {"choices": [1, 4]}})
    write_study(tmp_path, study)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    s = _study(tmp_path, "dups")
    trials = s.get_trials(deepcopy=False)
    originals = [t for t in trials if t.user_attrs.get("duplicate_of") is None]
    duplicates = [t for t in trials if t.user_attrs.get("duplicate_of") is not None]
    assert duplicates, "seed 3 proposes a repeated point (the test needs one)"
    # every distinct point evaluated exactly once, and all four of them: duplicates did not use the budget
    assert len(originals) == 4 and len({tuple(sorted(t.params.items())) for t in originals}) == 4
    for d in duplicates:
        orig = s.trials[d.user_attrs["duplicate_of"]]
        assert d.params == orig.params and d.values == orig.values and d.state == orig.state
        stored = json.loads((tmp_path / "runs" / "dups" / "trials").joinpath(f"{orig.number:05d}",
                                                                             "result.json").read_text())
        assert stored["status"] == "complete"
        assert not (tmp_path / "runs" / "dups" / "trials" / f"{d.number:05d}").exists()  # never ran
    assert "were reused, not counted" in r.stdout
    rows = json.loads(dse("pareto", "study.yaml", "--format", "json", cwd=tmp_path).stdout)
    numbers = [row["number"] for row in rows]
    assert not set(numbers) & {d.number for d in duplicates}  # each design once
    shared = {row["number"]: row["same_design"] for row in rows}
    for d in duplicates:
        if d.user_attrs["duplicate_of"] in shared:
            assert d.number in shared[d.user_attrs["duplicate_of"]]  # naming the trials that share it
    status = dse("status", "study.yaml", cwd=tmp_path).stdout
    assert "repeated an earlier design point" in " ".join(status.split())  # rich wraps lines


def test_a_finite_space_ends_when_every_point_is_evaluated(tmp_path):
    study = tiny_study_dict("small", n_trials=10, model={"lags": {"choices": [1, 2]}},
                            quantization={"weight_bits": 8, "frac_bits": 4}, hardware_model={"parallel_macs": 2})
    write_study(tmp_path, study)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    assert "no design point left" in r.stdout
    trials = _study(tmp_path, "small").get_trials(deepcopy=False)
    assert len([t for t in trials if t.user_attrs.get("duplicate_of") is None]) == 2


def test_a_point_proposed_while_it_runs_waits_for_that_trial(tmp_path):
    """Two points, two workers, 3-second trials: a trial proposed while another runs its point takes that
    trial's result when it finishes instead of running it again."""
    study = tiny_study_dict("wait", n_trials=2, train_seconds=3, model={"lags": {"choices": [2, 3]}},
                            quantization={"weight_bits": 8, "frac_bits": 4}, hardware_model={"parallel_macs": 2},
                            execution={"workers": 2}, sampler={"name": "random", "seed": 1})
    write_study(tmp_path, study)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    s = _study(tmp_path, "wait")
    trials = s.get_trials(deepcopy=False)
    originals = [t for t in trials if t.user_attrs.get("duplicate_of") is None]
    assert sorted(t.params["model.lags"] for t in originals) == [2, 3]
    assert all(t.state.name == "COMPLETE" for t in trials)
    waited = [t for t in trials if t.user_attrs.get("duplicate_of") is not None]
    assert waited, "seed 1 proposes the running point again (the test needs one)"
    for d in waited:
        assert d.values == s.trials[d.user_attrs["duplicate_of"]].values
        assert not (tmp_path / "runs" / "wait" / "trials" / f"{d.number:05d}").exists()

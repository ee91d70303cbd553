"""Verifying the front (``hardware.verify``, ``dse verify``) and the per-study calibration.

End to end on the ``tiny`` family (real local Ray, real SQLite), with the test-only backend of
``verify_helpers`` standing in for a real tool: its numbers are known functions of the estimate, so every
expected number below is computed here from the stored estimate, and the front by a dominance count here.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from pathlib import Path

import pytest
import yaml
from reliability_helpers import tiny_study_dict, write_study
from verify_helpers import NAME, backend_registered, expected_real

from dse.errors import ConfigError
from dse.study import StudyConfigError, parse_study

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True, scope="module")
def _test_backend():
    with backend_registered():
        yield


# -- calibration ----------------------------------------------------------------------------------------

def test_calibration_is_the_geometric_mean_ratio_with_its_spread():
    from dse.verify.calibration import fit

    pairs = [({"lut": 100.0, "latency_us": 1.0, "dsp": 0.0}, {"lut": 200.0, "latency_us": 3.0, "dsp": 5.0}),
             ({"lut": 50.0, "latency_us": 2.0, "dsp": 0.0}, {"lut": 200.0, "latency_us": 6.0, "dsp": 0.0})]
    cal = fit(pairs)
    assert cal.designs == 2 and set(cal.ratios) == {"lut", "latency_us"}  # zeros carry no ratio
    # LUT ratios 2 and 4: geometric mean sqrt(8); log ratios ln2, ln4 have sample std ln2/sqrt(2)
    assert cal.ratios["lut"].ratio == pytest.approx(math.sqrt(8.0), rel=1e-12)
    assert cal.ratios["lut"].error == pytest.approx(math.exp(math.log(2.0) / math.sqrt(2.0)) - 1.0, rel=1e-12)
    assert cal.ratios["latency_us"].ratio == pytest.approx(3.0, rel=1e-12) and cal.ratios["latency_us"].error == 0
    assert cal.apply({"lut": 10.0, "latency_us": 2.0, "dsp": 0.0, "ff": 7.0}) == pytest.approx(
        {"lut": 10.0 * math.sqrt(8.0), "latency_us": 6.0, "dsp": 0.0, "ff": 7.0})
    assert cal.line(["lut", "latency_us"]) == ("calibrated on 2 designs of this study, error ±63.3 % (lut), "
                                               "±0.0 % (latency_us)")
    assert fit(pairs[:1]) is None  # one design gives no spread: no calibration


# -- configuration --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("verify", "line"), [
    ({"backend": "yosys"}, "hardware.verify.backend: 'yosys' costs hdl designs, but family 'tiny' lowers to "
                           "analytic"),
    ({"backend": "analytic"}, "hardware.verify.backend: 'analytic' is the study's own backend"),
    ({"backend": NAME, "top_k": 0}, "hardware.verify.top_k: input should be greater than or equal to 1"),
    ({"backend": NAME, "nope": 1}, "hardware.verify.nope: unknown key (known: backend, top_k, calibrate)"),
])
def test_a_bad_verify_section_is_one_line(verify, line):
    text = yaml.safe_dump(tiny_study_dict("t", hardware={"verify": verify}), sort_keys=False)
    with pytest.raises(StudyConfigError) as e:
        parse_study(text, where="s.yaml")
    assert len(str(e.value).splitlines()) == 1 and str(e.value).startswith(f"s.yaml: {line}"), str(e.value)


def test_verify_section_is_read():
    text = yaml.safe_dump(tiny_study_dict("t", hardware={"verify": {"backend": NAME, "top_k": 2}}))
    v = parse_study(text, where="s.yaml").verify
    assert (v.backend, v.top_k, v.calibrate) == (NAME, 2, True)
    assert parse_study(yaml.safe_dump(tiny_study_dict("t")), where="s.yaml").verify is None


SNN_STUDY = {"name": "s", "family": "snn", "model": {"task": "decode", "hidden_units": 8},
             "objectives": ["behavior_r2_bin", "lut"], "n_trials": 1}


def test_an_snn_study_that_names_no_backend_estimates_and_verifies_its_front_with_yosys():
    cfg = parse_study(yaml.safe_dump(SNN_STUDY), where="s.yaml")
    assert cfg.hardware.backend == "hdl-estimate"
    assert (cfg.verify.backend, cfg.verify.top_k, cfg.verify.calibrate) == ("yosys", 3, True)


@pytest.mark.parametrize("hardware, backend, verify", [
    ({"backend": "yosys"}, "yosys", None),  # synthesis in every trial, kept when asked for
    ({"backend": "hdl-estimate"}, "hdl-estimate", None),  # estimates only, when asked for
    ({"verify": {"backend": "yosys", "top_k": 5}}, "hdl-estimate", ("yosys", 5)),
])
def test_an_snn_study_that_names_its_backend_gets_exactly_it(hardware, backend, verify):
    cfg = parse_study(yaml.safe_dump({**SNN_STUDY, "hardware": hardware}), where="s.yaml")
    assert cfg.hardware.backend == backend
    assert (None if cfg.verify is None else (cfg.verify.backend, cfg.verify.top_k)) == verify


# -- storage --------------------------------------------------------------------------------------------

def test_only_a_queued_verification_is_withdrawn(tmp_path):
    from storage import open_storage
    from storage.verifications import RUNNING

    v = open_storage(f"sqlite:///{tmp_path / 's.db'}").verifications
    assert v.queue("s", 1, "yosys") and v.queue("s", 2, "yosys")
    assert v.claim("s", 2, "yosys", "a")
    assert v.withdraw("s", 1, "yosys") and not v.withdraw("s", 1, "yosys")
    assert not v.withdraw("s", 2, "yosys")  # running: kept
    assert [(r.trial_number, r.status) for r in v.rows("s")] == [(2, RUNNING)]
    assert v.queue("s", 1, "yosys")  # re-entering the front queues it again


class _Ref:
    def __init__(self, n: int) -> None:
        self.n = n


def _jobs(tmp_path, monkeypatch, front: list[int]):
    """VerificationJobs on a real verification store, with the front and the trial records given (the
    ranking and the Ray task are tested end to end below)."""
    import types

    import dse.verify.jobs as jobs_mod
    from storage import open_storage

    st = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    cfg = types.SimpleNamespace(name="s")
    jobs = jobs_mod.VerificationJobs(cfg, st, None, "yosys", "me", top_k=3)
    monkeypatch.setattr(jobs, "front_top", lambda: list(front))
    monkeypatch.setattr(jobs_mod, "request_of", lambda cfg, st, study, n: n)
    jobs._fn = types.SimpleNamespace(remote=lambda r, b, o: _Ref(r))
    return jobs, st


def test_while_trials_run_a_front_design_is_verified_only_once_it_held_its_place(tmp_path, monkeypatch):
    front = [0]
    jobs, st = _jobs(tmp_path, monkeypatch, front)
    jobs.queue_front()
    assert jobs.submit(2, settle=2) == 0  # just entered the front
    jobs.completions += 1
    front[:] = [1]  # the next trial dominates it
    jobs.queue_front()
    assert jobs.submit(2, settle=2) == 0
    assert jobs.queued() == [1]  # 0 left the front before it started: withdrawn, nothing lost
    jobs.completions += 2  # 1 held its place through a round of two trials
    assert jobs.submit(2, settle=2) == 1 and set(jobs.inflight) == {1}


def test_with_no_trial_left_to_start_the_front_is_verified_at_once_and_named_designs_always(tmp_path, monkeypatch):
    front = [4, 5]
    jobs, st = _jobs(tmp_path, monkeypatch, front)
    jobs.queue_front()
    jobs.queue([9], explicit=True)  # named by the user (dse verify --trial 9), not on the front
    assert jobs.submit(1, settle=2) == 1 and set(jobs.inflight) == {9}
    assert jobs.submit(5, settle=0) == 2 and set(jobs.inflight) == {4, 5, 9}


def test_a_verification_is_handed_to_one_runner_and_back(tmp_path):
    from storage import open_storage
    from storage.verifications import DONE, FAILED, QUEUED, RUNNING

    st = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    v = st.verifications
    assert v.queue("s", 3, "yosys") and not v.queue("s", 3, "yosys")  # queued once
    assert v.claim("s", 3, "yosys", "a") and not v.claim("s", 3, "yosys", "b")  # run by one runner
    v.release("s", 3, "yosys", attempted=False)  # Ctrl-C: back to the queue, no attempt used
    assert (v.rows("s")[0].status, v.rows("s")[0].attempts) == (QUEUED, 0)
    assert v.claim("s", 3, "yosys", "b")
    v.release("s", 3, "yosys", attempted=True, reason="worker died")  # a lost worker counts
    assert (v.rows("s")[0].status, v.rows("s")[0].attempts) == (QUEUED, 1)
    assert v.claim("s", 3, "yosys", "dead-owner")
    assert v.release_dead("s", lambda owner: None, grace_s=3600) == 0  # another host, beating: left alone
    assert v.release_dead("s", lambda owner: False, grace_s=3600) == 1  # its process is gone
    assert v.rows("s")[0].status == QUEUED
    assert v.claim("s", 3, "yosys", "c")
    assert v.rows("s")[0].status == RUNNING
    v.finish("s", 3, "yosys", {"backend": "yosys", "lut": 5})
    assert v.done("s")[3].hardware == {"backend": "yosys", "lut": 5} and v.rows("s")[0].status == DONE
    assert not v.claim("s", 3, "yosys", "d")  # done: never run again
    v.queue("s", 4, "yosys")
    v.claim("s", 4, "yosys", "a")
    v.fail("s", 4, "yosys", "latch found")
    assert v.rows("s")[1].status == FAILED and v.retry("s", 4, "yosys") and v.rows("s")[1].status == QUEUED


def test_a_database_without_the_verification_table_opens(tmp_path):
    from storage import open_storage

    shutil.copy(FIXTURES / "oldschema_526cdda.db", tmp_path / "old.db")
    st = open_storage(f"sqlite:///{tmp_path / 'old.db'}")
    assert st.verifications.rows("oldschema") == []
    assert len(st.project.results("oldschema")) == 2


def test_the_front_takes_the_replaced_values():
    import optuna

    from objectives.pareto import pareto_front

    dist = {"x": optuna.distributions.IntDistribution(0, 9)}
    trials = [optuna.trial.create_trial(params={"x": i}, distributions=dist, values=v)
              for i, v in enumerate([[0.9, 10.0], [0.8, 5.0], [0.7, 20.0]])]
    for n, t in enumerate(trials):
        t.number = n
    directions = [optuna.study.StudyDirection.MAXIMIZE, optuna.study.StudyDirection.MINIMIZE]
    assert [t.number for t in pareto_front(trials, directions)] == [0, 1]
    # trial 1 really takes 50: trial 0 dominates it, it leaves; trial 2 really takes 1: nothing dominates it
    assert [t.number for t in pareto_front(trials, directions, values={1: [0.8, 50.0]})] == [0]
    assert [t.number for t in pareto_front(trials, directions, values={2: [0.7, 1.0]})] == [0, 1, 2]
    assert [t.number for t in pareto_front(trials, directions, feasibility={0: False})] == [1]


# -- end to end on the tiny family ----------------------------------------------------------------------

def _dominates(a, b) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    """A 5-trial tiny study whose front's 2 best designs are verified by the test backend during the run."""
    from dse.driver import run_study
    from dse.study import load_study

    mp = pytest.MonkeyPatch()
    # Ray workers import the test backend's module when they unpickle its class
    mp.setenv("PYTHONPATH", os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]))
    root = tmp_path_factory.mktemp("verify")
    study = tiny_study_dict("ver", n_trials=5, hardware={"verify": {"backend": NAME, "top_k": 2, "calibrate": False}})
    write_study(root, study)
    summary = run_study(load_study(root / "study.yaml"), progress=False)
    assert summary.complete == 5 and not summary.failures, summary
    yield root, study
    mp.undo()


def _open(root: Path):
    from dse.commands._study import open_study
    from dse.study import load_study

    cfg = load_study(root / "study.yaml")
    st, study = open_study(cfg)
    return cfg, st, study


def _calls(root: Path, number: int) -> int:
    f = root / "runs" / "ver" / "trials" / f"{number:05d}" / f"verify-{NAME}" / "calls"
    return len(f.read_text().splitlines()) if f.exists() else 0


def _pareto_json(root: Path) -> dict[int, dict]:
    from dse.commands import pareto

    out = root / "front.json"
    pareto.run(argparse.Namespace(study=str(root / "study.yaml"), format="json", output=out))
    return {row["number"]: row for row in json.loads(out.read_text())}


def _expected_front(st, study, real: dict[int, dict]) -> list[int]:
    """The front computed here: estimates, or the test backend's numbers of the verified designs."""
    from objectives.designs import is_duplicate

    points = {}
    for t in study.get_trials():
        if t.state.name != "COMPLETE" or is_duplicate(t):
            continue
        est = st.project.load_result("ver", t.number).hardware
        hw = expected_real(est) if t.number in real else est
        points[t.number] = (-t.values[0], hw["latency_us"], hw["lut"])
    return sorted(n for n, p in points.items() if not any(_dominates(q, p) for q in points.values()))


def test_the_best_front_designs_are_verified_once_and_kept_beside_their_estimates(verified):
    root, _ = verified
    cfg, st, study = _open(root)
    rows = st.verifications.rows("ver")
    assert rows and all(v.status == "done" and v.backend == NAME for v in rows)
    real = {v.trial_number: v.hardware for v in rows}
    assert all(_calls(root, n) == 1 for n in real)  # each re-costed exactly once
    front = _expected_front(st, study, real)
    shown = _pareto_json(root)
    assert sorted(shown) == front
    best = sorted(front, key=lambda n: -shown[n]["behavior_r2"])[:2]
    assert set(best) <= set(real)  # the 2 best of the verified front are verified
    for n, row in shown.items():
        est = st.project.load_result("ver", n).hardware
        if n in real:
            want = expected_real(est)
            assert (row["lut"], row["latency_us"]) == (want["lut"], pytest.approx(want["latency_us"], rel=1e-12))
            assert (row["estimate_lut"], row["estimate_latency_us"]) == (est["lut"], est["latency_us"])
            assert row["hardware_source"] == "test tool (measured)"
        else:
            assert row["lut"] == est["lut"] and row["hardware_source"] == "analytic model"
            assert "estimate_lut" not in row
        assert study.trials[n].values[2] == est["lut"]  # Optuna keeps the estimate


def test_status_and_the_dashboard_say_what_is_verified(verified, capsys, monkeypatch):
    from optuna_dashboard import get_note

    from dse.commands import status

    monkeypatch.setenv("COLUMNS", "400")  # rich's table: no wrapped cells
    root, _ = verified
    cfg, st, study = _open(root)
    status.run(argparse.Namespace(study=str(root / "study.yaml")))
    out = capsys.readouterr().out
    n = len(st.verifications.rows("ver"))
    assert f"verification ({NAME}): done {n}" in out and "test tool (measured)" in out
    number = st.verifications.rows("ver")[0].trial_number
    import optuna

    from dse.driver.optuna_api import trial_id

    note = get_note(optuna.trial.Trial(study, trial_id(study.trials[number])))
    assert "### Verified hardware" in note and "test tool (measured)" in note


def test_a_resumed_study_runs_no_verification_twice(verified):
    from dse.driver import run_study
    from dse.study import load_study

    root, study_dict = verified
    before = {v.trial_number for v in _open(root)[1].verifications.rows("ver")}
    study_dict["n_trials"] = 7
    write_study(root, study_dict)
    summary = run_study(load_study(root / "study.yaml"), progress=False)
    assert not summary.failures
    cfg, st, study = _open(root)
    from objectives.designs import is_duplicate

    assert sum(t.state.name == "COMPLETE" and not is_duplicate(t) for t in study.trials) == 7
    rows = st.verifications.rows("ver")
    assert before <= {v.trial_number for v in rows} and all(_calls(root, v.trial_number) == 1 for v in rows)
    assert all(v.status == "done" for v in rows)
    assert sorted(_pareto_json(root)) == _expected_front(st, study, {v.trial_number: v for v in rows})


def test_dse_verify_after_the_fact(tmp_path, monkeypatch):
    """A study run without hardware.verify: `dse verify --trial N --backend B`, then `--top K`."""
    from dse.commands import verify
    from dse.driver import run_study
    from dse.study import load_study

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]))
    write_study(tmp_path, tiny_study_dict("ver", n_trials=4))
    assert not run_study(load_study(tmp_path / "study.yaml"), progress=False).failures
    cfg, st, study = _open(tmp_path)
    assert st.verifications.rows("ver") == []
    front = _expected_front(st, study, {})
    args = argparse.Namespace(study=str(tmp_path / "study.yaml"), trial=[front[-1]], top=None, backend=NAME)
    assert verify.run(args) == 0
    assert st.verifications.done("ver")[front[-1]].hardware["lut"] == expected_real(
        st.project.load_result("ver", front[-1]).hardware)["lut"]
    assert verify.run(args) == 0 and _calls(tmp_path, front[-1]) == 1  # done already: not run again
    assert verify.run(argparse.Namespace(study=str(tmp_path / "study.yaml"), trial=[], top=2, backend=NAME)) == 0
    done = {v.trial_number: v for v in st.verifications.rows("ver") if v.status == "done"}
    shown = _pareto_json(tmp_path)
    assert sorted(shown) == _expected_front(st, study, done)
    assert set(sorted(shown, key=lambda n: -shown[n]["behavior_r2"])[:2]) <= set(done)
    assert all(_calls(tmp_path, n) == 1 for n in done)
    with pytest.raises(ConfigError, match="'yosys' costs hdl designs"):
        verify.run(argparse.Namespace(study=str(tmp_path / "study.yaml"), trial=[0], top=None, backend="yosys"))
    with pytest.raises(ConfigError, match="trial 99 does not exist"):
        verify.run(argparse.Namespace(study=str(tmp_path / "study.yaml"), trial=[99], top=None, backend=NAME))
    with pytest.raises(ConfigError, match="give --backend"):
        verify.run(argparse.Namespace(study=str(tmp_path / "study.yaml"), trial=[0], top=None, backend=None))


def test_the_study_calibrates_its_estimates_on_its_verified_designs(verified):
    """With calibration on: every unverified design's LUTs are the estimate times the geometric mean of the
    verified designs' real/estimate ratios (computed here from the stored reports)."""
    import dataclasses

    from dse.verify.view import CALIBRATED, VERIFIED, study_hardware

    root, _ = verified
    cfg, st, study = _open(root)
    cfg = dataclasses.replace(cfg, verify=dataclasses.replace(cfg.verify, calibrate=True))
    done = st.verifications.done("ver")
    assert len(done) >= 2
    ratios = [done[n].hardware["lut"] / st.project.load_result("ver", n).hardware["lut"] for n in done]
    logs = [math.log(r) for r in ratios]
    mean = sum(logs) / len(logs)
    spread = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    hw = study_hardware(cfg, st, study.trials)
    assert hw.calibration.designs == len(done)
    assert hw.calibration.ratios["lut"].ratio == pytest.approx(math.exp(mean), rel=1e-12)
    assert hw.calibration.ratios["lut"].error == pytest.approx(math.exp(spread) - 1, rel=1e-12)
    for n, shown in hw.trials.items():
        est = st.project.load_result("ver", n).hardware["lut"]
        if n in done:
            assert shown.how == VERIFIED
        else:
            assert shown.how == CALIBRATED and shown.metrics["lut"] == pytest.approx(est * math.exp(mean), rel=1e-12)
            assert f"calibrated on {len(done)} designs of this study, error ±" in shown.source


def test_status_says_how_the_estimates_are_calibrated(verified, capsys, monkeypatch):
    """The same study read through a file that turns calibration on (same name, same database)."""
    from dse.commands import status

    monkeypatch.setenv("COLUMNS", "400")
    root, study_dict = verified
    write_study(root, {**study_dict, "hardware": {"verify": {"backend": NAME, "top_k": 2, "calibrate": True}}},
                "calibrated.yaml")
    status.run(argparse.Namespace(study=str(root / "calibrated.yaml")))
    n = len(_open(root)[1].verifications.done("ver"))
    assert f"estimates calibrated on {n} designs of this study, error ±" in capsys.readouterr().out


class _LostWorker:
    """Stands in for Ray where a test needs a task whose worker died: ``get`` raises as Ray's would."""

    def get(self, ref):
        raise RuntimeError("worker crashed")

    def cancel(self, ref, force=False):
        pass


def test_a_stopped_or_lost_verification_goes_back_to_the_queue(tmp_path):
    from types import SimpleNamespace

    from dse.verify.jobs import Running, VerificationJobs
    from storage import open_storage

    st = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    cfg = SimpleNamespace(name="s", verify=None)
    jobs = VerificationJobs(cfg, st, None, "yosys", "me", top_k=None, max_retries=1)
    jobs._ray = _LostWorker()
    for n in (1, 2):
        st.verifications.queue("s", n, "yosys")
        st.verifications.claim("s", n, "yosys", "me")
        jobs.inflight[n] = Running(None, n)
    jobs._collect(jobs.inflight.pop(1))  # lost worker: back to the queue, one attempt used
    assert [(v.status, v.attempts) for v in st.verifications.rows("s")][0] == ("queued", 1)
    st.verifications.claim("s", 1, "yosys", "me")
    jobs._collect(Running(None, 1))  # lost again: more than max_retries -> failed with the reason
    first = st.verifications.rows("s")[0]
    assert first.status == "failed" and "worker died" in first.error and jobs.failed
    jobs.stop()  # Ctrl-C: the running one goes back without using an attempt, and nothing new starts
    second = st.verifications.rows("s")[1]
    assert (second.status, second.attempts, jobs.inflight) == ("queued", 0, {}) and not jobs.pending


def test_dse_verify_refuses_bad_input_in_one_line(verified):
    from reliability_helpers import dse

    root, study_dict = verified
    # the CLI runs in a process without the test backend: the same study, read through a file without verify
    write_study(root, {**study_dict, "hardware": {}}, "plain.yaml")
    for args, field in [((), "--trial"), (("--trial", "0", "--backend", "yosys"), "--backend"),
                        (("--top", "0", "--backend", "analytic"), "--top"), (("--trial", "0"), "--backend"),
                        (("--trial", "0", "--backend", "analytic"), "--backend")]:
        r = dse("verify", "plain.yaml", *args, cwd=root, timeout=120)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and field in r.stderr, r.stderr


def test_rank_breaks_first_objective_ties_by_the_next_objectives():
    """Equal accuracies (one SNN training at every reuse factor): the faster design first, then the smaller;
    fully equal designs by trial number; a verified design ranks by its shown (real) numbers."""
    from types import SimpleNamespace

    from dse.verify.view import rank

    front = [SimpleNamespace(number=n, values=v) for n, v in
             [(0, [0.96, 4125.7, 560.0]), (1, [0.96, 28.5, 5441.0]), (2, [0.97, 8237.7, 532.0]),
              (3, [0.96, 28.5, 4967.0]), (4, [0.96, 28.5, 4967.0])]]
    directions = ["maximize", "minimize", "minimize"]
    assert [t.number for t in rank(front, {}, directions)] == [2, 3, 4, 1, 0]
    assert [t.number for t in rank(front, {2: [0.95, 8237.7, 532.0]}, directions)] == [3, 4, 1, 0, 2]


def test_status_shows_the_fronts_best_rows_and_says_how_many_more(verified, capsys, monkeypatch):
    from dse.commands import status

    monkeypatch.setenv("COLUMNS", "400")
    root, _ = verified
    front = _pareto_json(root)  # the whole front, as dse pareto lists it
    assert len(front) >= 2, "the fixture's front is too small to show a limit"
    status.run(argparse.Namespace(study=str(root / "study.yaml"), front_rows=1))
    out = capsys.readouterr().out
    assert f"Pareto front ({len(front)} designs): the 1 best by" in out
    assert f"{len(front) - 1} more front designs" in out
    status.run(argparse.Namespace(study=str(root / "study.yaml"), front_rows=0))
    out = capsys.readouterr().out
    assert f"Pareto front ({len(front)} designs)\n" in out or f"Pareto front ({len(front)} designs) " in out
    assert "more front designs" not in out

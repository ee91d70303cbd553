"""Reliability: faults injected for real, and the study survives them.

- trial-level failures (hls4ml rejecting a design, g++ failing, g++ hanging past the compile
  timeout, NaN loss, out of memory, a design too big for the part) become failed or pruned trials
  with the reason stored, through ``run_trial`` directly and through a whole ``dse run``;
- a Ray worker SIGKILLed mid-trial, the driver SIGKILLed mid-study, Ctrl-C (SIGINT to the driver's
  process group, as a terminal sends it): the study is resumed and completes with no trial lost;
- two drivers on one study and one database (SQLite; PostgreSQL with ``DSE_TEST_POSTGRES_URL``).

Everything is real: processes, signals, Ray, TensorFlow, g++, SQLite/PostgreSQL. Studies are tiny
(see :func:`reliability_helpers.study_dict`) and share one trained-model/HLS cache where the test
does not need work in flight.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import optuna
import pytest
import sqlalchemy
import yaml
from optuna.trial import TrialState
from reliability_helpers import (
    alive,
    check_consistent,
    cli_env,
    cmdline,
    design_points,
    dse,
    end_session,
    final_state,
    is_retry,
    link_cache,
    load_study,
    session_pids,
    shared_cache,
    start_dse,
    study_dict,
    tiny_study_dict,
    trial_workers,
    wait_for,
    write_study,
)

from dse.study import parse_study
from dse.trial.spec import TrialSpec

# LFADS trials (TensorFlow, g++) are slow and marked so; the driver's own behaviour (kills, Ctrl-C,
# concurrent drivers) is tested on the numpy `tiny` family, in seconds.

FIXED_PTQ = {"mode": "ptq", "ptq_integer_bits": 6, "ptq_fractional_bits": 8}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return shared_cache(tmp_path_factory)


@pytest.fixture
def driver_sessions():
    """Sessions of drivers a test started; whatever is left of them is killed afterwards."""
    sids: list[int] = []
    yield sids
    for sid in sids:
        end_session(sid)


def _project_rows(db: Path, study: str) -> list[dict]:
    from storage import open_storage

    with open_storage(f"sqlite:///{db}") as st, st.project.engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text(
            "SELECT trial_number, attempt, status, fail_reason, cache FROM dse_trials WHERE study_name = :s "
            "ORDER BY trial_number"), {"s": study}).mappings().all()
    return [dict(r) for r in rows]


def _row(rows: list[dict], number: int) -> dict:
    (row,) = [r for r in rows if r["trial_number"] == number]
    return row


def _cache_flags(row: dict) -> dict:
    return row["cache"] if isinstance(row["cache"], dict) else json.loads(row["cache"])


# ------------------------------------------------------------------------------- run_trial directly


def _spec(tmp: Path, cache: Path, *, build_cache: Path | None = None, max_utilisation: float | None = None,
          **sections) -> TrialSpec:
    """A TrialSpec of the tiny study with every parameter fixed (built by the real search space)."""
    sections.setdefault("quantization", FIXED_PTQ)
    cfg = parse_study(yaml.safe_dump(study_dict("direct", n_trials=1, **sections)), where="study.yaml",
                      base_dir=tmp)
    design = cfg.search_space().design_point({})
    return TrialSpec(study_name="direct", trial_number=0, design=design,
                     data={"source": cfg.data.source, "options": dict(cfg.data.options),
                           "split_seed": cfg.data.split_seed},
                     objectives=cfg.objective_names, work_dir=str(tmp / "trial"),
                     model_cache_dir=str(cache / "models"), build_cache_dir=str(build_cache or cache / "hls"),
                     max_utilisation=max_utilisation)


def _fake_compiler(bin_dir: Path, body: str) -> Path:
    """A ``g++`` first on PATH: hls4ml's build_lib.sh calls ``g++`` by name."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    gxx = bin_dir / "g++"
    gxx.write_text("#!/bin/bash\n" + textwrap.dedent(body))
    gxx.chmod(0o755)
    return bin_dir


@pytest.mark.slow
def test_direct_hls4ml_rejects_the_design(tmp_path, cache):
    from dse.trial.runner import run_trial

    # the LFADS encoder is Bidirectional, which hls4ml 1.3.0 cannot stream
    r = run_trial(_spec(tmp_path, cache, hls={"reuse_factor": 1, "io_type": "io_stream"}))
    assert r.status == "failed"
    assert r.fail_reason.startswith("compile: DesignError") and "io_stream" in r.fail_reason, r.fail_reason
    assert json.loads((tmp_path / "trial" / "result.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_direct_gxx_fails(tmp_path, cache, monkeypatch):
    from dse.trial.runner import run_trial

    bin_dir = _fake_compiler(tmp_path / "bin", """
        echo "fake g++: error: this compiler always fails" >&2
        exit 1
        """)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    r = run_trial(_spec(tmp_path, cache, build_cache=tmp_path / "hls"))
    assert r.status == "failed"
    assert r.fail_reason.startswith("compile: HLSCompileError: g++ failed"), r.fail_reason
    assert "this compiler always fails" in r.fail_reason
    assert not list((tmp_path / "hls").glob("*/dse_cache.json")), "a failed build must not be cached"


@pytest.mark.slow
def test_direct_gxx_timeout_kills_the_compiler(tmp_path, cache, monkeypatch):
    from dse.trial.runner import run_trial

    pids = tmp_path / "compiler.pids"
    bin_dir = _fake_compiler(tmp_path / "bin", f"""
        [[ "$1" == --version ]] && {{ echo "g++ (slow fake) 0"; exit 0; }}
        echo $$ >> {pids}
        exec sleep 600
        """)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("DSE_COMPILE_TIMEOUT_S", "3")
    t0 = time.monotonic()
    r = run_trial(_spec(tmp_path, cache, build_cache=tmp_path / "hls"))
    took = time.monotonic() - t0
    assert r.status == "failed"
    assert r.fail_reason.startswith("compile: HLSCompileError: g++ timed out after 3 s"), r.fail_reason
    assert took < 120, took
    started = [int(p) for p in pids.read_text().split()]
    assert started
    wait_for("the timed-out compiler to be gone", lambda: not [p for p in started if alive(p)], timeout=10)


@pytest.mark.slow
def test_direct_nan_loss(tmp_path, cache):
    from dse.trial.runner import run_trial

    train = {"epochs": 2, "batch_size": 8, "seed": 0, "learning_rate": 1.0e6}
    r = run_trial(_spec(tmp_path, cache, train=train))
    assert r.status == "failed"
    assert r.fail_reason.startswith("train: FloatingPointError: loss became NaN/inf"), r.fail_reason


OOM_SCRIPT = """
import json, resource, sys
from dse.trial.runner import load_split, run_trial
from dse.trial.spec import TrialSpec
import tensorflow  # noqa: F401  (loaded before the limit: TF reserves address space when imported)

spec = TrialSpec(**json.load(open(sys.argv[1])))
load_split(spec.data)
size = next(int(ln.split()[1]) * 1024 for ln in open("/proc/self/status") if ln.startswith("VmSize"))
limit = size + (1 << 30)  # 1 GiB more address space than the process has now
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
print(json.dumps(run_trial(spec).to_dict()))
"""


@pytest.mark.slow
def test_direct_out_of_memory_is_a_failed_trial(tmp_path):
    """Training a Z=8192 generator (a 24576 x 8192 float kernel alone is 800 MB, Adam triples it) in a
    worker whose address space is limited to 1 GiB above its size: a real allocation failure."""
    cache = tmp_path / "cache"
    spec = _spec(tmp_path, cache, model={"encoder_units": 4, "latent_units": 8192, "factors": 2})
    (tmp_path / "spec.json").write_text(json.dumps(spec.to_dict()))
    p = subprocess.run([sys.executable, "-c", OOM_SCRIPT, str(tmp_path / "spec.json")], capture_output=True,
                       text=True, timeout=600, env=cli_env(TF_CPP_MIN_LOG_LEVEL="3"))
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.splitlines()[-1])
    assert r["status"] == "failed"
    assert r["fail_reason"].startswith("train: "), r["fail_reason"]
    assert any(s in r["fail_reason"] for s in ("ResourceExhaustedError", "MemoryError", "OOM")), r["fail_reason"]
    assert not list((cache / "models").glob("tmp/*")), "a failed training must leave no partial cache entry"


@pytest.mark.slow
def test_direct_too_big_for_the_part_is_pruned_before_training(tmp_path):
    from dse.trial.runner import run_trial

    spec = _spec(tmp_path, tmp_path / "cache", max_utilisation=1.0,
                 model={"encoder_units": 32, "latent_units": 32, "factors": 8},
                 hardware={"backend": "estimate", "part": "xc7z020", "clock_ns": 5.0})
    r = run_trial(spec)
    assert r.status == "pruned"
    assert r.fail_reason.startswith("estimator: design needs") and "xc7z020" in r.fail_reason, r.fail_reason
    assert "train" not in r.timings and not list((tmp_path / "cache" / "models").glob("*/model.h5"))


# ------------------------------------------------------------------------- through a whole dse run


@pytest.mark.slow
def test_study_survives_failing_trials(tmp_path, cache):
    """A grid of four designs that all fail differently; the study records each reason and ends
    normally: g++ failing (a fake compiler on PATH, inherited by the Ray workers), hls4ml rejecting
    io_stream (at preflight or at conversion), and NaN loss (learning rate 1e6)."""
    bin_dir = _fake_compiler(tmp_path / "bin", """
        echo "fake g++: error: broken toolchain" >&2
        exit 1
        """)
    study = study_dict("failing", n_trials=4, quantization=FIXED_PTQ, sampler={"name": "grid"},
                       train={"epochs": 2, "batch_size": 8, "seed": 0, "learning_rate": {"choices": [0.005, 1.0e6]}},
                       hls={"reuse_factor": 1, "io_type": {"choices": ["io_parallel", "io_stream"]}})
    write_study(tmp_path, study)
    link_cache(tmp_path, "failing", cache)
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path,
            env=cli_env(PATH=f"{bin_dir}:{os.environ['PATH']}"))
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    assert "0 complete, 0 pruned, 4 failed" in r.stdout, r.stdout

    s = load_study(tmp_path, "failing")
    check_consistent(s, 4)
    reasons = {(t.params["train.learning_rate"], t.params["hls.io_type"]): t.user_attrs["fail_reason"]
               for t in s.trials}
    assert all(t.state == TrialState.FAIL for t in s.trials)
    assert reasons[(0.005, "io_parallel")].startswith("compile: HLSCompileError: g++ failed")
    assert "broken toolchain" in reasons[(0.005, "io_parallel")]
    assert "DesignError" in reasons[(0.005, "io_stream")] and "io_stream" in reasons[(0.005, "io_stream")]
    assert reasons[(1.0e6, "io_parallel")].startswith("train: FloatingPointError: loss became NaN/inf")
    assert "DesignError" in reasons[(1.0e6, "io_stream")]
    rows = _project_rows(tmp_path / "failing.db", "failing")
    assert [r["status"] for r in rows] == ["failed"] * 4
    assert {r["fail_reason"] for r in rows} == set(reasons.values())

    st = dse("status", "study.yaml", cwd=tmp_path)
    assert st.returncode == 0, st.stderr
    assert "fail 4" in st.stdout
    for needle in ("g++ failed", "io_stream", "NaN/inf"):
        assert needle in st.stdout, st.stdout


def test_worker_killed_mid_trial_is_retried_and_the_study_completes(tmp_path, driver_sessions):
    """SIGKILL the Ray worker running trial 0: it is recorded failed with the reason, re-run once
    with the same parameters (max_retries 1), and the study still ends with n_trials design points."""
    write_study(tmp_path, tiny_study_dict("wkill", n_trials=2, train_seconds=6))
    p = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    driver_sessions.append(p.pid)
    worker = wait_for("a worker running trial 0", lambda: trial_workers(p.pid), timeout=300, proc=p)[0]
    time.sleep(2)  # well inside the trial (its training takes 6 s)
    os.kill(worker, signal.SIGKILL)
    assert p.wait(timeout=900) == 0, (tmp_path / "driver.err").read_text()[-4000:]

    s = load_study(tmp_path, "wkill")
    check_consistent(s, 2)
    t0 = s.trials[0]
    assert t0.state == TrialState.FAIL
    assert t0.user_attrs["fail_reason"].startswith("worker died: "), t0.user_attrs["fail_reason"]
    (retry,) = [t for t in s.trials if is_retry(t)]
    assert retry.system_attrs["failed_trial"] == 0 and retry.params == t0.params
    assert retry.state == TrialState.COMPLETE and retry.user_attrs.get("fail_reason") is None
    assert all(final_state(s, t.number) == TrialState.COMPLETE for t in design_points(s))
    row = _row(_project_rows(tmp_path / "wkill.db", "wkill"), 0)
    assert row["status"] == "failed" and row["fail_reason"].startswith("worker died: ")
    assert "1 re-queued" in (tmp_path / "driver.out").read_text()


@pytest.mark.slow
def test_driver_killed_then_resumed(tmp_path, driver_sessions):
    """SIGKILL the driver while a trial runs after an earlier one completed (a grid of three points,
    so no point repeats); the next ``dse run`` (two of them at once, here) fails the running trial
    ("driver died") once, re-runs it with the model the dead driver's run trained, keeps everything
    finished and completes."""
    write_study(tmp_path, study_dict("dkill", n_trials=3, seed=102, epochs=3, sampler={"name": "grid"}))
    p = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    driver_sessions.append(p.pid)

    def one_complete_one_running():
        trials = load_study(tmp_path, "dkill").get_trials(deepcopy=False)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        return running if running and any(t.state == TrialState.COMPLETE for t in trials) else None

    wait_for("a worker running trial 0", lambda: trial_workers(p.pid), timeout=300, proc=p)  # the study exists
    (victim,) = wait_for("a trial running after one completed", one_complete_one_running, timeout=600, proc=p)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    before = {t.number: (t.state, t.values) for t in load_study(tmp_path, "dkill").trials}
    assert before[victim.number][0] == TrialState.RUNNING

    # resume with two drivers at once: the dead driver's trial must be failed and retried once
    a, b = _two_drivers(tmp_path)
    driver_sessions += [a.pid, b.pid]
    _check_two_drivers(tmp_path, a, b)
    marked = [log for log in ("a", "b") if "marked 1 trial(s) of a dead driver failed" in
              (tmp_path / f"{log}.err").read_text()]
    assert len(marked) == 1, marked
    s = load_study(tmp_path, "dkill")
    check_consistent(s, 3)
    for number, (state, values) in before.items():  # every finished trial kept as it was
        if state.is_finished():
            assert (s.trials[number].state, s.trials[number].values) == (state, values)
    dead = s.trials[victim.number]
    assert dead.state == TrialState.FAIL
    assert dead.user_attrs["fail_reason"] == "driver died while the trial was running"
    (retry,) = [t for t in s.trials if t.system_attrs.get("failed_trial") == victim.number]
    assert retry.state == TrialState.COMPLETE and retry.params == dead.params
    rows = _project_rows(tmp_path / "dkill.db", "dkill")
    assert [r["trial_number"] for r in rows] == [t.number for t in s.trials]
    assert _cache_flags(_row(rows, retry.number))["model"] is True, "the resumed trial retrained its model"
    assert all(final_state(s, t.number) == TrialState.COMPLETE for t in design_points(s))
    # resumed while what the dead driver started may still linger (Ray's agents outlive it): end them
    print(f"left by the killed driver: {end_session(p.pid)}")


def test_ctrl_c_is_a_clean_stop_and_the_next_run_completes(tmp_path, driver_sessions):
    write_study(tmp_path, tiny_study_dict("ctrlc", n_trials=2, train_seconds=6))
    p = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    driver_sessions.append(p.pid)
    wait_for("a worker running trial 0", lambda: trial_workers(p.pid), timeout=300, proc=p)
    time.sleep(1)
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    assert p.wait(timeout=120) == 130, (tmp_path / "driver.err").read_text()[-3000:]
    err = (tmp_path / "driver.err").read_text()
    assert "interrupted: the database is consistent; resume with: dse run study.yaml" in err, err[-2000:]
    wait_for("the stopped driver's processes to end", lambda: not session_pids(p.pid), timeout=30)

    s = load_study(tmp_path, "ctrlc")
    trials = s.get_trials(deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    (stopped,) = [t for t in trials if t.state == TrialState.FAIL]
    assert stopped.user_attrs["fail_reason"].startswith("interrupted (Ctrl-C)")
    (queued,) = [t for t in trials if t.state == TrialState.WAITING]
    assert queued.system_attrs["fixed_params"] == stopped.params  # enqueued: its params once asked
    assert queued.user_attrs["failed_trial"] == stopped.number
    assert _row(_project_rows(tmp_path / "ctrlc.db", "ctrlc"), stopped.number)["status"] == "failed"

    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    s = load_study(tmp_path, "ctrlc")
    check_consistent(s, 2)
    assert s.trials[queued.number].state == TrialState.COMPLETE
    assert s.trials[queued.number].params == stopped.params
    assert all(final_state(s, t.number) == TrialState.COMPLETE for t in design_points(s))


@pytest.mark.slow
def test_ctrl_c_while_ray_starts_is_a_clean_stop_too(tmp_path, cache, driver_sessions):
    """Ctrl-C half a second after Ray's GCS appears (``ray.init`` still running): exit 130 with the
    resume hint, nothing left RUNNING, and the next run completes. (Python drops a KeyboardInterrupt
    raised inside a finalizer; it happened here, and the study used to run on to its end.)"""
    write_study(tmp_path, study_dict("early", n_trials=1, seed=0))
    link_cache(tmp_path, "early", cache)
    p = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    driver_sessions.append(p.pid)
    wait_for("Ray's GCS to start", lambda: [q for q in session_pids(p.pid) if "gcs_server" in cmdline(q)],
             timeout=300, proc=p, interval=0.05)
    time.sleep(0.5)
    os.killpg(p.pid, signal.SIGINT)
    assert p.wait(timeout=120) == 130, (tmp_path / "driver.err").read_text()[-3000:]
    assert "resume with: dse run study.yaml" in (tmp_path / "driver.err").read_text()
    s = load_study(tmp_path, "early")
    assert not [t for t in s.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    end_session(p.pid)  # Ray agents interrupted while starting may outlive the driver

    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    check_consistent(load_study(tmp_path, "early"), 1)


# --------------------------------------------------------------------------------- concurrent writers


def _two_drivers(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, subprocess.Popen]:
    a = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path, env=env, log="a")
    b = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path, env=env, log="b")
    return a, b


def _check_two_drivers(tmp_path: Path, a: subprocess.Popen, b: subprocess.Popen) -> None:
    for p, log in ((a, "a"), (b, "b")):
        assert p.wait(timeout=900) == 0, (tmp_path / f"{log}.err").read_text()[-4000:]


def test_two_drivers_share_a_sqlite_study(tmp_path, driver_sessions):
    n = 6
    write_study(tmp_path, tiny_study_dict("conc", n_trials=n, execution={"workers": 1, "max_retries": 1}))
    a, b = _two_drivers(tmp_path)
    driver_sessions += [a.pid, b.pid]
    _check_two_drivers(tmp_path, a, b)

    s = load_study(tmp_path, "conc")
    check_consistent(s, n)
    assert all(t.state == TrialState.COMPLETE for t in s.trials), [t.user_attrs.get("fail_reason") for t in s.trials]
    drivers = {t.user_attrs["dse_driver"] for t in s.trials}
    print(f"trials per driver: {[sum(t.user_attrs['dse_driver'] == d for t in s.trials) for d in drivers]}")
    rows = _project_rows(tmp_path / "conc.db", "conc")
    # every trial recorded once (a repeat of the other driver's point too: objectives.designs)
    assert sorted(r["trial_number"] for r in rows) == [t.number for t in s.trials]
    import sqlite3

    with sqlite3.connect(tmp_path / "conc.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_two_drivers_share_a_postgresql_study(tmp_path, driver_sessions):
    url = os.environ.get("DSE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("DSE_TEST_POSTGRES_URL is not set (as root: eval \"$(CI=true .ci/postgres.sh)\")")
    from sqlalchemy.engine import URL, make_url

    from storage import open_storage

    u = make_url(url)
    name = f"conc-{uuid.uuid4().hex[:8]}"
    n = 4
    plain = URL.create(u.drivername, username=u.username, host=u.host, port=u.port,
                       database=u.database).render_as_string()
    write_study(tmp_path, tiny_study_dict(name, n_trials=n,
                                          storage={"url": plain, "password_env": "DSE_TEST_PG_PASSWORD"}))
    env = cli_env(DSE_TEST_PG_PASSWORD=u.password or "")
    a, b = _two_drivers(tmp_path, env)
    driver_sessions += [a.pid, b.pid]
    try:
        _check_two_drivers(tmp_path, a, b)
        with open_storage(url) as st:
            s = optuna.load_study(study_name=name, storage=st.optuna)
            check_consistent(s, n)
            assert all(t.state == TrialState.COMPLETE for t in s.trials)
            with st.project.engine.connect() as conn:
                numbers = conn.execute(sqlalchemy.text(
                    "SELECT trial_number FROM dse_trials WHERE study_name = :s ORDER BY trial_number"),
                    {"s": name}).scalars().all()
            assert numbers == [t.number for t in s.trials]  # every trial once, repeats of a point included
        for log in ("a", "b"):  # the password is never printed
            for ext in ("out", "err"):
                assert u.password not in (tmp_path / f"{log}.{ext}").read_text()
    finally:
        with open_storage(url) as st:
            st.delete_study(name)

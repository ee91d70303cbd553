"""Clusters and clean stops, for real: ``ray start`` nodes, signals, PostgreSQL.

- a Ray cluster of two nodes on this machine (a head and a worker, ``ray start`` each, one CPU each, in a
  private temp dir and with their own token so that no other Ray on the machine joins or is joined);
  ``dse run --address`` spreads the trials over both, the worker node is SIGKILLed mid-trial, and its
  trial is failed with the reason, re-run on the surviving node, with nothing lost;
- SIGTERM to the driver or its process group (what a cluster scheduler sends on preemption) is a clean stop
  like Ctrl-C;
- two drivers on one PostgreSQL study, one playing a driver on another host (``DSE_DRIVER_HOST``) and
  SIGKILLed mid-trial while the other runs: the other finishes its trials and, once the heartbeat grace
  period (``DSE_HEARTBEAT_GRACE_S``) has passed, fails the dead driver's trial with the reason and re-runs it.

Every process a test starts runs in a session of its own and is SIGKILLed by session afterwards (never
``ray stop``, which would stop every Ray on the machine).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState
from reliability_helpers import (
    alive,
    cli_env,
    cmdline,
    dse,
    end_session,
    is_retry,
    load_study,
    session_pids,
    start_dse,
    tiny_study_dict,
    trial_workers,
    wait_for,
    write_study,
)

RAY = str(Path(sys.executable).with_name("ray"))


@pytest.fixture
def sessions():
    """Sessions (process ids of their leaders) a test started; whatever is left of them is killed."""
    sids: list[int] = []
    yield sids
    for sid in sids:
        end_session(sid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _is_duplicate(t: optuna.trial.FrozenTrial) -> bool:
    return t.user_attrs.get("duplicate_of") is not None


def check_complete(study: optuna.Study, n_trials: int) -> None:
    """Numbers 0..N-1 once, nothing RUNNING or WAITING, ``n_trials`` design points (first tries that are not
    repeats of an evaluated point), each completed by its last try."""
    trials = study.get_trials(deepcopy=False)
    assert [t.number for t in trials] == list(range(len(trials)))
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    points = [t for t in trials if not is_retry(t) and not _is_duplicate(t)]
    assert len(points) == n_trials, [(t.number, t.state.name, t.user_attrs.get("fail_reason")) for t in trials]
    for p in points:
        tries = [t for t in trials if t.number == p.number
                 or t.system_attrs.get("failed_trial", t.user_attrs.get("failed_trial")) == p.number]
        assert max(tries, key=lambda t: t.number).state == TrialState.COMPLETE, [
            (t.number, t.state.name, t.user_attrs.get("fail_reason")) for t in tries]


def _note(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> str:
    from optuna_dashboard import get_note

    return get_note(optuna.trial.Trial(study, trial._trial_id))


# ------------------------------------------------------------------------------------------- Ray cluster


class RayNodes:
    """A head and worker nodes started with ``ray start`` on this machine, each in a session of its own."""

    def __init__(self, tmp: Path) -> None:
        self.temp = Path(tempfile.mkdtemp(prefix="dseray-", dir="/tmp"))  # short: Ray's socket paths
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.logs = tmp
        # token auth on, with a token of this cluster's own (not ~/.ray/auth_token)
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
                    "RAY_USAGE_STATS_ENABLED": "0"}
        self.env.pop("RAY_ADDRESS", None)
        self.sessions: dict[str, int] = {}

    def start(self, name: str, resources: dict[str, float], *, head: bool = False) -> None:
        args = [RAY, "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1",
                f"--resources={json.dumps(resources)}", f"--temp-dir={self.temp}", "--disable-usage-stats",
                f"--dashboard-agent-listen-port={_free_port()}", f"--metrics-export-port={_free_port()}",
                f"--runtime-env-agent-port={_free_port()}"]
        args += (["--head", f"--port={self.port}", "--include-dashboard=false", f"--ray-client-server-port={_free_port()}"]
                 if head else [f"--address={self.address}"])
        log = open(self.logs / f"ray-{name}.log", "w")  # noqa: SIM115 - closed when the test's process ends
        p = subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.sessions[name] = p.pid
        wait_for(f"the raylet of node {name}", lambda: self.raylet(name), timeout=180, proc=p)

    def raylet(self, name: str) -> int | None:
        pids = [pid for pid in session_pids(self.sessions[name]) if "/raylet/raylet" in cmdline(pid)]
        return pids[0] if pids else None

    def wait_nodes(self, n: int, timeout: float = 180) -> None:
        """Until the GCS lists ``n`` alive nodes (``ray status`` through the head)."""
        def alive() -> bool:
            r = subprocess.run([RAY, "status", f"--address={self.address}"], env=self.env, capture_output=True,
                               text=True, timeout=60)
            return r.returncode == 0 and r.stdout.count("node_") >= n
        wait_for(f"{n} Ray nodes", alive, timeout=timeout, interval=2)

    def kill(self, name: str) -> list[str]:
        """SIGKILL every process of node ``name`` (raylet, its workers, agents): the node dies."""
        return end_session(self.sessions[name])

    def stop(self) -> None:
        for sid in self.sessions.values():
            end_session(sid)
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.mark.slow
def test_two_node_ray_cluster_survives_losing_a_node(tmp_path):
    t0 = time.monotonic()
    nodes = RayNodes(tmp_path)
    try:
        nodes.start("head", {"dse_head": 1}, head=True)
        nodes.start("worker", {"dse_worker": 1})
        nodes.wait_nodes(2)
        t_cluster = time.monotonic()
        n = 6
        write_study(tmp_path, tiny_study_dict("cluster", n_trials=n, train_seconds=5,
                                              execution={"workers": 2, "cpus_per_trial": 1, "max_retries": 1}))
        env = {**cli_env(), "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": nodes.env["RAY_AUTH_TOKEN"]}
        p = start_dse("run", "study.yaml", "--no-progress", "--address", nodes.address, cwd=tmp_path, env=env)
        try:
            worker_sid = nodes.sessions["worker"]

            def on(sid: int) -> set[int]:
                return set(session_pids(sid))

            def ready_to_kill():
                """A trial completed on each node and one running on the worker node now."""
                try:
                    s = load_study(tmp_path, "cluster")
                except KeyError:  # not created yet
                    return None
                done = [t for t in s.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
                w_pids = on(worker_sid)
                on_worker = [t for t in done if t.user_attrs.get("worker", {}).get("pid") in w_pids]
                on_head = [t for t in done if t.user_attrs.get("worker", {}).get("pid") in on(nodes.sessions["head"])]
                running = trial_workers(worker_sid)
                return (on_worker, on_head) if on_worker and on_head and running else None

            on_worker, on_head = wait_for("a trial done on each node and one running on the worker node",
                                          ready_to_kill, timeout=300, proc=p, interval=0.3)
            dead_node = on_worker[0].user_attrs["worker"]["ray_node"]
            head_node = on_head[0].user_attrs["worker"]["ray_node"]
            assert dead_node != head_node
            time.sleep(1)  # inside the running trial (5 s)
            t_kill = time.monotonic()
            raylet = nodes.raylet("worker")
            killed = nodes.kill("worker")
            assert raylet and not alive(raylet) and len(killed) >= 3, killed
            assert p.wait(timeout=600) == 0, (tmp_path / "driver.err").read_text()[-4000:]
        finally:
            end_session(p.pid)

        s = load_study(tmp_path, "cluster")
        check_complete(s, n)
        trials = s.get_trials(deepcopy=False)
        failed = [t for t in trials if t.state == TrialState.FAIL]
        assert len(failed) == 1, [(t.number, t.user_attrs.get("fail_reason")) for t in failed]
        (lost,) = failed
        reason = lost.user_attrs["fail_reason"]
        assert reason.startswith("worker died: "), reason
        assert "worker died" in _note(s, lost)
        (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == lost.number]
        assert retry.state == TrialState.COMPLETE and retry.params == lost.params
        assert retry.user_attrs["worker"]["ray_node"] == head_node
        nodes_used = {t.user_attrs["worker"]["ray_node"] for t in trials if t.state == TrialState.COMPLETE}
        assert nodes_used == {head_node, dead_node}
        after = [t for t in trials if t.state == TrialState.COMPLETE and t.datetime_start
                 and t.number > lost.number]
        assert all(t.user_attrs["worker"]["ray_node"] == head_node for t in after)
        per_node = {k: sum(t.user_attrs["worker"]["ray_node"] == k for t in trials if t.state == TrialState.COMPLETE)
                    for k in nodes_used}
        print(f"trials per node {per_node} (dead node {dead_node[:8]}); lost trial {lost.number}: {reason!r}; "
              f"cluster start {t_cluster - t0:.1f} s, kill at +{t_kill - t_cluster:.1f} s, "
              f"study done +{time.monotonic() - t_kill:.1f} s after the kill")
    finally:
        nodes.stop()
        assert not [pid for sid in nodes.sessions.values() for pid in session_pids(sid)]


# ---------------------------------------------------------------------------------------------- SIGTERM


@pytest.mark.slow
@pytest.mark.parametrize("to", ["driver", "group"])
def test_sigterm_is_a_clean_stop_and_the_next_run_completes(tmp_path, sessions, to):
    """SIGTERM to the driver alone (a container's PID 1, ``kill PID``) or to its whole process group, Ray's
    local processes included (a batch scheduler cancelling a job step)."""
    write_study(tmp_path, tiny_study_dict("term", n_trials=2, train_seconds=6))
    p = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    sessions.append(p.pid)
    wait_for("a worker running trial 0", lambda: trial_workers(p.pid), timeout=300, proc=p)
    time.sleep(1)
    if to == "driver":
        os.kill(p.pid, signal.SIGTERM)
    else:
        os.killpg(p.pid, signal.SIGTERM)
    rc = p.wait(timeout=120)
    err = (tmp_path / "driver.err").read_text()
    assert rc in (130, 143), err[-3000:]
    assert "interrupted: the database is consistent; resume with: dse run study.yaml" in err, err[-2000:]
    wait_for("the stopped driver's processes (its local Ray) to end", lambda: not session_pids(p.pid), timeout=60)

    s = load_study(tmp_path, "term")
    trials = s.get_trials(deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    (stopped,) = [t for t in trials if t.state == TrialState.FAIL]
    assert stopped.user_attrs["fail_reason"] == "interrupted (SIGTERM); re-queued for the next run"
    assert "interrupted (SIGTERM)" in _note(s, stopped)
    (queued,) = [t for t in trials if t.state == TrialState.WAITING]
    assert queued.user_attrs["failed_trial"] == stopped.number

    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    s = load_study(tmp_path, "term")
    check_complete(s, 2)
    assert s.trials[queued.number].state == TrialState.COMPLETE
    assert s.trials[queued.number].params == stopped.params


# ----------------------------------------------------------------------- a dead driver on another host


@pytest.mark.slow
@pytest.mark.postgres
def test_a_dead_driver_on_another_host_is_recovered_by_the_heartbeat(tmp_path, sessions):
    url = os.environ.get("DSE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("DSE_TEST_POSTGRES_URL is not set (as root: eval \"$(CI=true bash .ci/postgres.sh)\")")
    from sqlalchemy.engine import URL, make_url

    from storage import open_storage

    u = make_url(url)
    name = f"hb-{uuid.uuid4().hex[:8]}"
    n, grace = 6, 8
    plain = URL.create(u.drivername, username=u.username, host=u.host, port=u.port,
                       database=u.database).render_as_string()
    common = {"storage": {"url": plain, "password_env": "DSE_TEST_PG_PASSWORD"},
              "execution": {"workers": 1, "cpus_per_trial": 1, "max_retries": 1}}
    write_study(tmp_path, tiny_study_dict(name, n_trials=n, train_seconds=4, **common))
    # The far driver reads the same study with another sampler seed (two samplers with one seed propose the
    # same points) and trials that would last 10 minutes: it is killed in the middle of its first one.
    write_study(tmp_path, tiny_study_dict(name, n_trials=n, train_seconds=600, sampler={"name": "random", "seed": 7},
                                          **common), "far.yaml")
    env = cli_env(DSE_TEST_PG_PASSWORD=u.password or "", DSE_HEARTBEAT_GRACE_S=str(grace))
    t0 = time.monotonic()
    try:
        far = start_dse("run", "far.yaml", "--no-progress", cwd=tmp_path, log="far",
                        env={**env, "DSE_DRIVER_HOST": "far-away-host"})
        sessions.append(far.pid)

        def far_running():
            try:
                with open_storage(url) as st:
                    s = optuna.load_study(study_name=name, storage=st.optuna)
                    running = [t for t in s.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                               if str(t.user_attrs.get("dse_driver", "")).startswith("far-away-host:")]
            except KeyError:  # the study does not exist yet
                return None
            return running if running and trial_workers(far.pid) else None

        (victim,) = wait_for("a trial of the far driver running", far_running, timeout=300, proc=far, interval=0.5)
        near = start_dse("run", "study.yaml", "--no-progress", cwd=tmp_path, log="near", env=env)
        sessions.append(near.pid)
        wait_for("the near driver running a trial", lambda: trial_workers(near.pid), timeout=300, proc=near)
        t_kill = time.monotonic()
        end_session(far.pid)  # SIGKILL: the far driver and its Ray vanish without a word
        assert near.wait(timeout=600) == 0, (tmp_path / "near.err").read_text()[-4000:]
        t_done = time.monotonic()

        with open_storage(url) as st:
            s = optuna.load_study(study_name=name, storage=st.optuna)
            check_complete(s, n)
            dead = s.trials[victim.number]
            assert dead.state == TrialState.FAIL
            reason = dead.user_attrs["fail_reason"]
            assert reason.startswith("driver far-away-host:") and f"no heartbeat for {grace} s" in reason, reason
            (retry,) = [t for t in s.trials if t.system_attrs.get("failed_trial") == victim.number]
            assert retry.state == TrialState.COMPLETE and retry.params == dead.params
            near_id = retry.user_attrs["dse_driver"]
            assert not near_id.startswith("far-away-host:")
            assert "stopped beating" in _note(s, dead)
            with st.project.engine.connect() as conn:
                row = conn.execute(sqlalchemy.text(
                    "SELECT status, fail_reason FROM dse_trials WHERE study_name = :s AND trial_number = :n"),
                    {"s": name, "n": victim.number}).one()
            assert row.status == "failed" and row.fail_reason == reason
        assert "marked 1 trial(s) of a dead driver failed" in (tmp_path / "near.err").read_text()
        print(f"far driver killed at +{t_kill - t0:.1f} s; near driver done +{t_done - t_kill:.1f} s later; "
              f"trial {victim.number} -> {reason!r}, re-run as trial {retry.number}")
    finally:
        with open_storage(url) as st:
            st.delete_study(name)

"""Who runs a trial, and whether it is still alive: how a driver finds the trials of a dead one.

Every RUNNING trial carries its driver's id (host, PID and the process's start time, so a reused PID
is not mistaken for the driver). On the same host a dead driver is certain; on another host the
trial's Optuna heartbeat going stale tells (:class:`Recovery`): older than ``DSE_HEARTBEAT_GRACE_S``
(default 60 s), it is failed and re-enqueued by the next driver that looks.

The host part is the host name, or ``DSE_DRIVER_HOST`` where set: drivers in containers that share a
host name must set distinct values (tests use it to play a driver on another host).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState

from dse.driver.optuna_api import stale_trial_ids, trial_id
from dse.driver.recording import RunSummary, TrialRecorder
from dse.locks import study_lock

log = logging.getLogger(__name__)


def _grace_period_s() -> int:
    """``DSE_HEARTBEAT_GRACE_S`` (default 60): seconds without a heartbeat after which a RUNNING trial of a
    driver on another host is taken as orphaned (failed and re-queued by the next driver that looks)."""
    raw = os.environ.get("DSE_HEARTBEAT_GRACE_S", "").strip()
    try:
        return max(2, int(float(raw))) if raw else 60
    except ValueError:
        return 60


GRACE_PERIOD_S = _grace_period_s()
#: Optuna's heartbeat interval; the driver beats every half of it, well inside the grace period.
HEARTBEAT_INTERVAL_S = max(1, min(10, GRACE_PERIOD_S // 4))
#: The user attribute of a RUNNING trial that names its driver.
DRIVER_ATTR = "dse_driver"


def host() -> str:
    """The host part of a driver id: ``DSE_DRIVER_HOST``, else the host name."""
    return os.environ.get("DSE_DRIVER_HOST") or socket.gethostname()


def driver_id() -> str:
    return f"{host()}:{os.getpid()}:{proc_start(os.getpid())}"


def proc_start(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def driver_alive(driver: str | None) -> bool | None:
    """True/False for a driver on this host, None when it ran elsewhere (use the heartbeat)."""
    if not driver:
        return None
    try:
        where, pid, start = driver.rsplit(":", 2)
    except ValueError:
        return None
    if where != host():
        return None
    return proc_start(int(pid)) == start


class Recovery:
    """Finds the RUNNING trials of dead drivers of one study, fails them with the reason and re-queues them."""

    def __init__(self, st: Any, study: optuna.Study, study_name: str, recorder: TrialRecorder,
                 summary: RunSummary, driver: str) -> None:
        self.st, self.study, self.study_name, self.recorder = st, study, study_name, recorder
        self.summary, self.driver = summary, driver
        self.last_recover = time.monotonic()
        self._watched: dict[int, float] = {}

    def recover(self) -> int:
        """Fail (and re-enqueue) RUNNING trials whose driver is dead; returns how many.

        Under the quota lock: two drivers resuming at once must not both fail (and retry) a trial.
        """
        n = 0
        with study_lock(self.st.project.engine, self.study_name):
            running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            stale = stale_trial_ids(self.st.optuna, self.study)
            for t in running:
                owner = t.user_attrs.get(DRIVER_ATTR)
                if owner == self.driver:
                    continue
                alive = driver_alive(owner)
                if alive is False:
                    self.recorder.fail(t.number, "driver died while the trial was running", retry=True)
                    n += 1
                elif alive is None and stale is not None and trial_id(t) in stale:
                    self.recorder.fail(t.number, f"driver {owner or '?'} stopped beating (no heartbeat for "
                                       f"{GRACE_PERIOD_S} s: it died or lost the database)", retry=True)
                    n += 1
            if stale is None:  # an Optuna without the query: its own call fails them (without a reason)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    optuna.storages.fail_stale_trials(self.study)
        return n

    def recover_now(self) -> None:
        """Look for orphaned trials every quarter of the grace period while the loop runs."""
        now = time.monotonic()
        if now - self.last_recover < max(1.0, GRACE_PERIOD_S / 4):
            return
        self.last_recover = now
        n = self.recover()
        if n:
            log.warning("marked %d trial(s) of a dead driver failed and re-queued them", n)

    def wait_for_others(self) -> bool:
        """Nothing left to ask here: True while this driver should wait for other drivers' RUNNING trials,
        so that one whose driver died elsewhere is recovered and re-run here. Each such trial is watched
        for one grace period (plus a few heartbeats) at most: had its driver died, it would be stale by
        then; if it is still beating, its driver is alive and finishes it."""
        if self.summary.timed_out:
            return False
        now = time.monotonic()
        watch = GRACE_PERIOD_S + 4 * HEARTBEAT_INTERVAL_S
        others = [t.number for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                  if t.user_attrs.get(DRIVER_ATTR) not in (None, self.driver)]
        self._watched = {n: self._watched.get(n, now) for n in others}  # trial -> since when it is watched
        if not [n for n, since in self._watched.items() if now - since <= watch]:
            return False
        time.sleep(1.0)
        self.recover_now()
        return True

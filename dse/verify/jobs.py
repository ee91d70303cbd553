"""Verifications as Ray tasks beside a study's trials: which to queue, running them, and their records.

A verification is recorded before it runs and after (:mod:`storage.verifications`): queued, then claimed by
one runner (a conditional update, so never run twice), then done or failed. A runner that stops hands its
running verifications back: Ctrl-C/SIGTERM without counting an attempt, a lost worker counting one (after
``max_retries`` lost workers it is failed); a runner that died is found by the next one, as a dead driver's
trials are (same host: its process is gone; elsewhere: no heartbeat for the grace period).

Which designs: the study's front with the shown numbers (:mod:`dse.verify.view`), best first by the first
objective; its first ``top_k`` designs that have no verification yet are queued. As real numbers arrive the
front changes, and the designs that enter its first ``top_k`` are queued in turn. A tie on the first objective is
broken by the second, and so on (:func:`dse.verify.view.rank`).

When: beside running trials, a queued design starts only once it has held its place through ``settle``
completed trials (``settle`` = the number of workers: one round of trials), and a queued design that left
the front's first ``top_k`` before it started is withdrawn (queued again if it re-enters). Early in a study
most designs enter the front only to be dominated by the next few trials; verifying each of them would spend
the real tool's time (minutes per design) on designs the final front does not hold. Once no trial is left to
start, the queued designs start at once. Designs named by the user (``dse verify --trial``) always run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from dse.driver.recovery import GRACE_PERIOD_S, driver_alive
from dse.verify.task import request_of, run_remote
from storage.verifications import QUEUED, RUNNING

log = logging.getLogger(__name__)


@dataclass
class Running:
    ref: Any
    number: int


class VerificationJobs:
    """The verifications of one study by one backend, run by one driver (or ``dse verify``)."""

    def __init__(self, cfg: Any, st: Any, study: Any, backend: str, owner: str, *, top_k: int | None,
                 max_retries: int = 1, work_root: Any = None) -> None:
        self.cfg, self.st, self.study, self.backend, self.owner = cfg, st, study, backend, owner
        self.top_k, self.max_retries, self.work_root = top_k, max_retries, work_root
        self.inflight: dict[int, Running] = {}
        self.explicit: set[int] = set()  # designs the user named: run whatever the front does
        self.completions = 0  # trials completed while this runner ran (the clock of ``settle``)
        self._queued_at: dict[int, int] = {}  # completions when a design was first seen queued
        self.done: list[int] = []  # trial numbers this runner verified
        self.failed: list[str] = []  # "trial N: reason"
        self._ray: Any = None
        self._fn: Any = None
        self.stopping = False

    @classmethod
    def resource(cls, backend: str) -> str | None:
        """The Ray resource the backend's tool needs (a node offering it runs the verification)."""
        from dse.cost.registry import backend_class

        return backend_class(backend).ray_resource()

    def start(self, ray: Any, cpus: float) -> None:
        tool = self.resource(self.backend)
        self._ray = ray
        self._fn = ray.remote(max_retries=0)(run_remote).options(num_cpus=cpus,
                                                                 resources={tool: 1.0} if tool else None)

    # -- queueing ------------------------------------------------------------------------------------

    def front_top(self) -> list[int]:
        """The trial numbers of the front's best ``top_k`` designs (shown numbers), best first."""
        from dse.verify.view import rank, verified_front

        if not self.top_k:
            return []
        # the driver's study reads through Optuna's cached storage (finished trials are read once), which a
        # loop that asks after every completion wants; the views' one-off read is for other processes
        front, hardware = verified_front(self.cfg, self.st, self.study, self.study.get_trials(deepcopy=False))
        return [t.number for t in rank(front, hardware.values, self.cfg.directions)[:self.top_k]]

    def queue_front(self) -> list[int]:
        """Queue the front's best ``top_k`` designs that have no verification; returns the newly queued."""
        if not self.top_k:
            return []
        known = {v.trial_number for v in self.st.verifications.rows(self.cfg.name) if v.backend == self.backend}
        return self.queue([n for n in self.front_top() if n not in known])

    def queue(self, numbers: list[int], *, explicit: bool = False) -> list[int]:
        """Queue ``numbers``' verifications (``explicit``: named by the user, never withdrawn)."""
        if explicit:
            self.explicit.update(numbers)
        return [n for n in numbers if self.st.verifications.queue(self.cfg.name, n, self.backend)]

    def queued(self) -> list[int]:
        return [v.trial_number for v in self.st.verifications.rows(self.cfg.name)
                if v.backend == self.backend and v.status == QUEUED]

    # -- running -------------------------------------------------------------------------------------

    @property
    def pending(self) -> bool:
        """Whether this runner has verifications running or queued for it to run."""
        return bool(self.inflight) or (not self.stopping and bool(self.queued()))

    def submit(self, slots: int, *, settle: int = 0) -> int:
        """Claim and start up to ``slots`` queued verifications; returns how many started. ``settle`` > 0
        (trials are still being started): only designs that held their place in the front's best ``top_k``
        for ``settle`` completed trials start, and queued designs that left it are withdrawn."""
        from dse.cost.registry import backend_class

        queued = self.queued()
        if not queued or slots <= 0 or self.stopping:
            return 0
        top = set(self.front_top()) if self.top_k else set()
        started = 0
        for number in queued:
            if started >= slots:
                break
            if number not in self.explicit and self.top_k and number not in top:
                if self.st.verifications.withdraw(self.cfg.name, number, self.backend):
                    self._queued_at.pop(number, None)
                continue
            seen = self._queued_at.setdefault(number, self.completions)
            if settle and number not in self.explicit and self.completions - seen < settle:
                continue  # not yet held through a round of trials
            if not self.st.verifications.claim(self.cfg.name, number, self.backend, self.owner):
                continue  # another runner took it
            try:
                request = request_of(self.cfg, self.st, self.study, number)
            except Exception as e:  # the trial's record is unusable: a verification that cannot run
                self.st.verifications.fail(self.cfg.name, number, self.backend, str(e))
                self.failed.append(f"trial {number}: {e}")
                continue
            out = None if self.work_root is None else str(self.work_root / f"{number:05d}" / f"verify-{self.backend}")
            self.inflight[number] = Running(self._fn.remote(request, backend_class(self.backend), out), number)
            started += 1
        return started

    def poll(self, timeout: float) -> list[int]:
        """Record the verifications that finished (waiting up to ``timeout`` s for one); their trial numbers."""
        if not self.inflight:
            return []
        refs = [r.ref for r in self.inflight.values()]
        ready, _ = self._ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self._ray.wait(refs, num_returns=len(refs), timeout=0)
        ids = {r.hex() for r in ready}
        finished = [n for n, r in self.inflight.items() if r.ref.hex() in ids]
        for number in finished:
            self._collect(self.inflight.pop(number))
        return finished

    def _collect(self, job: Running) -> None:
        name, number = self.cfg.name, job.number
        try:
            out = self._ray.get(job.ref)
        except Exception as e:  # the worker died (killed, out of memory, node lost): hand it back
            reason = f"worker died: {type(e).__name__}"
            self.st.verifications.release(name, number, self.backend, attempted=True, reason=reason)
            row = next(v for v in self.st.verifications.rows(name) if v.trial_number == number
                       and v.backend == self.backend)
            if row.status == QUEUED and row.attempts > self.max_retries:
                self.st.verifications.fail(name, number, self.backend, f"{reason} ({row.attempts} times)")
                self.failed.append(f"trial {number}: {reason}")
            return
        if "hardware" in out:
            self.st.verifications.finish(name, number, self.backend, out["hardware"])
            self.done.append(number)
            self._notes(number, out["hardware"])
        else:
            self.st.verifications.fail(name, number, self.backend, out["error"])
            self.failed.append(f"trial {number}: {out['error']}")

    def _notes(self, number: int, real: dict[str, Any]) -> None:
        """The verified trial's note and the study's (with its calibration) in optuna-dashboard."""
        from dse.cost.base import HARDWARE_METRICS
        from dse.driver.optuna_api import trial_id
        from dse.verify.notes import study_lines, trial_section, update_study_note, update_trial_note
        from dse.verify.view import calibration_of

        name = self.cfg.name
        result = self.st.project.load_result(name, number)
        trial = next(t for t in self.study.get_trials(deepcopy=False) if t.number == number)
        if result is not None and result.hardware:
            update_trial_note(self.study, trial_id(trial), trial_section(real, result.hardware, HARDWARE_METRICS))
        calibration = None
        if self.cfg.verify is not None and self.cfg.verify.calibrate:
            verified = {n: v.hardware for n, v in self.st.verifications.done(name).items()}
            estimates = {n: r.hardware for n in verified
                         if (r := self.st.project.load_result(name, n)) is not None and r.hardware}
            calibration = calibration_of(self.cfg, estimates, verified)
        shown = [o for o in self.cfg.objective_names if o in HARDWARE_METRICS]
        update_study_note(self.study, study_lines(self.backend, self.top_k, calibration, shown), calibration)

    def stop(self) -> None:
        """Ctrl-C/SIGTERM: cancel the running verifications and hand them back (not counted as attempts)."""
        self.stopping = True
        for job in self.inflight.values():
            if self._ray is not None:
                try:
                    self._ray.cancel(job.ref, force=True)
                except Exception as e:
                    log.warning("verification of trial %s not cancelled: %s", job.number, e)
            self.st.verifications.release(self.cfg.name, job.number, self.backend, attempted=False,
                                          reason="interrupted; queued for the next run")
        self.inflight.clear()

    def beat(self) -> None:
        if self.inflight:
            self.st.verifications.beat(self.cfg.name, self.owner)

    def recover(self) -> int:
        """Hand back the running verifications of runners that died; returns how many."""
        n = self.st.verifications.release_dead(self.cfg.name, _alive_unless_me(self.owner), GRACE_PERIOD_S)
        if n:
            log.warning("re-queued %d verification(s) of a runner that stopped", n)
        return n


def _alive_unless_me(me: str) -> Any:
    def alive(owner: str | None) -> bool | None:
        return True if owner == me else driver_alive(owner)

    return alive


__all__ = ["RUNNING", "VerificationJobs"]

"""The verifications of a study's designs (``dse_verifications``): queued, running, done or failed.

A verification re-costs a finished trial's design with a real backend; its report is stored here, beside
the trial's estimate (which stays in ``dse_hardware`` and in Optuna's values). Each state change is one
transaction, and every change that hands a verification to a runner is a conditional update, so two drivers
(or a driver and ``dse verify``) never run the same one twice, and a verification whose runner stopped is
handed back (``release``/``release_dead``) rather than lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from storage.models import VerificationRow, json_safe, utcnow
from storage.retry import is_transient, run_with_retry

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class Verification:
    """One verification as stored."""

    study: str
    trial_number: int
    backend: str
    status: str
    owner: str | None = None
    attempts: int = 0
    hardware: dict[str, Any] | None = None
    error: str | None = None
    beat_at: datetime | None = None


class VerificationStore:
    """Reads and changes the verifications of every study in one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(dse_write=True)

    # -- writing --------------------------------------------------------------------------------

    def queue(self, study: str, number: int, backend: str) -> bool:
        """Queue trial ``number``'s verification by ``backend``; False when it exists already (any state)."""

        def tx() -> bool:
            with self._write_engine.begin() as conn:
                if conn.execute(select(VerificationRow.id).where(*_key(study, number, backend))).first():
                    return False
                now = utcnow()
                conn.execute(VerificationRow.__table__.insert().values(
                    study_name=study, trial_number=int(number), backend=backend, status=QUEUED, attempts=0,
                    created_at=now, updated_at=now))
                return True

        try:
            return run_with_retry(tx, what=f"queueing the verification of trial {number}")
        except IntegrityError:  # another process queued it between our check and insert (else: a real error)
            if any(v.trial_number == number and v.backend == backend for v in self.rows(study)):
                return False
            raise

    def claim(self, study: str, number: int, backend: str, owner: str) -> bool:
        """Take a queued verification to run it; False when it is not queued (done, failed, or taken)."""
        now = utcnow()
        return self._update(study, number, backend, {"status": RUNNING, "owner": owner, "beat_at": now},
                            only_status=QUEUED) == 1

    def finish(self, study: str, number: int, backend: str, hardware: dict[str, Any]) -> None:
        self._update(study, number, backend, {"status": DONE, "hardware": json_safe(hardware, "hardware"),
                                              "error": None, "owner": None})

    def fail(self, study: str, number: int, backend: str, error: str) -> None:
        self._update(study, number, backend, {"status": FAILED, "error": str(error), "owner": None})

    def release(self, study: str, number: int, backend: str, *, attempted: bool, reason: str | None = None) -> None:
        """Hand a running verification back to the queue (its runner stopped); ``attempted`` counts the cut-short
        run, as a lost worker does (a stop the user asked for does not)."""
        values: dict[str, Any] = {"status": QUEUED, "owner": None, "beat_at": None, "error": reason}
        if attempted:
            values["attempts"] = VerificationRow.attempts + 1
        self._update(study, number, backend, values, only_status=RUNNING)

    def withdraw(self, study: str, number: int, backend: str) -> bool:
        """Remove a verification that is still only queued (its design left the front before it started: no
        work is lost, and the design is queued again if it re-enters); False when it is not queued."""

        def tx() -> bool:
            with self._write_engine.begin() as conn:
                res = conn.execute(delete(VerificationRow).where(*_key(study, number, backend),
                                                                 VerificationRow.status == QUEUED))
                return bool(res.rowcount)

        return run_with_retry(tx, what=f"withdrawing the verification of trial {number}")

    def retry(self, study: str, number: int, backend: str) -> bool:
        """Queue a failed verification again (the user asked for it); False when it had not failed."""
        return self._update(study, number, backend, {"status": QUEUED, "attempts": 0}, only_status=FAILED) == 1

    def beat(self, study: str, owner: str) -> None:
        """Mark the running verifications of ``owner`` alive now."""

        def tx() -> None:
            with self._write_engine.begin() as conn:
                conn.execute(update(VerificationRow).where(
                    VerificationRow.study_name == study, VerificationRow.status == RUNNING,
                    VerificationRow.owner == owner).values(beat_at=utcnow()))

        run_with_retry(tx, what="recording verification heartbeats")

    def release_dead(self, study: str, alive: Callable[[str | None], bool | None], grace_s: float) -> int:
        """Re-queue running verifications whose owner is dead: ``alive(owner)`` False, or None (another host)
        and no heartbeat for ``grace_s`` seconds. Returns how many."""
        now = utcnow()
        n = 0
        for v in self.rows(study):
            if v.status != RUNNING:
                continue
            state = alive(v.owner)
            stale = v.beat_at is None or now - v.beat_at > timedelta(seconds=grace_s)
            if state is False or (state is None and stale):
                n += self._update(study, v.trial_number, v.backend,
                                  {"status": QUEUED, "owner": None, "beat_at": None,
                                   "error": f"runner {v.owner or '?'} stopped"},
                                  only_status=RUNNING, only_owner=v.owner)
        return n

    def delete_study(self, study: str) -> int:
        def tx() -> int:
            with self._write_engine.begin() as conn:
                res = conn.execute(delete(VerificationRow).where(VerificationRow.study_name == study))
                return int(res.rowcount or 0)

        return run_with_retry(tx, what=f"deleting the verifications of {study!r}")

    def _update(self, study: str, number: int, backend: str, values: dict[str, Any], *,
                only_status: str | None = None, only_owner: str | None = None) -> int:
        cond = list(_key(study, number, backend))
        if only_status is not None:
            cond.append(VerificationRow.status == only_status)
        if only_owner is not None:
            cond.append(VerificationRow.owner == only_owner)

        def tx() -> int:
            with self._write_engine.begin() as conn:
                res = conn.execute(update(VerificationRow).where(*cond).values(**values, updated_at=utcnow()))
                return int(res.rowcount or 0)

        return run_with_retry(tx, retry_if=is_transient, what=f"updating the verification of trial {number}")

    # -- reading --------------------------------------------------------------------------------

    def rows(self, study: str) -> list[Verification]:
        """Every verification of ``study``, by trial number then backend."""

        def tx() -> list[Verification]:
            with self.engine.connect() as conn:
                res = conn.execute(select(VerificationRow).where(VerificationRow.study_name == study)
                                   .order_by(VerificationRow.trial_number, VerificationRow.backend)).all()
            return [Verification(r.study_name, r.trial_number, r.backend, r.status, r.owner, r.attempts or 0,
                                 r.hardware, r.error, r.beat_at) for r in res]

        return run_with_retry(tx, what="reading verifications")

    def done(self, study: str) -> dict[int, Verification]:
        """The finished verifications by trial number (the latest backend's when a trial has several)."""
        return {v.trial_number: v for v in self.rows(study) if v.status == DONE and v.hardware}


def _key(study: str, number: int, backend: str) -> tuple[Any, ...]:
    return (VerificationRow.study_name == study, VerificationRow.trial_number == int(number),
            VerificationRow.backend == backend)

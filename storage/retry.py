"""Retry a database transaction when another process holds the lock.

SQLite allows one writer at a time. The busy timeout (``connect_args={"timeout": ...}``) makes a
writer wait for the lock, but SQLite still answers ``database is locked`` at once in some cases
(a busy handler is not called while another connection recovers the WAL, and the wait can run
out under heavy load). PostgreSQL answers a deadlock or a serialization failure the same way:
the transaction must be run again from the start. :func:`run_with_retry` does that, with
exponential backoff and jitter so that two processes do not collide again in lockstep.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

__all__ = ["is_transient", "run_with_retry"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# PostgreSQL SQLSTATEs that mean "run the transaction again": serialization_failure,
# deadlock_detected, lock_not_available.
_PG_RETRY_CODES = frozenset({"40001", "40P01", "55P03"})
_SQLITE_RETRY_TEXT = ("database is locked", "database table is locked", "database schema has changed")


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is a lock, deadlock or dropped connection that a new attempt may not hit."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if getattr(orig, "pgcode", None) in _PG_RETRY_CODES:
        return True
    text = str(orig).lower()
    return any(t in text for t in _SQLITE_RETRY_TEXT)


def run_with_retry(
    fn: Callable[[], T],
    *,
    attempts: int = 12,
    base_delay: float = 0.05,
    max_delay: float = 2.0,
    retry_if: Callable[[BaseException], bool] = is_transient,
    what: str = "database transaction",
) -> T:
    """Call ``fn`` (one whole transaction) until it succeeds; re-raise the last error.

    Only errors for which ``retry_if`` is true are retried, at most ``attempts`` calls in all;
    the delay doubles from ``base_delay`` up to ``max_delay`` and is jittered by ±50 %.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as e:
            if attempt >= attempts or not retry_if(e):
                raise
            delay = min(max_delay, base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
            log.debug("%s: attempt %d failed (%s); retrying in %.2fs", what, attempt, type(e).__name__, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover

"""The locks of dse, in one place; each is released by the kernel or the server if its holder dies.

- :func:`key_lock`: a per-key exclusive file lock shared by the on-disk caches;
- :func:`study_lock`: one lock per study shared by every driver of it, on any host that reaches its
  database (a file lock beside a SQLite file, a PostgreSQL advisory lock on a server).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def key_lock(root: Path, key: str) -> Iterator[None]:
    """Hold ``<root>/locks/<key>.lock`` exclusively: processes building the same cache entry wait."""
    lock_dir = root / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{key}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def study_lock(engine: Any, study_name: str) -> Iterator[None]:
    """Hold the lock of study ``study_name`` in the database behind the SQLAlchemy ``engine``.

    Drivers take it to count design points and ask the next trial (so two drivers never exceed
    ``n_trials``) and to recover trials (so two resuming drivers never both retry one).
    """
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        with open(f"{url.database}.dse-lock", "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
    elif url.get_backend_name() == "postgresql":
        key = int.from_bytes(study_name.encode()[:8].ljust(8, b"\0"), "big") & 0x7FFFFFFFFFFFFFFF
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({key})")
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({key})")
    else:
        yield

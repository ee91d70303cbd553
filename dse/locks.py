"""A per-key exclusive file lock shared by the on-disk caches (released by the kernel if a process dies)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


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

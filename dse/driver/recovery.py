"""Who runs a trial, and whether it is still alive: how a restarted driver finds orphaned trials.

Every RUNNING trial carries its driver's id (host, PID and the process's start time, so a reused PID
is not mistaken for the driver). On the same host a dead driver is certain; on another host the
trial's Optuna heartbeat going stale tells (see :meth:`dse.driver.loop.Driver.recover`).
"""

from __future__ import annotations

import os
import socket


def driver_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{proc_start(os.getpid())}"


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
        host, pid, start = driver.rsplit(":", 2)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    return proc_start(int(pid)) == start

"""Who runs a trial, and whether it is still alive: how a restarted driver finds orphaned trials.

Every RUNNING trial carries its driver's id (host, PID and the process's start time, so a reused PID
is not mistaken for the driver). On the same host a dead driver is certain; on another host the
trial's Optuna heartbeat going stale tells (see :meth:`dse.driver.loop.Driver.recover`).

The host part is the host name, or ``DSE_DRIVER_HOST`` where set: drivers in containers that share a
host name must set distinct values (tests use it to play a driver on another host).
"""

from __future__ import annotations

import os
import socket


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

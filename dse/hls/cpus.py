"""How many CPUs the hls4ml steps of one trial may use (parallel g++ units, forked C-simulation)."""

from __future__ import annotations

import os

WORKERS_ENV = "DSE_HLS_JOBS"


def default_workers() -> int:
    """``$DSE_HLS_JOBS``, else the trial's CPUs (``$DSE_TF_THREADS``, set per Ray task), else the
    CPUs this process may run on."""
    for env in (WORKERS_ENV, "DSE_TF_THREADS"):
        text = os.environ.get(env, "").strip()
        if text.isdigit() and int(text) > 0:
            return int(text)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

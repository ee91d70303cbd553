"""Reuse of C-simulation outputs between design points that compute the same numbers.

Reuse factor, strategy (Latency/Resource), part, clock and HLS tool change how a design is scheduled
and what it costs, never what it computes: every hls4ml dense kernel multiplies the same ``data_T``
by the same ``weight_t`` and accumulates in the same ``accum_t`` (fixed-point sums are exact, or
wrap modulo 2^W, so the order of the adds does not matter either). A scan over parallelism for one
precision therefore needs one C simulation, not one per reuse factor -- and, with the estimator as
the cost backend, no g++ at all. ``tests/test_hls_csim_cache.py`` checks the neutrality on a real
compiled model (Latency RF 1 against Resource RF 2: bit-identical outputs), so a change in hls4ml
that broke it would fail there.

Key: the trained model file's checksum, every other design field, the inputs, the hls4ml/g++
toolchain and dse's own hls4ml code (the workarounds change numerics when they change). Entries are
``<root>/csim/<key>.npz``, written to a temp file and renamed into place.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from dse.hls.cache import toolchain
from dse.hls.csim import CSimOutput
from dse.hls.design import HLSDesign

KEY_VERSION = 2  # 2: outputs stored by name (any model), not as LFADS log-rates and factors
# HLSDesign fields that change the schedule and the cost of a design but not one bit of its outputs.
NUMERICALLY_NEUTRAL = frozenset(
    {"reuse_factor", "layer_reuse_factor", "recurrent_reuse_factor", "strategy", "part", "clock_period", "backend"}
)


@functools.cache
def _dse_hls_source() -> str:
    """Hash of dse's hls4ml code as this process loaded it (read once, not per trial)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def numeric_key(model_sha256: str, design: HLSDesign, spikes: np.ndarray) -> str:
    """Equal for two design points exactly when their C simulations must give equal outputs."""
    numerics = {k: v for k, v in design.to_dict().items() if k not in NUMERICALLY_NEUTRAL}
    a = np.ascontiguousarray(spikes, dtype=np.float64)
    h = hashlib.sha256()
    h.update(json.dumps({"v": KEY_VERSION, "toolchain": toolchain(), "dse_hls": _dse_hls_source(),
                         "model": model_sha256, "design": numerics}, sort_keys=True, default=str).encode())
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()[:32]


SECONDS = "__seconds__"  # the simulation's wall time, stored beside the outputs


def _path(root: str | Path, key: str) -> Path:
    return Path(root) / "csim" / f"{key}.npz"


def load(root: str | Path, key: str) -> CSimOutput | None:
    """The stored outputs for ``key``, or None (also for an unreadable entry, which is then recomputed)."""
    try:
        with np.load(_path(root, key)) as z:
            return CSimOutput({k: z[k] for k in z.files if k != SECONDS}, float(z[SECONDS]))
    except (OSError, KeyError, ValueError):
        return None


def store(root: str | Path, key: str, output: CSimOutput) -> Path:
    path = _path(root, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **output.outputs, **{SECONDS: output.seconds})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path

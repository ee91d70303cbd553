"""Helpers shared by the file loaders (npz, hdf5, nwb)."""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np

from dse.data.base import NeuralData
from dse.errors import DataError


def check_file(path: str | os.PathLike) -> Path:
    """The path, if it names an existing regular file; else :class:`DataError`."""
    p = Path(path)
    if not p.exists():
        raise DataError(str(path), "file not found")
    if not p.is_file():
        raise DataError(str(path), "is not a regular file")
    return p


def resolve_bin_width(where: str, in_file: object | None, option: float | None) -> float:
    """The bin width from the file, else from the caller's option; both given must agree."""
    if in_file is not None:
        value = _scalar(where, in_file, "bin_width_s")
        if option is not None and not math.isclose(value, float(option), rel_tol=1e-9):
            raise DataError(
                where, f"the file says {value} s but bin_width_s={option} was passed", "bin_width_s"
            )
        return value
    if option is None:
        raise DataError(where, "not in the file; pass bin_width_s=<seconds> when loading it", "bin_width_s")
    return _scalar(where, option, "bin_width_s")


def _scalar(where: str, value: object, field: str) -> float:
    arr = np.asarray(value)
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise DataError(where, f"must be one real number, got {value!r}", field)
    v = float(arr.reshape(()))
    if not (math.isfinite(v) and v > 0):
        raise DataError(where, f"must be a positive number of seconds, got {v}", field)
    return v


def missing_behavior(where: str, require: bool, hint: str, n_trials: int, n_bins: int) -> np.ndarray:
    """Raise if behaviour is required; else an empty (trials, bins, 0) behaviour array."""
    if require:
        raise DataError(
            where,
            f"no behaviour found ({hint}); dse needs behaviour to score models "
            "(pass require_behavior=False to load spikes only)",
            "behavior",
        )
    return np.zeros((n_trials, n_bins, 0))


def build(
    where: str,
    spikes: np.ndarray,
    behavior: np.ndarray,
    bin_width_s: float,
    rates: np.ndarray | None = None,
    latents: np.ndarray | None = None,
    meta: dict | None = None,
) -> NeuralData:
    """Validated :class:`NeuralData` with spikes stored as int32 counts and the rest as float64."""
    data = NeuralData(
        spikes=_numeric(where, spikes, "spikes"),
        behavior=_numeric(where, behavior, "behavior").astype(np.float64, copy=False),
        bin_width_s=float(bin_width_s),
        rates=None if rates is None else _numeric(where, rates, "rates").astype(np.float64, copy=False),
        latents=None
        if latents is None
        else _numeric(where, latents, "latents").astype(np.float64, copy=False),
        source=where,
        meta=dict(meta or {}),
    )
    if data.spikes.max() > np.iinfo(np.int32).max:
        raise DataError(where, f"has a count of {data.spikes.max()}, too large for a bin", "spikes")
    # validated above: finite, non-negative, integer-valued, so the cast is exact
    return dataclasses.replace(data, spikes=data.spikes.astype(np.int32))


def _numeric(where: str, arr: object, field: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype == bool:
        a = a.astype(np.int32)
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise DataError(where, f"must be a real numeric array, got dtype {a.dtype}", field)
    return a

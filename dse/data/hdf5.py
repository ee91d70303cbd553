"""HDF5 files in the lfads-torch layout.

Datasets read (``<s>`` is ``train``, ``valid`` and, if present, ``test``):

* ``<s>_encod_data`` (trials, bins, neurons) spike counts; the older LFADS name ``<s>_data`` is
  accepted when ``<s>_encod_data`` is absent. ``train`` and ``valid`` are required.
* ``<s>_behavior`` (trials, bins, k): required by default, since dse scores models on behaviour.
  ``require_behavior=False`` loads spikes alone with an empty (trials, bins, 0) behaviour.
* ``<s>_truth`` (trials, bins, neurons), optional ground-truth rates. lfads-torch stores them scaled:
  its data module compares ``truth / conversion_factor`` with the model's rates, which are expected
  counts per bin. So rates in Hz are ``truth / conversion_factor / bin_width_s``; the scalar
  ``conversion_factor`` is read from a dataset or root attribute of that name, and taken as 1 (truth
  already in counts per bin) when the file has none (recorded in ``meta``).
* ``<s>_latents`` (trials, bins, d), optional (not lfads-torch; written by dse's own exports).
* ``bin_width_s`` or ``dt`` (seconds) as a root attribute or scalar dataset; else the caller's
  ``bin_width_s`` option.

All trials are concatenated (train, then valid, then test) into one :class:`NeuralData`; which
trials each original split held is recorded as index arrays in ``meta["original_split"]``
(dse makes its own seeded split; this keeps the file's one available). Extra datasets such as
``*_recon_data`` or ``*_ext_input`` are ignored.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from dse.data._files import build, check_file, missing_behavior, resolve_bin_width
from dse.data.base import NeuralData
from dse.errors import DataError

SPLITS = ("train", "valid", "test")


def load_hdf5(
    path: str | os.PathLike, bin_width_s: float | None = None, require_behavior: bool = True
) -> NeuralData:
    """Load an lfads-torch style HDF5 file (see the module docstring)."""
    p = check_file(path)
    where = str(path)
    try:
        f = h5py.File(p, "r")
    except (OSError, ValueError) as exc:
        raise DataError(where, f"cannot be read as an HDF5 file ({exc})") from exc
    try:
        with f:
            spikes = _split_spikes(f, where)
            splits = list(spikes)
            dt_in_file = _first_scalar(f, where, ("bin_width_s", "dt"))
            width = resolve_bin_width(where, dt_in_file, bin_width_s)
            behavior = _optional_split_arrays(f, where, splits, "behavior", spikes)
            truth = _optional_split_arrays(f, where, splits, "truth", spikes, same_last=True)
            latents = _optional_split_arrays(f, where, splits, "latents", spikes)
            cf = _first_scalar(f, where, ("conversion_factor",)) if truth is not None else None
            original_ids = {s: f[f"{s}_inds"][()] for s in splits if _is_dataset(f, f"{s}_inds")}
    except (OSError, KeyError, RuntimeError) as exc:  # damaged objects inside a readable file
        raise DataError(where, f"cannot be read as an HDF5 file ({exc})") from exc

    counts = [spikes[s].shape[0] for s in splits]
    starts = np.cumsum([0, *counts])
    all_spikes = np.concatenate([spikes[s] for s in splits])
    if behavior is None:
        hint = "no " + " / ".join(f"{s}_behavior" for s in splits)
        beh = missing_behavior(where, require_behavior, hint, *all_spikes.shape[:2])
    else:
        beh = np.concatenate(behavior)
    rates = None
    if truth is not None:
        rates = np.concatenate(truth).astype(np.float64) / (1.0 if cf is None else cf) / width
    meta = {
        "format": "hdf5-lfads",
        "original_split": {s: np.arange(starts[i], starts[i + 1]) for i, s in enumerate(splits)},
        "has_behavior": behavior is not None,
    }
    if truth is not None:
        meta["truth_conversion_factor"] = 1.0 if cf is None else cf
        meta["truth_conversion_factor_assumed"] = cf is None
    if original_ids:
        meta["original_trial_ids"] = original_ids
    return build(
        where,
        all_spikes,
        beh,
        width,
        rates=rates,
        latents=None if latents is None else np.concatenate(latents),
        meta=meta,
    )


def _is_dataset(f: h5py.File, key: str) -> bool:
    return key in f and isinstance(f[key], h5py.Dataset)


def _read(f: h5py.File, where: str, key: str) -> np.ndarray:
    if not isinstance(f[key], h5py.Dataset):
        raise DataError(where, "is a group, expected a dataset", key)
    try:
        return np.asarray(f[key][()])
    except (OSError, ValueError, TypeError) as exc:
        raise DataError(where, f"cannot be read ({exc})", key) from exc


def _split_spikes(f: h5py.File, where: str) -> dict[str, np.ndarray]:
    """Spike arrays per split present, checked to be 3-D with matching bins and neurons."""
    out: dict[str, np.ndarray] = {}
    for s in SPLITS:
        key = next((k for k in (f"{s}_encod_data", f"{s}_data") if k in f), None)
        if key is None:
            if s == "test":
                continue
            raise DataError(
                where, f"missing (the file has {sorted(f.keys()) or 'nothing'})", f"{s}_encod_data"
            )
        arr = _read(f, where, key)
        if arr.ndim != 3:
            raise DataError(where, f"must be a 3-D array (trials, bins, neurons), got shape {arr.shape}", key)
        if out and arr.shape[1:] != out["train"].shape[1:]:
            raise DataError(
                where,
                f"has {arr.shape[1]} bins x {arr.shape[2]} neurons but train data have "
                f"{out['train'].shape[1]} x {out['train'].shape[2]}",
                key,
            )
        out[s] = arr
    return out


def _optional_split_arrays(
    f: h5py.File,
    where: str,
    splits: list[str],
    name: str,
    spikes: dict[str, np.ndarray],
    same_last: bool = False,
) -> list[np.ndarray] | None:
    """``<split>_<name>`` for every split, or None if no split has it; partial sets are an error."""
    present = [s for s in splits if f"{s}_{name}" in f]
    if not present:
        return None
    if len(present) != len(splits):
        missing = [f"{s}_{name}" for s in splits if s not in present]
        raise DataError(where, f"present for {present} but missing for the other splits", missing[0])
    arrays = []
    for s in splits:
        key = f"{s}_{name}"
        arr = _read(f, where, key)
        if arr.ndim == 2:  # one behaviour variable stored without its last axis
            arr = arr[:, :, None]
        want = spikes[s].shape if same_last else spikes[s].shape[:2]
        got = arr.shape if same_last else arr.shape[:2]
        if arr.ndim != 3 or got != want:
            raise DataError(where, f"shape {arr.shape} does not match {s} spikes {spikes[s].shape}", key)
        if arrays and arr.shape[2] != arrays[0].shape[2]:
            raise DataError(
                where, f"has {arr.shape[2]} columns but {splits[0]}_{name} has {arrays[0].shape[2]}", key
            )
        arrays.append(arr)
    return arrays


def _first_scalar(f: h5py.File, where: str, names: tuple[str, ...]) -> float | None:
    """The first of ``names`` found as a root attribute or scalar dataset, as a positive float."""
    for name in names:
        value = f.attrs[name] if name in f.attrs else (_read(f, where, name) if name in f else None)
        if value is None:
            continue
        arr = np.asarray(value)
        if arr.size != 1 or not np.issubdtype(arr.dtype, np.number):
            raise DataError(where, f"must be one number, got {value!r}", name)
        v = float(arr.reshape(()))
        if not (np.isfinite(v) and v > 0):
            raise DataError(where, f"must be a positive number, got {v}", name)
        return v
    return None

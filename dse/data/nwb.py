"""NWB files (read with pynwb): sorted units binned in a window around a trial event, plus behaviour.

The layout is that of the public monkey-reaching sets on DANDI (MC_Maze and the other Neural
Latents Benchmark files): spike times in the ``units`` table, one row per trial in the ``trials``
table with event-time columns such as ``move_onset_time``, and behaviour as time series in the
``behavior`` processing module (``hand_pos``, ``hand_vel``, ``cursor_pos``, ``eye_pos``).

* **Window.** Trial *i* covers ``[t_i + offset_s, t_i + offset_s + n_bins * bin_width_s)`` where
  ``t_i`` is its ``event`` column; bin *k* is the half-open interval from edge *k* to edge *k+1*,
  so a spike exactly on an edge counts in the later bin (to within 1 ns, so that floating-point
  rounding of the edges cannot move samples or spikes that lie on them).
* **Behaviour** comes from ``processing[behavior_module][behavior_series]``; a series nested in a
  container (e.g. ``Position`` holding ``Hand``) can be named ``"Position/Hand"`` or just ``"Hand"``.
  It is resampled to the bins by averaging the samples whose timestamps fall in each bin (a boxcar,
  right for the usual 1 kHz kinematics and 10-20 ms bins); a bin that holds no sample (a series
  slower than the bins) takes the series linearly interpolated at the bin centre.
* **Trials dropped** (counted in ``meta["dropped_trials"]``, their ids in
  ``meta["dropped_trial_ids"]``): an event time that is NaN (e.g. failed trials without a
  movement onset); a window reaching outside the recording, i.e. outside the span of the units'
  ``obs_intervals`` (when the file has them) or outside the behaviour series' samples; NaN
  behaviour inside the window. ``drop_invalid=False`` turns the first such trial into an error.
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real

import numpy as np

from dse.data._files import build, check_file, missing_behavior
from dse.data.base import NeuralData
from dse.errors import DataError

REASONS = ("missing_event", "outside_recording", "behavior_nan")
# A time this close below a bin edge counts as on the edge (so in the later bin): bin edges are
# computed in floating point, and 1 kHz samples or ms-rounded spikes often fall exactly on them.
EDGE_TOL_S = 1e-9


def load_nwb(
    path: str | os.PathLike,
    event: str = "start_time",
    offset_s: float = 0.0,
    n_bins: int = 73,
    bin_width_s: float = 0.01,
    behavior_module: str = "behavior",
    behavior_series: str = "hand_pos",
    require_behavior: bool = True,
    drop_invalid: bool = True,
) -> NeuralData:
    """Bin an NWB file's units around ``event`` and resample its behaviour (module docstring)."""
    p = check_file(path)
    where = str(path)
    _check_params(where, offset_s, n_bins, bin_width_s)
    from pynwb import NWBHDF5IO  # heavy import, only when an NWB file is loaded

    try:
        io = NWBHDF5IO(str(p), "r")
    except Exception as exc:  # pynwb/hdmf/h5py raise many kinds for a damaged or foreign file
        raise DataError(where, f"cannot be read as an NWB file ({type(exc).__name__}: {exc})") from exc
    try:
        nwb = io.read()
        trial_ids, events = _trials(nwb, where, event)
        unit_ids, spike_times, obs_span = _units(nwb, where)
        series = _behavior_series(nwb, where, behavior_module, behavior_series, require_behavior)
        beh_t, beh_x, beh_unit = (None, None, None) if series is None else _series_arrays(series, where)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(where, f"cannot be read as an NWB file ({type(exc).__name__}: {exc})") from exc
    finally:
        io.close()

    offset_s, bin_width_s = float(offset_s), float(bin_width_s)
    edges = (events + offset_s)[:, None] + np.arange(n_bins + 1) * bin_width_s
    reason = np.full(len(events), "", dtype=object)
    reason[~np.isfinite(events)] = "missing_event"
    span = _recording_span(obs_span, beh_t)
    finite = reason == ""
    outside = np.zeros(len(events), dtype=bool)
    outside[finite] = (edges[finite, 0] < span[0] - 1e-9) | (edges[finite, -1] > span[1] + 1e-9)
    reason[outside] = "outside_recording"

    behavior = None
    if beh_t is not None:
        behavior = np.full((len(events), n_bins, beh_x.shape[1]), np.nan)
        ok = reason == ""
        behavior[ok] = _resample(beh_t, beh_x, edges[ok])
        bad = ok & ~np.all(np.isfinite(behavior), axis=(1, 2))
        reason[bad] = "behavior_nan"

    keep = reason == ""
    _report_dropped(where, reason, trial_ids, event, drop_invalid)
    spikes = _bin_spikes(spike_times, edges[keep])
    if behavior is None:
        hint = f"no series '{behavior_series}' in a '{behavior_module}' processing module"
        behavior_kept = missing_behavior(where, require_behavior, hint, int(keep.sum()), n_bins)
    else:
        behavior_kept = behavior[keep]
    meta = {
        "format": "nwb",
        "event": event,
        "offset_s": offset_s,
        "behavior": None if series is None else f"{behavior_module}/{behavior_series}",
        "behavior_unit": beh_unit,
        "trial_ids": trial_ids[keep],
        "unit_ids": unit_ids,
        "n_trials_in_file": len(events),
        "dropped_trials": {r: int(np.sum(reason == r)) for r in REASONS},
        "dropped_trial_ids": {r: trial_ids[reason == r] for r in REASONS},
    }
    return build(where, spikes, behavior_kept, bin_width_s, meta=meta)


def _check_params(where: str, offset_s: object, n_bins: object, bin_width_s: object) -> None:
    if isinstance(n_bins, bool) or not isinstance(n_bins, Integral) or n_bins < 1:
        raise DataError(where, f"must be an integer >= 1, got {n_bins!r}", "n_bins")
    if not (isinstance(offset_s, Real) and math.isfinite(offset_s)):
        raise DataError(where, f"must be a finite number of seconds, got {offset_s!r}", "offset_s")
    if not (isinstance(bin_width_s, Real) and math.isfinite(bin_width_s) and bin_width_s > 0):
        raise DataError(where, f"must be a positive number of seconds, got {bin_width_s!r}", "bin_width_s")


def _trials(nwb: object, where: str, event: str) -> tuple[np.ndarray, np.ndarray]:
    trials = nwb.trials
    if trials is None or len(trials) == 0:
        raise DataError(where, "the file has no trials table (or it is empty)", "trials")
    if event not in trials.colnames:
        raise DataError(
            where, f"'{event}' is not a column of the trials table {list(trials.colnames)}", "event"
        )
    events = np.asarray(trials[event].data[:])
    if not np.issubdtype(events.dtype, np.number):
        raise DataError(where, f"trials column '{event}' is not numeric (dtype {events.dtype})", "event")
    return np.asarray(trials.id.data[:]), events.astype(np.float64)


def _ragged(table: object, column: str) -> list[np.ndarray]:
    """A ragged column of an NWB table as one array per row."""
    col = table[column]
    if hasattr(col, "target"):  # VectorIndex: row ends into the flat target
        ends = np.asarray(col.data[:], dtype=np.int64)
        flat = np.asarray(col.target.data[:])
        starts = np.concatenate([[0], ends[:-1]])
        return [flat[s:e] for s, e in zip(starts, ends, strict=True)]
    return [np.asarray(v) for v in col.data[:]]


def _units(nwb: object, where: str) -> tuple[np.ndarray, list[np.ndarray], tuple[float, float] | None]:
    units = nwb.units
    if units is None or len(units) == 0:
        raise DataError(where, "the file has no units (sorted spike times)", "units")
    if "spike_times" not in units.colnames:
        raise DataError(where, "the units table has no spike_times column", "units")
    times = [np.sort(np.asarray(t, dtype=np.float64)) for t in _ragged(units, "spike_times")]
    span = None
    if "obs_intervals" in units.colnames:
        intervals = [
            np.asarray(iv, dtype=np.float64).reshape(-1, 2) for iv in _ragged(units, "obs_intervals")
        ]
        allv = np.concatenate(intervals) if intervals else np.zeros((0, 2))
        if len(allv):
            span = (float(allv[:, 0].min()), float(allv[:, 1].max()))
    return np.asarray(units.id.data[:]), times, span


def _behavior_series(nwb: object, where: str, module: str, name: str, require: bool) -> object | None:
    """The behaviour TimeSeries, or None when it is absent and not required."""
    from pynwb import TimeSeries

    if module not in nwb.processing:
        if not require:
            return None
        raise DataError(
            where,
            f"no processing module '{module}' (modules: {sorted(nwb.processing) or 'none'}); "
            "dse needs behaviour (pass require_behavior=False to load spikes only)",
            "behavior_module",
        )
    mod = nwb.processing[module]
    obj = _find(mod, name.split("/"))
    if obj is None and not require:
        return None
    if obj is None:
        raise DataError(
            where,
            f"no series '{name}' in module '{module}' (it holds {sorted(mod.data_interfaces)})",
            "behavior_series",
        )
    if not isinstance(obj, TimeSeries):
        children = sorted(c.name for c in getattr(obj, "children", ()))
        raise DataError(
            where,
            f"'{name}' is a {type(obj).__name__}, not a time series; name one inside it, e.g. "
            f"'{name}/{children[0] if children else '<series>'}'",
            "behavior_series",
        )
    return obj


def _find(mod: object, parts: list[str]) -> object | None:
    """Follow a '/'-separated path from the module; a lone name is also looked for one level down."""
    interfaces = mod.data_interfaces
    if parts[0] in interfaces:
        obj = interfaces[parts[0]]
        for part in parts[1:]:
            try:
                obj = obj[part]
            except (KeyError, TypeError):
                return None
        return obj
    if len(parts) == 1:
        hits = [
            c for iface in interfaces.values() for c in getattr(iface, "children", []) if c.name == parts[0]
        ]
        if len(hits) == 1:
            return hits[0]
    return None


def _series_arrays(ts: object, where: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(timestamps, data as (samples, k), unit) of a TimeSeries, sorted by time."""
    data = np.asarray(ts.data[:], dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] == 0:
        raise DataError(
            where, f"behaviour series must be (samples, k), got shape {data.shape}", "behavior_series"
        )
    if ts.timestamps is not None:
        t = np.asarray(ts.timestamps[:], dtype=np.float64)
    else:
        t = ts.starting_time + np.arange(data.shape[0]) / ts.rate
    if t.shape[0] != data.shape[0]:
        raise DataError(where, f"has {t.shape[0]} timestamps for {data.shape[0]} samples", "behavior_series")
    order = np.argsort(t, kind="stable")
    return t[order], data[order], str(ts.unit)


def _recording_span(obs_span: tuple[float, float] | None, beh_t: np.ndarray | None) -> tuple[float, float]:
    """The time range every trial window must lie in: units' observed span and behaviour's samples."""
    lo, hi = 0.0, np.inf  # NWB times count from the session's start: nothing was recorded before 0
    if obs_span is not None:
        lo, hi = max(lo, obs_span[0]), obs_span[1]
    if beh_t is not None:
        step = float(np.median(np.diff(beh_t))) if len(beh_t) > 1 else 0.0
        lo, hi = max(lo, beh_t[0]), min(hi, beh_t[-1] + step)  # the last sample stands for one step
    return lo, hi


def _resample(t: np.ndarray, x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of the samples in each bin, (trials, bins, k); empty bins interpolated at the centre."""
    n_trials, n_edges = edges.shape
    idx = np.searchsorted(t, edges.ravel() - EDGE_TOL_S, side="left").reshape(n_trials, n_edges)
    lo, hi = idx[:, :-1], idx[:, 1:]
    count = hi - lo
    csum = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (csum[hi] - csum[lo]) / count[..., None]
    empty = count == 0
    if np.any(empty):
        centres = 0.5 * (edges[:, :-1] + edges[:, 1:])[empty]
        out[empty] = np.stack([np.interp(centres, t, x[:, j]) for j in range(x.shape[1])], axis=1)
    # a NaN sample makes its bin NaN (cumsum propagates it); the caller drops such trials
    has_nan = np.isnan(x).any(axis=1)
    if has_nan.any():
        nan_csum = np.concatenate([[0], np.cumsum(has_nan)])
        out[(nan_csum[hi] - nan_csum[lo]) > 0] = np.nan
    return out


def _bin_spikes(spike_times: list[np.ndarray], edges: np.ndarray) -> np.ndarray:
    """Counts (trials, bins, units) of each unit's spikes in the half-open bins between ``edges``."""
    n_trials, n_edges = edges.shape
    counts = np.zeros((n_trials, n_edges - 1, len(spike_times)), dtype=np.int32)
    flat = edges.ravel() - EDGE_TOL_S
    for j, t in enumerate(spike_times):
        idx = np.searchsorted(t, flat, side="left").reshape(n_trials, n_edges)
        counts[:, :, j] = np.diff(idx, axis=1)
    return counts


def _report_dropped(where: str, reason: np.ndarray, ids: np.ndarray, event: str, drop: bool) -> None:
    bad = np.flatnonzero(reason != "")
    if len(bad) == len(reason):
        counts = {r: int(np.sum(reason == r)) for r in REASONS}
        raise DataError(where, f"no trial has a usable window around '{event}' (dropped: {counts})", "trials")
    if len(bad) and not drop:
        i = bad[0]
        raise DataError(
            where, f"trial {ids[i]}: {reason[i].replace('_', ' ')} ({len(bad)} such trials)", "trials"
        )

"""File sources (.npz, lfads-torch HDF5, NWB) and ``load_data``: values come back, bad files fail clearly.

Every file is written here, small, into tmp_path.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import h5py
import numpy as np
import pytest

from dse.data import NeuralData, load_data
from dse.data.loader import LOADERS, register_loader
from dse.errors import DataError, UserInputError

N_TR, N_BINS, N_NEUR = 12, 6, 4


def _arrays(seed: int = 0, n_trials: int = N_TR) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rates = rng.uniform(1, 40, size=(n_trials, N_BINS, N_NEUR))
    return {
        "spikes": rng.poisson(rates * 0.02),
        "behavior": rng.normal(size=(n_trials, N_BINS, 2)),
        "rates": rates,
        "latents": rng.normal(size=(n_trials, N_BINS, 3)),
    }


def _raises(match: str, source: object, **options: object) -> DataError:
    with pytest.raises(DataError, match=match) as info:
        load_data(source, **options)
    assert isinstance(info.value, UserInputError)
    return info.value


# ----------------------------------------------------------------------------- npz


def _npz(tmp_path: Path, name: str = "d.npz", **arrays: object) -> Path:
    path = tmp_path / name
    with path.open("wb") as fh:  # a file handle: np.savez would append ".npz" to "X.NPZ"
        np.savez(fh, **arrays)
    return path


def test_npz_round_trip(tmp_path: Path) -> None:
    a = _arrays()
    path = _npz(tmp_path, **a, bin_width_s=np.float64(0.02))
    data = load_data(path)
    assert isinstance(data, NeuralData)
    np.testing.assert_array_equal(data.spikes, a["spikes"])
    assert data.spikes.dtype == np.int32
    np.testing.assert_array_equal(data.behavior, a["behavior"])
    np.testing.assert_array_equal(data.rates, a["rates"])
    np.testing.assert_array_equal(data.latents, a["latents"])
    assert data.bin_width_s == 0.02
    assert data.source == str(path)
    # a str path, an upper-case suffix and integer-valued float counts work too
    upper = _npz(
        tmp_path, "UP.NPZ", spikes=a["spikes"].astype(np.float32), behavior=a["behavior"], bin_width_s=0.02
    )
    np.testing.assert_array_equal(load_data(str(upper)).spikes, a["spikes"])


def test_npz_bin_width_from_the_caller(tmp_path: Path) -> None:
    a = _arrays()
    path = _npz(tmp_path, spikes=a["spikes"], behavior=a["behavior"])
    _raises(r"d\.npz: bin_width_s: not in the file; pass bin_width_s", path)
    assert load_data(path, bin_width_s=0.05).bin_width_s == 0.05
    both = _npz(tmp_path, "both.npz", spikes=a["spikes"], behavior=a["behavior"], bin_width_s=0.02)
    _raises(r"both\.npz: bin_width_s: the file says 0\.02 s but bin_width_s=0\.05", both, bin_width_s=0.05)
    assert load_data(both, bin_width_s=0.02).bin_width_s == 0.02
    bad = _npz(tmp_path, "bad.npz", spikes=a["spikes"], behavior=a["behavior"], bin_width_s=-1.0)
    _raises(r"bad\.npz: bin_width_s: must be a positive number", bad)


def test_npz_missing_keys(tmp_path: Path) -> None:
    a = _arrays()
    no_spikes = _npz(tmp_path, "ns.npz", behavior=a["behavior"], bin_width_s=0.02)
    _raises(r"ns\.npz: spikes: missing from the archive \(it has \['behavior', 'bin_width_s'\]\)", no_spikes)
    no_beh = _npz(tmp_path, "nb.npz", spikes=a["spikes"], bin_width_s=0.02)
    _raises(r"nb\.npz: behavior: no behaviour found .*require_behavior=False", no_beh)
    spikes_only = load_data(no_beh, require_behavior=False)
    assert spikes_only.behavior.shape == (N_TR, N_BINS, 0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"spikes": "nan"}, r"spikes: contains NaN"),
        ({"spikes": "negative"}, r"spikes: contains negative counts"),
        ({"spikes": "fraction"}, r"spikes: contains non-integer counts"),
        ({"spikes": "2d"}, r"spikes: must be a 3-D array"),
        ({"behavior": "nan"}, r"behavior: contains NaN"),
        ({"behavior": "fewer_trials"}, r"behavior: has 11 trials x 6 bins but spikes have 12 x 6"),
        ({"behavior": "fewer_bins"}, r"behavior: has 12 trials x 5 bins but spikes have 12 x 6"),
        ({"rates": "negative"}, r"rates: must be finite and non-negative"),
        ({"rates": "fewer_trials"}, r"rates: shape \(11, 6, 4\) does not match spikes"),
        ({"spikes": "text"}, r"spikes: must be a real numeric array"),
    ],
)
def test_npz_bad_contents(tmp_path: Path, change: dict[str, str], match: str) -> None:
    a = _arrays()
    ((key, how),) = change.items()
    x = a[key].astype(np.float64)
    if how == "nan":
        x[0, 0, 0] = np.nan
    elif how == "negative":
        x[1, 2, 3] = -1
    elif how == "fraction":
        x[1, 2, 3] = 0.5
    elif how == "2d":
        x = x[:, :, 0]
    elif how == "fewer_trials":
        x = x[:-1]
    elif how == "fewer_bins":
        x = x[:, :-1]
    elif how == "text":
        x = np.full(x.shape, "a")
    a[key] = x
    path = _npz(tmp_path, **a, bin_width_s=0.02)
    err = _raises(match, path)
    assert str(err).startswith(f"{path}: ")


def test_npz_corrupt_or_wrong_kind(tmp_path: Path) -> None:
    junk = tmp_path / "junk.npz"
    junk.write_bytes(np.random.default_rng(0).bytes(2000))
    _raises(r"junk\.npz: cannot be read as an \.npz archive", junk)
    truncated = _npz(tmp_path, "trunc.npz", **_arrays(), bin_width_s=0.02)
    truncated.write_bytes(truncated.read_bytes()[:300])
    _raises(r"trunc\.npz: ", truncated)
    single = tmp_path / "single.npz"
    with single.open("wb") as fh:
        np.save(fh, np.zeros((2, 2, 2)))
    _raises(r"single\.npz: holds a single array", single)
    pickled = _npz(tmp_path, "pickled.npz", spikes=np.array([{"a": 1}], dtype=object), bin_width_s=0.02)
    _raises(r"pickled\.npz: spikes: cannot be read", pickled)


# ----------------------------------------------------------------------------- hdf5 (lfads-torch)


def _h5(
    tmp_path: Path, datasets: dict[str, object], attrs: dict[str, object] | None = None, name: str = "d.h5"
) -> Path:
    path = tmp_path / name
    with h5py.File(path, "w") as f:
        for k, v in datasets.items():
            f.create_dataset(k, data=v)
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
    return path


def _lfads_datasets(with_test: bool = True) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    parts = {"train": _arrays(1, 8), "valid": _arrays(2, 3)}
    if with_test:
        parts["test"] = _arrays(3, 2)
    ds: dict[str, np.ndarray] = {}
    for s, a in parts.items():
        ds[f"{s}_encod_data"] = a["spikes"]
        ds[f"{s}_recon_data"] = a["spikes"]
        ds[f"{s}_behavior"] = a["behavior"]
    return ds, parts


def test_hdf5_lfads_layout_round_trip(tmp_path: Path) -> None:
    ds, parts = _lfads_datasets()
    bw, cf = 0.02, 50.0
    for s, a in parts.items():
        ds[f"{s}_truth"] = a["rates"] * bw * cf  # lfads-torch: truth / conversion_factor = counts per bin
    ds["conversion_factor"] = cf
    ds["train_inds"] = np.arange(100, 108)
    path = _h5(tmp_path, ds, {"bin_width_s": bw})
    data = load_data(path)
    order = ("train", "valid", "test")
    np.testing.assert_array_equal(data.spikes, np.concatenate([parts[s]["spikes"] for s in order]))
    np.testing.assert_array_equal(data.behavior, np.concatenate([parts[s]["behavior"] for s in order]))
    np.testing.assert_allclose(data.rates, np.concatenate([parts[s]["rates"] for s in order]))
    assert data.latents is None
    split = data.meta["original_split"]
    np.testing.assert_array_equal(split["train"], np.arange(0, 8))
    np.testing.assert_array_equal(split["valid"], np.arange(8, 11))
    np.testing.assert_array_equal(split["test"], np.arange(11, 13))
    np.testing.assert_array_equal(data.meta["original_trial_ids"]["train"], np.arange(100, 108))
    assert data.meta["truth_conversion_factor"] == cf
    assert data.bin_width_s == bw


def test_hdf5_older_names_dt_and_no_test(tmp_path: Path) -> None:
    parts = {"train": _arrays(1, 8), "valid": _arrays(2, 4)}
    ds = {f"{s}_data": a["spikes"] for s, a in parts.items()}
    ds |= {f"{s}_behavior": a["behavior"][:, :, 0] for s, a in parts.items()}  # 2-D behaviour: one variable
    ds |= {f"{s}_truth": a["rates"] * 0.01 for s, a in parts.items()}  # no conversion_factor: counts per bin
    ds["dt"] = 0.01
    data = load_data(_h5(tmp_path, ds))
    assert data.n_trials == 12 and data.behavior.shape == (12, N_BINS, 1)
    assert set(data.meta["original_split"]) == {"train", "valid"}
    np.testing.assert_allclose(data.rates[:8], parts["train"]["rates"])
    assert data.meta["truth_conversion_factor_assumed"] is True
    assert data.bin_width_s == 0.01


def test_hdf5_bin_width_from_the_caller(tmp_path: Path) -> None:
    ds, _ = _lfads_datasets()
    path = _h5(tmp_path, ds)
    _raises(r"d\.h5: bin_width_s: not in the file", path)
    assert load_data(path, bin_width_s=0.005).bin_width_s == 0.005


def test_hdf5_behaviour_required_unless_told(tmp_path: Path) -> None:
    ds, _ = _lfads_datasets()
    for s in ("train", "valid", "test"):
        del ds[f"{s}_behavior"]
    path = _h5(tmp_path, ds, {"bin_width_s": 0.01})
    _raises(
        r"d\.h5: behavior: no behaviour found \(no train_behavior / valid_behavior / test_behavior\)", path
    )
    assert load_data(path, require_behavior=False).behavior.shape == (13, N_BINS, 0)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda ds: ds.pop("valid_encod_data"), r"valid_encod_data: missing \(the file has "),
        (lambda ds: ds.pop("train_encod_data"), r"train_encod_data: missing"),
        (lambda ds: ds.pop("test_behavior"), r"test_behavior: present for \['train', 'valid'\] but missing"),
        (
            lambda ds: ds.update(valid_encod_data=np.zeros((3, N_BINS, N_NEUR + 1))),
            r"valid_encod_data: has 6 bins x 5 neurons",
        ),
        (
            lambda ds: ds.update(train_encod_data=np.zeros((8, N_BINS))),
            r"train_encod_data: must be a 3-D array",
        ),
        (
            lambda ds: ds.update(train_behavior=np.zeros((7, N_BINS, 2))),
            r"train_behavior: shape \(7, 6, 2\) does not match",
        ),
        (
            lambda ds: ds.update(valid_behavior=np.zeros((3, N_BINS, 3))),
            r"valid_behavior: has 3 columns but train_behavior has 2",
        ),
        (lambda ds: ds.update(valid_behavior=np.full((3, N_BINS, 2), np.nan)), r"behavior: contains NaN"),
        (
            lambda ds: ds.update(train_encod_data=-np.ones((8, N_BINS, N_NEUR))),
            r"spikes: contains negative counts",
        ),
        (
            lambda ds: ds.update(train_encod_data=np.full((8, N_BINS, N_NEUR), 0.3)),
            r"spikes: contains non-integer",
        ),
        (
            lambda ds: ds.update(train_truth=np.ones((8, N_BINS, N_NEUR))),
            r"valid_truth: present for \['train'\] but missing for the other splits",
        ),
        (lambda ds: ds.update(bin_width_s=np.array([0.01, 0.02])), r"bin_width_s: must be one number"),
    ],
)
def test_hdf5_bad_contents(tmp_path: Path, edit, match: str) -> None:
    ds, _ = _lfads_datasets()
    ds["dt"] = 0.01
    edit(ds)
    path = _h5(tmp_path, ds)
    err = _raises(match, path)
    assert str(err).startswith(f"{path}: ")


def test_hdf5_corrupt(tmp_path: Path) -> None:
    for suffix in (".h5", ".hdf5"):
        junk = tmp_path / f"junk{suffix}"
        junk.write_bytes(np.random.default_rng(1).bytes(4000))
        _raises(rf"junk\{suffix}: cannot be read as an HDF5 file", junk)
    ds, _ = _lfads_datasets()
    good = _h5(tmp_path, ds | {"dt": 0.01}, name="cut.h5")
    good.write_bytes(good.read_bytes()[:1500])
    _raises(r"cut\.h5: ", good)


# ----------------------------------------------------------------------------- nwb


def _nwb(
    tmp_path: Path,
    spike_times: list[list[float]],
    trials: list[dict[str, float]],
    hand: tuple[np.ndarray, np.ndarray] | None = None,
    name: str = "d.nwb",
    nested: bool = False,
    obs_intervals: list[list[float]] | None = None,
    rate: float | None = None,
) -> Path:
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.behavior import Position, SpatialSeries

    nwb = NWBFile(
        session_description="test",
        identifier=name,
        session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
    )
    for i, times in enumerate(spike_times):
        kw = {"obs_intervals": obs_intervals} if obs_intervals is not None else {}
        nwb.add_unit(spike_times=times, id=10 + i, **kw)
    extra = [k for k in trials[0] if k not in ("start_time", "stop_time")]
    for col in extra:
        nwb.add_trial_column(col, f"{col} of the trial")
    for i, tr in enumerate(trials):
        nwb.add_trial(id=100 + i, **tr)
    if hand is not None:
        t, x = hand
        module = nwb.create_processing_module("behavior", "kinematics")
        timing = {"rate": rate, "starting_time": float(t[0])} if rate else {"timestamps": t}
        if nested:
            module.add(
                Position(
                    spatial_series=SpatialSeries(name="Hand", data=x, reference_frame="screen", **timing)
                )
            )
        else:
            module.add(TimeSeries(name="hand_pos", data=x, unit="mm", **timing))
    path = tmp_path / name
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _hand(t_end: float = 3.0, fs: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, t_end, 1.0 / fs)
    return t, np.stack([t, -2.0 * t], axis=1)  # x = t, y = -2t: a bin's mean is its centre time


TRIALS = [
    {"start_time": 0.2, "stop_time": 0.9, "move_onset_time": 0.5},
    {"start_time": 1.0, "stop_time": 1.8, "move_onset_time": 1.3},
    {"start_time": 2.0, "stop_time": 2.9, "move_onset_time": 2.25},
]


def test_nwb_spikes_land_in_the_right_bins(tmp_path: Path) -> None:
    # event 0.5, offset -0.1, 10 ms bins: window [0.4, 0.5); bin k is [0.4 + 0.01 k, 0.4 + 0.01 (k+1))
    spikes = [[0.405, 0.4351, 0.4355, 0.499, 0.5, 1.2], [0.3, 1.2151], []]
    path = _nwb(tmp_path, spikes, TRIALS, _hand())
    data = load_data(
        path, event="move_onset_time", offset_s=-0.1, n_bins=10, bin_width_s=0.01, check_split=False
    )
    assert data.spikes.shape == (3, 10, 3)
    first = data.spikes[0, :, 0]
    assert first[0] == 1 and first[3] == 2 and first[9] == 1 and first.sum() == 4  # 0.5 is past the window
    assert data.spikes[0, :, 1].sum() == 0 and data.spikes[:, :, 2].sum() == 0
    # trial 2: event 1.3, window [1.2, 1.3): 1.2 -> bin 0, 1.2151 -> bin 1
    assert data.spikes[1, 0, 0] == 1 and data.spikes[1, 1, 1] == 1 and data.spikes[1].sum() == 2
    np.testing.assert_array_equal(data.meta["unit_ids"], [10, 11, 12])
    np.testing.assert_array_equal(data.meta["trial_ids"], [100, 101, 102])
    assert data.meta["behavior"] == "behavior/hand_pos"


def test_nwb_spike_on_a_bin_edge_counts_in_the_later_bin(tmp_path: Path) -> None:
    # binary-exact times: window [0.5, 0.75) in 0.0625 s bins; 0.5625 is exactly edge 1
    path = _nwb(tmp_path, [[0.5, 0.5625, 0.6875, 0.75]], TRIALS[:1], _hand())
    data = load_data(path, event="move_onset_time", n_bins=4, bin_width_s=0.0625, check_split=False)
    np.testing.assert_array_equal(data.spikes[0, :, 0], [1, 1, 0, 1])


def test_nwb_behaviour_is_the_mean_in_each_bin(tmp_path: Path) -> None:
    path = _nwb(tmp_path, [[0.1], [0.2]], TRIALS, _hand())
    data = load_data(path, event="start_time", offset_s=0.05, n_bins=20, bin_width_s=0.02, check_split=False)
    # samples at 1 ms: a bin [a, a + 0.02) holds a, ..., a + 0.019; their mean is a + 0.0095
    starts = np.array([0.2, 1.0, 2.0])[:, None] + 0.05 + 0.02 * np.arange(20)
    np.testing.assert_allclose(data.behavior[..., 0], starts + 0.0095, atol=1e-9)
    np.testing.assert_allclose(data.behavior[..., 1], -2 * (starts + 0.0095), atol=1e-9)
    assert data.meta["behavior_unit"] == "mm"


def test_nwb_slow_behaviour_is_interpolated_and_nested_series_found(tmp_path: Path) -> None:
    t = np.arange(0.0, 3.0, 0.05)  # 20 Hz: most 10 ms bins hold no sample
    x = np.stack([t, t**2], axis=1)
    path = _nwb(tmp_path, [[0.1]], TRIALS, (t, x), nested=True, rate=20.0)
    starts = np.array([0.2, 1.0, 2.0])[:, None] + 0.01 * np.arange(30)
    on_sample = np.isclose(np.round(starts / 0.05) * 0.05, starts)
    # a bin holding a sample (at its start) takes that sample; an empty one the value at its centre
    expected = np.where(on_sample, starts, starts + 0.005)
    assert on_sample.sum() == 18
    for series in ("Position/Hand", "Hand"):
        data = load_data(path, behavior_series=series, n_bins=30, bin_width_s=0.01, check_split=False)
        np.testing.assert_allclose(data.behavior[..., 0], expected, atol=1e-9)
    _raises(
        r"d\.nwb: behavior_series: 'Position' is a Position, not a time series; .*'Position/Hand'",
        path,
        behavior_series="Position",
        event="start_time",
        n_bins=30,
        bin_width_s=0.01,
    )


def test_nwb_trials_outside_the_recording_are_dropped_and_counted(tmp_path: Path) -> None:
    trials = TRIALS + [
        {"start_time": 2.95, "stop_time": 3.5, "move_onset_time": 3.1},  # window past the last sample
        {"start_time": 0.0, "stop_time": 0.5, "move_onset_time": float("nan")},  # no movement onset
        {"start_time": 0.0, "stop_time": 0.5, "move_onset_time": 0.02},  # window starts before time 0
    ]
    path = _nwb(tmp_path, [[0.3, 1.25, 2.2]], trials, _hand())
    opts = {"event": "move_onset_time", "offset_s": -0.05, "n_bins": 10, "bin_width_s": 0.01}
    data = load_data(path, check_split=False, **opts)
    assert data.n_trials == 3
    assert data.meta["n_trials_in_file"] == 6
    assert data.meta["dropped_trials"] == {"missing_event": 1, "outside_recording": 2, "behavior_nan": 0}
    np.testing.assert_array_equal(data.meta["dropped_trial_ids"]["outside_recording"], [103, 105])
    _raises(
        r"d\.nwb: trials: trial 103: outside recording \(3 such trials\)", path, drop_invalid=False, **opts
    )
    everything_out = {**opts, "offset_s": 10.0}
    _raises(r"d\.nwb: trials: no trial has a usable window around 'move_onset_time'", path, **everything_out)


def test_nwb_obs_intervals_and_nan_behaviour_drop_trials(tmp_path: Path) -> None:
    t, x = _hand()
    x[(t > 1.3) & (t < 1.31)] = np.nan  # a gap in the kinematics inside trial 101's window
    path = _nwb(tmp_path, [[0.3], [1.0]], TRIALS, (t, x), obs_intervals=[[0.0, 2.2]])
    data = load_data(path, check_split=False, event="move_onset_time", n_bins=10, bin_width_s=0.01)
    np.testing.assert_array_equal(data.meta["trial_ids"], [100])
    assert data.meta["dropped_trials"] == {"missing_event": 0, "outside_recording": 1, "behavior_nan": 1}


def test_nwb_missing_parts(tmp_path: Path) -> None:
    path = _nwb(tmp_path, [[0.1]], TRIALS, _hand())
    _raises(
        r"d\.nwb: event: 'go_cue_time' is not a column of the trials table \['start_time', 'stop_time', "
        r"'move_onset_time'\]",
        path,
        event="go_cue_time",
    )
    _raises(
        r"d\.nwb: behavior_module: no processing module 'kinematics' \(modules: \['behavior'\]\)",
        path,
        behavior_module="kinematics",
    )
    _raises(
        r"d\.nwb: behavior_series: no series 'eye_pos' in module 'behavior' \(it holds \['hand_pos'\]\)",
        path,
        behavior_series="eye_pos",
    )
    no_beh = _nwb(tmp_path, [[0.1]], TRIALS, None, name="nobeh.nwb")
    _raises(r"nobeh\.nwb: behavior_module: no processing module 'behavior'", no_beh)
    spikes_only = load_data(no_beh, require_behavior=False, n_bins=5, check_split=False)
    assert spikes_only.behavior.shape == (3, 5, 0) and spikes_only.meta["behavior"] is None


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"n_bins": 0}, r"n_bins: must be an integer >= 1"),
        ({"bin_width_s": -0.01}, r"bin_width_s: must be a positive number"),
        ({"offset_s": float("nan")}, r"offset_s: must be a finite number"),
    ],
)
def test_nwb_bad_parameters(tmp_path: Path, options: dict, match: str) -> None:
    path = _nwb(tmp_path, [[0.1]], TRIALS, _hand())
    _raises(match, path, **options)


def test_nwb_corrupt_or_not_nwb(tmp_path: Path) -> None:
    junk = tmp_path / "junk.nwb"
    junk.write_bytes(np.random.default_rng(2).bytes(3000))
    _raises(r"junk\.nwb: cannot be read as an NWB file", junk)
    plain = tmp_path / "plain.nwb"
    with h5py.File(plain, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    _raises(r"plain\.nwb: cannot be read as an NWB file", plain)


# ----------------------------------------------------------------------------- load_data


def test_load_data_file_errors(tmp_path: Path) -> None:
    _raises(r"nowhere\.npz: file not found$", tmp_path / "nowhere.npz")
    _raises(r": is not a regular file$", tmp_path)
    _raises(r"^synthtic: no such file, and not a known source \(synthetic\)$", "synthtic")
    odd = tmp_path / "data.csv"
    odd.write_text("1,2,3\n")
    _raises(r"data\.csv: unknown file type '\.csv'; known: \.h5, \.hdf5, \.npz, \.nwb, or 'synthetic'", odd)
    bare = tmp_path / "data"
    bare.write_text("x")
    _raises(r"data: unknown file type '\(none\)'", bare)
    path = _npz(tmp_path, **_arrays(), bin_width_s=0.02)
    _raises(
        r"d\.npz: options: unknown option\(s\) \['event'\]; "
        r"this source accepts \['bin_width_s', 'require_behavior'\]",
        path,
        event="start_time",
    )


def test_load_data_too_few_trials(tmp_path: Path) -> None:
    path = _npz(tmp_path, **_arrays(n_trials=3), bin_width_s=0.02)
    _raises(r"d\.npz: spikes: 3 trials are too few for a \(0\.8, 0\.1, 0\.1\) split", path)
    assert load_data(path, check_split=False).n_trials == 3


def test_new_formats_register(tmp_path: Path) -> None:
    def load_txt(path: str, bin_width_s: float = 0.01) -> NeuralData:
        counts = np.loadtxt(path).reshape(-1, 1, 1)
        return NeuralData(
            spikes=counts, behavior=np.zeros((len(counts), 1, 1)), bin_width_s=bin_width_s, source=str(path)
        )

    register_loader("TXT", load_txt)
    try:
        path = tmp_path / "counts.txt"
        path.write_text("\n".join(str(i % 3) for i in range(20)))
        data = load_data(path, bin_width_s=0.05)
        assert data.n_trials == 20 and data.bin_width_s == 0.05
    finally:
        LOADERS.pop(".txt")

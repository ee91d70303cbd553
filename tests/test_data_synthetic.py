"""The Lorenz synthetic data set: shapes, determinism, realistic rates, learnability, knobs, split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score

from dse.data import DataSplit, NeuralData, load_data, split_data
from dse.data.synthetic import make_synthetic
from dse.errors import DataError


@pytest.fixture(scope="module")
def default() -> NeuralData:
    return make_synthetic()


def test_default_shapes_and_types(default: NeuralData) -> None:
    assert default.spikes.shape == (170, 73, 70)
    assert np.issubdtype(default.spikes.dtype, np.integer)
    assert default.behavior.shape == (170, 73, 2)
    assert default.rates is not None and default.rates.shape == (170, 73, 70)
    assert default.latents is not None and default.latents.shape == (170, 73, 3)
    assert default.bin_width_s == 0.01
    assert default.source == "synthetic"
    assert default.meta["generator"] == "lorenz"


def test_same_seed_same_arrays_and_other_seed_differs() -> None:
    a = make_synthetic(n_trials=12, seed=5)
    b = make_synthetic(n_trials=12, seed=5)
    c = make_synthetic(n_trials=12, seed=6)
    for name in ("spikes", "behavior", "rates", "latents"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert not np.array_equal(getattr(a, name), getattr(c, name))


def test_rates_are_realistic(default: NeuralData) -> None:
    rates = default.rates
    assert rates.min() >= 1.0 and rates.max() <= 60.0
    assert 10.0 <= rates.mean() <= 20.0
    per_trial = default.spikes.sum(axis=(1, 2))
    assert per_trial.min() > 300  # enough spikes in every trial to infer its dynamics
    # the spikes follow the rates: mean count per bin matches rate x bin width
    assert default.spikes.mean() == pytest.approx(rates.mean() * default.bin_width_s, rel=0.02)


def test_latents_are_z_scored_and_trials_differ(default: NeuralData) -> None:
    flat = default.latents.reshape(-1, 3)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(flat.std(axis=0), 1.0, atol=1e-9)
    starts = default.latents[:, 0, :]
    assert len(np.unique(np.round(starts, 6), axis=0)) == 170
    # each trial travels a good part of the attractor within its 73 bins
    travel = np.ptp(default.latents, axis=1).mean(axis=0) / np.ptp(flat, axis=0)
    assert np.all(travel > 0.25)


def _ridge_r2(x: np.ndarray, y: np.ndarray) -> float:
    n_train = int(0.8 * len(x))
    xf = x.reshape(len(x), x.shape[1], -1)
    yf = y.reshape(len(y), y.shape[1], -1)
    model = Ridge(alpha=1e-3).fit(
        xf[:n_train].reshape(-1, xf.shape[2]), yf[:n_train].reshape(-1, yf.shape[2])
    )
    pred = model.predict(xf[n_train:].reshape(-1, xf.shape[2]))
    return float(r2_score(yf[n_train:].reshape(-1, yf.shape[2]), pred, multioutput="variance_weighted"))


def test_behaviour_and_log_rates_are_explained_by_the_latents(default: NeuralData) -> None:
    # behaviour is bounded by its noise: R^2 <= 1 / (1 + 0.2^2) = 0.96
    assert 0.93 <= _ridge_r2(default.latents, default.behavior) <= 0.97
    assert _ridge_r2(default.latents, np.log(default.rates)) > 0.99


def test_knobs_change_the_data() -> None:
    base = make_synthetic(n_trials=10, seed=1)
    slow = make_synthetic(n_trials=10, seed=1, lorenz_dt_per_bin=0.002)
    assert np.ptp(slow.latents, axis=1).mean() < np.ptp(base.latents, axis=1).mean()
    narrow = make_synthetic(n_trials=10, seed=1, rate_range_hz=(5.0, 20.0), baseline_hz=10.0)
    assert narrow.rates.min() >= 5.0 and narrow.rates.max() <= 20.0
    flat = make_synthetic(n_trials=10, seed=1, gain=0.0)
    np.testing.assert_allclose(flat.rates, flat.rates[:1, :1, :].repeat(10, 0).repeat(73, 1))
    clean = make_synthetic(n_trials=10, seed=1, behavior_noise=0.0)
    assert _ridge_r2(clean.latents, clean.behavior) > 0.9999
    small = make_synthetic(n_trials=4, n_bins=5, n_neurons=3, bin_width_s=0.02, seed=2)
    assert small.spikes.shape == (4, 5, 3) and small.bin_width_s == 0.02


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_trials": 0}, "n_trials"),
        ({"n_bins": -1}, "n_bins"),
        ({"n_neurons": 1.5}, "n_neurons"),
        ({"n_trials": True}, "n_trials"),
        ({"seed": -1}, "seed"),
        ({"bin_width_s": 0.0}, "bin_width_s"),
        ({"bin_width_s": float("nan")}, "bin_width_s"),
        ({"lorenz_dt_per_bin": 0.0}, "lorenz_dt_per_bin"),
        ({"lorenz_dt_per_bin": 0.5}, "lorenz_dt_per_bin"),
        ({"gain": -0.1}, "gain"),
        ({"behavior_noise": -1.0}, "behavior_noise"),
        ({"behavior_noise": "loud"}, "behavior_noise"),
        ({"rate_range_hz": (60.0, 1.0)}, "rate_range_hz"),
        ({"rate_range_hz": (0.0, 10.0)}, "rate_range_hz"),
        ({"rate_range_hz": 5.0}, "rate_range_hz"),
        ({"baseline_hz": 100.0}, "baseline_hz"),
        ({"baseline_hz": 0.0}, "baseline_hz"),
        ({"noise_level": 1.0}, "noise_level"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(kwargs: dict, field: str) -> None:
    with pytest.raises(DataError) as info:
        make_synthetic(**kwargs)
    assert str(info.value).startswith(f"synthetic: {field}: ")
    assert info.value.field == field


def test_load_data_synthetic_is_make_synthetic() -> None:
    a = load_data("synthetic", n_trials=20, seed=4)
    b = make_synthetic(n_trials=20, seed=4)
    np.testing.assert_array_equal(a.spikes, b.spikes)
    with pytest.raises(DataError, match="synthetic: lorenz_dt_per_bin: "):
        load_data("synthetic", n_trials=20, lorenz_dt_per_bin=-1)


def test_too_few_trials_for_the_split() -> None:
    with pytest.raises(DataError, match=r"^synthetic: spikes: 5 trials are too few"):
        load_data("synthetic", n_trials=5)
    assert load_data("synthetic", n_trials=5, check_split=False).n_trials == 5


def test_split_is_the_papers_and_seeded(default: NeuralData) -> None:
    split = split_data(default, seed=0)
    assert isinstance(split, DataSplit)
    assert (split.train.n_trials, split.valid.n_trials, split.test.n_trials) == (136, 17, 17)
    assert split.train.spikes.shape == (136, 73, 70)
    every = np.concatenate([split.indices[k] for k in ("train", "valid", "test")])
    assert sorted(every.tolist()) == list(range(170))
    np.testing.assert_array_equal(split.train.spikes, default.spikes[split.indices["train"]])
    np.testing.assert_array_equal(split.test.rates, default.rates[split.indices["test"]])
    again = split_data(default, seed=0)
    other = split_data(default, seed=1)
    for k in ("train", "valid", "test"):
        np.testing.assert_array_equal(split.indices[k], again.indices[k])
    assert not np.array_equal(split.indices["test"], other.indices["test"])

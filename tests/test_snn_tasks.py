"""SNN tasks' data and the causal linear baseline."""

from __future__ import annotations

import numpy as np
import pytest

from dse.data import load_data, split_data
from dse.errors import UserInputError
from dse.families.snn.baselines import causal_linear_decoder, lagged
from dse.families.snn.tasks import Subset, Task, decode_task, digits_task, load_task


def test_digits_split_is_stratified_seeded_and_in_range():
    t = digits_task(seed=0)
    sizes = len(t.train), len(t.valid), len(t.test)
    assert sum(sizes) == 1797 and t.n_inputs == 64 and t.n_outputs == 10
    assert abs(len(t.test) - 180) <= 10 and abs(len(t.valid) - 180) <= 10
    assert set(np.unique(t.test.y)) == set(range(10))
    assert t.train.x.min() >= 0 and t.train.x.max() == 1.0
    again = digits_task(seed=0)
    assert np.array_equal(again.test.x, t.test.x)
    assert not np.array_equal(digits_task(seed=1).test.y, t.test.y)


def test_digits28_upsamples_the_same_images():
    t8, t28 = digits_task(0, 8, limit=100), digits_task(0, 28, limit=100)
    assert t28.n_inputs == 784 and t28.train.x.shape[1] == 784 and t28.name == "digits28"
    assert np.array_equal(t8.train.y, t28.train.y)
    img8 = t8.train.x[0].reshape(8, 8)
    img28 = t28.train.x[0].reshape(28, 28)
    assert img28.min() >= 0 and img28.max() <= 1
    # the upsampled image, averaged back over 3.5x3.5 blocks (7x7 over 2x2 pixels), follows the original
    block = img28.reshape(4, 7, 4, 7).mean(axis=(1, 3))
    coarse = img8.reshape(4, 2, 4, 2).mean(axis=(1, 3))
    assert np.corrcoef(block.ravel(), coarse.ravel())[0, 1] > 0.9


def test_digits16_has_flexi_neuras_input_size_and_the_digits_split():
    t8, t16 = digits_task(0, 8), load_task("digits16")
    assert t16.name == "digits16" and t16.n_inputs == 256 and t16.n_outputs == 10
    for part in ("train", "valid", "test"):  # the same images in the same split as digits
        assert np.array_equal(getattr(t8, part).y, getattr(t16, part).y)
    img8, img16 = t8.test.x[3].reshape(8, 8), t16.test.x[3].reshape(16, 16)
    assert img16.min() >= 0 and img16.max() <= 1
    # averaged back over 2x2 blocks, the upsampled image follows the original
    assert np.corrcoef(img16.reshape(8, 2, 8, 2).mean(axis=(1, 3)).ravel(), img8.ravel())[0, 1] > 0.95


def test_decode_task_uses_the_lfads_split():
    t = decode_task("synthetic", seed=0, n_trials=30, n_bins=12, n_neurons=9)
    data = load_data("synthetic", n_trials=30, n_bins=12, n_neurons=9)
    split = split_data(data, 0)
    assert np.array_equal(t.test.x, split.test.spikes) and np.array_equal(t.test.y, split.test.behavior)
    assert t.n_inputs == 9 and t.n_outputs == data.behavior.shape[2] and t.kind == "regression"


def test_unknown_task_is_user_input_error():
    with pytest.raises(UserInputError, match="task: unknown task 'mnist'"):
        load_task("mnist")


def test_lagged_features_are_causal():
    x = np.arange(2 * 5 * 2).reshape(2, 5, 2).astype(float)
    f = lagged(x, 3)
    assert f.shape == (2, 5, 6)
    assert np.array_equal(f[:, :, :2], x) and np.array_equal(f[:, 2:, 2:4], x[:, 1:-1])
    assert np.all(f[:, 0, 2:] == 0)
    y = x.copy()
    y[:, 3:] += 100  # changing the future leaves the features of earlier bins unchanged
    assert np.array_equal(lagged(y, 3)[:, :3], f[:, :3])


def _toy_task(seed: int = 0) -> Task:
    """Behaviour = a causal filter of the spikes over 3 bins: the lagged decoder should find it."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(0.5, (60, 20, 4))
    w = rng.normal(size=(3, 4, 2))
    y = sum(lagged(x, 3)[..., 4 * d : 4 * d + 4] @ w[d] for d in range(3)) + 0.05 * rng.normal(size=(60, 20, 2))
    parts = [Subset(x[a:b], y[a:b]) for a, b in ((0, 40), (40, 50), (50, 60))]
    return Task("decode", "regression", *parts, n_inputs=4, n_outputs=2, source="toy", seed=seed)


def test_causal_linear_decoder_finds_the_lags():
    res = causal_linear_decoder(_toy_task(), lag_grid=(1, 3))
    assert res["lags"] == 3 and res["behavior_r2"] > 0.95
    assert res["valid_r2_by_lags"][1] < res["valid_r2_by_lags"][3]

"""Accuracy metrics (objectives.decoding, the LFADS family's metrics) and the objective registry, against
hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dse.families import objective_registry
from dse.families.lfads.metrics import bits_per_spike, evaluate, poisson_npll, rate_r2
from objectives import Objective, ObjectiveClash, ObjectiveRegistry, behavior_r2

get_objective = objective_registry().get


def objective_names(kind=None):
    return objective_registry().names(kind)

# 1 trial, 2 bins, 2 neurons.
SPIKES = np.array([[[0, 1], [2, 3]]])
LAMBDA = np.array([[[0.5, 1.0], [2.0, 1.5]]])  # expected counts per bin


def _ll(k: float, lam: float) -> float:
    return k * math.log(lam) - lam - math.lgamma(k + 1)


def _simulated(seed: int = 0, trials: int = 40, bins: int = 50, neurons: int = 8, dt: float = 0.01):
    """Poisson spikes from smoothly varying true rates (Hz)."""
    rng = np.random.default_rng(seed)
    t = np.arange(bins) * dt
    phase = rng.uniform(0, 2 * np.pi, size=(trials, 1, neurons))
    base = rng.uniform(5, 40, size=(1, 1, neurons))
    rates_hz = base * (1.0 + 0.9 * np.sin(2 * np.pi * 2.0 * t[None, :, None] + phase))
    spikes = rng.poisson(rates_hz * dt)
    return spikes, rates_hz, dt


# ------------------------------------------------------------------------------------------ npll


def test_npll_hand_computed() -> None:
    pairs = [(0, 0.5), (1, 1.0), (2, 2.0), (3, 1.5)]
    expected = sum(lam - k * math.log(lam) + math.lgamma(k + 1) for k, lam in pairs) / 4
    assert poisson_npll(SPIKES, np.log(LAMBDA)) == pytest.approx(expected, rel=1e-12)


def test_npll_is_minimised_by_the_true_rate() -> None:
    # For counts k the per-bin NPLL is minimised at λ = k (in expectation, at the true rate).
    spikes = np.array([[[2.0]]])
    best = poisson_npll(spikes, np.log([[[2.0]]]))
    assert best < poisson_npll(spikes, np.log([[[1.5]]]))
    assert best < poisson_npll(spikes, np.log([[[2.5]]]))


def test_npll_shape_mismatch_and_bad_values() -> None:
    with pytest.raises(ValueError, match="shape"):
        poisson_npll(SPIKES, np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="negative"):
        poisson_npll(-SPIKES, np.zeros(SPIKES.shape))
    with pytest.raises(ValueError, match="NaN"):
        poisson_npll(SPIKES, np.full(SPIKES.shape, np.nan))


# -------------------------------------------------------------------------------- bits per spike


def test_bits_per_spike_hand_computed() -> None:
    # Null rates: neuron 0 mean (0+2)/2 = 1, neuron 1 mean (1+3)/2 = 2.
    ll_model = sum(_ll(k, lam) for k, lam in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 1.5)])
    ll_null = sum(_ll(k, lam) for k, lam in [(0, 1.0), (1, 2.0), (2, 1.0), (3, 2.0)])
    expected = (ll_model - ll_null) / (6 * math.log(2))
    assert bits_per_spike(SPIKES, np.log(LAMBDA)) == pytest.approx(expected, rel=1e-12)


def test_bits_per_spike_with_given_null_rates() -> None:
    null = np.array([0.8, 1.6])
    ll_model = sum(_ll(k, lam) for k, lam in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 1.5)])
    ll_null = sum(_ll(k, lam) for k, lam in [(0, 0.8), (1, 1.6), (2, 0.8), (3, 1.6)])
    expected = (ll_model - ll_null) / (6 * math.log(2))
    assert bits_per_spike(SPIKES, np.log(LAMBDA), null_rates=null) == pytest.approx(expected, rel=1e-12)


def test_bits_per_spike_null_model_scores_zero_true_rates_positive() -> None:
    spikes, rates_hz, dt = _simulated()
    null = spikes.reshape(-1, spikes.shape[-1]).mean(axis=0)
    null_log = np.broadcast_to(np.log(null), spikes.shape)
    assert bits_per_spike(spikes, null_log) == pytest.approx(0.0, abs=1e-12)
    true_bps = bits_per_spike(spikes, np.log(rates_hz * dt))
    assert true_bps > 0.05
    # A model worse than the neuron means is negative.
    assert bits_per_spike(spikes, null_log + 1.0) < 0


def test_bits_per_spike_silent_neuron_and_no_spikes() -> None:
    spikes = np.array([[[0, 1], [0, 3]]])  # neuron 0 never fires
    value = bits_per_spike(spikes, np.log(np.array([[[0.1, 1.0], [0.1, 3.0]]])))
    assert math.isfinite(value)
    # A training null rate of 0 for a neuron that fires here is floored, not log(0).
    assert math.isfinite(bits_per_spike(SPIKES, np.log(LAMBDA), null_rates=np.array([0.0, 2.0])))
    with pytest.raises(ValueError, match="no spikes"):
        bits_per_spike(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))


def test_bits_per_spike_shape_errors() -> None:
    with pytest.raises(ValueError, match="shape"):
        bits_per_spike(SPIKES, np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="one rate per neuron"):
        bits_per_spike(SPIKES, np.log(LAMBDA), null_rates=np.ones(3))


# ------------------------------------------------------------------------------------ behaviour


def _linear_behaviour(seed: int = 1, trials: int = 60, bins: int = 10, f: int = 3, k: int = 2):
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(trials, bins, f))
    w = rng.normal(size=(f, k))
    behaviour = factors @ w + np.array([0.5, -1.0])[:k]
    return factors, behaviour, rng


@pytest.mark.parametrize("form", ["trial", "bin"])
def test_behavior_r2_exact_linear_map_is_near_one(form: str) -> None:
    factors, behaviour, _ = _linear_behaviour()
    r2 = behavior_r2(factors[:45], behaviour[:45], factors[45:], behaviour[45:], form=form)
    assert r2 > 0.99


@pytest.mark.parametrize("form", ["trial", "bin"])
def test_behavior_r2_independent_noise_is_near_zero(form: str) -> None:
    factors, _, rng = _linear_behaviour()
    noise = rng.normal(size=(60, 10, 2))
    r2 = behavior_r2(factors[:45], noise[:45], factors[45:], noise[45:], form=form)
    assert r2 <= 0.1


def test_behavior_r2_bin_form_hand_computed_ridge() -> None:
    # One penalty, so no CV choice: check standardisation by training statistics, the intercept and
    # the variance-weighted R² against a closed-form ridge.
    rng = np.random.default_rng(2)
    xf, yf = rng.normal(2.0, 3.0, size=(6, 4, 2)), rng.normal(size=(6, 4, 2))
    xt, yt = rng.normal(2.0, 3.0, size=(3, 4, 2)), rng.normal(size=(3, 4, 2))
    alpha = 5.0
    x, y = xf.reshape(-1, 2), yf.reshape(-1, 2)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    z = (x - mu) / sd
    w = np.linalg.solve(z.T @ z + alpha * np.eye(2), z.T @ (y - y.mean(axis=0)))
    y_test = yt.reshape(-1, 2)
    pred = ((xt.reshape(-1, 2) - mu) / sd) @ w + y.mean(axis=0)
    expected = 1 - np.sum((y_test - pred) ** 2) / np.sum((y_test - y_test.mean(axis=0)) ** 2)
    assert behavior_r2(xf, yf, xt, yt, form="bin", alphas=[alpha]) == pytest.approx(expected, rel=1e-9)


def test_behavior_r2_errors() -> None:
    factors, behaviour, _ = _linear_behaviour()
    with pytest.raises(ValueError, match="trials and bins must match"):
        behavior_r2(factors[:40], behaviour[:41], factors[45:], behaviour[45:])
    with pytest.raises(ValueError, match="factors"):
        behavior_r2(factors[:40], behaviour[:40], factors[45:, :, :2], behaviour[45:])
    with pytest.raises(ValueError, match="3-D"):
        behavior_r2(factors[:40, :, 0], behaviour[:40], factors[45:], behaviour[45:])
    with pytest.raises(ValueError, match="same number of bins"):
        behavior_r2(factors[:40], behaviour[:40], factors[45:, :5], behaviour[45:, :5], form="trial")
    # The bin form does not need equal trial lengths.
    assert behavior_r2(factors[:40], behaviour[:40], factors[45:, :5], behaviour[45:, :5], form="bin") > 0.99
    with pytest.raises(ValueError, match="form"):
        behavior_r2(factors[:40], behaviour[:40], factors[45:], behaviour[45:], form="trials")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2 training trials"):
        behavior_r2(factors[:1], behaviour[:1], factors[45:], behaviour[45:])
    with pytest.raises(ValueError, match="no variance"):
        behavior_r2(factors[:40], behaviour[:40], factors[45:], np.ones((15, 10, 2)))


# ---------------------------------------------------------------------------------------- rates


def test_rate_r2_perfect_prediction_is_one() -> None:
    _, rates_hz, dt = _simulated()
    assert rate_r2(rates_hz, np.log(rates_hz * dt), dt) == pytest.approx(1.0, abs=1e-12)


def test_rate_r2_hand_computed_uniform_over_neurons() -> None:
    dt = 0.02
    truth = np.array([[[10.0, 5.0, 7.0], [20.0, 15.0, 7.0], [30.0, 10.0, 7.0]]])  # neuron 2 is constant
    pred = np.array([[[12.0, 6.0, 7.0], [20.0, 12.0, 9.0], [28.0, 10.0, 7.0]]])

    def r2(t: list[float], p: list[float]) -> float:
        m = sum(t) / len(t)
        return 1 - sum((a - b) ** 2 for a, b in zip(t, p, strict=True)) / sum((a - m) ** 2 for a in t)

    expected = (r2([10, 20, 30], [12, 20, 28]) + r2([5, 15, 10], [6, 12, 10])) / 2  # neuron 2 left out
    assert rate_r2(truth, np.log(pred * dt), dt) == pytest.approx(expected, rel=1e-12)


def test_rate_r2_errors() -> None:
    truth = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match="shape"):
        rate_r2(truth, np.zeros((2, 3, 5)), 0.01)
    with pytest.raises(ValueError, match="bin_width_s"):
        rate_r2(truth, np.zeros((2, 3, 4)), 0.0)
    with pytest.raises(ValueError, match="constant"):
        rate_r2(truth, np.zeros((2, 3, 4)), 0.01)


# ------------------------------------------------------------------------------------- evaluate


def test_evaluate_matches_the_individual_metrics() -> None:
    spikes, rates_hz, dt = _simulated(trials=30, bins=10)
    log_rates = np.log(rates_hz * dt)
    factors, behaviour, _ = _linear_behaviour(trials=50, bins=10)
    tr_f, tr_b, te_f, te_b = factors[:20], behaviour[:20], factors[20:], behaviour[20:]

    out = evaluate(spikes, log_rates, te_f, te_b, dt, tr_f, tr_b, true_rates=rates_hz)
    assert set(out) == {"npll", "bits_per_spike", "behavior_r2", "behavior_r2_bin", "rate_r2"}
    assert out["npll"] == poisson_npll(spikes, log_rates)
    assert out["bits_per_spike"] == bits_per_spike(spikes, log_rates)
    assert out["behavior_r2"] == behavior_r2(tr_f, tr_b, te_f, te_b, form="trial")
    assert out["behavior_r2_bin"] == behavior_r2(tr_f, tr_b, te_f, te_b, form="bin")
    assert out["rate_r2"] == pytest.approx(1.0)

    without = evaluate(spikes, log_rates, te_f, te_b, dt, tr_f, tr_b)
    assert without["rate_r2"] is None
    no_behaviour = evaluate(spikes, log_rates, te_f, None, dt, None, None)
    assert no_behaviour["behavior_r2"] is None and no_behaviour["behavior_r2_bin"] is None
    with pytest.raises(ValueError, match="trials and bins must match"):
        evaluate(spikes, log_rates, te_f[:, :5], te_b[:, :5], dt, tr_f, tr_b)


# ------------------------------------------------------------------------------------- registry


def test_registry_names_and_directions() -> None:
    accuracy = {"behavior_r2", "behavior_r2_bin", "npll", "bits_per_spike", "rate_r2", "accuracy"}
    activity = {"synaptic_ops", "membrane_updates", "spikes", "input_density"}  # the snn family's, per inference
    hardware = {
        "latency_us",
        "latency_cycles",
        "dsp",
        "lut",
        "ff",
        "bram_18k",
        "uram",
        "dsp_util",
        "lut_util",
        "ff_util",
        "bram_util",
    }
    assert accuracy | activity == set(objective_names("accuracy"))
    assert hardware <= set(objective_names("hardware"))
    assert set(objective_names()) == {o.name for o in objective_registry()}
    for name in accuracy - {"npll"}:
        assert get_objective(name).direction == "maximize"
    for name in hardware | activity | {"npll"}:
        obj = get_objective(name)
        assert obj.direction == "minimize" and obj.sign == -1 and obj.better(1.0, 2.0)
    assert get_objective("latency_us").unit == "us"


def test_registry_unknown_name_lists_known() -> None:
    with pytest.raises(KeyError, match="behavior_r2.*latency_us"):
        get_objective("top5_accuracy")


def test_registry_merges_equal_definitions_and_refuses_a_clash() -> None:
    a = Objective("score", "maximize", "", "a score")
    reg = ObjectiveRegistry("family 'one'", [a])
    reg.add("family 'two'", [Objective("score", "maximize", "", "a score")])  # the same definition: fine
    assert reg.names() == ["score"] and reg.source("score") == "family 'one'"
    with pytest.raises(ObjectiveClash, match="family 'three': objective 'score' is already defined by "
                                             "family 'one' with another direction"):
        reg.add("family 'three'", [Objective("score", "minimize", "", "a score")])


def test_every_family_objective_is_in_the_merged_registry() -> None:
    from dse.families import family_names, get_family

    for name in family_names():
        for o in get_family(name).objectives:
            assert objective_registry().get(o.name) == o, (name, o.name)

"""Accuracy metrics of an LFADS model: Poisson likelihood, bits/spike, rate R² (behaviour R² is shared by
the decoding families: :mod:`objectives.decoding`), and the objectives they define.

Conventions (the same as the LFADS model in :mod:`dse.families.lfads`):

* ``spikes``: integer spike counts, shape ``(trials, bins, neurons)``.
* ``log_rates``: log of the expected spike *count* per bin, ``log λ`` with
  ``λ = rate_Hz * bin_width_s``; same shape as ``spikes``.
* ``factors``: ``(trials, bins, F)``; ``behavior``: ``(trials, bins, k)``.
* true rates, when known (synthetic data), are in Hz.

Everything here is plain numpy/scipy/scikit-learn so that the same numbers come out of training
(TensorFlow outputs converted to numpy) and of the C simulation of the FPGA design. scikit-learn
and scipy are imported inside the functions that need them, so that importing this module stays light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from objectives.decoding import BEHAVIOR_R2, BEHAVIOR_R2_BIN, DEFAULT_ALPHAS, behavior_r2
from objectives.decoding import as_float as _as_float
from objectives.registry import Objective

__all__ = [
    "NULL_RATE_FLOOR",
    "OBJECTIVES",
    "bits_per_spike",
    "evaluate",
    "poisson_npll",
    "rate_r2",
]

#: The training-history series the training median rule reads: the validation negative log-likelihood (the
#: training recipe logs it every epoch; lower is better).
PRUNING_SIGNAL = "val_nll"

#: The accuracy objectives an LFADS trial measures (what :func:`evaluate` returns).
OBJECTIVES: tuple[Objective, ...] = (
    BEHAVIOR_R2,
    BEHAVIOR_R2_BIN,
    Objective("npll", "minimize", "nats/bin/neuron",
              "mean negative Poisson log-likelihood of the spikes (full form, with log k!)"),
    Objective("bits_per_spike", "maximize", "bits/spike",
              "log-likelihood gain over a per-neuron constant-rate model, per spike"),
    Objective("rate_r2", "maximize", "",
              "R² of inferred against true firing rates (synthetic data), averaged over neurons"),
)

#: Smallest null-model rate (counts per bin). A neuron that never fires has mean rate 0; its null
#: log-likelihood is then 0 in the limit, but ``log 0`` is undefined, and null rates taken from
#: training data may be 0 for a neuron that does fire in the test data. The same order as the
#: epsilon of PyTorch's ``poisson_nll_loss`` used by the Neural Latents Benchmark.
NULL_RATE_FLOOR: float = 1e-8


# --------------------------------------------------------------------------------------------- checks


def _check_spikes(spikes: Any) -> np.ndarray:
    k = _as_float(spikes, "spikes")
    if k.ndim < 1 or k.size == 0:
        raise ValueError(f"spikes: expected a non-empty array, got shape {k.shape}")
    if np.any(k < 0):
        raise ValueError("spikes: contains negative counts")
    return k


def _check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match")


# ------------------------------------------------------------------------------------------- Poisson


def _poisson_ll(k: np.ndarray, log_lam: np.ndarray) -> np.ndarray:
    """Element-wise Poisson log-likelihood ``k log λ − λ − log k!`` (full form)."""
    from scipy.special import gammaln

    return k * log_lam - np.exp(log_lam) - gammaln(k + 1.0)


def poisson_npll(spikes: Any, log_rates: Any) -> float:
    """Mean negative Poisson log-likelihood per neuron per bin, in nats.

    Full form ``λ − k log λ + log k!``, averaged over every trial, bin and neuron. The ``log k!``
    term does not depend on the model, but keeping it makes the value a true negative
    log-likelihood (always ≥ 0 for integer counts, comparable with other tools' full NLLs).

    Args:
        spikes: spike counts, any shape (normally ``(trials, bins, neurons)``).
        log_rates: ``log λ``, expected count per bin, same shape as ``spikes``.
    """
    k = _check_spikes(spikes)
    log_lam = _as_float(log_rates, "log_rates")
    _check_same_shape(k, log_lam, "spikes", "log_rates")
    return float(-np.mean(_poisson_ll(k, log_lam)))


def bits_per_spike(spikes: Any, log_rates: Any, null_rates: Any = None) -> float:
    """Log-likelihood gain of the model over a per-neuron constant-rate null model, in bits/spike.

    ``(LL_model − LL_null) / (total spikes · ln 2)``, both log-likelihoods summed over all trials,
    bins and neurons (the ``log k!`` terms cancel). The null model predicts, for each neuron, the
    same count per bin in every trial and bin. By default that count is the neuron's mean of
    ``spikes`` over trials and bins, as in the Neural Latents Benchmark's co-bps: the null model
    then is the best constant model *for these data*, so 0 means "no better than each neuron's
    mean rate" and the null model itself scores exactly 0. Pass ``null_rates`` (e.g. means over
    the training data) to use a null model that has not seen the evaluation data.

    Null rates below :data:`NULL_RATE_FLOOR` are raised to it, so that neurons without spikes do
    not give ``log 0``.

    Args:
        spikes: spike counts ``(..., neurons)``; the last axis is neurons.
        log_rates: model ``log λ`` (counts per bin), same shape as ``spikes``.
        null_rates: optional per-neuron null rates in counts per bin, shape ``(neurons,)``.

    Raises:
        ValueError: on mismatched shapes, or when ``spikes`` holds no spike at all (the
            normalisation by the number of spikes is then undefined).
    """
    k = _check_spikes(spikes)
    log_lam = _as_float(log_rates, "log_rates")
    _check_same_shape(k, log_lam, "spikes", "log_rates")
    n_neurons = k.shape[-1]
    total = float(k.sum())
    if total <= 0:
        raise ValueError("bits_per_spike: spikes contains no spikes; bits per spike is undefined")

    if null_rates is None:
        null = k.reshape(-1, n_neurons).mean(axis=0)
    else:
        null = _as_float(null_rates, "null_rates")
        if null.shape != (n_neurons,):
            raise ValueError(
                f"null_rates has shape {null.shape}; expected one rate per neuron, ({n_neurons},)"
            )
        if np.any(null < 0):
            raise ValueError("null_rates: contains negative rates")
    null = np.maximum(null, NULL_RATE_FLOOR)

    ll_model = float(np.sum(_poisson_ll(k, log_lam)))
    ll_null = float(np.sum(_poisson_ll(k, np.broadcast_to(np.log(null), k.shape))))
    return (ll_model - ll_null) / (total * math.log(2.0))


# --------------------------------------------------------------------------------------------- rates


def rate_r2(true_rates_hz: Any, log_rates: Any, bin_width_s: float) -> float:
    """R² of the model's firing rates against known true rates (synthetic data), in Hz.

    Predicted rates are ``exp(log_rates) / bin_width_s``. Samples are all trials × bins, outputs
    are neurons; R² is computed per neuron and averaged **uniformly** over neurons, the usual form
    for LFADS on synthetic data: each neuron counts the same whatever its firing rate, whereas a
    variance-weighted average would be dominated by the few high-rate neurons whose rates vary most
    in Hz. Neurons whose true rate is constant have no defined R² and are left out of the average.

    Raises:
        ValueError: on mismatched shapes, a non-positive bin width, or when every neuron's true rate
            is constant.
    """
    from sklearn.metrics import r2_score

    truth = _as_float(true_rates_hz, "true_rates")
    log_lam = _as_float(log_rates, "log_rates")
    _check_same_shape(truth, log_lam, "true_rates", "log_rates")
    if truth.ndim < 1 or truth.size == 0:
        raise ValueError(f"true_rates: expected a non-empty array, got shape {truth.shape}")
    if not (math.isfinite(bin_width_s) and bin_width_s > 0):
        raise ValueError(f"bin_width_s: expected a positive number of seconds, got {bin_width_s!r}")
    n_neurons = truth.shape[-1]
    y_true = truth.reshape(-1, n_neurons)
    y_pred = np.exp(log_lam).reshape(-1, n_neurons) / bin_width_s
    varying = np.var(y_true, axis=0) > 0
    if not np.any(varying):
        raise ValueError("true_rates: every neuron's rate is constant; R² is undefined")
    return float(r2_score(y_true[:, varying], y_pred[:, varying], multioutput="uniform_average"))


# ------------------------------------------------------------------------------------------ evaluate


def evaluate(
    spikes: Any,
    log_rates: Any,
    factors: Any,
    behavior: Any,
    bin_width_s: float,
    train_factors: Any,
    train_behavior: Any,
    true_rates: Any = None,
    null_rates: Any = None,
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
) -> dict[str, float | None]:
    """All accuracy metrics of one model on one evaluation set, in one call.

    Used both after training (TensorFlow outputs) and after C simulation of the FPGA design, so the
    two are scored identically. ``spikes``, ``log_rates``, ``factors``, ``behavior`` (and
    ``true_rates``, in Hz) are the evaluation trials; ``train_factors``/``train_behavior`` are the
    training trials the behaviour decoder is fit on (the model's factors on the training data).

    Returns:
        ``{"npll", "bits_per_spike", "behavior_r2" (trial form, the paper's), "behavior_r2_bin",
        "rate_r2"}``. ``rate_r2`` is ``None`` without ``true_rates``; both behaviour R² are ``None``
        when ``behavior`` or the training factors/behaviour are ``None`` (data without behaviour).
    """
    if factors is not None:
        f_shape = np.shape(factors)
        s_shape = np.shape(spikes)
        if len(f_shape) != 3 or f_shape[:2] != s_shape[:2]:
            raise ValueError(
                f"factors has shape {f_shape} but spikes has shape {s_shape}; trials and bins must match"
            )
    out: dict[str, float | None] = {
        "npll": poisson_npll(spikes, log_rates),
        "bits_per_spike": bits_per_spike(spikes, log_rates, null_rates),
        "behavior_r2": None,
        "behavior_r2_bin": None,
        "rate_r2": None,
    }
    if behavior is not None and train_factors is not None and train_behavior is not None:
        if factors is None:
            raise ValueError("evaluate: behavior is given but factors is None; the decoder needs the factors")
        out["behavior_r2"] = behavior_r2(train_factors, train_behavior, factors, behavior, "trial", alphas)
        out["behavior_r2_bin"] = behavior_r2(train_factors, train_behavior, factors, behavior, "bin", alphas)
    if true_rates is not None:
        out["rate_r2"] = rate_r2(true_rates, log_rates, bin_width_s)
    return out

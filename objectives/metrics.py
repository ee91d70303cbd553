"""Accuracy metrics of an LFADS model: Poisson likelihood, bits/spike, behaviour and rate R².

Conventions (the same as the LFADS model in :mod:`dse.families.lfads`):

* ``spikes``: integer spike counts, shape ``(trials, bins, neurons)``.
* ``log_rates``: log of the expected spike *count* per bin, ``log λ`` with
  ``λ = rate_Hz * bin_width_s``; same shape as ``spikes``.
* ``factors``: ``(trials, bins, F)``; ``behavior``: ``(trials, bins, k)``.
* true rates, when known (synthetic data), are in Hz.

Everything here is plain numpy/scipy/scikit-learn so that the same numbers come out of training
(TensorFlow outputs converted to numpy) and of the C simulation of the FPGA design. scikit-learn is
imported inside the functions that need it, so that ``import objectives`` stays light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy.special import gammaln

__all__ = [
    "DEFAULT_ALPHAS",
    "NULL_RATE_FLOOR",
    "behavior_r2",
    "bits_per_spike",
    "evaluate",
    "poisson_npll",
    "rate_r2",
]

#: Ridge penalties searched by :func:`behavior_r2` (features are standardised, so the scale is
#: comparable across datasets). The trial form has ``bins * F`` features, often more than there are
#: trials, where the best penalty is large; hence the grid reaches 1e6.
DEFAULT_ALPHAS: np.ndarray = np.logspace(-4, 6, 21)

#: Smallest null-model rate (counts per bin). A neuron that never fires has mean rate 0; its null
#: log-likelihood is then 0 in the limit, but ``log 0`` is undefined, and null rates taken from
#: training data may be 0 for a neuron that does fire in the test data. The same order as the
#: epsilon of PyTorch's ``poisson_nll_loss`` used by the Neural Latents Benchmark.
NULL_RATE_FLOOR: float = 1e-8


# --------------------------------------------------------------------------------------------- checks


def _as_float(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


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


def _check_3d(a: np.ndarray, name: str, what: str) -> None:
    if a.ndim != 3:
        raise ValueError(f"{name}: expected a 3-D array {what}, got shape {a.shape}")


# ------------------------------------------------------------------------------------------- Poisson


def _poisson_ll(k: np.ndarray, log_lam: np.ndarray) -> np.ndarray:
    """Element-wise Poisson log-likelihood ``k log λ − λ − log k!`` (full form)."""
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


# ----------------------------------------------------------------------------------------- behaviour


def behavior_r2(
    train_factors: Any,
    train_behavior: Any,
    test_factors: Any,
    test_behavior: Any,
    form: Literal["trial", "bin"] = "trial",
    alphas: Sequence[float] | np.ndarray = DEFAULT_ALPHAS,
) -> float:
    """R² of a ridge decoder from factors to behaviour, fit on training trials, scored on test trials.

    Forms:

    * ``"trial"`` (the paper's): one sample per trial. Its factors are flattened to ``bins·F``
      features and its behaviour to ``bins·k`` outputs, so the decoder may use any time point of the
      trial to predict any other (a full spatio-temporal linear map). Training and test trials must
      have the same number of bins.
    * ``"bin"``: one sample per bin, ``F`` features to ``k`` outputs, the same map at every time
      point (an instantaneous linear readout, as in the Neural Latents Benchmark's velocity R²).

    Procedure (everything learnt from the training trials only):

    1. Features are standardised (``StandardScaler``) with the training mean and standard deviation;
       the same transform is applied to the test features. Constant features are left unscaled.
       Standardising makes one penalty grid fit every factor scale.
    2. The ridge penalty is chosen from ``alphas`` by cross-validation on the training trials with
       ``RidgeCV`` (with an intercept), one penalty for all outputs, minimising squared error:

       - trial form: exact leave-one-trial-out (RidgeCV's efficient generalised CV; the samples
         *are* trials, and LOO makes the most of few trials). Features are standardised once on all
         training trials before the CV, a negligible leak of the feature means and scales.
       - bin form: ``GroupKFold`` over trials (up to 5 folds), so that the bins of one trial are
         never split between fitting and validation; neighbouring bins are strongly correlated and
         a bin-wise split would favour too small a penalty.
    3. The refit decoder predicts the test behaviour and is scored with ``sklearn.metrics.r2_score``
       with ``multioutput="variance_weighted"``, i.e. ``1 − ΣSSE / ΣSST`` pooled over all outputs.
       Variance weighting because the outputs share units (e.g. hand x/y) and because, in the trial
       form, they include time points where behaviour barely varies across trials (all reaches
       start at the centre): a uniform average would give those near-zero-variance outputs equal
       weight and let their noisy R² dominate. Pooling also matches the squared-error criterion
       used to choose the penalty.

    Returns:
        R² on the test trials (1 is perfect, 0 is as good as predicting the training mean, can be
        negative).

    Raises:
        ValueError: on bad shapes, non-finite values, fewer than 2 training trials, or test
            behaviour without variance (R² undefined).
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    xf = _as_float(train_factors, "train_factors")
    yf = _as_float(train_behavior, "train_behavior")
    xt = _as_float(test_factors, "test_factors")
    yt = _as_float(test_behavior, "test_behavior")
    _check_3d(xf, "train_factors", "(trials, bins, factors)")
    _check_3d(yf, "train_behavior", "(trials, bins, outputs)")
    _check_3d(xt, "test_factors", "(trials, bins, factors)")
    _check_3d(yt, "test_behavior", "(trials, bins, outputs)")
    if xf.shape[:2] != yf.shape[:2]:
        raise ValueError(
            f"train_factors has shape {xf.shape} but train_behavior has shape {yf.shape}; "
            "trials and bins must match"
        )
    if xt.shape[:2] != yt.shape[:2]:
        raise ValueError(
            f"test_factors has shape {xt.shape} but test_behavior has shape {yt.shape}; "
            "trials and bins must match"
        )
    if xf.shape[2] != xt.shape[2]:
        raise ValueError(f"train_factors has {xf.shape[2]} factors but test_factors has {xt.shape[2]}")
    if yf.shape[2] != yt.shape[2]:
        raise ValueError(f"train_behavior has {yf.shape[2]} outputs but test_behavior has {yt.shape[2]}")
    n_train = xf.shape[0]
    if n_train < 2:
        raise ValueError(f"behavior_r2 needs at least 2 training trials to cross-validate, got {n_train}")
    if xt.shape[0] < 1 or xt.shape[1] < 1 or xf.shape[1] < 1:
        raise ValueError("behavior_r2: empty test set or no bins")
    alpha_grid = np.asarray(alphas, dtype=np.float64).ravel()
    if alpha_grid.size == 0 or np.any(~np.isfinite(alpha_grid)) or np.any(alpha_grid <= 0):
        raise ValueError("alphas: expected a non-empty list of positive penalties")

    if form == "trial":
        if xf.shape[1] != xt.shape[1]:
            raise ValueError(
                f"the trial form needs the same number of bins in training ({xf.shape[1]}) and test "
                f"({xt.shape[1]}) trials"
            )
        x_fit, y_fit = xf.reshape(n_train, -1), yf.reshape(n_train, -1)
        x_test, y_test = xt.reshape(xt.shape[0], -1), yt.reshape(yt.shape[0], -1)
        cv: Any = None  # efficient leave-one-out over trials
    elif form == "bin":
        x_fit, y_fit = xf.reshape(-1, xf.shape[2]), yf.reshape(-1, yf.shape[2])
        x_test, y_test = xt.reshape(-1, xt.shape[2]), yt.reshape(-1, yt.shape[2])
        groups = np.repeat(np.arange(n_train), xf.shape[1])
        cv = list(GroupKFold(n_splits=min(5, n_train)).split(x_fit, y_fit, groups))
    else:
        raise ValueError(f"form: expected 'trial' or 'bin', got {form!r}")

    if float(np.sum(np.var(y_test, axis=0))) == 0.0:
        raise ValueError("test_behavior has no variance; R² is undefined")

    scaler = StandardScaler().fit(x_fit)
    model = RidgeCV(
        alphas=alpha_grid,
        fit_intercept=True,
        cv=cv,
        scoring=None if cv is None else "neg_mean_squared_error",
    )
    model.fit(scaler.transform(x_fit), y_fit)
    pred = model.predict(scaler.transform(x_test))
    return float(r2_score(y_test, pred, multioutput="variance_weighted"))


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

"""Decoding accuracy shared by every family that decodes behaviour: the ridge decoder's R².

Conventions: ``factors``/``features`` ``(trials, bins, F)``; ``behavior`` ``(trials, bins, k)``. Plain
numpy and scikit-learn (imported inside the function), so the same number comes out of a float model and
of a bit-accurate simulation of its hardware.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from objectives.registry import Objective

__all__ = ["BEHAVIOR_R2", "BEHAVIOR_R2_BIN", "DEFAULT_ALPHAS", "as_float", "behavior_r2", "check_3d"]

BEHAVIOR_R2 = Objective("behavior_r2", "maximize", "", "R² of a ridge decoder from factors to behaviour, one sample "
                        "per trial (flattened bins; the paper's form), on held-out trials")
BEHAVIOR_R2_BIN = Objective("behavior_r2_bin", "maximize", "",
                            "R² of a ridge decoder from factors to behaviour, one sample per bin, on held-out trials")

#: Ridge penalties searched by :func:`behavior_r2` (features are standardised, so the scale is
#: comparable across datasets). The trial form has ``bins * F`` features, often more than there are
#: trials, where the best penalty is large; hence the grid reaches 1e6.
DEFAULT_ALPHAS: np.ndarray = np.logspace(-4, 6, 21)


def as_float(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr



def check_3d(a: np.ndarray, name: str, what: str) -> None:
    if a.ndim != 3:
        raise ValueError(f"{name}: expected a 3-D array {what}, got shape {a.shape}")


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

    xf = as_float(train_factors, "train_factors")
    yf = as_float(train_behavior, "train_behavior")
    xt = as_float(test_factors, "test_factors")
    yt = as_float(test_behavior, "test_behavior")
    check_3d(xf, "train_factors", "(trials, bins, factors)")
    check_3d(yf, "train_behavior", "(trials, bins, outputs)")
    check_3d(xt, "test_factors", "(trials, bins, factors)")
    check_3d(yt, "test_behavior", "(trials, bins, outputs)")
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

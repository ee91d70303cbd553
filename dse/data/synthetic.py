"""Synthetic spiking data driven by a Lorenz system, with known rates, latents and a behaviour readout.

Generative model (all randomness from one ``numpy`` Generator tree seeded by ``seed``):

1. **Latents.** The Lorenz system (sigma=10, rho=28, beta=8/3) is integrated with classical RK4
   at a step of at most 1e-3 Lorenz time units. Each trial starts from its own random point
   (x, y ~ N(0, 10^2), z ~ N(25, 10^2)), which is run for 3 Lorenz time units (RK4, step 5e-3)
   so that it lies on the attractor; chaos makes the trials' starting states independent. The
   trial then samples the state once per bin, ``lorenz_dt_per_bin`` Lorenz time units apart. The three state
   variables are z-scored over the whole data set; these are the returned ``latents``.

   Time scale: one loop of a Lorenz wing takes about 0.7 Lorenz time units. The default of 0.01
   Lorenz time units per 10 ms bin (73 bins = 0.73 units; the fast end of the ~0.006-0.01 range
   of LFADS-style Lorenz benchmarks) lets each trial travel about one loop: a trial spans on
   average 35-50% of the attractor's range per axis and about a third of trials switch wings, so
   trials differ clearly in their dynamics, while the largest Lyapunov exponent (~0.9 per unit)
   amplifies an error in the initial condition only ~2x within a trial: rich dynamics that are
   still learnable from the initial condition alone, which is what an LFADS without a controller
   needs.

2. **Rates.** Neuron i has log-rate ``log(baseline_hz) + b_i + gain * w_i . latent(t)``, with
   ``w_i`` a random unit vector and ``b_i ~ N(0, 0.3^2)`` a per-neuron offset (heterogeneous
   baselines, as in real recordings). To keep every rate inside ``rate_range_hz`` (default 1-60 Hz)
   without a hard clip, log-rates are squashed smoothly: unchanged up to a knee 0.5 nat inside
   each bound, then saturating (tanh, continuous slope) towards the bound. With the defaults
   (baseline 10 Hz, gain 0.75) rates average ~15 Hz (per neuron 6-27 Hz); about 8% of samples lie
   beyond a knee (above 36 Hz or below 1.65 Hz) and are compressed, mostly slightly, so the log-rates
   stay 99.7% linear in the latents (``meta["squashed_fraction"]`` reports the fraction).

3. **Spikes** ~ Poisson(rate * bin_width_s), independently per trial, bin and neuron.

4. **Behaviour**: a 2-D "hand position" in cm, a random linear readout of the latent state
   scaled to 5 cm standard deviation per coordinate, plus i.i.d. Gaussian noise of standard
   deviation ``behavior_noise`` x the signal's (default 0.2: SNR = 25 in power, 14 dB, so even
   the true latents cannot explain more than R^2 = 1 / (1 + 0.2^2) = 0.96 of it).

Difficulty check of the defaults (seed 0, split seed 0): a paper-sized autoencoder LFADS
(bidirectional GRU 64 encoder, GRU 64 generator, 4 factors, dropout 0.2, Poisson loss) trained on
the 136 training trials reached test behaviour R^2 0.88 (ridge from factors) and rate R^2 0.84
(mean over neurons, against the true rates); with dropout 0.05 it overfits (0.60-0.79 / 0.64-0.76),
so regularisation matters, as it does on real data.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from dse.data.base import NeuralData
from dse.errors import DataError

WHERE = "synthetic"

SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0
MAX_STEP = 1e-3  # RK4 step in Lorenz time units; error ~1e-12 per step, far below anything visible
BURN_IN = 3.0  # Lorenz time units from a random start to the attractor
BURN_IN_STEP = 5e-3  # the burn-in only has to land on the attractor; a coarser (still stable) step will do
OFFSET_SD = 0.3  # per-neuron log-baseline spread (nats)
KNEE_NATS = 0.5  # the squash leaves log-rates this far inside the range bounds untouched
HAND_SD_CM = 5.0

DEFAULT_KNOBS: dict[str, object] = {
    "lorenz_dt_per_bin": 0.01,
    "baseline_hz": 10.0,
    "gain": 0.75,
    "rate_range_hz": (1.0, 60.0),
    "behavior_noise": 0.2,
}


def make_synthetic(
    n_trials: int = 170,
    n_bins: int = 73,
    n_neurons: int = 70,
    bin_width_s: float = 0.01,
    seed: int = 0,
    **knobs: object,
) -> NeuralData:
    """Lorenz-driven Poisson spiking with behaviour; see the module docstring for the model.

    Knobs (keyword-only, defaults in :data:`DEFAULT_KNOBS`):

    * ``lorenz_dt_per_bin``: Lorenz time units per bin (the trial's time scale);
    * ``baseline_hz``: rate at the mean latent state, before the per-neuron offsets;
    * ``gain``: log-rate modulation (nats) per standard deviation of the latents;
    * ``rate_range_hz``: (min, max) Hz that the rates are squashed into;
    * ``behavior_noise``: behaviour noise s.d. relative to the behaviour signal's.

    Same arguments -> identical arrays.
    """
    _check_int("n_trials", n_trials, 1)
    _check_int("n_bins", n_bins, 1)
    _check_int("n_neurons", n_neurons, 1)
    _check_int("seed", seed, 0)
    bin_width_s = _check_real("bin_width_s", bin_width_s, low=0.0, low_open=True)
    k = _check_knobs(knobs)

    ss_latent, ss_readout, ss_spikes, ss_behavior = np.random.SeedSequence(seed).spawn(4)
    latents = _lorenz_latents(np.random.default_rng(ss_latent), n_trials, n_bins, k["lorenz_dt_per_bin"])
    log_rates, squashed = _log_rates(np.random.default_rng(ss_readout), latents, n_neurons, k)
    rates = np.exp(log_rates)
    spikes = np.random.default_rng(ss_spikes).poisson(rates * bin_width_s).astype(np.int32)
    behavior = _behavior(np.random.default_rng(ss_behavior), latents, k["behavior_noise"])
    meta = {
        "generator": "lorenz",
        "seed": seed,
        **{name: (list(v) if isinstance(v, tuple) else v) for name, v in k.items()},
        "squashed_fraction": squashed,
        "behavior_unit": "cm",
    }
    return NeuralData(
        spikes=spikes,
        behavior=behavior,
        bin_width_s=bin_width_s,
        rates=rates,
        latents=latents,
        source=WHERE,
        meta=meta,
    )


# ----------------------------------------------------------------------------- generative steps


def _lorenz_rhs(s: np.ndarray) -> np.ndarray:
    x, y, z = s[:, 0], s[:, 1], s[:, 2]
    return np.stack([SIGMA * (y - x), x * (RHO - z) - y, x * y - BETA * z], axis=1)


def _rk4(s: np.ndarray, h: float, n_steps: int) -> np.ndarray:
    for _ in range(n_steps):
        k1 = _lorenz_rhs(s)
        k2 = _lorenz_rhs(s + 0.5 * h * k1)
        k3 = _lorenz_rhs(s + 0.5 * h * k2)
        k4 = _lorenz_rhs(s + h * k3)
        s = s + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return s


def _lorenz_latents(rng: np.random.Generator, n_trials: int, n_bins: int, dt_per_bin: float) -> np.ndarray:
    """Z-scored Lorenz states, (trials, bins, 3), one independent attractor segment per trial."""
    start = rng.normal(size=(n_trials, 3)) * 10.0 + np.array([0.0, 0.0, 25.0])
    n_burn = int(math.ceil(BURN_IN / BURN_IN_STEP))
    state = _rk4(start, BURN_IN / n_burn, n_burn)
    sub = int(math.ceil(dt_per_bin / MAX_STEP))
    traj = np.empty((n_trials, n_bins, 3))
    for t in range(n_bins):
        traj[:, t] = state
        if t + 1 < n_bins:
            state = _rk4(state, dt_per_bin / sub, sub)
    flat = traj.reshape(-1, 3)
    sd = flat.std(axis=0)
    sd[sd == 0] = 1.0  # one trial of one bin: nothing to scale
    return (traj - flat.mean(axis=0)) / sd


def _squash(u: np.ndarray, low: float, high: float) -> np.ndarray:
    """Identity on [low + knee, high - knee]; beyond the knees a tanh saturating at low / high (C1)."""
    knee = min(KNEE_NATS, (high - low) / 4.0)
    lo_k, hi_k = low + knee, high - knee
    out = u.copy()
    above, below = u > hi_k, u < lo_k
    out[above] = hi_k + knee * np.tanh((u[above] - hi_k) / knee)
    out[below] = lo_k - knee * np.tanh((lo_k - u[below]) / knee)
    return out


def _log_rates(
    rng: np.random.Generator, latents: np.ndarray, n_neurons: int, k: dict
) -> tuple[np.ndarray, float]:
    """Log-rates in log-Hz, (trials, bins, neurons), and the fraction of values the squash moved."""
    d = latents.shape[2]
    w = rng.normal(size=(n_neurons, d))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    offsets = rng.normal(scale=OFFSET_SD, size=n_neurons)
    raw = math.log(k["baseline_hz"]) + offsets + k["gain"] * (latents @ w.T)
    low, high = (math.log(r) for r in k["rate_range_hz"])
    knee = min(KNEE_NATS, (high - low) / 4.0)
    squashed = float(np.mean((raw > high - knee) | (raw < low + knee)))
    return _squash(raw, low, high), squashed


def _behavior(rng: np.random.Generator, latents: np.ndarray, noise: float) -> np.ndarray:
    """2-D hand position (cm): linear readout of the latents, 5 cm s.d. per axis, plus noise."""
    b = rng.normal(size=(latents.shape[2], 2))
    clean = latents @ b
    sd = clean.reshape(-1, 2).std(axis=0)
    sd[sd == 0] = 1.0
    clean = clean / sd * HAND_SD_CM
    return clean + rng.normal(scale=noise * HAND_SD_CM, size=clean.shape)


# ----------------------------------------------------------------------------- validation


def _check_int(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise DataError(WHERE, f"must be an integer >= {low}, got {value!r}", name)


def _check_real(
    name: str, value: object, low: float, low_open: bool = False, high: float = math.inf
) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and v <= high
    if not ok:
        bound = f"> {low}" if low_open else f">= {low}"
        if math.isfinite(high):
            bound += f" and <= {high}"
        raise DataError(WHERE, f"must be a finite number {bound}, got {value!r}", name)
    return float(value)


def _check_knobs(knobs: dict[str, object]) -> dict:
    unknown = sorted(set(knobs) - set(DEFAULT_KNOBS))
    if unknown:
        raise DataError(WHERE, f"unknown setting(s) {unknown}; known: {sorted(DEFAULT_KNOBS)}", unknown[0])
    k = {**DEFAULT_KNOBS, **knobs}
    k["lorenz_dt_per_bin"] = _check_real("lorenz_dt_per_bin", k["lorenz_dt_per_bin"], 0.0, True, 0.1)
    k["gain"] = _check_real("gain", k["gain"], 0.0, high=5.0)
    k["behavior_noise"] = _check_real("behavior_noise", k["behavior_noise"], 0.0, high=100.0)
    rr = k["rate_range_hz"]
    if not (isinstance(rr, (tuple, list)) and len(rr) == 2):
        raise DataError(WHERE, f"must be a pair (min_hz, max_hz), got {rr!r}", "rate_range_hz")
    lo = _check_real("rate_range_hz", rr[0], 0.0, low_open=True)
    hi = _check_real("rate_range_hz", rr[1], 0.0, low_open=True)
    if not hi > lo:
        raise DataError(WHERE, f"max must exceed min, got {rr!r}", "rate_range_hz")
    k["rate_range_hz"] = (lo, hi)
    base = _check_real("baseline_hz", k["baseline_hz"], 0.0, low_open=True)
    if not lo < base < hi:
        raise DataError(
            WHERE, f"must lie inside rate_range_hz {k['rate_range_hz']}, got {base}", "baseline_hz"
        )
    k["baseline_hz"] = base
    return k

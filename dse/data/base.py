"""The one in-memory form of neural data every source loads into, and the seeded split."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dse.errors import DataError

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


@dataclass(frozen=True)
class NeuralData:
    """Binned spike counts with aligned behaviour.

    Shapes: ``spikes`` (trials, bins, neurons), integer counts; ``behavior`` (trials, bins, k);
    ``rates`` (trials, bins, neurons) in Hz and ``latents`` (trials, bins, d) when the ground truth
    is known (synthetic data, some HDF5 files), else ``None``.
    """

    spikes: np.ndarray
    behavior: np.ndarray
    bin_width_s: float
    rates: np.ndarray | None = None
    latents: np.ndarray | None = None
    source: str = "<memory>"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def n_trials(self) -> int:
        return int(self.spikes.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.spikes.shape[1])

    @property
    def n_neurons(self) -> int:
        return int(self.spikes.shape[2])

    def subset(self, idx: np.ndarray) -> NeuralData:
        """The trials ``idx``, in that order."""
        return NeuralData(
            spikes=self.spikes[idx],
            behavior=self.behavior[idx],
            bin_width_s=self.bin_width_s,
            rates=None if self.rates is None else self.rates[idx],
            latents=None if self.latents is None else self.latents[idx],
            source=self.source,
            meta=dict(self.meta),
        )


@dataclass(frozen=True)
class DataSplit:
    """Train/valid/test subsets of one dataset and the trial indices they came from."""

    train: NeuralData
    valid: NeuralData
    test: NeuralData
    indices: dict[str, np.ndarray]
    seed: int


def validate(data: NeuralData) -> None:
    """Raise :class:`DataError` naming the source and the problem if ``data`` is unusable."""
    src = data.source
    s = data.spikes
    if not isinstance(s, np.ndarray) or s.ndim != 3:
        raise DataError(src, f"must be a 3-D array (trials, bins, neurons), got shape {np.shape(s)}", "spikes")
    if s.size == 0:
        raise DataError(src, "is empty", "spikes")
    if not np.issubdtype(s.dtype, np.number):
        raise DataError(src, f"must be numeric, got dtype {s.dtype}", "spikes")
    if np.issubdtype(s.dtype, np.floating):
        if not np.all(np.isfinite(s)):
            raise DataError(src, "contains NaN or infinite values", "spikes")
        if np.any(s != np.round(s)):
            raise DataError(src, "contains non-integer counts", "spikes")
    if np.any(s < 0):
        raise DataError(src, "contains negative counts", "spikes")
    b = data.behavior
    if not isinstance(b, np.ndarray) or b.ndim != 3:
        raise DataError(src, f"must be a 3-D array (trials, bins, k), got shape {np.shape(b)}", "behavior")
    if b.shape[:2] != s.shape[:2]:
        raise DataError(
            src,
            f"has {b.shape[0]} trials x {b.shape[1]} bins but spikes have {s.shape[0]} x {s.shape[1]}",
            "behavior",
        )
    if not np.all(np.isfinite(b)):
        raise DataError(src, "contains NaN or infinite values", "behavior")
    if not (np.isfinite(data.bin_width_s) and data.bin_width_s > 0):
        raise DataError(src, f"must be a positive number of seconds, got {data.bin_width_s}", "bin_width_s")
    if data.rates is not None:
        r = data.rates
        if r.shape != s.shape:
            raise DataError(src, f"shape {r.shape} does not match spikes {s.shape}", "rates")
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            raise DataError(src, "must be finite and non-negative", "rates")
    if data.latents is not None:
        lat = data.latents
        if lat.ndim != 3 or lat.shape[:2] != s.shape[:2]:
            raise DataError(src, f"shape {lat.shape} does not match spikes' trials x bins {s.shape[:2]}", "latents")
        if not np.all(np.isfinite(lat)):
            raise DataError(src, "contains NaN or infinite values", "latents")


def split_data(
    data: NeuralData, seed: int = 0, fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
) -> DataSplit:
    """Seeded random train/valid/test split by trial (default 80/10/10 as in the paper).

    With 170 trials this gives 136/17/17, the paper's split.
    """
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-6:
        raise DataError(data.source, f"must be three positive fractions summing to 1, got {fractions}", "split")
    n = data.n_trials
    n_valid = int(round(n * fractions[1]))
    n_test = int(round(n * fractions[2]))
    n_train = n - n_valid - n_test
    if min(n_train, n_valid, n_test) < 1 or n_train < 2:
        raise DataError(
            data.source,
            f"{n} trials are too few for a {fractions} split (need at least 2 train, 1 valid, 1 test)",
            "spikes",
        )
    perm = np.random.default_rng(seed).permutation(n)
    idx = {
        "train": np.sort(perm[:n_train]),
        "valid": np.sort(perm[n_train : n_train + n_valid]),
        "test": np.sort(perm[n_train + n_valid :]),
    }
    return DataSplit(
        train=data.subset(idx["train"]),
        valid=data.subset(idx["valid"]),
        test=data.subset(idx["test"]),
        indices=idx,
        seed=seed,
    )

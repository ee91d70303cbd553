"""The two SNN tasks and their data: behaviour decoding from neural data, and digit classification.

* ``decode``: any source :func:`dse.data.load_data` reads; the seeded 80/10/10 trial split of
  :func:`dse.data.split_data` (the same test trials as LFADS); inputs are spike counts
  ``(trials, bins, neurons)`` (one bin per time step), targets the behaviour ``(trials, bins, k)``.
* ``digits``: scikit-learn's 8×8 digits (1,797 images, shipped inside scikit-learn), pixels / 16 in
  [0, 1]; ``digits16``: the same images upsampled to 16×16 (bilinear), the 256 inputs of Flexi-NeurA's
  256-128-10 network; ``digits28``: upsampled to 28×28, the input size of the Spiker+ MNIST network. Seeded 80/10/10 split, stratified by class.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from dse.errors import ConfigError

TASKS = ("decode", "digits", "digits16", "digits28")


@dataclass(frozen=True)
class Subset:
    """Raw inputs (spike counts or dense features) and targets (behaviour or labels) of one split part."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class Task:
    """A task's data. ``kind`` is "regression" (decode) or "classification" (digits)."""

    name: str
    kind: str
    train: Subset
    valid: Subset
    test: Subset
    n_inputs: int
    n_outputs: int  # behaviour dimensions, or classes
    source: str
    seed: int

    @property
    def counts(self) -> bool:
        """True when the inputs are spike counts (per bin) rather than dense features."""
        return self.kind == "regression"


def decode_task(source: str | os.PathLike = "synthetic", seed: int = 0, data_options: dict | None = None,
                **options: object) -> Task:
    """Behaviour decoding on ``load_data(source, **data_options, **options)`` with ``split_data(data, seed)``
    (``data_options`` may hold a ``seed`` of the data itself, which ``seed`` -- the split's -- is not)."""
    from dse.data import load_data, split_data

    data = load_data(source, **{**(data_options or {}), **options})
    split = split_data(data, seed)
    parts = {name: Subset(np.asarray(getattr(split, name).spikes, dtype=np.int64),
                          np.asarray(getattr(split, name).behavior, dtype=np.float64))
             for name in ("train", "valid", "test")}
    return Task(name="decode", kind="regression", train=parts["train"], valid=parts["valid"],
                test=parts["test"], n_inputs=data.n_neurons, n_outputs=int(data.behavior.shape[2]),
                source=str(source), seed=seed)


def digits_images(size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as ``(n, size*size)`` features in [0, 1] and integer labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = d.images.astype(np.float64) / 16.0
    if size != 8:
        from scipy.ndimage import zoom

        x = np.stack([zoom(img, size / 8.0, order=1) for img in x])
        if x.shape[1:] != (size, size):
            raise ConfigError("digits", f"cannot upsample 8x8 to {size}x{size}")
    x = np.clip(x, 0.0, 1.0).reshape(len(x), -1)
    return x, d.target.astype(np.int64)


def digits_task(seed: int = 0, size: int = 8, limit: int | None = None) -> Task:
    """Digit classification; ``limit`` keeps only that many images (small tests)."""
    x, y = digits_images(size)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {"train": [], "valid": [], "test": []}
    for c in np.unique(y):  # stratified 80/10/10
        idx = rng.permutation(np.flatnonzero(y == c))
        n_va = int(round(0.1 * len(idx)))
        n_te = int(round(0.1 * len(idx)))
        parts["valid"] += idx[:n_va].tolist()
        parts["test"] += idx[n_va:n_va + n_te].tolist()
        parts["train"] += idx[n_va + n_te:].tolist()
    subsets = {}
    for name, idx_list in parts.items():
        idx = np.sort(np.asarray(idx_list))
        if limit is not None:
            keep = max(2, int(round(limit * len(idx) / len(y))))
            idx = np.sort(rng.permutation(idx)[:keep])
        subsets[name] = Subset(x[idx], y[idx])
    name = "digits" if size == 8 else f"digits{size}"
    return Task(name=name, kind="classification", train=subsets["train"], valid=subsets["valid"],
                test=subsets["test"], n_inputs=size * size, n_outputs=10, source=f"sklearn digits {size}x{size}",
                seed=seed)


def load_task(name: str, data: str | os.PathLike = "synthetic", seed: int = 0) -> Task:
    """The task by name: "decode" (on ``data``), "digits", "digits16" or "digits28"."""
    if name == "decode":
        return decode_task(data, seed)
    if name == "digits":
        return digits_task(seed, 8)
    if name == "digits16":
        return digits_task(seed, 16)
    if name == "digits28":
        return digits_task(seed, 28)
    raise ConfigError("task", f"unknown task {name!r} (known: {', '.join(TASKS)})")

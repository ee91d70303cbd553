"""Input encodings: the per-step non-negative integer input of layer 0 (SEMANTICS.md, "Encodings").

Everything here is numpy and deterministic (seeded where random), so training, the integer reference
model and the VHDL testbench read the *same* integer input array. Outputs are ``int64`` arrays of shape
``(samples, T, n_inputs)``.

* Spike counts (neural data, one bin per step): ``binary`` = min(count, 1); ``current`` =
  min(count, 2**input_bits - 1) added as one integer current; ``substeps`` = S sub-steps per bin,
  the count c spread as min(c, S) ones over the bin's sub-steps (T = bins * S).
* Dense features in [0, 1] (images): ``rate`` = seeded Bernoulli per step with p = x; ``latency`` = one
  spike at step round((1 - x) * (T - 1)), none when x is below ``latency_cutoff``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dse.errors import ConfigError

COUNT_ENCODINGS = ("binary", "current", "substeps")
DENSE_ENCODINGS = ("rate", "latency")
ENCODINGS = COUNT_ENCODINGS + DENSE_ENCODINGS


class SNNConfigError(ConfigError, ValueError):
    """An SNN description, encoding or option that cannot be used.

    One line naming the field, e.g. ``snn.layers[1].neuron: unknown neuron model 'XYZ' (known: IF, LIF,
    LIF2, readout)``. A :class:`~dse.errors.UserInputError` (the CLI exits 2 with it) and a ValueError.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)


class EncodingError(SNNConfigError):
    """An encoding setting or an input array that cannot be encoded."""


@dataclass(frozen=True)
class EncodingSpec:
    """How the input of layer 0 is made.

    ``steps`` is the number of time steps for dense features (rate/latency); for spike counts T is
    the number of bins (times ``substeps`` for the sub-step encoding) and ``steps`` must be left unset.
    """

    kind: str = "current"
    input_bits: int = 1
    substeps: int = 1
    steps: int | None = None
    seed: int = 0
    latency_cutoff: float = 0.01

    def __post_init__(self) -> None:
        where = "snn.encoding"
        if self.kind not in ENCODINGS:
            raise EncodingError(f"{where}.kind", f"unknown encoding {self.kind!r} (known: {', '.join(ENCODINGS)})")
        if not isinstance(self.input_bits, int) or not 1 <= self.input_bits <= 16:
            raise EncodingError(f"{where}.input_bits", f"expected an integer 1..16, got {self.input_bits!r}")
        if self.kind != "current" and self.input_bits != 1:
            raise EncodingError(f"{where}.input_bits", "only the 'current' encoding takes more than 1 input bit")
        if not isinstance(self.substeps, int) or self.substeps < 1:
            raise EncodingError(f"{where}.substeps", f"expected a positive integer, got {self.substeps!r}")
        if self.kind != "substeps" and self.substeps != 1:
            raise EncodingError(f"{where}.substeps", "only the 'substeps' encoding takes sub-steps")
        if self.kind in DENSE_ENCODINGS:
            if not isinstance(self.steps, int) or self.steps < 1:
                raise EncodingError(f"{where}.steps", f"the {self.kind!r} encoding needs a positive number of "
                                    f"time steps, got {self.steps!r}")
        elif self.steps is not None:
            raise EncodingError(f"{where}.steps", "spike-count encodings take one step per bin; leave steps unset")
        if not 0.0 <= float(self.latency_cutoff) < 1.0:
            raise EncodingError(f"{where}.latency_cutoff", f"expected a value in [0, 1), got {self.latency_cutoff!r}")

    @property
    def dense(self) -> bool:
        return self.kind in DENSE_ENCODINGS

    @property
    def max_input(self) -> int:
        """The largest integer this encoding feeds layer 0 (1 for spikes)."""
        return 2**self.input_bits - 1 if self.kind == "current" else 1

    def time_steps(self, n_bins: int | None = None) -> int:
        """T for this encoding: ``steps`` for dense features, bins (x sub-steps) for spike counts."""
        if self.dense:
            return int(self.steps)  # type: ignore[arg-type]
        if n_bins is None:
            raise EncodingError("snn.encoding", "a spike-count encoding needs the number of bins")
        return int(n_bins) * self.substeps

    def to_dict(self) -> dict:
        return {"kind": self.kind, "input_bits": self.input_bits, "substeps": self.substeps,
                "steps": self.steps, "seed": self.seed, "latency_cutoff": self.latency_cutoff}


def encode(spec: EncodingSpec, x: np.ndarray) -> np.ndarray:
    """The integer input of layer 0, ``(samples, T, n_inputs)`` int64.

    ``x`` is spike counts ``(samples, bins, n_inputs)`` for count encodings, dense features
    ``(samples, n_inputs)`` in [0, 1] for rate/latency.
    """
    return encode_dense(spec, x) if spec.dense else encode_counts(spec, x)


def encode_counts(spec: EncodingSpec, counts: np.ndarray) -> np.ndarray:
    """Spike counts ``(samples, bins, n)`` → ``(samples, T, n)`` integers (T = bins, or bins·S)."""
    c = np.asarray(counts)
    if c.ndim != 3:
        raise EncodingError("snn.encoding", f"spike counts must be (samples, bins, inputs), got shape {c.shape}")
    if np.issubdtype(c.dtype, np.floating) and (not np.all(np.isfinite(c)) or np.any(c != np.round(c))):
        raise EncodingError("snn.encoding", "spike counts must be finite integers")
    c = c.astype(np.int64)
    if np.any(c < 0):
        raise EncodingError("snn.encoding", "spike counts must be non-negative")
    if spec.kind == "binary":
        return np.minimum(c, 1)
    if spec.kind == "current":
        return np.minimum(c, spec.max_input)
    if spec.kind == "substeps":
        s = spec.substeps
        m = np.minimum(c, s)  # ones to place in this bin's s sub-steps
        # The m ones sit at the evenly spread sub-steps ceil(q * s / m), q = 0..m-1 (the first at
        # sub-step 0): sub-step j carries one iff ceil((j + 1) * m / s) > ceil(j * m / s).
        j = np.arange(s)[None, None, None, :]
        hit = np.ceil((j + 1) * m[..., None] / s) - np.ceil(j * m[..., None] / s)
        out = (hit > 0).astype(np.int64)  # (samples, bins, n, s)
        return out.transpose(0, 1, 3, 2).reshape(c.shape[0], c.shape[1] * s, c.shape[2])
    raise EncodingError("snn.encoding.kind", f"{spec.kind!r} is not a spike-count encoding")


def encode_dense(spec: EncodingSpec, features: np.ndarray) -> np.ndarray:
    """Dense features ``(samples, n)`` in [0, 1] → ``(samples, T, n)`` 0/1 spikes."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise EncodingError("snn.encoding", f"dense features must be (samples, inputs), got shape {f.shape}")
    if not np.all(np.isfinite(f)) or np.any(f < 0) or np.any(f > 1):
        raise EncodingError("snn.encoding", "dense features must lie in [0, 1]")
    t = spec.time_steps()
    if spec.kind == "rate":
        rng = np.random.default_rng(spec.seed)
        return (rng.random((f.shape[0], t, f.shape[1])) < f[:, None, :]).astype(np.int64)
    if spec.kind == "latency":
        step = np.rint((1.0 - f) * (t - 1)).astype(np.int64)
        out = (np.arange(t)[None, :, None] == step[:, None, :]) & (f[:, None, :] >= spec.latency_cutoff)
        return out.astype(np.int64)
    raise EncodingError("snn.encoding.kind", f"{spec.kind!r} is not a dense-feature encoding")

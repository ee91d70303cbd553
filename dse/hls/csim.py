"""Bit-accurate C simulation of a converted design: hls4ml's g++-compiled model on test trials.

The C simulation computes with the design's ap_fixed types exactly as the synthesised circuit does,
so its outputs -- not the Keras model's -- are what a family computes a design point's accuracy
objectives from.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from dse.hls.cpus import default_workers

# The compiled model and its inputs, inherited (not pickled) by forked workers.
_FORK_STATE: tuple[Any, list[np.ndarray]] | None = None


def _predict_rows(hls_model: Any, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """``hls_model.predict`` with its shape special cases undone: one (samples, size) array per output."""
    n = inputs[0].shape[0]
    out = hls_model.predict(inputs if len(inputs) > 1 else inputs[0])
    if len(hls_model.get_output_variables()) == 1:
        out = [out]
    return [np.asarray(o, dtype=np.float64).reshape(n, -1) for o in out]


def _predict_chunk(bounds: tuple[int, int]) -> list[np.ndarray]:
    assert _FORK_STATE is not None
    hls_model, inputs = _FORK_STATE
    lo, hi = bounds
    return _predict_rows(hls_model, [x[lo:hi] for x in inputs])


def predict_parallel(hls_model: Any, inputs: list[np.ndarray], workers: int) -> list[np.ndarray]:
    """Split the samples over ``workers`` forked processes.

    Threads cannot do this: hls4ml's recurrent layers keep their state in C++ ``static`` variables
    (``gru_static``), so two calls into one loaded library at once would share it. A forked child has
    its own copy of the library's memory, and the samples are independent.
    """
    global _FORK_STATE
    n = inputs[0].shape[0]
    workers = max(1, min(workers, n))
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return _predict_rows(hls_model, inputs)
    edges = np.linspace(0, n, workers + 1).round().astype(int)
    bounds = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    _FORK_STATE = (hls_model, inputs)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = list(pool.map(_predict_chunk, bounds))
    finally:
        _FORK_STATE = None
    return [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]


@dataclass(frozen=True)
class CSimOutput:
    """C-simulation outputs by Keras output-layer name, each shaped like the Keras model's output."""

    outputs: dict[str, np.ndarray]
    seconds: float  # wall time of the C simulation (excluding compilation)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.outputs[name]
        except KeyError:
            raise KeyError(f"the hls model has outputs {sorted(self.outputs)}, not {name!r}") from None

    def rows(self, sl: slice) -> CSimOutput:
        """The same outputs for the samples ``sl`` only."""
        return CSimOutput({k: v[sl] for k, v in self.outputs.items()}, self.seconds)


def output_names(hls_model: Any) -> list[str]:
    """The Keras layer names of ``hls_model``'s outputs, in the order of its output variables (the outputs of
    expanded TimeDistributed layers are their "<name>_end" loop markers)."""
    return [output.removesuffix("_end") for output in hls_model.outputs]


def _check_counts(spikes: np.ndarray, var: Any) -> None:
    """Reject inputs the input type would silently saturate or truncate."""
    p = var.type.precision
    width, integer, signed = (
        getattr(p, "width", None),
        getattr(p, "integer", None),
        getattr(p, "signed", True),
    )
    if width is None or integer is None:
        return
    lo = -(2.0 ** (integer - 1)) if signed else 0.0
    hi = 2.0 ** (integer - 1 if signed else integer) - 2.0 ** (integer - width)
    if spikes.size and (spikes.min() < lo or spikes.max() > hi):
        raise ValueError(
            f"spikes: values in [{spikes.min()}, {spikes.max()}] exceed the input type {p} "
            f"([{lo}, {hi}]); widen HLSDesign.input_precision"
        )
    frac = width - integer
    if not np.array_equal(spikes * 2.0**frac, np.round(spikes * 2.0**frac)):
        raise ValueError(f"spikes: values are not representable exactly in the input type {p}")


def run_csim(hls_model: Any, spikes: Any, workers: int | None = None) -> CSimOutput:
    """Run the compiled ``hls_model`` with ``spikes`` (samples, ...) as its first input; other inputs
    are zeros. ``spikes`` must be exactly representable in the first input's type.

    ``workers`` processes share the trials (default :func:`default_workers`); the outputs do not
    depend on it.
    """
    spikes = np.ascontiguousarray(np.asarray(spikes, dtype=np.float64))
    in_vars = hls_model.get_input_variables()
    if spikes.ndim != 3 or list(spikes.shape[1:]) != list(in_vars[0].shape):
        raise ValueError(
            f"spikes: expected shape (trials, {', '.join(map(str, in_vars[0].shape))}), got {spikes.shape}"
        )
    n = spikes.shape[0]
    inputs = []
    for var in in_vars:
        if var is in_vars[0]:
            _check_counts(spikes, var)
            inputs.append(spikes)
        else:
            inputs.append(np.zeros((n, *var.shape), dtype=np.float64))
    t0 = time.perf_counter()
    out = predict_parallel(hls_model, inputs, default_workers() if workers is None else workers)
    seconds = time.perf_counter() - t0
    out_vars = hls_model.get_output_variables()
    arrays = {
        name: o.reshape(n, *v.shape) for name, v, o in zip(output_names(hls_model), out_vars, out, strict=True)
    }
    return CSimOutput(arrays, seconds)

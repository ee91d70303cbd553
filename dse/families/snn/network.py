"""Quantized SNN description: the integer network that the reference model and the VHDL both implement.

Everything here is integer (see SEMANTICS.md beside this file). A float network is turned into one of
these by the training side's quantizer; `QuantizedSNN.from_float` is the plain sat(round(x * 2**frac))
conversion for callers that already have float weights and thresholds.

Validation errors are `ValueError`s whose message is one line naming the field, e.g.
``layers[1].k_beta: leak shift must be an integer >= 1 (beta = 1 - 2**-k), got 0``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NEURON_MODELS = ("IF", "LIF", "LIF2", "readout")
RESETS = ("zero", "subtract", "none")
SCANS = ("full", "event")
NPZ_FORMAT = "dse-integer-snn-1"


def sat(x, bits: int):
    """Saturate integers (scalar or array) to a signed `bits`-wide range."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if isinstance(x, np.ndarray):
        return np.clip(x, lo, hi)
    return min(max(int(x), lo), hi)


def signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def check_reuse_factor(value, sizes: Sequence[int]) -> None:
    """R >= 1 for all layers, or a list of one R per layer with 1 <= R <= the layer's neurons."""

    def is_int(v) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if is_int(value):
        if value < 1:
            raise ValueError(f"reuse_factor: must be an integer >= 1, got {value!r}")
        return
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"reuse_factor: must be an integer >= 1 or a list of one per layer, got {value!r}")
    if len(value) != len(sizes):
        raise ValueError(f"reuse_factor: {len(value)} values for {len(sizes)} layers")
    for li, (r, n) in enumerate(zip(value, sizes, strict=True)):
        if not is_int(r) or not 1 <= r <= n:
            raise ValueError(f"reuse_factor[{li}]: {r!r} outside 1..{n} for layer {li} of {n} neurons")


def k_from_beta(beta: float, field_name: str = "beta") -> int:
    """The shift k with beta == 1 - 2**-k; ValueError when 1 - beta is not a power of two (k >= 1)."""
    one_minus = 1.0 - float(beta)
    if not (0.0 < one_minus <= 0.5):
        raise ValueError(f"{field_name}: decay must satisfy 0.5 <= beta < 1 (beta = 1 - 2**-k, k >= 1), got {beta}")
    k = -math.log2(one_minus)
    if abs(k - round(k)) > 1e-9:
        raise ValueError(f"{field_name}: leak not a power of two: 1 - beta = {one_minus} is not 2**-k, got beta={beta}")
    return int(round(k))


def _check_k(value, field_name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{field_name}: leak shift must be an integer >= 1 (beta = 1 - 2**-k), got {value!r}")


def _as_int_matrix(a, field_name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise ValueError(f"{field_name}: must be a 2-D matrix, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{field_name}: must hold integers (quantize first), got non-integer values")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{field_name}: must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64)


@dataclass
class SNNLayer:
    """One fully connected layer of `n_out` neurons.

    weights: integer matrix (n_in, n_out); recurrent_weights: optional (n_out, n_out), row i = the
    weights from the layer's own neuron i (previous step's spike) to every neuron.
    k_beta: membrane leak shift (beta = 1 - 2**-k); None = no leak (required None for IF; allowed for
    readout). k_alpha: synaptic-current leak shift, LIF2 only. theta_int: threshold (spiking layers).
    """

    weights: np.ndarray
    neuron: str = "LIF"
    reset: str = "subtract"
    k_beta: int | None = 4
    k_alpha: int | None = None
    theta_int: int = 1
    recurrent_weights: np.ndarray | None = None
    name: str = ""

    def __post_init__(self) -> None:
        # Checked (with the layer's index in the message) and made int64 by QuantizedSNN.validate.
        self.weights = np.asarray(self.weights)
        if self.recurrent_weights is not None:
            self.recurrent_weights = np.asarray(self.recurrent_weights)

    @property
    def n_in(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.weights.shape[1])

    @property
    def recurrent(self) -> bool:
        return self.recurrent_weights is not None

    @property
    def spiking(self) -> bool:
        return self.neuron != "readout"

    @property
    def fan_in(self) -> int:
        """Rows the scan visits per step: the inputs, then (recurrent) the layer's own outputs."""
        return self.n_in + (self.n_out if self.recurrent else 0)

    def all_weights(self) -> np.ndarray:
        """(fan_in, n_out): the weight memory's rows in scan order (inputs, then recurrent)."""
        if self.recurrent_weights is None:
            return self.weights
        return np.vstack([self.weights, self.recurrent_weights])


@dataclass
class QuantizedSNN:
    """An integer SNN. `input_bits` == 1 means binary spike input; > 1 an integer input current
    in [0, 2**input_bits - 1] on layer 0. `scan`: "full" (every input costs a cycle, Spiker+'s) or
    "event" (only nonzero inputs cost a cycle); it changes cycles and hardware, never a result bit.
    `reuse_factor` R (one for all layers, or a list with one per layer): a layer's neurons share
    ceil(n_out / R) datapaths that serve up to R neurons each in turn (`units`, `groups`); like the scan
    it changes cycles and hardware only."""

    layers: list[SNNLayer]
    weight_bits: int = 6
    membrane_bits: int = 8
    frac_bits: int = 0
    input_bits: int = 1
    time_steps: int = 25
    scan: str = "full"
    name: str = "snn"
    meta: dict = field(default_factory=dict)
    reuse_factor: int | list[int] = 1

    def __post_init__(self) -> None:
        self.layers = list(self.layers)
        self.validate()

    # ---- shape helpers -------------------------------------------------------------------------
    @property
    def n_in(self) -> int:
        return self.layers[0].n_in

    @property
    def n_out(self) -> int:
        return self.layers[-1].n_out

    @property
    def sizes(self) -> list[int]:
        return [self.n_in] + [layer.n_out for layer in self.layers]

    @property
    def has_readout(self) -> bool:
        return not self.layers[-1].spiking

    @property
    def input_max(self) -> int:
        return (1 << self.input_bits) - 1

    def with_scan(self, scan: str) -> QuantizedSNN:
        """The same network with another scan architecture (identical results, other cycles)."""
        return self._with(scan, self.reuse_factor)

    def with_reuse(self, reuse_factor: int | Sequence[int]) -> QuantizedSNN:
        """The same network with another reuse factor (identical results, other cycles and hardware)."""
        return self._with(self.scan, reuse_factor)

    def _with(self, scan: str, reuse_factor: int | Sequence[int]) -> QuantizedSNN:
        return QuantizedSNN(
            layers=self.layers, weight_bits=self.weight_bits, membrane_bits=self.membrane_bits,
            frac_bits=self.frac_bits, input_bits=self.input_bits, time_steps=self.time_steps,
            scan=scan, name=self.name, meta=dict(self.meta),
            reuse_factor=list(reuse_factor) if isinstance(reuse_factor, (list, tuple)) else reuse_factor,
        )

    @property
    def reuse_factors(self) -> list[int]:
        """R per layer."""
        r = self.reuse_factor
        return [int(r)] * len(self.layers) if isinstance(r, (int, np.integer)) else [int(v) for v in r]

    @property
    def units(self) -> list[int]:
        """Neuron datapaths per layer: ceil(n_out / R); a layer smaller than R gets one."""
        return [-(-lay.n_out // r) for lay, r in zip(self.layers, self.reuse_factors, strict=True)]

    @property
    def groups(self) -> list[int]:
        """Neurons each datapath serves in turn, per layer: ceil(n_out / units) (<= R; 1 is the
        fully parallel design)."""
        return [-(-lay.n_out // u) for lay, u in zip(self.layers, self.units, strict=True)]

    # ---- validation ----------------------------------------------------------------------------
    def validate(self) -> None:
        def pos_int(value, name: str, lo: int = 1, hi: int | None = None) -> None:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (
                hi is not None and value > hi
            ):
                rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
                raise ValueError(f"{name}: must be an integer {rng}, got {value!r}")

        pos_int(self.weight_bits, "weight_bits", 2, 32)
        pos_int(self.membrane_bits, "membrane_bits", 2, 32)
        pos_int(self.input_bits, "input_bits", 1, 16)
        pos_int(self.time_steps, "time_steps", 1)
        if isinstance(self.frac_bits, bool) or not isinstance(self.frac_bits, (int, np.integer)) or self.frac_bits < 0:
            raise ValueError(f"frac_bits: must be an integer >= 0, got {self.frac_bits!r}")
        if self.scan not in SCANS:
            raise ValueError(f"scan: unknown scan architecture {self.scan!r} (expected one of {', '.join(SCANS)})")
        if not self.layers:
            raise ValueError("layers: a network needs at least one layer")
        wlo, whi = signed_range(self.weight_bits)
        mhi = (1 << (self.membrane_bits - 1)) - 1
        prev_out = None
        for idx, layer in enumerate(self.layers):
            f = f"layers[{idx}]"
            if not isinstance(layer, SNNLayer):
                raise ValueError(f"{f}: must be an SNNLayer, got {type(layer).__name__}")
            layer.weights = _as_int_matrix(layer.weights, f"{f}.weights")
            if layer.recurrent_weights is not None:
                layer.recurrent_weights = _as_int_matrix(layer.recurrent_weights, f"{f}.recurrent_weights")
            if layer.neuron not in NEURON_MODELS:
                raise ValueError(
                    f"{f}.neuron: unknown neuron model {layer.neuron!r} (expected one of {', '.join(NEURON_MODELS)})"
                )
            if layer.reset not in RESETS:
                raise ValueError(f"{f}.reset: unknown reset {layer.reset!r} (expected one of {', '.join(RESETS)})")
            if layer.n_in < 1 or layer.n_out < 1:
                raise ValueError(f"{f}.weights: shape {layer.weights.shape} has an empty dimension")
            if prev_out is not None and layer.n_in != prev_out:
                raise ValueError(
                    f"{f}.weights: shape {layer.weights.shape} does not take the previous layer's {prev_out} outputs"
                )
            prev_out = layer.n_out
            if layer.neuron == "readout" and idx != len(self.layers) - 1:
                raise ValueError(f"{f}.neuron: a readout (non-spiking) layer must be the last layer")
            if layer.neuron == "IF":
                if layer.k_beta is not None:
                    raise ValueError(f"{f}.k_beta: IF neurons have no leak; set k_beta=None, got {layer.k_beta!r}")
            elif layer.neuron == "readout":
                if layer.k_beta is not None:
                    _check_k(layer.k_beta, f"{f}.k_beta")
            else:
                _check_k(layer.k_beta, f"{f}.k_beta")
            if layer.neuron == "LIF2":
                _check_k(layer.k_alpha, f"{f}.k_alpha")
            elif layer.k_alpha is not None:
                raise ValueError(f"{f}.k_alpha: only LIF2 neurons have a synaptic leak, got {layer.k_alpha!r}")
            for k_name in ("k_beta", "k_alpha"):
                k = getattr(layer, k_name)
                if k is not None and k >= self.membrane_bits:
                    raise ValueError(
                        f"{f}.{k_name}: leak shift {k} >= membrane_bits {self.membrane_bits} makes the leak vanish"
                    )
            if layer.spiking:
                th = layer.theta_int
                if isinstance(th, bool) or not isinstance(th, (int, np.integer)):
                    raise ValueError(f"{f}.theta_int: must be an integer, got {th!r}")
                if not 0 < th <= mhi:
                    raise ValueError(
                        f"{f}.theta_int: bits cannot hold the threshold: need 0 < theta_int <= {mhi} "
                        f"(membrane_bits={self.membrane_bits}), got {th}"
                    )
            if layer.recurrent_weights is not None:
                if not layer.spiking:
                    raise ValueError(f"{f}.recurrent_weights: a readout layer has no spikes to feed back")
                if layer.recurrent_weights.shape != (layer.n_out, layer.n_out):
                    raise ValueError(
                        f"{f}.recurrent_weights: shape {layer.recurrent_weights.shape}, expected "
                        f"({layer.n_out}, {layer.n_out})"
                    )
            for wname in ("weights", "recurrent_weights"):
                w = getattr(layer, wname)
                if w is not None and w.size and (w.min() < wlo or w.max() > whi):
                    raise ValueError(
                        f"{f}.{wname}: weights out of range for weight_bits={self.weight_bits}: "
                        f"[{int(w.min())}, {int(w.max())}] not within [{wlo}, {whi}]"
                    )
        check_reuse_factor(self.reuse_factor, [lay.n_out for lay in self.layers])

    def check_inputs(self, x: np.ndarray) -> np.ndarray:
        """Validate an input array (samples, T, n_in) of integers in [0, 2**input_bits - 1]."""
        arr = np.asarray(x)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[2] != self.n_in:
            raise ValueError(f"inputs: expected shape (samples, T, {self.n_in}), got {np.shape(x)}")
        if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
            raise ValueError("inputs: must hold integers")
        if arr.dtype.kind not in "iubf":
            raise ValueError(f"inputs: must be an integer array, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < 0 or arr.max() > self.input_max):
            raise ValueError(
                f"inputs: values must be in [0, {self.input_max}] for input_bits={self.input_bits}, "
                f"got [{int(arr.min())}, {int(arr.max())}]"
            )
        return arr

    # ---- plain data and files ------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The whole integer network as plain data (JSON-ready): every layer's weights and attributes, the
        bits, scan, reuse factor, name and meta; `from_dict` reads it back equal."""
        d = self._attributes()
        for lay_d, lay in zip(d["layers"], self.layers, strict=True):
            lay_d["weights"] = lay.weights.tolist()
            lay_d["recurrent_weights"] = None if lay.recurrent_weights is None else lay.recurrent_weights.tolist()
        return d

    def _attributes(self) -> dict:
        """`to_dict` without the weight matrices."""
        layers = [{"neuron": lay.neuron, "reset": lay.reset, "k_beta": lay.k_beta, "k_alpha": lay.k_alpha,
                   "theta_int": int(lay.theta_int), "name": lay.name} for lay in self.layers]
        return {"layers": layers, "weight_bits": self.weight_bits, "membrane_bits": self.membrane_bits,
                "frac_bits": self.frac_bits, "input_bits": self.input_bits, "time_steps": self.time_steps,
                "scan": self.scan, "name": self.name, "reuse_factor": self.reuse_factor,
                **({"meta": dict(self.meta)} if self.meta else {})}

    @classmethod
    def from_dict(cls, d: dict) -> QuantizedSNN:
        layers = [SNNLayer(**{**lay, "weights": np.asarray(lay["weights"], np.int64),
                              "recurrent_weights": None if lay["recurrent_weights"] is None
                              else np.asarray(lay["recurrent_weights"], np.int64)}) for lay in d["layers"]]
        return cls(layers=layers, **{k: v for k, v in d.items() if k != "layers"})

    def save(self, path: str | os.PathLike) -> None:
        """`to_dict` as one compressed ``.npz`` (the weights as arrays, the rest as a JSON header), written whole
        or not at all.

        Why keep a network as a file: a float training is not bit-reproducible across CPUs (BLAS kernels
        differ), so a network whose hardware was measured must be kept as integers, not as its recipe."""
        d = self._attributes()
        arrays = {}
        for i, (lay_d, lay) in enumerate(zip(d["layers"], self.layers, strict=True)):
            arrays[f"layer{i}_weights"] = np.asarray(lay.weights, np.int64)
            lay_d["recurrent"] = lay.recurrent
            if lay.recurrent:
                arrays[f"layer{i}_recurrent_weights"] = np.asarray(lay.recurrent_weights, np.int64)
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, header=np.array(json.dumps({"format": NPZ_FORMAT, **d})), **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> QuantizedSNN:
        """The network `save` wrote (validated like any other)."""
        with np.load(path, allow_pickle=False) as z:
            d = json.loads(str(z["header"]))
            if d.pop("format", None) != NPZ_FORMAT:
                raise ValueError(f"{path}: not a dse integer SNN file")
            for i, lay in enumerate(d["layers"]):
                lay["weights"] = z[f"layer{i}_weights"]
                lay["recurrent_weights"] = z[f"layer{i}_recurrent_weights"] if lay.pop("recurrent") else None
        return cls.from_dict(d)

    # ---- construction --------------------------------------------------------------------------
    @classmethod
    def from_float(
        cls,
        weights: Sequence[np.ndarray],
        thresholds: Sequence[float | None],
        *,
        neurons: Sequence[str] | str = "LIF",
        resets: Sequence[str] | str = "subtract",
        k_beta: Sequence[int | None] | int | None = 4,
        k_alpha: Sequence[int | None] | int | None = None,
        recurrent_weights: Sequence[np.ndarray | None] | None = None,
        weight_bits: int = 6,
        membrane_bits: int = 8,
        frac_bits: int = 0,
        input_bits: int = 1,
        time_steps: int = 25,
        scan: str = "full",
        name: str = "snn",
    ) -> QuantizedSNN:
        """SEMANTICS.md's conversion: w_int = sat(round(w * 2**frac), weight_bits), theta_int = round(theta * 2**frac).

        Per-layer options accept one value for all layers or a sequence. A threshold of None is for a
        readout layer. Rounding is numpy's (half to even).
        """
        n = len(weights)

        def per_layer(value, fname: str) -> list:
            if isinstance(value, (list, tuple)):
                if len(value) != n:
                    raise ValueError(f"{fname}: {len(value)} values for {n} layers")
                return list(value)
            return [value] * n

        neurons_l = per_layer(neurons, "neurons")
        resets_l = per_layer(resets, "resets")
        kb_l = per_layer(k_beta, "k_beta")
        ka_l = per_layer(k_alpha, "k_alpha")
        rec_l = per_layer(recurrent_weights if recurrent_weights is not None else None, "recurrent_weights")
        if len(thresholds) != n:
            raise ValueError(f"thresholds: {len(thresholds)} values for {n} layers")
        scale = float(1 << frac_bits)

        def q(w):
            return None if w is None else sat(np.round(np.asarray(w, dtype=np.float64) * scale).astype(np.int64),
                                              weight_bits)

        layers = []
        for i in range(n):
            neuron = neurons_l[i]
            kb = None if neuron == "IF" else kb_l[i]
            ka = ka_l[i] if neuron == "LIF2" else None
            th = thresholds[i]
            layers.append(SNNLayer(
                weights=q(weights[i]), neuron=neuron, reset=resets_l[i], k_beta=kb, k_alpha=ka,
                theta_int=int(np.round(th * scale)) if th is not None else 1,
                recurrent_weights=q(rec_l[i]), name=f"layer{i}",
            ))
        return cls(layers=layers, weight_bits=weight_bits, membrane_bits=membrane_bits, frac_bits=frac_bits,
                   input_bits=input_bits, time_steps=time_steps, scan=scan, name=name)


def random_network(
    sizes: Sequence[int],
    *,
    neuron: str | Sequence[str] = "LIF",
    reset: str = "subtract",
    recurrent: bool | Sequence[bool] = False,
    weight_bits: int = 6,
    membrane_bits: int = 8,
    input_bits: int = 1,
    time_steps: int = 8,
    scan: str = "full",
    k_beta: int = 2,
    k_alpha: int = 1,
    theta: int | None = None,
    weight_scale: float = 0.5,
    seed: int = 0,
    reuse_factor: int | Sequence[int] = 1,
) -> QuantizedSNN:
    """A random valid network (tests and benches): weights uniform over a fraction of the weight range."""
    rng = np.random.default_rng(seed)
    n_layers = len(sizes) - 1
    neurons = [neuron] * n_layers if isinstance(neuron, str) else list(neuron)
    recs = [recurrent] * n_layers if isinstance(recurrent, bool) else list(recurrent)
    wlo, whi = signed_range(weight_bits)
    span = max(1, int(round(whi * weight_scale)))
    mhi = (1 << (membrane_bits - 1)) - 1
    th = theta if theta is not None else max(1, min(mhi, (mhi + 1) // 4))
    layers = []
    for i in range(n_layers):
        w = rng.integers(-span, span + 1, size=(sizes[i], sizes[i + 1]))
        v = rng.integers(-span, span + 1, size=(sizes[i + 1], sizes[i + 1])) if recs[i] else None
        nm = neurons[i]
        layers.append(SNNLayer(
            weights=np.clip(w, wlo, whi), neuron=nm, reset=reset,
            k_beta=None if nm == "IF" else k_beta, k_alpha=k_alpha if nm == "LIF2" else None,
            theta_int=th, recurrent_weights=v, name=f"layer{i}",
        ))
    return QuantizedSNN(layers=layers, weight_bits=weight_bits, membrane_bits=membrane_bits, frac_bits=0,
                        input_bits=input_bits, time_steps=time_steps, scan=scan,
                        reuse_factor=list(reuse_factor) if isinstance(reuse_factor, (list, tuple)) else reuse_factor)

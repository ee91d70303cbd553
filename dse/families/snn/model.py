"""The float SNN description and the snnTorch/PyTorch model built from it.

:class:`SNNDescription` is what a user (or a study) writes: layers (feed-forward or recurrent), neuron
models (IF, LIF, LIF2, non-spiking ``readout``), reset, threshold, leak shifts and the input encoding.
:class:`SNN` is the trainable network. Its forward pass follows SEMANTICS.md step for step: the leak is
``v - v * 2**-k`` (``v - floor(v * 2**-k)`` in integer units when quantized), every layer integrates, then
fires on ``v >= theta``, then resets; LIF2 leaks and integrates its synaptic current before the membrane.
The spike non-linearity is snnTorch's surrogate-gradient Heaviside (``snntorch.surrogate``); the neuron
dynamics are written here rather than taken from ``snntorch.Leaky``/``Synaptic`` because those leak by a
multiplication, do not saturate and (by default) apply the reset from the previous step's membrane, so a
model trained with them would not be the network the hardware computes.

Three forward modes:

* float (``quant=None``): real-valued weights and membranes, no saturation;
* quantized (``quant=QuantSpec``, QAT and PTQ evaluation): weights ``sat(round(w * 2**f), W)`` and
  thresholds ``round(theta * 2**f)`` with straight-through gradients; membranes are integer-valued
  (in units of 2**-f), the leak is a floor shift, every register is saturated to ``membrane_bits``.
  One step's inputs are summed, then saturated (vectorised);
* exact (quantized, ``exact=True``, float64): the inputs are added one at a time in scan order with a
  saturation after each, exactly as the hardware does; this equals the integer reference model bit for
  bit. The vectorised form differs from it only when a partial sum saturates part-way through a scan.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from dse.families.snn.encoding import EncodingSpec, SNNConfigError

NEURON_MODELS = ("IF", "LIF", "LIF2", "readout")
RESETS = ("zero", "subtract", "none")
SURROGATES = ("atan", "fast_sigmoid")

__all__ = ["NEURON_MODELS", "RESETS", "SNN", "LayerSpec", "QuantSpec", "SNNConfigError", "SNNDescription",
           "SNNRun"]


def _shift_from_decay(value: float, where: str) -> int:
    """k with value == 1 - 2**-k (k >= 1); the hardware leaks by shift, so anything else is refused."""
    try:
        one_minus = 1.0 - float(value)
    except (TypeError, ValueError):
        raise SNNConfigError(where, f"expected a number, got {value!r}") from None
    if not 0.0 < one_minus <= 0.5:
        raise SNNConfigError(where, f"decay must satisfy 0.5 <= beta < 1 (beta = 1 - 2**-k, k >= 1), got {value}")
    k = -math.log2(one_minus)
    if abs(k - round(k)) > 1e-9:
        near = max(1, round(k))
        raise SNNConfigError(where, f"leak not a power of two: 1 - {value} is not 2**-k (the hardware leaks by "
                                    f"shift); nearest: {1 - 2.0 ** -near} (k={near})")
    return int(round(k))


def _check_shift(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SNNConfigError(where, f"leak shift must be an integer >= 1 (beta = 1 - 2**-k), got {value!r}")
    return int(value)


@dataclass(frozen=True)
class LayerSpec:
    """One fully connected layer.

    ``k_beta`` is the membrane leak shift (beta = 1 - 2**-k): required for LIF/LIF2, absent for IF,
    optional for the readout (absent = a pure integrator). ``k_alpha`` is LIF2's synaptic-current leak
    shift. ``beta``/``alpha`` may be given instead of the shifts; they must be exactly 1 - 2**-k.
    ``reset`` defaults to "subtract" for spiking layers and must be "none" for the readout.
    """

    size: int
    neuron: str = "LIF"
    reset: str | None = None
    threshold: float = 1.0
    k_beta: int | None = None
    k_alpha: int | None = None
    beta: float | None = None
    alpha: float | None = None
    recurrent: bool = False

    @property
    def spiking(self) -> bool:
        return self.neuron != "readout"

    def resolved(self, where: str) -> LayerSpec:
        """Validate and return the layer with shifts and reset filled in (beta/alpha → k)."""
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)) or self.size < 1:
            raise SNNConfigError(f"{where}.size", f"expected a positive integer, got {self.size!r}")
        if self.neuron not in NEURON_MODELS:
            raise SNNConfigError(f"{where}.neuron",
                                 f"unknown neuron model {self.neuron!r} (known: {', '.join(NEURON_MODELS)})")
        reset = self.reset if self.reset is not None else ("none" if self.neuron == "readout" else "subtract")
        if reset not in RESETS:
            raise SNNConfigError(f"{where}.reset", f"unknown reset {reset!r} (known: {', '.join(RESETS)})")
        if self.neuron == "readout" and reset != "none":
            raise SNNConfigError(f"{where}.reset", f"a readout layer does not fire, so it has no reset; got {reset!r}")
        kb, ka = self.k_beta, self.k_alpha
        if self.beta is not None:
            kb_from = _shift_from_decay(self.beta, f"{where}.beta")
            if kb is not None and kb != kb_from:
                raise SNNConfigError(f"{where}.beta", f"beta={self.beta} contradicts k_beta={kb}")
            kb = kb_from
        if self.alpha is not None:
            ka_from = _shift_from_decay(self.alpha, f"{where}.alpha")
            if ka is not None and ka != ka_from:
                raise SNNConfigError(f"{where}.alpha", f"alpha={self.alpha} contradicts k_alpha={ka}")
            ka = ka_from
        if self.neuron == "IF" and kb is not None:
            raise SNNConfigError(f"{where}.k_beta", "IF neurons have no leak (use LIF for a leaky neuron)")
        if self.neuron in ("LIF", "LIF2"):
            if kb is None:
                raise SNNConfigError(f"{where}.k_beta", f"{self.neuron} neurons need a leak shift k_beta (or beta)")
            _check_shift(kb, f"{where}.k_beta")
        elif kb is not None:
            _check_shift(kb, f"{where}.k_beta")
        if self.neuron == "LIF2":
            if ka is None:
                raise SNNConfigError(f"{where}.k_alpha", "LIF2 neurons need a synaptic leak shift k_alpha (or alpha)")
            _check_shift(ka, f"{where}.k_alpha")
        elif ka is not None:
            raise SNNConfigError(f"{where}.k_alpha", "only LIF2 neurons have a synaptic leak")
        try:
            th = float(self.threshold)
        except (TypeError, ValueError):
            raise SNNConfigError(f"{where}.threshold", f"expected a number, got {self.threshold!r}") from None
        if self.spiking and not (math.isfinite(th) and th > 0):
            raise SNNConfigError(f"{where}.threshold", f"must be a positive number, got {self.threshold!r}")
        if not isinstance(self.recurrent, bool):
            raise SNNConfigError(f"{where}.recurrent", f"expected true or false, got {self.recurrent!r}")
        if self.recurrent and not self.spiking:
            raise SNNConfigError(f"{where}.recurrent", "a readout layer has no spikes to feed back")
        return LayerSpec(size=int(self.size), neuron=self.neuron, reset=reset, threshold=th,
                         k_beta=None if kb is None else int(kb), k_alpha=None if ka is None else int(ka),
                         recurrent=self.recurrent)

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "neuron": self.neuron, "reset": self.reset, "threshold": self.threshold,
                "k_beta": self.k_beta, "k_alpha": self.k_alpha, "recurrent": self.recurrent}


def _from_mapping(cls: type, d: Any, where: str) -> Any:
    if not isinstance(d, Mapping):
        raise SNNConfigError(where, f"expected a mapping, got {type(d).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise SNNConfigError(where, f"unknown field(s) {unknown} (known: {', '.join(sorted(known))})")
    try:
        return cls(**d)
    except TypeError as e:
        raise SNNConfigError(where, str(e)) from None


@dataclass(frozen=True)
class SNNDescription:
    """A float SNN: ``n_inputs``, layers in order, the input encoding. Validated on construction."""

    n_inputs: int
    layers: tuple[LayerSpec, ...]
    encoding: EncodingSpec = field(default_factory=EncodingSpec)

    def __post_init__(self) -> None:
        if isinstance(self.n_inputs, bool) or not isinstance(self.n_inputs, (int, np.integer)) or self.n_inputs < 1:
            raise SNNConfigError("snn.n_inputs", f"expected a positive integer, got {self.n_inputs!r}")
        if not isinstance(self.encoding, EncodingSpec):
            raise SNNConfigError("snn.encoding", f"expected an EncodingSpec, got {type(self.encoding).__name__}")
        layers = tuple(self.layers)
        if not layers:
            raise SNNConfigError("snn.layers", "a network needs at least one layer")
        resolved = []
        for i, layer in enumerate(layers):
            where = f"snn.layers[{i}]"
            if not isinstance(layer, LayerSpec):
                raise SNNConfigError(where, f"expected a LayerSpec, got {type(layer).__name__}")
            r = layer.resolved(where)
            if r.neuron == "readout" and i != len(layers) - 1:
                raise SNNConfigError(f"{where}.neuron", "a readout (non-spiking) layer must be the last layer")
            resolved.append(r)
        object.__setattr__(self, "layers", tuple(resolved))

    @property
    def sizes(self) -> list[int]:
        return [self.n_inputs] + [layer.size for layer in self.layers]

    @property
    def has_readout(self) -> bool:
        return not self.layers[-1].spiking

    @property
    def n_outputs(self) -> int:
        return self.layers[-1].size

    @classmethod
    def from_dict(cls, d: Any) -> SNNDescription:
        """From plain data (YAML/JSON): ``{n_inputs, layers: [{size, neuron, ...}], encoding: {kind, ...}}``."""
        if not isinstance(d, Mapping):
            raise SNNConfigError("snn", f"expected a mapping, got {type(d).__name__}")
        unknown = sorted(set(d) - {"n_inputs", "layers", "encoding"})
        if unknown:
            raise SNNConfigError("snn", f"unknown field(s) {unknown} (known: encoding, layers, n_inputs)")
        raw_layers = d.get("layers")
        if not isinstance(raw_layers, Sequence) or isinstance(raw_layers, str):
            raise SNNConfigError("snn.layers", f"expected a list of layers, got {raw_layers!r}")
        layers = tuple(_from_mapping(LayerSpec, ld, f"snn.layers[{i}]") for i, ld in enumerate(raw_layers))
        enc = _from_mapping(EncodingSpec, d.get("encoding", {}), "snn.encoding")
        if "n_inputs" not in d:
            raise SNNConfigError("snn.n_inputs", "missing")
        return cls(n_inputs=d["n_inputs"], layers=layers, encoding=enc)

    def to_dict(self) -> dict[str, Any]:
        return {"n_inputs": self.n_inputs, "layers": [layer.to_dict() for layer in self.layers],
                "encoding": self.encoding.to_dict()}


@dataclass(frozen=True)
class QuantSpec:
    """Fixed-point format shared with the hardware: weights and membranes signed, ``frac_bits``
    fractional bits for both (SEMANTICS.md)."""

    weight_bits: int = 6
    membrane_bits: int = 12
    frac_bits: int = 4

    def __post_init__(self) -> None:
        for name, lo, hi in (("weight_bits", 2, 32), ("membrane_bits", 2, 32), ("frac_bits", 0, 30)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise SNNConfigError(f"snn.quant.{name}", f"expected an integer in [{lo}, {hi}], got {v!r}")

    @property
    def scale(self) -> float:
        return float(2**self.frac_bits)

    @property
    def weight_range(self) -> tuple[int, int]:
        return -(2 ** (self.weight_bits - 1)), 2 ** (self.weight_bits - 1) - 1

    @property
    def membrane_range(self) -> tuple[int, int]:
        return -(2 ** (self.membrane_bits - 1)), 2 ** (self.membrane_bits - 1) - 1

    def theta_int(self, theta: float, where: str = "snn.threshold") -> int:
        """round(theta * 2**frac); a config error when the membrane cannot hold it."""
        t = int(np.round(theta * self.scale))
        hi = self.membrane_range[1]
        if not 0 < t <= hi:
            raise SNNConfigError(where, f"bits cannot hold the threshold: round({theta} * 2**{self.frac_bits}) = {t} "
                                        f"is not in [1, {hi}] (membrane_bits={self.membrane_bits})")
        return t

    def to_dict(self) -> dict[str, int]:
        return {"weight_bits": self.weight_bits, "membrane_bits": self.membrane_bits, "frac_bits": self.frac_bits}


# ----------------------------------------------------------------------------------- straight-through


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()  # torch.round is half-to-even, like numpy's


def _floor_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.floor(x) - x).detach()


def _surrogate(name: str, slope: float):
    from snntorch import surrogate

    if name == "atan":
        return surrogate.atan(alpha=slope)
    if name == "fast_sigmoid":
        return surrogate.fast_sigmoid(slope=slope)
    raise SNNConfigError("train.surrogate", f"unknown surrogate {name!r} (known: {', '.join(SURROGATES)})")


@dataclass
class SNNRun:
    """Outputs of one forward pass over ``(batch, T, n_inputs)``.

    ``membrane``: the last layer's membrane v(t) after the step (float units, i.e. integer / 2**frac when
    quantized), ``(batch, T, n_out)``; ``spikes``: each spiking layer's 0/1 spikes, ``(batch, T, n)``.
    """

    membrane: torch.Tensor
    spikes: list[torch.Tensor]


class SNN(nn.Module):
    """The trainable network of an :class:`SNNDescription` (no biases: the hardware has none)."""

    def __init__(self, desc: SNNDescription, *, surrogate: str = "atan", slope: float = 2.0,
                 init_gain: float = 1.0, recurrent_gain: float = 0.5) -> None:
        super().__init__()
        self.desc = desc
        self.spike_fn = _surrogate(surrogate, slope)
        self.weights = nn.ParameterList()
        self.recurrent = nn.ParameterList()
        self._rec_index: list[int | None] = []
        max_in = float(desc.encoding.max_input)
        for i, layer in enumerate(desc.layers):
            n_in = desc.sizes[i]
            # Uniform in ±gain·theta/sqrt(n_in) (scaled down for integer-current inputs of layer 0).
            bound = init_gain * (layer.threshold if layer.spiking else 1.0) / math.sqrt(n_in)
            if i == 0:
                bound /= max_in
            self.weights.append(nn.Parameter(torch.empty(n_in, layer.size).uniform_(-bound, bound)))
            if layer.recurrent:
                rb = recurrent_gain * layer.threshold / math.sqrt(layer.size)
                self._rec_index.append(len(self.recurrent))
                self.recurrent.append(nn.Parameter(torch.empty(layer.size, layer.size).uniform_(-rb, rb)))
            else:
                self._rec_index.append(None)

    def layer_weights(self, i: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        r = self._rec_index[i]
        return self.weights[i], (None if r is None else self.recurrent[r])

    def forward(self, x: torch.Tensor, quant: QuantSpec | None = None, exact: bool = False,
                stats: list[float] | None = None) -> SNNRun:
        """Run ``x`` (batch, T, n_inputs), the encoded integer input of layer 0, through all layers.

        ``stats``, when given, receives the largest |register| (membrane, and LIF2 current, before the
        reset) of every layer in working units: calibration for post-training quantization."""
        if x.ndim != 3 or x.shape[2] != self.desc.n_inputs:
            raise ValueError(f"SNN input must be (batch, T, {self.desc.n_inputs}), got {tuple(x.shape)}")
        if exact and quant is None:
            raise ValueError("exact=True needs a QuantSpec (the exact scan is the integer model's)")
        dtype = torch.float64 if exact else x.dtype if x.is_floating_point() else torch.float32
        x = x.to(dtype)
        q = quant
        scale = q.scale if q is not None else 1.0
        lo, hi = q.membrane_range if q is not None else (-math.inf, math.inf)

        def sat(v: torch.Tensor) -> torch.Tensor:
            return v if q is None else torch.clamp(v, lo, hi)

        def leak(v: torch.Tensor, k: int) -> torch.Tensor:
            # float: v - v·2^-k; integer: v - (v >> k) = v - floor(v / 2^k).
            return v - (v * 2.0**-k if q is None else _floor_ste(v * 2.0**-k))

        # Weights and thresholds in the working units (float units, or integers when quantized).
        w_all: list[tuple[torch.Tensor, torch.Tensor | None]] = []
        thetas: list[float] = []
        for i, layer in enumerate(self.desc.layers):
            w, v = self.layer_weights(i)
            if q is not None:
                wlo, whi = q.weight_range
                w = torch.clamp(_round_ste(w * scale), wlo, whi)
                v = None if v is None else torch.clamp(_round_ste(v * scale), wlo, whi)
                thetas.append(float(q.theta_int(layer.threshold, f"snn.layers[{i}].threshold"))
                              if layer.spiking else 0.0)
            else:
                thetas.append(layer.threshold)
            w_all.append((w.to(dtype), None if v is None else v.to(dtype)))

        batch, steps, _ = x.shape
        n_layers = len(self.desc.layers)
        mem = [x.new_zeros(batch, layer.size) for layer in self.desc.layers]
        cur = [x.new_zeros(batch, layer.size) if layer.neuron == "LIF2" else None for layer in self.desc.layers]
        spk = [x.new_zeros(batch, layer.size) for layer in self.desc.layers]
        out_mem: list[torch.Tensor] = []
        out_spk: list[list[torch.Tensor]] = [[] for _ in range(n_layers)]
        # Fire on v >= theta: integer membranes are multiples of 1, so v - theta + 0.5 > 0 is exact
        # there; in float v == theta has probability zero. Scaled so the surrogate's width is in float units.
        half = 0.5 if q is not None else 0.0
        if stats is not None:
            stats[:] = [0.0] * n_layers
        for t in range(steps):
            inp = x[:, t]
            for i, layer in enumerate(self.desc.layers):
                w, v_rec = w_all[i]
                if exact:
                    integrate = self._exact_scan(inp, w, spk[i] if v_rec is not None else None, v_rec, lo, hi)
                else:
                    drive = inp @ w
                    if v_rec is not None:
                        drive = drive + spk[i] @ v_rec

                    def integrate(reg: torch.Tensor, drive: torch.Tensor = drive) -> torch.Tensor:
                        return sat(reg + drive)
                if layer.neuron == "LIF2":
                    c = integrate(leak(cur[i], layer.k_alpha))  # type: ignore[arg-type]
                    cur[i] = c
                    m = sat(leak(mem[i], layer.k_beta) + c)  # type: ignore[arg-type]
                else:
                    m = mem[i] if layer.k_beta is None else leak(mem[i], layer.k_beta)
                    m = integrate(m)
                if stats is not None:
                    peak = float(m.detach().abs().max())
                    if cur[i] is not None:
                        peak = max(peak, float(cur[i].detach().abs().max()))  # type: ignore[union-attr]
                    stats[i] = max(stats[i], peak)
                if layer.spiking:
                    s = self.spike_fn((m - thetas[i] + half) / scale)
                    sd = s.detach()  # the reset is not differentiated through (snnTorch's default)
                    if layer.reset == "zero":
                        m = m * (1.0 - sd)
                    elif layer.reset == "subtract":
                        m = sat(m - sd * thetas[i])
                    spk[i] = s
                    out_spk[i].append(s)
                    inp = s
                mem[i] = m
            out_mem.append(mem[-1] / scale)
        spikes = [torch.stack(s, dim=1) for s, layer in zip(out_spk, self.desc.layers, strict=True) if layer.spiking]
        return SNNRun(membrane=torch.stack(out_mem, dim=1), spikes=spikes)

    @staticmethod
    def _exact_scan(inp: torch.Tensor, w: torch.Tensor, own: torch.Tensor | None, v_rec: torch.Tensor | None,
                    lo: float, hi: float):
        """Saturating accumulation one input at a time in scan order (inputs, then own spikes)."""
        rows = [inp[:, j : j + 1] * w[j] for j in range(w.shape[0])]
        if v_rec is not None and own is not None:
            rows += [own[:, j : j + 1] * v_rec[j] for j in range(v_rec.shape[0])]

        def integrate(reg: torch.Tensor) -> torch.Tensor:
            for r in rows:
                reg = torch.clamp(reg + r, lo, hi)
            return reg
        return integrate

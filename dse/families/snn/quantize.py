"""Quantization: a trained float SNN → network.py's :class:`QuantizedSNN`, by PTQ or QAT.

* :func:`to_quantized` is SEMANTICS.md's conversion: ``w_int = sat(round(w * 2**f), weight_bits)``
  (numpy's half-to-even rounding, the same as ``torch.round`` in the QAT forward), ``theta_int =
  round(theta * 2**f)``; a threshold the membrane bits cannot hold is a config error.
* :func:`choose_frac_bits` picks the fractional bits for a weight width (the largest ``f`` that keeps
  the 99.9th percentile of |w| inside the weight range; a few outliers saturate, as in Spiker+).
* :func:`calibrate_membrane_bits` runs the float model on training inputs and sizes the membrane so the
  largest register value seen (and the threshold) fits, plus ``headroom`` bits.
* :func:`ptq` / :func:`ptq_grid`: post-training quantization (one point, or Spiker+'s grid over
  weight/membrane/fractional bits), each scored on the integer reference model.
* :func:`qat`: quantization-aware fine-tuning of a float model with the quantized forward (straight-
  through rounding, same rounding and saturation as the integer model), then converted and scored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from dse.families.snn.encoding import SNNConfigError
from dse.families.snn.model import SNN, QuantSpec
from dse.families.snn.network import QuantizedSNN, SNNLayer
from dse.families.snn.tasks import Task
from dse.families.snn.train import TrainConfig, TrainResult, encode_inputs, train_snn


def _int_weights(w: torch.Tensor | np.ndarray, q: QuantSpec) -> np.ndarray:
    arr = w.detach().double().numpy() if isinstance(w, torch.Tensor) else np.asarray(w, np.float64)
    lo, hi = q.weight_range
    return np.clip(np.round(arr * q.scale), lo, hi).astype(np.int64)


def to_quantized(model: SNN, quant: QuantSpec, time_steps: int, scan: str = "full",
                 name: str = "snn") -> QuantizedSNN:
    """The integer network of ``model`` at ``quant`` (PTQ conversion; for a QAT model it is exactly the
    network its quantized forward computed)."""
    desc = model.desc
    layers = []
    for i, spec in enumerate(desc.layers):
        w, v = model.layer_weights(i)
        theta = quant.theta_int(spec.threshold, f"snn.layers[{i}].threshold") if spec.spiking else 1
        layers.append(SNNLayer(weights=_int_weights(w, quant), neuron=spec.neuron, reset=spec.reset or "none",
                               k_beta=spec.k_beta, k_alpha=spec.k_alpha, theta_int=theta,
                               recurrent_weights=None if v is None else _int_weights(v, quant), name=f"layer{i}"))
    input_bits = desc.encoding.input_bits if desc.encoding.kind == "current" else 1
    try:
        return QuantizedSNN(layers=layers, weight_bits=quant.weight_bits, membrane_bits=quant.membrane_bits,
                            frac_bits=quant.frac_bits, input_bits=input_bits, time_steps=int(time_steps),
                            scan=scan, name=name, meta={"float_description": desc.to_dict()})
    except ValueError as e:  # network.py's one-line field message
        raise SNNConfigError("snn.quant", str(e)) from None


def choose_frac_bits(model: SNN, weight_bits: int, percentile: float = 99.9) -> int:
    """Largest f >= 0 with percentile(|w|) * 2**f <= 2**(weight_bits-1) - 1 over all weights."""
    w = np.concatenate([p.detach().double().abs().numpy().ravel() for p in model.parameters()])
    ref = float(np.percentile(w, percentile)) if w.size else 0.0
    hi = 2 ** (weight_bits - 1) - 1
    if ref <= 0:
        return 0
    return max(0, int(math.floor(math.log2(hi / ref))))


def calibrate_membrane_bits(model: SNN, x_int: np.ndarray, frac_bits: int, headroom: int = 1,
                            batch: int = 256) -> int:
    """Membrane width that holds the largest |register| the float model reaches on ``x_int`` and every
    threshold at ``frac_bits``, plus ``headroom`` bits (capped at 32)."""
    peak = 0.0
    stats: list[float] = []
    with torch.no_grad():
        for b in range(0, len(x_int), batch):
            model(torch.as_tensor(x_int[b : b + batch], dtype=torch.float32), stats=stats)
            peak = max(peak, *stats)
    peak = max(peak, *(layer.threshold for layer in model.desc.layers if layer.spiking), 2.0**-frac_bits)
    need = math.ceil(math.log2(peak * 2**frac_bits + 1)) + 1  # sign bit
    return int(min(32, need + headroom))


@dataclass
class QuantResult:
    """One quantized network with its integer (reference-model) metrics and the seconds per phase."""

    quant: QuantSpec
    net: QuantizedSNN
    metrics: dict[str, Any]
    quantize_seconds: float
    integer_seconds: float
    mode: str  # "ptq" or "qat"
    train: TrainResult | None = None  # QAT's fine-tuning

    def summary(self) -> dict[str, Any]:
        return {"mode": self.mode, **self.quant.to_dict(), **{k: v for k, v in self.metrics.items()},
                "quantize_seconds": self.quantize_seconds, "integer_seconds": self.integer_seconds}


def resolve_quant(model: SNN, task: Task, weight_bits: int, membrane_bits: int | None = None,
                  frac_bits: int | None = None, headroom: int = 1, classify_by: str = "max") -> QuantSpec:
    """A full QuantSpec from the weight width, filling the unset fractional and membrane bits.

    * neither given: fractional bits = the most the weight width allows (:func:`choose_frac_bits`),
      membrane bits calibrated on the training inputs so nothing the float model reaches saturates;
    * membrane bits given: fractional bits chosen on the *validation* split by the integer model
      (:func:`select_frac_bits`): a narrow membrane trades weight resolution against saturation, which
      only the integer model shows (Spiker+'s grid over fractional bits, done per network);
    * fractional bits given: membrane bits calibrated (unless given too)."""
    if frac_bits is None and membrane_bits is not None:
        f = select_frac_bits(model, task, weight_bits, membrane_bits, classify_by)
    else:
        f = choose_frac_bits(model, weight_bits) if frac_bits is None else frac_bits
    if membrane_bits is None:
        membrane_bits = calibrate_membrane_bits(model, encode_inputs(model.desc.encoding, task.train), f, headroom)
    return QuantSpec(weight_bits=weight_bits, membrane_bits=membrane_bits, frac_bits=f)


def frac_bits_cap(model: SNN, membrane_bits: int) -> int:
    """The most fractional bits with which ``membrane_bits`` still hold every threshold."""
    theta = max((layer.threshold for layer in model.desc.layers if layer.spiking), default=0.0)
    if theta <= 0:
        return 30
    return max(0, int(math.floor(math.log2((2 ** (membrane_bits - 1) - 1) / theta))))


def select_frac_bits(model: SNN, task: Task, weight_bits: int, membrane_bits: int, classify_by: str = "max",
                     span: int = 5) -> int:
    """Fractional bits (of the ``span`` largest that fit the threshold and the weights) with the best
    integer-model score on the validation split; ties go to more fractional bits."""
    hi = min(frac_bits_cap(model, membrane_bits), max(choose_frac_bits(model, weight_bits), 0))
    best_f, best = hi, -math.inf
    for f in range(hi, max(-1, hi - span), -1):
        net = to_quantized(model, QuantSpec(weight_bits, membrane_bits, f), time_steps_of(model, task))
        from dse.families.snn.scoring import score_integer

        m = score_integer(net, model.desc, task, classify_by, on="valid")
        val = m.get("accuracy", m.get("behavior_r2"))
        if val is not None and val > best:
            best_f, best = f, val
    return best_f


def time_steps_of(model: SNN, task: Task) -> int:
    enc = model.desc.encoding
    return enc.time_steps(task.train.x.shape[1] if task.counts else None)


def ptq(model: SNN, task: Task, quant: QuantSpec, classify_by: str = "max", on: str = "test",
        scan: str = "full") -> QuantResult:
    """Post-training quantization at ``quant``, scored on the integer reference model."""
    from dse.families.snn.scoring import score_integer

    t0 = time.perf_counter()
    net = to_quantized(model, quant, time_steps_of(model, task), scan)
    t1 = time.perf_counter()
    metrics = score_integer(net, model.desc, task, classify_by, on)
    return QuantResult(quant, net, metrics, t1 - t0, time.perf_counter() - t1, "ptq")


def ptq_grid(model: SNN, task: Task, weight_bits: Iterable[int], membrane_bits: Iterable[int | None] = (None,),
             frac_bits: Iterable[int | None] = (None,), classify_by: str = "max", on: str = "test") -> list[QuantResult]:
    """Spiker+'s post-training grid; points whose threshold does not fit are skipped."""
    out = []
    for wb in weight_bits:
        for fb in frac_bits:
            for mb in membrane_bits:
                try:
                    q = resolve_quant(model, task, wb, mb, fb, classify_by=classify_by)
                    out.append(ptq(model, task, q, classify_by, on))
                except SNNConfigError:
                    continue
    return out


def qat(float_result: TrainResult, task: Task, quant: QuantSpec, epochs: int, lr: float | None = None,
        on: str = "test", scan: str = "full") -> QuantResult:
    """Fine-tune ``float_result``'s model with the quantized forward at ``quant`` for ``epochs`` epochs,
    then convert it and score the integer network."""
    from dse.families.snn.scoring import score_integer

    cfg = replace(float_result.config, epochs=epochs, qat=quant, lr=lr if lr is not None else float_result.config.lr / 5)
    t0 = time.perf_counter()
    res = train_snn(float_result.desc, task, cfg, init=float_result.model)
    net = to_quantized(res.model, quant, time_steps_of(res.model, task), scan)
    t1 = time.perf_counter()
    metrics = score_integer(net, res.desc, task, cfg.classify_by, on)
    return QuantResult(quant, net, metrics, t1 - t0, time.perf_counter() - t1, "qat", train=res)


__all__ = ["QuantResult", "TrainConfig", "calibrate_membrane_bits", "choose_frac_bits", "ptq", "ptq_grid", "qat",
           "resolve_quant", "select_frac_bits", "time_steps_of", "to_quantized"]

"""Scoring an SNN — the float/QAT torch model or the integer reference model — on a task.

Both go through the same functions, so float and integer accuracy are measured identically:

* decoding: the readout membranes v(t) at the last step of every bin (float units; the integer model's
  divided by 2**frac_bits) are the features of :func:`objectives.metrics.behavior_r2`, LFADS's
  behaviour R². LFADS fits a ridge decoder from its factors on the training trials; the SNN's readout
  membranes take the factors' place (the decoder is refit on the *same predictor's* training-trial
  membranes). The headline ``behavior_r2`` is the ``"bin"`` form — one affine map applied at every bin,
  so the decoded position at bin t depends only on spikes up to t (causal, what a closed loop needs).
  ``behavior_r2_trial`` is the paper's trial form on the same membranes (it maps the whole trial's
  membranes to the whole trial's behaviour, so it is *not* causal; reported for comparison with LFADS).
* classification: accuracy of the argmax of the class scores (spike count, or max/final readout membrane).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from dse.families.snn.model import SNN, QuantSpec, SNNDescription
from dse.families.snn.network import QuantizedSNN
from dse.families.snn.tasks import Task
from dse.families.snn.train import bin_readout, class_scores, encode_inputs
from objectives.decoding import behavior_r2


def float_outputs(model: SNN, x_int: np.ndarray, quant: QuantSpec | None = None, exact: bool = False,
                  batch: int = 256) -> tuple[np.ndarray, np.ndarray | None]:
    """(last layer's membranes (N, T, n) in float units, output-layer spikes (N, T, n) or None)."""
    mems, spks = [], []
    model.eval()
    with torch.no_grad():
        for b in range(0, len(x_int), batch):
            run = model(torch.as_tensor(x_int[b : b + batch], dtype=torch.float32), quant, exact)
            mems.append(run.membrane.double().numpy())
            if not model.desc.has_readout:
                spks.append(run.spikes[-1].numpy())
    return np.concatenate(mems), (np.concatenate(spks) if spks else None)


def integer_outputs(net: QuantizedSNN, x_int: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """The integer reference model's (readout membranes / 2**frac, output spikes or None, cycles)."""
    from dse.families.snn.reference import simulate

    res = simulate(net, x_int)
    n_t = x_int.shape[1]
    if res.readout is not None:
        mem = res.readout.astype(np.float64) / float(2**net.frac_bits)
    else:
        mem = np.zeros((len(x_int), n_t, net.n_out))
    spk = None if res.out_spikes is None else res.out_spikes.astype(np.float64)
    return mem, spk, res.cycles


def decode_metrics(train_feats: np.ndarray, train_y: np.ndarray, test_feats: np.ndarray,
                   test_y: np.ndarray) -> dict[str, float]:
    """Behaviour R² (causal bin form, and the non-causal trial form) from per-bin features."""
    return {"behavior_r2": behavior_r2(train_feats, train_y, test_feats, test_y, form="bin"),
            "behavior_r2_trial": behavior_r2(train_feats, train_y, test_feats, test_y, form="trial")}


def _scores(mem: np.ndarray, spk: np.ndarray | None, desc: SNNDescription, classify_by: str) -> np.ndarray:
    return class_scores(torch.as_tensor(mem), None if spk is None else torch.as_tensor(spk), classify_by,
                        desc.has_readout).numpy()


def score(task: Task, desc: SNNDescription, outputs: Any, classify_by: str = "max",
          on: str = "test") -> dict[str, Any]:
    """Metrics of a predictor ``outputs(x_int) -> (membranes, spikes)`` on ``task.<on>``.

    Decoding runs the predictor on the training trials too (the affine map is fit on them)."""
    part = getattr(task, on)
    x = encode_inputs(desc.encoding, part)
    t0 = time.perf_counter()
    mem, spk = outputs(x)[:2]
    out: dict[str, Any] = {}
    if task.kind == "regression":
        sub = desc.encoding.substeps
        mem_train = outputs(encode_inputs(desc.encoding, task.train))[0]
        out.update(decode_metrics(bin_readout(mem_train, sub), task.train.y, bin_readout(mem, sub), part.y))
    else:
        pred = _scores(mem, spk, desc, classify_by).argmax(axis=1)
        out["accuracy"] = float(np.mean(pred == part.y))
    out["seconds"] = time.perf_counter() - t0
    return out


def score_float(model: SNN, task: Task, classify_by: str = "max", on: str = "test",
                quant: QuantSpec | None = None, exact: bool = False) -> dict[str, Any]:
    """The torch model's metrics (float, or quantized forward with ``quant``)."""
    return score(task, model.desc, lambda x: float_outputs(model, x, quant, exact), classify_by, on)


def score_integer(net: QuantizedSNN, desc: SNNDescription, task: Task, classify_by: str = "max",
                  on: str = "test") -> dict[str, Any]:
    """The integer reference model's metrics (the counterpart of hls4ml's C simulation), with the mean
    hardware cycles per sample of both scan architectures on the scored part."""
    cycles: dict[str, float] = {}

    def outputs(x: np.ndarray):
        mem, spk, cyc = integer_outputs(net, x)
        if not cycles:  # the first call is the scored part (decoding then runs the training trials)
            cycles.update({k: float(np.mean(v)) for k, v in cyc.items()})
        return mem, spk

    out = score(task, desc, outputs, classify_by, on)
    out["cycles"] = cycles
    return out

"""Training: backpropagation through time with surrogate gradients (snnTorch), seeded and deterministic.

Losses:

* decode (regression): the last layer's membrane v(t), read at the last step of every bin (causal: it
  depends only on inputs up to that bin), goes through a trainable affine head to the behaviour,
  standardised with the training trials' mean and standard deviation; mean squared error over every
  bin. The head only trains the network: scoring refits the affine map (ridge) on training trials.
* classification: cross entropy on the class scores (``classify_by``): the spike count of a spiking
  output layer ("count"), or the readout membrane's maximum over time ("max") or final value ("final").

With ``TrainConfig.qat`` the forward pass is quantized (QAT: fake-quantized weights with straight-through
rounding, integer membranes with floor-shift leak and saturation, see :mod:`dse.families.snn.model`).
The best epoch on the validation split (lowest loss for decoding, highest accuracy for classification)
is kept.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from dse.families.snn.encoding import EncodingSpec, SNNConfigError, encode
from dse.families.snn.model import SNN, SURROGATES, QuantSpec, SNNDescription
from dse.families.snn.tasks import Subset, Task

CLASSIFY_BY = ("count", "max", "final")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings. ``threads`` defaults to ``DSE_TF_THREADS`` or 1 (deterministic, and fair to
    the other processes of a study)."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 5e-3
    lr_final: float = 0.1  # cosine decay to lr * lr_final
    weight_decay: float = 0.0
    seed: int = 0
    surrogate: str = "atan"
    slope: float = 2.0
    init_gain: float = 1.0
    recurrent_gain: float = 0.5
    classify_by: str = "max"
    rate_penalty: float = 0.0  # mean squared hidden firing rate above rate_target
    rate_target: float = 0.2
    input_dropout: float = 0.0  # training only: zero each input value with this probability (regularises)
    grad_clip: float = 0.0  # clip the gradient norm to this (0: no clipping); BPTT over many steps can explode
    patience: int = 0  # stop after this many epochs without a better validation score (0: never)
    qat: QuantSpec | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        def check(name: str, ok: bool, want: str) -> None:
            if not ok:
                raise SNNConfigError(f"train.{name}", f"expected {want}, got {getattr(self, name)!r}")

        check("epochs", isinstance(self.epochs, int) and self.epochs >= 1, "a positive integer")
        check("batch_size", isinstance(self.batch_size, int) and self.batch_size >= 1, "a positive integer")
        check("lr", isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0, "a positive number")
        check("surrogate", self.surrogate in SURROGATES, f"one of {', '.join(SURROGATES)}")
        check("classify_by", self.classify_by in CLASSIFY_BY, f"one of {', '.join(CLASSIFY_BY)}")
        check("input_dropout", 0.0 <= self.input_dropout < 1.0, "a probability in [0, 1)")
        check("patience", isinstance(self.patience, int) and self.patience >= 0, "an integer >= 0")
        check("threads", self.threads is None or (isinstance(self.threads, int) and self.threads >= 1),
              "a positive integer")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["qat"] = None if self.qat is None else self.qat.to_dict()
        return d


@dataclass
class TrainResult:
    """A trained network and how it was trained. ``head`` maps readout membranes to standardised
    behaviour (decoding only); ``y_mean``/``y_std`` undo the standardisation."""

    model: SNN
    desc: SNNDescription
    config: TrainConfig
    history: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    best_epoch: int = 0
    train_seconds: float = 0.0
    stopped_reason: str = "epochs"
    head: nn.Linear | None = None
    y_mean: np.ndarray | None = None
    y_std: np.ndarray | None = None


def set_determinism(seed: int, threads: int | None = None) -> int:
    """Seed torch/numpy, force deterministic kernels, set the thread count; returns the threads used."""
    if threads is None:
        env = os.environ.get("DSE_TF_THREADS", "").strip()
        threads = int(env) if env.isdigit() and int(env) > 0 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    torch.use_deterministic_algorithms(True)
    return threads


def encode_inputs(enc: EncodingSpec, part: Subset, seed_offset: int = 0) -> np.ndarray:
    """The integer input array of a split part; ``seed_offset`` draws other rate-coded spikes."""
    spec = enc if seed_offset == 0 else replace(enc, seed=enc.seed + seed_offset)
    return encode(spec, part.x)


def bin_readout(membrane: torch.Tensor | np.ndarray, substeps: int):
    """Membrane at the last sub-step of every bin: ``(N, bins*S, n)`` → ``(N, bins, n)``."""
    return membrane[:, substeps - 1 :: substeps]


def class_scores(run_membrane: torch.Tensor, last_spikes: torch.Tensor | None, classify_by: str,
                 has_readout: bool) -> torch.Tensor:
    """Per-class scores ``(N, classes)`` from a forward pass (see the module docstring)."""
    if not has_readout:
        if last_spikes is None:
            raise ValueError("a spiking output layer has no spikes")
        return last_spikes.sum(dim=1)
    if classify_by == "final":
        return run_membrane[:, -1]
    return run_membrane.max(dim=1).values


def _check_task(desc: SNNDescription, task: Task, cfg: TrainConfig) -> None:
    if desc.n_inputs != task.n_inputs:
        raise SNNConfigError("snn.n_inputs", f"{desc.n_inputs} inputs, but the task has {task.n_inputs}")
    if desc.encoding.dense == task.counts:
        want = "a spike-count encoding (binary, current, substeps)" if task.counts else "rate or latency"
        raise SNNConfigError("snn.encoding.kind", f"{desc.encoding.kind!r} does not fit task {task.name!r}; "
                                                  f"use {want}")
    if task.kind == "classification":
        if desc.n_outputs != task.n_outputs:
            raise SNNConfigError("snn.layers[-1].size", f"{desc.n_outputs} outputs for {task.n_outputs} classes")
        if desc.has_readout == (cfg.classify_by == "count"):
            raise SNNConfigError("train.classify_by", f"{cfg.classify_by!r} does not fit a "
                                 f"{'readout' if desc.has_readout else 'spiking'} output layer "
                                 f"(readout: max or final; spiking: count)")
    elif not desc.has_readout:
        raise SNNConfigError("snn.layers[-1].neuron", "behaviour decoding reads membranes: the last layer must "
                                                      "be a readout")


def train_snn(desc: SNNDescription, task: Task, cfg: TrainConfig, init: SNN | None = None,
              log: Any = None) -> TrainResult:
    """Train ``desc`` on ``task``; ``init`` starts from another model's weights (QAT fine-tuning)."""
    _check_task(desc, task, cfg)
    set_determinism(cfg.seed, cfg.threads)
    model = SNN(desc, surrogate=cfg.surrogate, slope=cfg.slope, init_gain=cfg.init_gain,
                recurrent_gain=cfg.recurrent_gain)
    if init is not None:
        model.load_state_dict(init.state_dict())
    regression = task.kind == "regression"
    sub = desc.encoding.substeps
    head = None
    params = list(model.parameters())
    y_mean = y_std = None
    if regression:
        y_mean = task.train.y.reshape(-1, task.n_outputs).mean(axis=0)
        y_std = task.train.y.reshape(-1, task.n_outputs).std(axis=0) + 1e-9
        head = nn.Linear(desc.n_outputs, task.n_outputs)
        params += list(head.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs, eta_min=cfg.lr * cfg.lr_final)
    gen = torch.Generator().manual_seed(cfg.seed)

    def targets(part: Subset) -> torch.Tensor:
        if regression:
            return torch.as_tensor((part.y - y_mean) / y_std, dtype=torch.float32)
        return torch.as_tensor(part.y, dtype=torch.long)

    y_train, y_valid = targets(task.train), targets(task.valid)
    x_valid = torch.as_tensor(encode_inputs(desc.encoding, task.valid), dtype=torch.float32)
    x_train_fixed = None if desc.encoding.kind == "rate" else torch.as_tensor(
        encode_inputs(desc.encoding, task.train), dtype=torch.float32)

    def loss_of(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        run = model(x, cfg.qat)
        if regression:
            pred = head(bin_readout(run.membrane, sub))  # type: ignore[misc]
            loss = nn.functional.mse_loss(pred, y)
        else:
            pred = class_scores(run.membrane, run.spikes[-1] if run.spikes else None, cfg.classify_by,
                                desc.has_readout)
            loss = nn.functional.cross_entropy(pred, y)
        hidden = run.spikes[:-1] if not desc.has_readout else run.spikes
        rate = torch.stack([s.mean() for s in hidden]).mean() if hidden else torch.zeros(())
        return loss, pred, rate

    result = TrainResult(model=model, desc=desc, config=cfg, head=head, y_mean=y_mean, y_std=y_std)
    best_score, best_state, stale = -math.inf, None, 0
    t0 = time.perf_counter()
    n = len(task.train)

    def validate(epoch: int, rec: dict[str, float]) -> float:
        model.eval()
        with torch.no_grad():
            v_loss, v_pred, _ = loss_of(x_valid, y_valid)
        rec["val_loss"] = float(v_loss)
        if regression:
            return -rec["val_loss"]
        rec["val_accuracy"] = float((v_pred.argmax(dim=1) == y_valid).float().mean())
        return rec["val_accuracy"] - 1e-6 * rec["val_loss"]

    if init is not None:
        # Fine-tuning (QAT): the starting weights, in this forward, are the first candidate, so that
        # fine-tuning can only keep or improve the validation score.
        start: dict[str, float] = {"epoch": 0}
        best_score = validate(0, start)
        best_state = (copy.deepcopy(model.state_dict()), None if head is None else copy.deepcopy(head.state_dict()))
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        x_train = x_train_fixed if x_train_fixed is not None else torch.as_tensor(
            encode_inputs(desc.encoding, task.train, seed_offset=1000 + epoch), dtype=torch.float32)
        perm = torch.randperm(n, generator=gen)
        tot, count, rate_sum = 0.0, 0, 0.0
        for b in range(0, n, cfg.batch_size):
            idx = perm[b : b + cfg.batch_size]
            xb = x_train[idx]
            if cfg.input_dropout > 0:
                keep = torch.rand(xb.shape, generator=gen) >= cfg.input_dropout
                xb = xb * keep / (1.0 - cfg.input_dropout)
            loss, _, rate = loss_of(xb, y_train[idx])
            total = loss
            if cfg.rate_penalty > 0:
                total = total + cfg.rate_penalty * torch.relu(rate - cfg.rate_target) ** 2
            opt.zero_grad()
            total.backward()
            if cfg.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            tot += float(loss.detach()) * len(idx)
            rate_sum += float(rate.detach()) * len(idx)
            count += len(idx)
        sched.step()
        rec = {"epoch": epoch, "loss": tot / count, "rate": rate_sum / count}
        score = validate(epoch, rec)
        result.history.append(rec)
        if log is not None:
            log(rec)
        if not math.isfinite(rec["loss"]):
            result.stopped_reason = "non_finite_loss"
            break
        if score > best_score:
            best_score, stale, result.best_epoch = score, 0, epoch
            best_state = (copy.deepcopy(model.state_dict()),
                          None if head is None else copy.deepcopy(head.state_dict()))
        else:
            stale += 1
            if cfg.patience and stale >= cfg.patience:
                result.stopped_reason = "early_stopping"
                break
    result.epochs = len(result.history)
    result.train_seconds = time.perf_counter() - t0
    if best_state is not None:
        model.load_state_dict(best_state[0])
        if head is not None and best_state[1] is not None:
            head.load_state_dict(best_state[1])
    model.eval()
    return result

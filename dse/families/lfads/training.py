"""The default LFADS training recipe.

Poisson negative log-likelihood on log-rates, L2 on the generator's recurrent kernel (in the model),
Adam with gradient-norm clipping, reduce-on-plateau and early stopping on the validation NLL (best
weights restored), everything seeded: same seed and data -> same weights.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf
from tensorflow import keras

from dse.data.base import DataSplit, NeuralData
from dse.families.lfads.config import LFADSConfig, TrainConfig
from dse.families.lfads.model import LFADSModels, build_lfads, copy_weights, sync_models, zero_gen_input


@dataclass
class TrainResult:
    models: LFADSModels
    history: dict[str, list[float]]
    epochs: int  # epochs actually run (early stopping may end sooner)
    best_epoch: int  # 1-based epoch whose weights were kept
    train_seconds: float
    seconds_per_epoch: float
    stopped_reason: str = "max_epochs"
    extra: dict = field(default_factory=dict)


def poisson_nll(y_true: tf.Tensor, log_rates: tf.Tensor) -> tf.Tensor:
    """Mean Poisson NLL per element, without the data-only log k! term (λ − k·log λ)."""
    return tf.reduce_mean(tf.nn.log_poisson_loss(y_true, log_rates))


def configure_tensorflow(num_threads: int | None = None, deterministic: bool = True) -> None:
    """Limit TF's thread pools (must run before TF does any work) and make ops deterministic."""
    if num_threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(num_threads)
            tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, num_threads)))
        except RuntimeError:
            pass  # TF already initialised in this process; keep its pools
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def model_inputs(data: NeuralData, causal: bool = False) -> list[np.ndarray]:
    """The inputs of an LFADS model: the spikes and the generator's all-zero input; the causal model's
    generator reads the controller's inputs instead, so it takes the spikes only."""
    if causal:
        return [data.spikes.astype(np.float32)]
    return [data.spikes.astype(np.float32), zero_gen_input(data.n_trials, data.n_bins)]


class _NonFiniteLoss(keras.callbacks.Callback):
    """Stop at once when the loss becomes NaN/inf (recorded as the stop reason)."""

    def __init__(self) -> None:
        super().__init__()
        self.hit = False

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.hit = True
            self.model.stop_training = True


class _KLWarmup(keras.callbacks.Callback):
    """Linear KL warm-up of the VAE variant (see ``SampleIC.kl_scale``)."""

    def __init__(self, layer, epochs: int) -> None:
        super().__init__()
        self.layer = layer
        self.epochs = max(1, epochs)

    def on_epoch_begin(self, epoch, logs=None):
        self.layer.kl_scale.assign(min(1.0, epoch / self.epochs))


class _KeepBest(keras.callbacks.Callback):
    """Keep the weights of the best validation epoch and restore them at the end (Keras' EarlyStopping
    restores them only when it stops early; a short fine-tuning usually runs all its epochs)."""

    def __init__(self, monitor: str = "val_nll") -> None:
        super().__init__()
        self.monitor = monitor
        self.best = np.inf
        self.weights = None

    def on_epoch_end(self, epoch, logs=None):
        v = (logs or {}).get(self.monitor)
        if v is not None and np.isfinite(v) and v < self.best:
            self.best, self.weights = float(v), self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


class _Progress(keras.callbacks.Callback):
    """A tqdm progress bar over epochs showing the validation NLL."""

    def __init__(self, total: int) -> None:
        super().__init__()
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="training", unit="epoch", leave=False)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix(nll=f"{logs.get('nll', float('nan')):.4f}",
                             val_nll=f"{logs.get('val_nll', float('nan')):.4f}")
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


class _WeightsOnly:
    """Layer weights by name, quacking like a Keras model for :func:`copy_weights`."""

    name = "float model"

    def __init__(self, weights: dict[str, list[np.ndarray]]) -> None:
        self.layers = [_Named(n, w) for n, w in weights.items()]

    def get_layer(self, name: str) -> _Named:
        return next(layer for layer in self.layers if layer.name == name)


@dataclass
class _Named:
    name: str
    w: list

    def get_weights(self) -> list:
        return self.w


def train_lfads(
    cfg: LFADSConfig,
    split: DataSplit,
    tc: TrainConfig | None = None,
    *,
    progress: bool = False,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    epoch_hook: Callable[[int, dict], None] | None = None,
    init_from: keras.Model | None = None,
) -> TrainResult:
    """Train an LFADS model of ``cfg`` on ``split.train``, early-stopping on ``split.valid``.

    ``epoch_hook(epoch, logs)`` is called after each epoch (e.g. to report to an Optuna pruner);
    it may raise to abort training.

    QAT fine-tuning (``cfg.quant.init == "float"``): ``init_from`` is the float deploy model of the same
    architecture and training settings; its weights start the QKeras model, which trains for
    ``cfg.quant.finetune_epochs`` epochs (at most ``tc.epochs``) at ``finetune_lr_scale`` times the
    learning rate and keeps its best validation epoch. The rest of the recipe (clipping, reduce-on-plateau, early stopping,
    seed) is ``tc``'s.
    """
    tc = tc or TrainConfig()
    configure_tensorflow(int(os.environ["DSE_TF_THREADS"]) if os.environ.get("DSE_TF_THREADS") else None)
    finetune = cfg.quant is not None and cfg.quant.init == "float"
    if finetune and init_from is None:
        raise ValueError("QAT with init 'float' fine-tunes a float model: pass init_from")
    if init_from is not None and not finetune:
        raise ValueError("init_from is only for QAT with init 'float'")
    source = None
    if finetune:
        # the float model outlives clear_session as weights only
        source = {layer.name: layer.get_weights() for layer in init_from.layers if layer.weights}
    keras.backend.clear_session()
    keras.utils.set_random_seed(tc.seed)

    models = build_lfads(cfg)
    model = models.train
    epochs, learning_rate = tc.epochs, tc.learning_rate
    if finetune:
        copy_weights(_WeightsOnly(source), model)
        # at most the recipe's epochs: a fine-tuning never trains longer than a from-scratch training would
        epochs, learning_rate = min(cfg.quant.finetune_epochs, tc.epochs), tc.learning_rate * cfg.quant.finetune_lr_scale
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=tc.clipnorm),
        loss=poisson_nll,
        metrics=[keras.metrics.MeanMetricWrapper(poisson_nll, name="nll")],
    )
    nonfinite = _NonFiniteLoss()
    early = keras.callbacks.EarlyStopping(monitor="val_nll", patience=tc.early_stopping_patience,
                                          restore_best_weights=True, mode="min")
    cbs: list[keras.callbacks.Callback] = [
        keras.callbacks.ReduceLROnPlateau(monitor="val_nll", factor=tc.lr_factor, patience=tc.lr_patience,
                                          min_lr=tc.min_lr, mode="min"),
        early,
        nonfinite,
        *callbacks,
    ]
    if cfg.variational:
        cbs.append(_KLWarmup(model.get_layer("con_sample" if cfg.causal else "ic_sample"), cfg.kl_warmup_epochs))
    if epoch_hook is not None:
        cbs.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epoch_hook(e, logs or {})))
    if finetune:
        cbs.append(_KeepBest())
    if progress:
        cbs.append(_Progress(epochs))

    t0 = time.perf_counter()
    hist = model.fit(
        model_inputs(split.train, cfg.causal),
        split.train.spikes.astype(np.float32),
        validation_data=(model_inputs(split.valid, cfg.causal), split.valid.spikes.astype(np.float32)),
        epochs=epochs,
        batch_size=tc.batch_size,
        shuffle=True,
        callbacks=cbs,
        verbose=0,
    )
    seconds = time.perf_counter() - t0
    history = {k: [float(v) for v in vs] for k, vs in hist.history.items()}
    epochs = len(history.get("loss", []))
    val = history.get("val_nll", [])
    best_epoch = int(np.nanargmin(val)) + 1 if val and np.any(np.isfinite(val)) else epochs
    if nonfinite.hit:
        reason = "non_finite_loss"
    elif early.stopped_epoch:
        reason = "early_stopping"
    else:
        reason = "max_epochs"
    sync_models(models)
    return TrainResult(
        models=models,
        history=history,
        epochs=epochs,
        best_epoch=best_epoch,
        train_seconds=seconds,
        seconds_per_epoch=seconds / max(epochs, 1),
        stopped_reason=reason,
    )


def predict(deploy: keras.Model, data: NeuralData, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Log-rates (log counts per bin) and factors of ``data`` from the deploy model."""
    logrates, factors = deploy.predict(model_inputs(data, causal=len(deploy.inputs) == 1), batch_size=batch_size,
                                       verbose=0)
    return np.asarray(logrates, dtype=np.float64), np.asarray(factors, dtype=np.float64)

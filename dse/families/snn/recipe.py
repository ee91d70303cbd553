"""Default recipes: the network, encoding and training settings ``dse train --family snn`` uses per task.

How they were chosen (measurements in bench/results/snn_training.md):

* decode: counts as an integer input current (2 bits: 0..3 spikes per 10 ms bin, which covers >99.9 %
  of the synthetic data's bins), one recurrent LIF layer, a leaky readout whose membranes are read
  bin by bin. Recurrence and the readout's leak give the network a memory of past bins, which is what
  lets it beat a linear decoder that sees only the last few bins. Chosen on the validation trials
  (bench/snn_training.py --sweep): hidden leak k=2, weight decay 1e-4 (the largest single gain: 136
  training trials overfit), gradient-norm clipping at 1 and an init gain of 3 (steadier BPTT over 73 steps).
* digits (8×8), digits16 (16×16, Flexi-NeurA's 256-128-10 network) and digits28 (28×28, the Spiker+
  MNIST-sized 784-128-10 network): rate-coded pixels,
  one feed-forward LIF hidden layer, a leaky readout, class = argmax of the readout's maximum membrane.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dse.families.snn.encoding import EncodingSpec, SNNConfigError
from dse.families.snn.model import LayerSpec, SNNDescription
from dse.families.snn.tasks import Task
from dse.families.snn.train import TrainConfig


@dataclass(frozen=True)
class Recipe:
    """A network and its training; ``qat_epochs`` is the length of QAT fine-tuning after float training."""

    description: SNNDescription
    train: TrainConfig
    qat_epochs: int

    def to_dict(self) -> dict[str, Any]:
        return {"snn": self.description.to_dict(), "train": self.train.to_dict(), "qat_epochs": self.qat_epochs}


def default_recipe(task: Task, epochs: int | None = None, seed: int = 0) -> Recipe:
    """The default recipe for ``task`` (its input and output sizes); ``epochs`` overrides the length."""
    if task.name == "decode":
        desc = SNNDescription(
            n_inputs=task.n_inputs,
            layers=(LayerSpec(128, "LIF", k_beta=2, recurrent=True, threshold=1.0),
                    LayerSpec(8, "readout", k_beta=3)),
            encoding=EncodingSpec("current", input_bits=2),
        )
        cfg = TrainConfig(epochs=100, batch_size=16, lr=5e-3, weight_decay=1e-4, grad_clip=1.0, init_gain=3.0,
                          seed=seed)
        qat_epochs = 20
    elif task.name in ("digits", "digits16", "digits28"):
        hidden = 64 if task.name == "digits" else 128
        desc = SNNDescription(
            n_inputs=task.n_inputs,
            layers=(LayerSpec(hidden, "LIF", k_beta=3, threshold=1.0),
                    LayerSpec(task.n_outputs, "readout", k_beta=3)),
            encoding=EncodingSpec("rate", steps=25, seed=seed),
        )
        cfg = TrainConfig(epochs=30, batch_size=64, lr=5e-3, seed=seed, classify_by="max")
        qat_epochs = 5
    else:
        raise SNNConfigError("task", f"no default recipe for task {task.name!r}")
    if epochs is not None:
        if not isinstance(epochs, int) or epochs < 1:
            raise SNNConfigError("--epochs", f"expected a positive integer, got {epochs!r}")
        qat_epochs = max(1, min(qat_epochs, epochs // 4 or 1))
        cfg = replace(cfg, epochs=epochs)
    return Recipe(desc, cfg, qat_epochs)

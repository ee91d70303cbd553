"""Plain configuration of the LFADS model family (validated at the edge, plain data inside)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal


@dataclass(frozen=True)
class QuantSpec:
    """QKeras quantization-aware training settings.

    ``bits`` is the total width W and ``integer`` the integer bits I *excluding the sign bit* (QKeras'
    ``quantized_bits(W, I)`` convention), so a quantizer with (16, 5) corresponds to ``ap_fixed<16,6>``.
    Weights, recurrent weights, biases and GRU states use ``quantized_bits(W, I, alpha=1)``; the GRU
    activations are quantized sigmoid/tanh of W bits. ``activations="hard"`` uses QKeras' hard
    (piece-wise linear) versions as in the paper; ``"real"`` uses the quantized real functions, which
    hls4ml 1.3.0 implements with lookup tables.

    ``state_outputs``: pass each GRU's outputs through its state quantizer in the training graph and in
    the Keras reference, so that training sees the GRU outputs the hardware produces. A QGRU quantizes h_{t-1} only where it reads it and outputs
    the unquantized h_t, while hls4ml's GRU (nnet::gru) keeps h_t in one register of the state type
    (``res_T``: the state quantizer's ap_fixed<W,I+1>, round half to even, saturating; see
    dse/hls/workarounds.py ``qgru_state_precision``) and outputs that register, so the encoder's final
    state and the generator's sequence are quantized on the hardware. With it on, the model trains on
    (and is scored by) what the C simulation computes, up to the sigmoid/tanh lookup tables; ``False``
    is the plain QKeras graph dse trained before (kept to measure the difference: ``bench/qat_gap.py``).

    ``init``: ``"scratch"`` trains the QKeras model from a random initialisation; ``"float"`` starts it
    from the float model of the same data, architecture and training settings (the model PTQ designs
    share, trained first if missing) and trains only ``finetune_epochs`` epochs of quantized fine-tuning
    at ``finetune_lr_scale`` times the recipe's learning rate: at the paper size as accurate as QAT from
    scratch or better, in 6-10x fewer epochs (bench/results/qat_gap.md).
    """

    bits: int = 16
    integer: int = 5
    activations: Literal["hard", "real"] = "real"
    state_outputs: bool = True
    init: Literal["scratch", "float"] = "scratch"
    finetune_epochs: int = 30
    finetune_lr_scale: float = 0.1

    def __post_init__(self) -> None:
        if not 2 <= self.bits <= 32:
            raise ValueError(f"QAT bits must be in 2..32, got {self.bits}")
        if not 0 <= self.integer < self.bits:
            raise ValueError(f"QAT integer bits must be in 0..bits-1 ({self.bits - 1}), got {self.integer}")
        if self.activations not in ("hard", "real"):
            raise ValueError(f"QAT activations must be 'hard' or 'real', got {self.activations!r}")
        if self.init not in ("scratch", "float"):
            raise ValueError(f"QAT init must be 'scratch' or 'float', got {self.init!r}")
        if self.finetune_epochs < 1:
            raise ValueError(f"QAT fine-tuning epochs must be >= 1, got {self.finetune_epochs}")
        if not self.finetune_lr_scale > 0:
            raise ValueError(f"QAT fine-tuning learning-rate scale must be > 0, got {self.finetune_lr_scale}")


#: The fields of :class:`LFADSConfig` that only the causal variant has.
CAUSAL_FIELDS = ("causal", "ic_window", "controller_units", "controller_inputs", "controller_lag")


@dataclass(frozen=True)
class LFADSConfig:
    """Architecture of the LFADS autoencoder (paper defaults: E=64, Z=64, F=4)."""

    n_neurons: int
    n_bins: int
    encoder_units: int = 64  # E, per direction
    latent_units: int = 64  # Z: initial-condition size = generator units
    factors: int = 4  # F
    # Heavy input dropout is the regulariser that matters on paper-size data (136 training trials):
    # on the default synthetic data, behaviour R2 0.70 / 0.80 / 0.82 / 0.86 / 0.89 at dropout
    # 0.05 / 0.2 / 0.3 / 0.4 / 0.5 (bench/results/training.md has the current numbers).
    input_dropout: float = 0.5
    ic_dropout: float = 0.0
    variational: bool = False  # VAE variant: IC mean + log-variance, KL, sampling only in training
    # The KL term per trial is divided by T*N (see SampleIC) and weighted by this. At 1.0 (the ELBO) and
    # at 0.1 the posterior collapsed on the default synthetic data (bits/spike 0.006, the null model):
    # the IC carries ~0.025 nats per element, about what a 64-d posterior costs. 0.01: behaviour R2
    # 0.879, rate R2 0.63; 0: 0.878 / 0.80 (the AE with sampling noise).
    kl_weight: float = 0.01
    kl_warmup_epochs: int = 50  # VAE: the KL term ramps linearly from 0 to kl_weight over these epochs
    l2_gen_recurrent: float = 1e-4
    # One reset-gate convention for both variants. Keras GRU defaults to reset_after=True, QGRU to
    # False; we use True everywhere (hls4ml converts both, and it is the Keras/cuDNN convention).
    reset_after: bool = True
    quant: QuantSpec | None = None
    # The causal variant (dse.families.lfads.causal): a forward-only encoder, a controller that infers the
    # generator's inputs bin by bin (KL on them when variational) and a generator whose initial state is
    # learned (ic_window 0) or inferred from the encoder's state after the first ic_window bins (those
    # bins' outputs then wait for the window: latency charged). E is then the forward encoder's units.
    causal: bool = False
    ic_window: int = 0
    controller_units: int = 32  # C: controller GRU units
    controller_inputs: int = 4  # U: inferred generator inputs per bin
    # 0: the controller reads the encoder's state after bin t to infer bin t's generator input, so the model can
    # pass a bin's spikes through to its own rates; 1: it reads the state after bin t-1 (the factors of bin t
    # then depend on the spikes before t only). Measured once (seed 0, recipe defaults, default synthetic
    # data): behaviour R2 per bin 0.788 -> 0.862, rate R2 0.549 -> 0.821 (bidirectional: 0.855 / 0.824); 3 seeds
    # in bench/results/causal_decoders.md. Hence the default. Its step reads the lagged state from a 4th state
    # input (dse.families.lfads.step).
    controller_lag: int = 1

    def __post_init__(self) -> None:
        for name in ("n_neurons", "n_bins", "encoder_units", "latent_units", "factors", "controller_units",
                     "controller_inputs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("input_dropout", "ic_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0 <= self.ic_window < self.n_bins:
            raise ValueError(f"ic_window must be in 0..n_bins-1 ({self.n_bins - 1}), got {self.ic_window}")
        if self.controller_lag not in (0, 1):
            raise ValueError(f"controller_lag must be 0 or 1, got {self.controller_lag}")
        if self.ic_window and not self.causal:
            raise ValueError("ic_window is a setting of the causal variant (causal: true)")

    def to_dict(self) -> dict:
        """The plain form; a bidirectional model's leaves out the causal settings, so that it (and every key
        derived from it: the model cache's, the C-simulation cache's) is what it was before they existed."""
        d = asdict(self)
        if not self.causal:
            for name in CAUSAL_FIELDS:
                d.pop(name)
        elif not self.controller_lag:  # a causal model without the lag keeps the keys it had before the lag
            d.pop("controller_lag")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> LFADSConfig:
        d = dict(d)
        q = d.pop("quant", None)
        if d.get("causal") and "controller_lag" not in d:
            # written before the lag existed, or with lag 0 (to_dict leaves it out): not the lagged default
            d["controller_lag"] = 0
        return cls(**d, quant=QuantSpec(**q) if q else None)


@dataclass(frozen=True)
class TrainConfig:
    """The default training recipe (Poisson NLL, Adam, reduce-on-plateau, clipping, early stopping)."""

    epochs: int = 300
    batch_size: int = 16
    learning_rate: float = 5e-3
    clipnorm: float = 1.0
    lr_patience: int = 10
    lr_factor: float = 0.5
    min_lr: float = 1e-5
    early_stopping_patience: int = 50
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")

    def to_dict(self) -> dict:
        return asdict(self)

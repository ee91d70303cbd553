"""Names of the objectives a study can optimise or report, with their direction and unit.

Accuracy objectives are computed by :mod:`objectives.metrics`; hardware objectives come from a
cost backend's :class:`dse.cost.base.HardwareReport` (``latency_us``, ``latency_cycles``, the
resource counts and their fractions of the target part). ``direction`` uses Optuna's spelling, so
it can be passed straight to ``optuna.create_study(directions=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OBJECTIVES", "Objective", "get_objective", "objective_names"]

Direction = Literal["maximize", "minimize"]
Kind = Literal["accuracy", "hardware"]


@dataclass(frozen=True)
class Objective:
    """One objective metric: its name, whether larger or smaller is better, unit and meaning."""

    name: str
    direction: Direction
    unit: str
    description: str
    kind: Kind

    @property
    def sign(self) -> int:
        """+1 when larger is better, −1 when smaller is better (to turn any objective into a score)."""
        return 1 if self.direction == "maximize" else -1

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than value ``b`` for this objective."""
        return a > b if self.direction == "maximize" else a < b


def _objectives(*items: Objective) -> dict[str, Objective]:
    return {o.name: o for o in items}


OBJECTIVES: dict[str, Objective] = _objectives(
    # accuracy (objectives.metrics)
    Objective(
        "behavior_r2",
        "maximize",
        "",
        "R² of a ridge decoder from factors to behaviour, one sample "
        "per trial (flattened bins; the paper's form), on held-out trials",
        "accuracy",
    ),
    Objective(
        "behavior_r2_bin",
        "maximize",
        "",
        "R² of a ridge decoder from factors to behaviour, one sample per bin, on held-out trials",
        "accuracy",
    ),
    Objective(
        "npll",
        "minimize",
        "nats/bin/neuron",
        "mean negative Poisson log-likelihood of the spikes (full form, with log k!)",
        "accuracy",
    ),
    Objective(
        "bits_per_spike",
        "maximize",
        "bits/spike",
        "log-likelihood gain over a per-neuron constant-rate model, per spike",
        "accuracy",
    ),
    Objective(
        "rate_r2",
        "maximize",
        "",
        "R² of inferred against true firing rates (synthetic data), averaged over neurons",
        "accuracy",
    ),
    # activity per inference of the bit-exact model (snn family: dse.families.snn.activity)
    Objective("synaptic_ops", "minimize", "ops", "weight reads that change a membrane, per inference", "accuracy"),
    Objective("membrane_updates", "minimize", "updates", "membranes that change value, per inference", "accuracy"),
    Objective("spikes", "minimize", "spikes", "spikes of every spiking layer, per inference", "accuracy"),
    Objective("input_density", "minimize", "fraction", "fraction of nonzero encoded inputs", "accuracy"),
    # hardware (dse.cost)
    Objective("accuracy", "maximize", "", "classification accuracy on held-out samples (bit-exact model)",
              "accuracy"),
    Objective("latency_us", "minimize", "us", "worst-case latency of one inference", "hardware"),
    Objective(
        "latency_cycles",
        "minimize",
        "cycles",
        "worst-case latency of one inference in clock cycles",
        "hardware",
    ),
    Objective("dsp", "minimize", "DSP slices", "DSP slices used", "hardware"),
    Objective("lut", "minimize", "LUTs", "look-up tables used", "hardware"),
    Objective("ff", "minimize", "FFs", "flip-flops used", "hardware"),
    Objective("bram_18k", "minimize", "BRAM18K", "18 Kb block RAMs used", "hardware"),
    Objective("uram", "minimize", "URAM", "UltraRAM blocks used", "hardware"),
    Objective("dsp_util", "minimize", "fraction", "DSP slices used / available on the part", "hardware"),
    Objective("lut_util", "minimize", "fraction", "LUTs used / available on the part", "hardware"),
    Objective("ff_util", "minimize", "fraction", "flip-flops used / available on the part", "hardware"),
    Objective(
        "bram_util", "minimize", "fraction", "18 Kb block RAMs used / available on the part", "hardware"
    ),
    Objective(
        "uram_util", "minimize", "fraction", "UltraRAM blocks used / available on the part", "hardware"
    ),
)


def get_objective(name: str) -> Objective:
    """The objective called ``name``; ``KeyError`` naming the known objectives otherwise."""
    try:
        return OBJECTIVES[name]
    except KeyError:
        raise KeyError(f"unknown objective {name!r}; known: {', '.join(sorted(OBJECTIVES))}") from None


def objective_names(kind: Kind | None = None) -> list[str]:
    """Sorted names of all objectives, or of the ``"accuracy"`` or ``"hardware"`` ones."""
    return sorted(n for n, o in OBJECTIVES.items() if kind is None or o.kind == kind)

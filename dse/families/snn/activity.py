"""Activity per inference of an integer SNN, exact from the integer reference: the counts an energy model
multiplies (and the ones NeuroBench reports), independent of the reuse factor and the scan.

* ``synaptic_ops``: weight reads that change a membrane (or LIF2 current): pairs (nonzero input, nonzero
  weight) over every layer and step, recurrent inputs (the layer's own spikes of the previous step)
  included. A zero weight or a zero input adds nothing; an add that saturation clips is still counted.
* ``membrane_updates``: (layer, step, neuron) whose membrane ends the step with another value than it
  started with (leak, inputs, reset).
* ``spikes``: spikes of every spiking layer; ``spikes_per_layer`` one count per layer (None for a readout).
* ``input_density``: fraction of the layer-0 inputs (steps x inputs) that are nonzero.
All are means over the given samples.
"""

from __future__ import annotations

import numpy as np

from dse.families.snn.network import QuantizedSNN
from dse.families.snn.reference import ReferenceResult
from objectives.registry import Objective

#: The activity objectives an SNN trial measures (searchable like accuracy; means per inference).
OBJECTIVES: tuple[Objective, ...] = (
    Objective("synaptic_ops", "minimize", "ops", "weight reads that change a membrane, per inference"),
    Objective("membrane_updates", "minimize", "updates", "membranes that change value, per inference"),
    Objective("spikes", "minimize", "spikes", "spikes of every spiking layer, per inference"),
    Objective("input_density", "minimize", "fraction", "fraction of nonzero encoded inputs"),
)
OBJECTIVE_NAMES = tuple(o.name for o in OBJECTIVES)


def synaptic_ops(net: QuantizedSNN, x: np.ndarray, ref: ReferenceResult) -> np.ndarray:
    """(samples,) effective synaptic operations."""
    ops = np.zeros(x.shape[0], np.int64)
    u = (np.asarray(x) != 0).astype(np.int64)
    for li, lay in enumerate(net.layers):
        nz = (lay.weights != 0).sum(axis=1)  # per input row: the neurons it reaches
        ops += np.einsum("sti,i->s", u, nz)
        if lay.recurrent:
            own = ref.spikes[li].astype(np.int64)[:, :-1]  # step t's spikes feed step t + 1
            ops += np.einsum("sti,i->s", own, (lay.recurrent_weights != 0).sum(axis=1))
        if lay.spiking:
            u = ref.spikes[li].astype(np.int64)
    return ops


def activity(net: QuantizedSNN, x: np.ndarray, ref: ReferenceResult) -> dict[str, object]:
    """Mean activity per inference over the samples of x (ref: reference.simulate(net, x))."""
    x = np.asarray(x)
    per_layer = [None if s is None else float(s.sum(axis=(1, 2)).mean()) for s in ref.spikes]
    return {
        "synaptic_ops": float(synaptic_ops(net, x, ref).mean()),
        "membrane_updates": float(np.sum([c for c in ref.membrane_changes], axis=0).mean()),
        "spikes": float(sum(s for s in per_layer if s is not None)),
        "spikes_per_layer": per_layer,
        "input_density": float((x != 0).mean()),
    }

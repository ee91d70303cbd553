"""Activity per inference (dse.families.snn.activity): hand-counted on a tiny network, and against plain
loops over the sequential specification model on random networks."""

from __future__ import annotations

import numpy as np

from dse.families.snn import reference
from dse.families.snn.activity import activity
from dse.families.snn.network import QuantizedSNN, SNNLayer, random_network


def test_hand_counted_activity():
    # 3 inputs -> 2 IF neurons (theta 2, reset to zero) -> 1 readout without leak. Weights: input 0 reaches
    # both neurons, input 1 only neuron 0 (the other weight is 0), input 2 none.
    hidden = SNNLayer(weights=np.array([[2, 1], [1, 0], [0, 0]]), neuron="IF", reset="zero", k_beta=None, theta_int=2)
    out = SNNLayer(weights=np.array([[1], [1]]), neuron="readout", k_beta=None)
    net = QuantizedSNN(layers=[hidden, out], weight_bits=4, membrane_bits=6, time_steps=2)
    x = np.array([[[1, 1, 1], [0, 0, 1]]])  # step 0: every input; step 1: only input 2 (reaches nobody)
    ref = reference.simulate(net, x)
    # step 0: neuron 0 gets 2 + 1 = 3 >= 2 -> spike, reset to 0; neuron 1 gets 1 (no spike).
    np.testing.assert_array_equal(ref.spikes[0][0], [[1, 0], [0, 0]])
    act = activity(net, x, ref)
    # synaptic ops: step 0 layer 0: input 0 -> 2, input 1 -> 1; layer 1: neuron 0's spike -> 1. Step 1: 0.
    assert act["synaptic_ops"] == 4
    # membranes that changed: step 0: neuron 1 (0 -> 1; neuron 0 went 0 -> 3 -> reset 0: unchanged), readout
    # (0 -> 1); step 1: nothing changes (no leak, no input reaches anyone).
    assert act["membrane_updates"] == 2
    assert act["spikes"] == 1 and act["spikes_per_layer"] == [1.0, None]
    assert act["input_density"] == 4 / 6


def _loop_ops(net: QuantizedSNN, x: np.ndarray, spikes: list) -> np.ndarray:
    ops = np.zeros(x.shape[0], np.int64)
    for smp in range(x.shape[0]):
        for t in range(x.shape[1]):
            u = list(x[smp, t])
            for li, lay in enumerate(net.layers):
                rows = lay.all_weights()
                scan = u + (list(spikes[li][smp, t - 1]) if lay.recurrent and t > 0 else
                            [0] * lay.n_out if lay.recurrent else [])
                for i, c in enumerate(scan):
                    if c:
                        ops[smp] += sum(1 for j in range(lay.n_out) if rows[i, j] != 0)
                if lay.spiking:
                    u = list(spikes[li][smp, t])
    return ops


def test_activity_equals_loops_over_the_sequential_model():
    for seed, (neuron, rec) in enumerate([("LIF", True), ("LIF2", False), ("IF", True)]):
        net = random_network([7, 6, 4], neuron=[neuron, "readout"], recurrent=[rec, False], input_bits=2,
                             time_steps=6, theta=5, membrane_bits=6, weight_bits=4, weight_scale=1.0, seed=seed)
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 4, size=(3, 6, 7)) * (rng.random((3, 6, 7)) < 0.4)
        seq = reference.simulate_sequential(net, x)
        fast = reference.simulate(net, x)
        for a, b in zip(seq.membrane_changes, fast.membrane_changes, strict=True):
            np.testing.assert_array_equal(a, b)
        act = activity(net, x, fast)
        assert act["synaptic_ops"] == _loop_ops(net, x, seq.spikes).mean()
        assert act["membrane_updates"] == np.sum(seq.membrane_changes, axis=0).mean() > 0
        assert act["spikes"] == seq.spikes[0].sum() / 3
        # sharing datapaths changes no activity count
        assert activity(net.with_reuse(3), x, reference.simulate(net.with_reuse(3), x)) == act

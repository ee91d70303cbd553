"""QuantizedSNN validation: every bad field gets one clear line naming it."""

from __future__ import annotations

import numpy as np
import pytest

from dse.families.snn.network import QuantizedSNN, SNNLayer, k_from_beta, random_network


def _net(**kw):
    layer_kw = {k: kw.pop(k) for k in list(kw) if k in {"neuron", "reset", "k_beta", "k_alpha", "theta_int",
                                                        "recurrent_weights", "weights"}}
    layer_kw.setdefault("weights", np.zeros((3, 2), int))
    return QuantizedSNN(layers=[SNNLayer(**layer_kw)], **kw)


def test_valid_network_properties():
    net = random_network([5, 4, 3], neuron=["LIF", "readout"], recurrent=[True, False])
    assert net.sizes == [5, 4, 3]
    assert net.has_readout and net.layers[0].recurrent and net.layers[0].fan_in == 9
    assert net.layers[0].all_weights().shape == (9, 4)
    assert net.with_scan("event").scan == "event"


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"neuron": "ALIF"}, "layers[0].neuron: unknown neuron model"),
        ({"reset": "half"}, "layers[0].reset: unknown reset"),
        ({"k_beta": 0}, "layers[0].k_beta"),
        ({"k_beta": 2.5}, "layers[0].k_beta"),
        ({"neuron": "IF", "k_beta": 3}, "layers[0].k_beta: IF neurons have no leak"),
        ({"neuron": "LIF2", "k_beta": 2, "k_alpha": None}, "layers[0].k_alpha"),
        ({"k_alpha": 2}, "layers[0].k_alpha: only LIF2"),
        ({"theta_int": 128, "membrane_bits": 8}, "layers[0].theta_int: bits cannot hold the threshold"),
        ({"theta_int": 0}, "layers[0].theta_int: bits cannot hold the threshold"),
        ({"weights": np.full((3, 2), 32), "weight_bits": 6}, "layers[0].weights: weights out of range"),
        ({"weights": np.full((3, 2), 0.5)}, "layers[0].weights: must hold integers"),
        ({"weights": np.zeros(3, int)}, "layers[0].weights: must be a 2-D matrix"),
        ({"recurrent_weights": np.zeros((3, 3), int)}, "layers[0].recurrent_weights: shape"),
        ({"scan": "sparse"}, "scan: unknown scan architecture"),
        ({"membrane_bits": 1}, "membrane_bits"),
        ({"k_beta": 8, "membrane_bits": 8}, "layers[0].k_beta: leak shift 8 >= membrane_bits"),
        ({"time_steps": 0}, "time_steps"),
    ],
)
def test_bad_fields_name_the_field(kw, field):
    with pytest.raises(ValueError) as err:
        _net(**kw)
    msg = str(err.value)
    assert field in msg and "\n" not in msg


def test_layer_shape_mismatch_and_readout_position():
    a = SNNLayer(weights=np.zeros((4, 3), int))
    b = SNNLayer(weights=np.zeros((2, 2), int))
    with pytest.raises(ValueError, match=r"layers\[1\]\.weights: shape \(2, 2\) does not take"):
        QuantizedSNN(layers=[a, b])
    r = SNNLayer(weights=np.zeros((4, 3), int), neuron="readout")
    with pytest.raises(ValueError, match=r"layers\[0\]\.neuron: a readout"):
        QuantizedSNN(layers=[r, SNNLayer(weights=np.zeros((3, 2), int))])


def test_leak_power_of_two():
    assert k_from_beta(0.75) == 2 and k_from_beta(0.5) == 1 and k_from_beta(1 - 2**-5) == 5
    with pytest.raises(ValueError, match="leak not a power of two"):
        k_from_beta(0.8)
    with pytest.raises(ValueError, match="beta"):
        k_from_beta(1.0)


def test_inputs_checked():
    net = random_network([3, 2], input_bits=2)
    assert net.check_inputs(np.zeros((4, 3), int)).shape == (1, 4, 3)
    with pytest.raises(ValueError, match=r"inputs: values must be in \[0, 3\]"):
        net.check_inputs(np.full((1, 4, 3), 4))
    with pytest.raises(ValueError, match="inputs: expected shape"):
        net.check_inputs(np.zeros((1, 4, 5), int))


def test_from_float_quantizes_per_semantics():
    w0 = np.array([[0.26, -0.9], [2.0, 0.0]])
    net = QuantizedSNN.from_float([w0], [0.5], frac_bits=3, weight_bits=4, membrane_bits=6)
    # round(0.26*8)=2, round(-0.9*8)=-7, round(16)=16 -> sat 7
    assert net.layers[0].weights.tolist() == [[2, -7], [7, 0]]
    assert net.layers[0].theta_int == 4


def test_save_load_round_trip_keeps_every_field(tmp_path):
    from dse.families.snn.reference import simulate

    net = random_network([6, 5, 4, 3], neuron=["LIF2", "IF", "readout"], recurrent=[True, False, False],
                         reset="zero", input_bits=3, time_steps=5, scan="event", seed=7, reuse_factor=[2, 4, 1])
    net.meta["source"] = "test"
    path = tmp_path / "net.npz"
    net.save(path)
    back = QuantizedSNN.load(path)
    assert not list(tmp_path.glob("*.tmp*"))
    for a, b in zip(net.layers, back.layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and a.weights.shape == b.weights.shape
        assert (a.recurrent_weights is None) == (b.recurrent_weights is None)
        if a.recurrent_weights is not None:
            assert np.array_equal(a.recurrent_weights, b.recurrent_weights)
        assert (a.neuron, a.reset, a.k_beta, a.k_alpha, a.theta_int, a.name) == \
            (b.neuron, b.reset, b.k_beta, b.k_alpha, b.theta_int, b.name)
    assert (back.weight_bits, back.membrane_bits, back.frac_bits, back.input_bits, back.time_steps, back.scan,
            back.reuse_factor, back.meta) == (6, 8, 0, 3, 5, "event", [2, 4, 1], {"source": "test"})
    x = np.random.default_rng(1).integers(0, 8, size=(4, 5, 6))
    r0, r1 = simulate(net, x), simulate(back, x)
    assert np.array_equal(r0.cycles["event"], r1.cycles["event"])
    assert np.array_equal(r0.readout, r1.readout)
    assert all(np.array_equal(a, b) for a, b in zip(r0.spikes[:2], r1.spikes[:2], strict=True))


def test_load_refuses_another_file(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, header=np.array('{"format": "something"}'))
    with pytest.raises(ValueError, match="not a dse integer SNN file"):
        QuantizedSNN.load(path)

"""SNN input encodings and the float description's validation (one line naming the field)."""

from __future__ import annotations

import numpy as np
import pytest

from dse.errors import UserInputError
from dse.families.snn.encoding import EncodingSpec, SNNConfigError, encode
from dse.families.snn.model import SNNDescription

COUNTS = np.array([[[0, 1, 2], [3, 5, 0]]])  # 1 sample, 2 bins, 3 inputs


def test_binary_and_current_clip_counts():
    assert encode(EncodingSpec("binary"), COUNTS).tolist() == [[[0, 1, 1], [1, 1, 0]]]
    assert encode(EncodingSpec("current", input_bits=2), COUNTS).tolist() == [[[0, 1, 2], [3, 3, 0]]]
    assert encode(EncodingSpec("current", input_bits=1), COUNTS).max() == 1
    assert EncodingSpec("current", input_bits=3).max_input == 7


def test_substeps_spread_min_count_ones_over_each_bin():
    spec = EncodingSpec("substeps", substeps=4)
    out = encode(spec, COUNTS)
    assert out.shape == (1, 8, 3) and spec.time_steps(2) == 8
    per_bin = out.reshape(1, 2, 4, 3).sum(axis=2)
    assert per_bin.tolist() == np.minimum(COUNTS, 4).tolist()
    assert out[0, :4, 2].tolist() == [1, 0, 1, 0]  # 2 spikes evenly spread, the first at sub-step 0
    assert out[0, :4, 1].tolist() == [1, 0, 0, 0]
    assert set(np.unique(out)) <= {0, 1}


def test_rate_coding_is_seeded_and_follows_p():
    x = np.array([[0.0, 0.25, 1.0]] * 400)
    spec = EncodingSpec("rate", steps=20, seed=3)
    a, b = encode(spec, x), encode(spec, x)
    assert np.array_equal(a, b) and a.shape == (400, 20, 3)
    assert not np.array_equal(a, encode(EncodingSpec("rate", steps=20, seed=4), x))
    assert a[:, :, 0].sum() == 0 and a[:, :, 2].all()
    assert abs(a[:, :, 1].mean() - 0.25) < 0.02


def test_latency_one_spike_at_rounded_step_none_below_cutoff():
    x = np.array([[1.0, 0.5, 0.0, 0.005, 0.2]])
    out = encode(EncodingSpec("latency", steps=11, latency_cutoff=0.01), x)[0]
    assert out.sum(axis=0).tolist() == [1, 1, 0, 0, 1]
    assert out[:, 0].argmax() == 0 and out[:, 1].argmax() == 5 and out[:, 4].argmax() == 8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "morse"}, "snn.encoding.kind: unknown encoding 'morse'"),
        ({"kind": "rate"}, "snn.encoding.steps: the 'rate' encoding needs a positive number of time steps"),
        ({"kind": "binary", "input_bits": 2}, "snn.encoding.input_bits: only the 'current' encoding"),
        ({"kind": "binary", "steps": 5}, "snn.encoding.steps: spike-count encodings take one step per bin"),
        ({"kind": "current", "substeps": 2}, "snn.encoding.substeps: only the 'substeps' encoding"),
    ],
)
def test_bad_encoding_settings(kwargs, message):
    with pytest.raises(SNNConfigError) as e:
        EncodingSpec(**kwargs)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_bad_inputs_are_refused():
    with pytest.raises(SNNConfigError, match="non-negative"):
        encode(EncodingSpec("binary"), -COUNTS)
    with pytest.raises(SNNConfigError, match=r"\[0, 1\]"):
        encode(EncodingSpec("rate", steps=3), np.array([[1.5]]))


def _desc(*layers: dict) -> SNNDescription:
    return SNNDescription.from_dict({"n_inputs": 4, "layers": list(layers)})


def test_description_resolves_defaults_and_beta():
    d = _desc({"size": 5, "neuron": "LIF", "beta": 0.875, "recurrent": True},
              {"size": 3, "neuron": "LIF2", "k_beta": 2, "alpha": 0.5},
              {"size": 2, "neuron": "readout"})
    assert d.layers[0].k_beta == 3 and d.layers[0].reset == "subtract"
    assert d.layers[1].k_alpha == 1 and d.layers[2].reset == "none" and d.layers[2].k_beta is None
    assert d.sizes == [4, 5, 3, 2] and d.has_readout
    assert SNNDescription.from_dict(d.to_dict()) == d


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([{"size": 2, "neuron": "LIF", "k_beta": 2}, {"size": 2, "neuron": "XYZ"}],
         "snn.layers[1].neuron: unknown neuron model 'XYZ' (known: IF, LIF, LIF2, readout)"),
        ([{"size": 2, "neuron": "LIF", "beta": 0.9}], "snn.layers[0].beta: leak not a power of two"),
        ([{"size": 2, "neuron": "LIF", "k_beta": 0}], "snn.layers[0].k_beta: leak shift must be an integer >= 1"),
        ([{"size": 2, "neuron": "LIF"}], "snn.layers[0].k_beta: LIF neurons need a leak shift"),
        ([{"size": 2, "neuron": "IF", "k_beta": 2}], "snn.layers[0].k_beta: IF neurons have no leak"),
        ([{"size": 2, "neuron": "LIF2", "k_beta": 2}], "snn.layers[0].k_alpha: LIF2 neurons need"),
        ([{"size": 2, "neuron": "readout"}, {"size": 2, "neuron": "IF"}],
         "snn.layers[0].neuron: a readout (non-spiking) layer must be the last layer"),
        ([{"size": 2, "neuron": "readout", "reset": "zero"}], "snn.layers[0].reset: a readout layer does not fire"),
        ([{"size": 2, "neuron": "IF", "reset": "half"}], "snn.layers[0].reset: unknown reset 'half'"),
        ([{"size": 2, "neuron": "IF", "threshold": -1}], "snn.layers[0].threshold: must be a positive number"),
        ([{"size": 0, "neuron": "IF"}], "snn.layers[0].size: expected a positive integer"),
        ([{"size": 2, "neuron": "IF", "colour": "red"}], "snn.layers[0]: unknown field(s) ['colour']"),
        ([], "snn.layers: a network needs at least one layer"),
    ],
)
def test_description_errors_name_the_field(layers, message):
    with pytest.raises(SNNConfigError) as e:
        _desc(*layers)
    text = str(e.value)
    assert text.startswith(message), text
    assert "\n" not in text
    assert isinstance(e.value, ValueError) and isinstance(e.value, UserInputError)

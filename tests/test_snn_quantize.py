"""Quantization: the quantized torch forward against the integer reference model (reference.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from dse.families.snn.encoding import EncodingSpec, SNNConfigError
from dse.families.snn.model import SNN, LayerSpec, QuantSpec, SNNDescription
from dse.families.snn.quantize import calibrate_membrane_bits, choose_frac_bits, to_quantized
from dse.families.snn.reference import simulate


def _net(neuron: str, reset: str, recurrent: bool, readout: bool, input_bits: int = 2, seed: int = 0,
         gain: float = 3.0) -> SNN:
    kb = None if neuron == "IF" else 2
    ka = 1 if neuron == "LIF2" else None
    layers = [LayerSpec(6, neuron, reset=reset, k_beta=kb, k_alpha=ka, recurrent=recurrent, threshold=1.0)]
    layers.append(LayerSpec(3, "readout", k_beta=3) if readout
                  else LayerSpec(3, neuron, reset=reset, k_beta=kb, k_alpha=ka, threshold=0.75))
    enc = EncodingSpec("current", input_bits=input_bits) if input_bits > 1 else EncodingSpec("binary")
    torch.manual_seed(seed)
    return SNN(SNNDescription(5, tuple(layers), enc), init_gain=gain, recurrent_gain=2.0)


def _inputs(n: int, t: int, max_in: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random((n, t, 5)) < 0.4, rng.integers(1, max_in + 1, (n, t, 5)), 0)


def _compare(model: SNN, q: QuantSpec, x: np.ndarray, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    net = to_quantized(model, q, time_steps=x.shape[1])
    ref = simulate(net, x)
    with torch.no_grad():
        run = model(torch.as_tensor(x, dtype=torch.float32), q, exact=exact)
    if model.desc.has_readout:
        got, want = run.membrane.double().numpy() * q.scale, ref.readout.astype(np.float64)
    else:
        got, want = run.spikes[-1].numpy(), ref.out_spikes.astype(np.float64)
    hidden = run.spikes[0].numpy()
    assert np.array_equal(hidden, ref.spikes[0]), "hidden spikes differ"
    return got, want


CASES = list(itertools.product(["IF", "LIF", "LIF2"], ["zero", "subtract", "none"], [False, True], [True, False]))


@pytest.mark.parametrize(("neuron", "reset", "recurrent", "readout"), CASES)
def test_exact_forward_equals_integer_reference_even_when_saturating(neuron, reset, recurrent, readout):
    """Narrow membranes (6 bits) saturate part-way through scans; the exact scan still matches bit for bit."""
    model = _net(neuron, reset, recurrent, readout)
    q = QuantSpec(weight_bits=5, membrane_bits=6, frac_bits=3)
    x = _inputs(6, 12, 3)
    got, want = _compare(model, q, x, exact=True)
    assert np.array_equal(got, want)


def test_saturation_does_happen_in_the_exact_case():
    """Guard for the test above: with these bits the vectorised sum-then-saturate differs somewhere."""
    q = QuantSpec(weight_bits=5, membrane_bits=6, frac_bits=3)
    x = _inputs(6, 12, 3)
    differs = 0
    for neuron, reset, recurrent, readout in CASES:
        got, want = _compare(_net(neuron, reset, recurrent, readout), q, x, exact=False)
        differs += int(not np.array_equal(got, want))
    assert differs > 0


@pytest.mark.parametrize(("neuron", "reset", "recurrent"), [("LIF", "subtract", True), ("LIF2", "zero", False),
                                                            ("IF", "none", True)])
def test_vectorised_qat_forward_equals_reference_without_saturation(neuron, reset, recurrent):
    """Wide membranes: the training-time (vectorised) quantized forward is the integer network exactly."""
    model = _net(neuron, reset, recurrent, readout=True)
    q = QuantSpec(weight_bits=6, membrane_bits=20, frac_bits=4)
    x = _inputs(8, 15, 3)
    got, want = _compare(model, q, x, exact=False)
    assert np.array_equal(got, want)


def test_quantized_forward_approaches_float_at_many_bits():
    model = _net("LIF", "subtract", False, readout=True, gain=1.0)
    x = torch.as_tensor(_inputs(4, 10, 3), dtype=torch.float32)
    with torch.no_grad():
        f = model(x).membrane
        q = model(x, QuantSpec(weight_bits=24, membrane_bits=30, frac_bits=18)).membrane
        coarse = model(x, QuantSpec(weight_bits=4, membrane_bits=12, frac_bits=2)).membrane
    assert torch.allclose(f, q, atol=1e-3)
    assert (coarse - f).abs().max() > (q - f).abs().max()


def test_to_quantized_is_sat_round_and_checks_the_threshold():
    model = _net("LIF", "subtract", True, readout=True)
    q = QuantSpec(weight_bits=4, membrane_bits=8, frac_bits=3)
    net = to_quantized(model, q, time_steps=7)
    w = model.weights[0].detach().double().numpy()
    assert np.array_equal(net.layers[0].weights, np.clip(np.round(w * 8), -8, 7))
    assert net.layers[0].theta_int == 8 and net.time_steps == 7 and net.input_bits == 2
    assert net.layers[0].recurrent_weights is not None and net.layers[1].neuron == "readout"
    with pytest.raises(SNNConfigError, match=r"snn.layers\[0\].threshold: bits cannot hold the threshold"):
        to_quantized(model, QuantSpec(weight_bits=4, membrane_bits=4, frac_bits=3), time_steps=7)


def test_frac_and_membrane_bits_are_calibrated():
    model = _net("LIF", "subtract", False, readout=True, gain=1.0)
    peak = max(float(p.detach().abs().max()) for p in model.parameters())
    f = choose_frac_bits(model, 6, percentile=100)
    assert peak * 2**f <= 31 < peak * 2 ** (f + 1)
    x = _inputs(10, 10, 3)
    m = calibrate_membrane_bits(model, x, f, headroom=0)
    stats: list[float] = []
    with torch.no_grad():
        model(torch.as_tensor(x, dtype=torch.float32), stats=stats)
    assert max(max(stats), 1.0) * 2**f <= 2 ** (m - 1) - 1
    assert calibrate_membrane_bits(model, x, f, headroom=2) == m + 2


def test_given_membrane_width_caps_the_fractional_bits():
    from dse.families.snn.quantize import frac_bits_cap

    model = _net("LIF", "subtract", False, readout=True, gain=0.05)  # tiny weights: many fractional bits
    assert choose_frac_bits(model, 6) > 6
    assert frac_bits_cap(model, 8) == 6  # theta 1.0 * 2**6 = 64 fits in 8 bits, 2**7 would not
    to_quantized(model, QuantSpec(6, 8, 6), time_steps=3)

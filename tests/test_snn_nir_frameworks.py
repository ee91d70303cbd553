"""Graphs written by the frameworks' own NIR exporters (snnTorch's ``export_to_nir``: Leaky, Synaptic, RLeaky;
Norse's ``to_nir``: LIFBoxCell), imported into dse: the integer model's output spike counts against the
exporting framework's own simulation of the same network on the same input spikes, and (``hdl``) the
generated VHDL under GHDL equal to the integer model.

The frameworks simulate in float; dse's integer model rounds weights to 8 bits (``2**-frac``), leaks by a
floor shift and saturates 12-bit membranes, so a neuron near its threshold can fire a step earlier or
later. The bounds below are what that rounding allows: at least 90 % of the (sample, output neuron)
spike counts within one spike of the framework's, the mean absolute difference under half a spike, and
the total output spikes within 10 % (the floor shift leaks a little less than beta: more spikes). The networks' betas are exactly 1 - 2**-k (0.875), so the leak adds
no error beyond rounding; their resets are snnTorch's ``reset_mechanism="zero", reset_delay=False``, the
reset NIR describes (``v_reset`` = 0, no delay).
"""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from dse.families.snn.model import QuantSpec
from dse.families.snn.nir_import import import_file
from dse.families.snn.quantize import choose_frac_bits, frac_bits_cap, to_quantized
from dse.families.snn.reference import simulate

SIZES = (16, 12, 5)
T = 20
SAMPLES = 64
WEIGHT_BITS, MEMBRANE_BITS = 8, 12


def _inputs(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((SAMPLES, T, SIZES[0])) < 0.3).astype(np.int64)


def _linear(n_in: int, n_out: int, gain: float, seed: int) -> torch.nn.Linear:
    torch.manual_seed(seed)
    lin = torch.nn.Linear(n_in, n_out, bias=False)
    with torch.no_grad():
        lin.weight.normal_(0.0, gain / np.sqrt(n_in))
    return lin


def _snntorch(kind: str):
    import snntorch as snn

    def neuron(n: int, last: bool):
        common = {"threshold": torch.ones(n), "init_hidden": True, "reset_mechanism": "zero", "reset_delay": False,
                  "output": last}
        if kind == "Synaptic":
            return snn.Synaptic(alpha=torch.full((n,), 0.5), beta=torch.full((n,), 0.875), **common)
        if kind == "RLeaky" and not last:
            cell = snn.RLeaky(beta=torch.full((n,), 0.875), linear_features=n, **common)
            with torch.no_grad():  # dse's neurons have no bias input: the recurrent Linear is trained without one
                cell.recurrent.bias.zero_()
                cell.recurrent.weight.mul_(0.5)
            return cell
        return snn.Leaky(beta=torch.full((n,), 0.875), **common)

    gain = 1.0 if kind == "Synaptic" else 2.5
    return torch.nn.Sequential(_linear(SIZES[0], SIZES[1], gain, 1), neuron(SIZES[1], False),
                               _linear(SIZES[1], SIZES[2], gain, 2), neuron(SIZES[2], True))


def _snntorch_counts(model, x: np.ndarray) -> np.ndarray:
    from snntorch import utils

    utils.reset(model)
    xt = torch.as_tensor(x, dtype=torch.float32)
    counts = torch.zeros(x.shape[0], SIZES[-1])
    with torch.no_grad():
        for t in range(x.shape[1]):
            out = model(xt[:, t])
            counts += out[0]
    return counts.numpy()


def _snntorch_graph(kind: str, path) -> tuple[object, float]:
    from snntorch.export_nir import export_to_nir

    model = _snntorch(kind)
    # snnTorch 1.0 type-checks only with a sample input without the batch dimension.
    nir.write(str(path), export_to_nir(model, torch.zeros(SIZES[0])))
    return model, 1e-4


NORSE_DT = 1e-3
NORSE_TAU_MEM_INV = 125.0  # per-step decay 1 - dt * tau_mem_inv = 0.875; input gain dt * tau_mem_inv = 0.125


def _norse(path):
    pytest.importorskip("norse")
    from norse.torch import SequentialState
    from norse.torch.module.lif_box import LIFBoxCell, LIFBoxParameters
    from norse.torch.utils.export_nir import to_nir

    # The Leaky network in Norse's units (weights 20 x input gain 0.125 = snnTorch's 2.5): two frameworks'
    # exports of one network must give one integer network, with the same counts.
    p = LIFBoxParameters(tau_mem_inv=torch.tensor(NORSE_TAU_MEM_INV))
    model = SequentialState(_linear(SIZES[0], SIZES[1], 20.0, 1), LIFBoxCell(p),
                            _linear(SIZES[1], SIZES[2], 20.0, 2), LIFBoxCell(p))
    graph = to_nir(model, torch.zeros(1, SIZES[0]), dt=NORSE_DT)
    nir.write(str(path), graph, compression=None)  # Norse writes 0-d parameters, which h5py cannot compress
    # Norse 1.1 writes tau = dt / tau_mem_inv (the time constant times dt), so its per-step decay
    # 1 - dt * tau_mem_inv is 1 - dt**2 / tau: its graphs import with a time step of dt**2.
    return model, NORSE_DT**2


def _norse_counts(model, x: np.ndarray) -> np.ndarray:
    xt = torch.as_tensor(x, dtype=torch.float32)
    state = None
    counts = torch.zeros(x.shape[0], SIZES[-1])
    with torch.no_grad():
        for t in range(x.shape[1]):
            out, state = model(xt[:, t], state)
            counts += out
    return counts.numpy()


def _build(framework: str, tmp_path):
    path = tmp_path / f"{framework}.nir"
    if framework == "norse":
        model, dt = _norse(path)
        counts = _norse_counts
    else:
        model, dt = _snntorch_graph(framework, path)
        counts = _snntorch_counts
    imported = import_file(path, dt=dt)
    float_model = imported.model()
    frac = min(choose_frac_bits(float_model, WEIGHT_BITS), frac_bits_cap(float_model, MEMBRANE_BITS))
    net = to_quantized(float_model, QuantSpec(WEIGHT_BITS, MEMBRANE_BITS, frac), T)
    return imported, net, counts(model, _inputs())


FRAMEWORKS = ("Leaky", "Synaptic", "RLeaky", "norse")
NEURON = {"Leaky": "LIF", "Synaptic": "LIF2", "RLeaky": "LIF", "norse": "LIF"}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_integer_spike_counts_agree_with_the_framework(framework, tmp_path):
    torch.set_num_threads(1)
    imported, net, theirs = _build(framework, tmp_path)
    assert [lay.neuron for lay in net.layers] == [NEURON[framework]] * 2
    assert net.layers[0].recurrent == (framework == "RLeaky")
    assert all(lay.beta_error == pytest.approx(0.0, abs=1e-5) for lay in imported.layers)
    ours = simulate(net, _inputs()).counts().astype(np.float64)
    diff = np.abs(ours - theirs)
    assert theirs.sum() > SAMPLES, f"the framework's network barely fires ({theirs.sum()} spikes): a void test"
    within_one = float(np.mean(diff <= 1))
    total = abs(ours.sum() - theirs.sum()) / theirs.sum()
    print(f"{framework}: {within_one:.3f} within one spike, mean |diff| {diff.mean():.3f}, total {total:.3%}")
    assert within_one >= 0.90 and diff.mean() < 0.5 and total < 0.10


@pytest.mark.hdl
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_ghdl_equals_the_integer_model(framework, tmp_path):
    from dse.families.snn import ghdl

    ghdl.require_tools_for_tests(("ghdl",))
    _, net, _ = _build(framework, tmp_path)
    x = _inputs()[:3]
    sim = ghdl.simulate(net, x)
    ref = simulate(net, x)
    np.testing.assert_array_equal(sim.spikes, ref.out_spikes)
    np.testing.assert_array_equal(sim.cycles, ref.cycles[net.scan])

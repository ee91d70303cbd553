"""The generated VHDL, simulated with GHDL, equals the integer reference bit for bit, with the cycles the
reference's analytic model predicts: every neuron model x reset x input encoding x scan x recurrence."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dse.families.snn import ghdl, hdl, reference
from dse.families.snn.network import random_network

pytestmark = pytest.mark.hdl


@pytest.fixture(autouse=True)
def _tools():
    ghdl.require_tools_for_tests(("ghdl",))


def _case(neuron, reset, input_bits, scan, recurrent, readout, seed, density=0.5):
    net = random_network([6, 5, 3], neuron=[neuron, "readout" if readout else neuron], reset=reset,
                         recurrent=[recurrent, False], input_bits=input_bits, time_steps=5, scan=scan, theta=6,
                         membrane_bits=6, weight_bits=5, weight_scale=1.0, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, net.input_max + 1, size=(2, 5, 6)) * (rng.random((2, 5, 6)) < density)
    return net, x


def _check(net, x):
    ref = reference.simulate(net, x)
    sim = ghdl.simulate(net, x)
    if net.has_readout:
        np.testing.assert_array_equal(sim.readout, ref.readout)
    else:
        np.testing.assert_array_equal(sim.spikes, ref.out_spikes)
    np.testing.assert_array_equal(sim.cycles, ref.cycles[net.scan])
    return ref, sim


SPIKING = list(itertools.product(["IF", "LIF", "LIF2"], ["zero", "subtract", "none"], [1, 3], ["full", "event"],
                                 [False, True]))


@pytest.mark.parametrize("neuron, reset, input_bits, scan, recurrent", SPIKING)
def test_spiking_equals_reference(neuron, reset, input_bits, scan, recurrent):
    seed = SPIKING.index((neuron, reset, input_bits, scan, recurrent))
    net, x = _case(neuron, reset, input_bits, scan, recurrent, False, seed)
    ref, _ = _check(net, x)
    assert 0 < ref.spikes[0].mean() < 1  # the case exercises firing and not firing


READOUT = list(itertools.product(["IF", "LIF", "LIF2"], [1, 3], ["full", "event"], [False, True]))


@pytest.mark.parametrize("neuron, input_bits, scan, recurrent", READOUT)
def test_readout_membranes_equal_reference(neuron, input_bits, scan, recurrent):
    seed = 100 + READOUT.index((neuron, input_bits, scan, recurrent))
    net, x = _case(neuron, "subtract", input_bits, scan, recurrent, True, seed)
    ref, _ = _check(net, x)
    assert np.abs(ref.readout).max() > 0


def test_saturation_and_no_leak_readout_three_layers():
    # 3 layers, narrow membranes that hit both rails, readout without leak (k_beta None).
    net = random_network([8, 6, 5, 4], neuron=["LIF", "LIF2", "readout"], reset="zero", recurrent=[False, True, False],
                         time_steps=6, membrane_bits=5, weight_bits=5, weight_scale=1.0, theta=5, seed=7,
                         input_bits=2)
    net.layers[2].k_beta = None
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=(3, 6, 8))
    for scan in ("full", "event"):
        ref, _ = _check(net.with_scan(scan), x)
    assert ref.readout.max() == 15 or ref.readout.min() == -16


def test_event_scan_costs_only_nonzero_inputs_and_empty_steps():
    net, x = _case("LIF", "subtract", 1, "event", False, False, 1)
    x[0, 2] = 0  # a step without any input spike: one zero-valued beat
    x[1] = 0  # a silent sample
    ref, sim = _check(net, x)
    assert sim.cycles[1] < sim.cycles[0] < reference.full_scan_cycles(net)


def test_design_has_no_case_statements_and_one_rom_row_per_line():
    net = random_network([40, 20, 3], time_steps=3)
    files = hdl.generate(net)
    text = "\n".join(files.values())
    assert " case " not in text.lower() and "when others" not in text.lower()
    assert max(len(line) for line in text.splitlines()) < 20 * 6 + 40
    assert files["snn_layer0.vhd"].count('=> "') == 40


def test_parse_outputs_rejects_truncated_output():
    net = random_network([3, 2], time_steps=2)
    with pytest.raises(ValueError, match="sample 0 has 1 steps"):
        hdl.parse_outputs("O 01\nC 5\n", net, 1)
    with pytest.raises(ValueError, match="1 complete samples, expected 2"):
        hdl.parse_outputs("O 01\nO 10\nC 5\n", net, 2)


CLOSED_LOOP = [c for c in itertools.product(["LIF", "LIF2", "IF"], ["full", "event"], [1, 2, 5],
                                            [(False, False), (True, False), (False, True)], [True, False])
               if not (c[4] and c[3][1])]  # a readout layer has no spikes to feed back


@pytest.mark.parametrize("neuron, scan, reuse, recurrent, readout", CLOSED_LOOP)
def test_closed_loop_step_latency_equals_the_model(neuron, scan, reuse, recurrent, readout):
    """A closed loop's timing (each step's inputs 200 cycles after the previous one's: the testbench's GAP):
    every step's output comes the modelled number of cycles after its first input beat (reference.step_latency),
    with the same outputs as at full speed; one- and two-layer networks, shared datapaths included."""
    seed = 200 + CLOSED_LOOP.index((neuron, scan, reuse, recurrent, readout))
    net = random_network([6, 5, 3], neuron=[neuron, "readout" if readout else neuron], recurrent=list(recurrent),
                         time_steps=5, scan=scan, theta=6, membrane_bits=6, weight_bits=5, weight_scale=1.0,
                         seed=seed, reuse_factor=reuse)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(2, 5, 6)) * (rng.random((2, 5, 6)) < 0.5)
    ref = reference.simulate(net, x)
    sim = ghdl.simulate(net, x, gap=200)
    if net.has_readout:
        np.testing.assert_array_equal(sim.readout, ref.readout)
    else:
        np.testing.assert_array_equal(sim.spikes, ref.out_spikes)
    np.testing.assert_array_equal(sim.step_latency, reference.step_latency(net, x, ref.spikes, scan))
    # the output does not wait for the next step's inputs: far below the 200-cycle gap
    assert sim.step_latency.max() < 100


def test_closed_loop_step_latency_of_one_layer_and_refused_for_three():
    net = random_network([6, 3], neuron=["readout"], time_steps=4, scan="event", seed=1, reuse_factor=3)
    x = np.random.default_rng(1).integers(0, 2, size=(2, 4, 6))
    ref = reference.simulate(net, x)
    np.testing.assert_array_equal(ghdl.simulate(net, x, gap=100).step_latency,
                                  reference.step_latency(net, x, ref.spikes, "event"))
    three = random_network([6, 5, 4, 3], neuron=["LIF", "LIF", "readout"], time_steps=4)
    with pytest.raises(ValueError, match="3-layer network"):
        reference.step_latency(three, x, reference.simulate(three, x).spikes, "full")

"""The analytic estimate: cycles exact, resources within the stated error of Yosys on designs synthesized here."""

from __future__ import annotations

import numpy as np
import pytest

from dse.families.snn import ghdl, hw_estimate, reference, synth
from dse.families.snn.network import random_network


def test_cycles_are_the_exact_model():
    net = random_network([30, 12, 4], time_steps=5, scan="event", seed=1)
    x = (np.random.default_rng(0).random((3, 5, 30)) < 0.2).astype(int)
    est = hw_estimate.estimate(net, x=x)
    ref = reference.simulate(net, x)
    assert est.cycles_full == int(ref.cycles["full"][0])
    assert est.cycles_event == pytest.approx(ref.cycles["event"].mean())
    exp = hw_estimate.estimate(net, input_density=0.2, spike_rates=[0.3, 0.3])
    assert exp.cycles_event < exp.cycles_full


def test_bram_count_model():
    assert hw_estimate.ramb18_count(784, 768) == 43  # 1Kx18: 43 RAMB18 = 21.5 RAMB36
    assert hw_estimate.ramb18_count(256, 384) == 11  # 512x36
    # Yosys synth_xilinx on 256-128-10 at R = 16: layer 0's 4096 words x 48 bits in 11 RAMB18 (5 x 2 of
    # 2048x9 + one 4096x4); with rom_style="block" layer 1's 1280 x 6 adds one: 12
    assert hw_estimate.ramb18_count(4096, 48) == 11 and hw_estimate.ramb18_count(1280, 6) == 1
    r16 = random_network([256, 128, 10], neuron=["LIF", "readout"], reuse_factor=16, time_steps=2)
    assert hw_estimate.estimate(r16).bram == 5.5 and hw_estimate.estimate(r16, rom_style="block").bram == 6.0
    big = hw_estimate.estimate(random_network([784, 128, 10], time_steps=2))
    assert big.bram == 21.5 and big.dsp == 0


@pytest.mark.hdl
@pytest.mark.slow
@pytest.mark.parametrize("sizes, kw", [([40, 20, 5], {}), ([24, 16, 4], {"scan": "event", "neuron": "LIF2"})])
def test_estimate_within_stated_error_of_yosys(tmp_path, sizes, kw):
    ghdl.require_tools_for_tests(("ghdl", "yosys", "iverilog"))
    net = random_network(sizes, time_steps=3, weight_bits=6, membrane_bits=8, theta=12, seed=5, **kw)
    res = synth.synthesize(net, "xc7a35t", work_dir=tmp_path, check_inputs=synth.check_samples(net, samples=1))
    est = hw_estimate.estimate(net)
    assert abs(est.lut - res.lut) <= hw_estimate.ERROR["lut"] * res.lut, (est.lut, res.lut)
    assert abs(est.ff - res.ff) <= hw_estimate.ERROR["ff"] * res.ff, (est.ff, res.ff)
    assert est.bram == res.bram


def test_lut_ram_of_shared_datapaths_is_counted():
    # Yosys' mapping of designs synthesized for this test's numbers (RAM32M: 4 LUTs, 8 bits at 32 words):
    # 256-128-10 LIF/readout, R = 16: 9 RAM32M; 10-6-3 LIF2/readout, R = 2: 8 RAM32M.
    big = random_network([256, 128, 10], neuron=["LIF", "readout"], reuse_factor=16, time_steps=2)
    assert hw_estimate.features(big)["lutram"] == 4 * 9
    small = random_network([10, 6, 3], neuron=["LIF2", "readout"], reuse_factor=2, time_steps=2)
    assert hw_estimate.features(small)["lutram"] == 4 * 8
    assert hw_estimate.features(random_network([10, 6, 3], time_steps=2))["lutram"] == 0
    assert hw_estimate.lutram_luts(64, 8) == 4 * 2  # RAM64M: 4 bits a cell
    # every weight ROM in block RAM with rom_style="block": one RAMB18 per small layer
    assert hw_estimate.estimate(small, rom_style="block").bram == 1.0

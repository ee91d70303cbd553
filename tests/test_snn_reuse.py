"""The SNN reuse factor R: shared neuron datapaths give the same bits as the integer reference for every
neuron model, reset, recurrence and scan, in the cycles the reference's model predicts (GHDL, and the
checked Yosys netlist); R = 1 is the fully parallel design, unchanged."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dse.families.snn import ghdl, hdl, reference, synth
from dse.families.snn.network import QuantizedSNN, random_network


def test_units_and_groups():
    net = random_network([6, 128, 10], reuse_factor=16)
    assert net.units == [8, 1] and net.groups == [16, 10]  # a layer smaller than R: one datapath
    net = random_network([6, 128, 10], reuse_factor=[3, 4])
    assert net.units == [43, 3] and net.groups == [3, 4]  # 43 * 3 = 129: the last datapath is part-idle
    assert random_network([4, 5, 3]).groups == [1, 1]


@pytest.mark.parametrize("value, message", [
    (0, r"reuse_factor: must be an integer >= 1, got 0"),
    ([2], r"reuse_factor: 1 values for 2 layers"),
    ([2, 4], r"reuse_factor\[1\]: 4 outside 1..3 for layer 1 of 3 neurons"),
    ([0, 1], r"reuse_factor\[0\]: 0 outside 1..5 for layer 0 of 5 neurons"),
    ("2", r"reuse_factor: must be an integer >= 1 or a list"),
])
def test_bad_reuse_factor_is_refused(value, message):
    with pytest.raises(ValueError, match=message):
        random_network([4, 5, 3], reuse_factor=value)


def test_cycle_model_by_hand():
    # 6-5-3, R = 2: layer 0 has 3 datapaths x 2 groups, layer 1 2 x 2. Busy cycles per step:
    # layer 0: 6 inputs x 2 groups + 1 extra update clock = 13; layer 1: 5 x 2 + 1 = 11. Stages (T = 5,
    # 2 layers): 13 + 4, then 4 x (max(13, 11) + 4), then 11 + 4; plus 1 to raise done.
    net = random_network([6, 5, 3], time_steps=5, reuse_factor=2)
    assert reference.full_scan_cycles(net) == 1 + 17 + 4 * 17 + 15
    x = np.zeros((1, 5, 6), np.int64)
    assert reference.simulate(net, x).cycles["full"][0] == 1 + 17 + 4 * 17 + 15
    # event scan, no input at all: every layer scans one (empty) beat: 1 x 2 + 1 = 3 cycles
    assert reference.simulate(net.with_scan("event"), x).cycles["event"][0] == 6 * (3 + 4) + 1
    # R = 1 is the parallel design's model: fan_in + 4 per stage
    assert reference.full_scan_cycles(net.with_reuse(1)) == 1 + 10 + 4 * 10 + 9


def test_r1_generates_the_parallel_design_and_weights_are_packed():
    net = random_network([12, 8, 3], time_steps=3)
    assert hdl.generate(net) == hdl.generate(net, reuse_factor=1) == hdl.generate(net.with_reuse([1, 1]))
    files = hdl.generate(net, reuse_factor=4)
    layer0 = files["snn_layer0.vhd"]
    # 2 datapaths x 4 groups: 12 inputs x 4 groups = 48 words of 2 x 6 bits
    assert "type rom_t is array (0 to 47) of std_logic_vector(11 downto 0);" in layer0
    assert "type mem_t is array (0 to 3) of std_logic_vector(15 downto 0);" in layer0
    assert hdl.generate(net, reuse_factor=4) != hdl.generate(net)


def _case(neuron, reset, scan, recurrent, readout, reuse, seed):
    net = random_network([6, 5, 3], neuron=[neuron, "readout" if readout else neuron], reset=reset,
                         recurrent=[recurrent, False], input_bits=1 + 2 * (seed % 2), time_steps=5, scan=scan,
                         theta=6, membrane_bits=6, weight_bits=5, weight_scale=1.0, seed=seed, reuse_factor=reuse)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, net.input_max + 1, size=(2, 5, 6)) * (rng.random((2, 5, 6)) < 0.5)
    return net, x


CASES = list(itertools.product(["IF", "LIF", "LIF2"], ["full", "event"], [False, True], [False, True]))
REUSE = (2, 3, 5, [2, 3], [5, 1])
RESETS = ("zero", "subtract", "none")


@pytest.mark.hdl
@pytest.mark.parametrize("neuron, scan, recurrent, readout", CASES)
def test_shared_datapaths_equal_reference_in_ghdl(neuron, scan, recurrent, readout):
    ghdl.require_tools_for_tests(("ghdl",))
    k = CASES.index((neuron, scan, recurrent, readout))
    net, x = _case(neuron, RESETS[k % 3], scan, recurrent, readout, REUSE[k % len(REUSE)], k)
    assert max(net.groups) > 1
    ref = reference.simulate(net, x)
    sim = ghdl.simulate(net, x)
    if readout:
        np.testing.assert_array_equal(sim.readout, ref.readout)
        assert np.abs(ref.readout).max() > 0
    else:
        np.testing.assert_array_equal(sim.spikes, ref.out_spikes)
        assert 0 < ref.spikes[0].mean() < 1
    np.testing.assert_array_equal(sim.cycles, ref.cycles[scan])
    # the same network without sharing gives the same bits in fewer cycles
    flat = reference.simulate(net.with_reuse(1), x)
    np.testing.assert_array_equal(flat.spikes[0], ref.spikes[0])
    assert (flat.cycles[scan] < ref.cycles[scan]).all()


def _synth_net(neuron: str, scan: str, reuse, recurrent: bool, readout: bool) -> QuantizedSNN:
    return random_network([10, 6, 3], neuron=[neuron, "readout" if readout else neuron], time_steps=4, scan=scan,
                          theta=6, membrane_bits=6, weight_bits=5, weight_scale=1.0, recurrent=[recurrent, False],
                          input_bits=2, seed=11, reuse_factor=reuse)


SYNTH = [("LIF2", "event", 2, True, True), ("IF", "full", [3, 2], False, False), ("LIF", "event", 6, True, False),
         ("LIF", "full", 4, False, True), ("IF", "event", [2, 3], True, True), ("LIF2", "full", 3, False, False)]


@pytest.mark.hdl
@pytest.mark.parametrize("neuron, scan, reuse, recurrent, readout", SYNTH[:3])
def test_shared_datapaths_synthesize_checked(tmp_path, neuron, scan, reuse, recurrent, readout):
    """No latch, and the Xilinx netlist (membranes in LUT RAM) simulates equal to the reference."""
    ghdl.require_tools_for_tests(("ghdl", "yosys", "iverilog", "vvp"))
    net = _synth_net(neuron, scan, reuse, recurrent, readout)
    res = synth.synthesize(net, "xc7a35t", work_dir=tmp_path)
    assert res.checks["latch_free"] is True and res.checks["netlist_sim_equal_reference"] is True
    assert res.dsp == 0 and res.cells.get("RAM32M", 0) > 0  # membranes in LUT RAM
    # LUT counts the LUTs of the LUT RAM too: 4 per RAM32M (7-series data sheet)
    logic = sum(n for c, n in res.cells.items() if c in {f"LUT{k}" for k in range(1, 7)})
    assert set(res.cells) & {"RAM64M", "RAM32X1D", "RAM64X1D", "SRLC32E", "SRL16E"} == set()
    assert res.lut == logic + 4 * res.cells["RAM32M"]


@pytest.mark.hdl
@pytest.mark.slow
@pytest.mark.parametrize("neuron, scan, reuse, recurrent, readout", SYNTH[3:])
def test_shared_datapaths_synthesize_checked_more(tmp_path, neuron, scan, reuse, recurrent, readout):
    test_shared_datapaths_synthesize_checked(tmp_path, neuron, scan, reuse, recurrent, readout)


def test_mark_roms_tags_only_memories_with_contents():
    v = ("  reg [5:0] n12[9:0] ; // memory\n  initial begin\n    n12[0] = 6'b0;\n  end\n"
         "  reg [7:0] vmem[3:0] ; // memory\n  always @(posedge clk)\n")
    out = synth.mark_roms(v, "block")
    assert '(* rom_style = "block" *) reg [5:0] n12[9:0]' in out and out.count("rom_style") == 1
    assert synth.mark_roms(v, "auto") == v
    with pytest.raises(ValueError, match="rom_style: must be one of"):
        synth.mark_roms(v, "bram")


@pytest.mark.hdl
def test_block_rom_style_puts_small_weight_memories_in_bram(tmp_path):
    """rom_style="block": the packed weight words of a shared layer come from RAMB18 (checked with dse's
    behavioural block-RAM models), where Yosys' own choice keeps them in LUTs."""
    ghdl.require_tools_for_tests(("ghdl", "yosys", "iverilog", "vvp"))
    net = _synth_net("LIF", "event", 2, False, False)
    res = synth.synthesize(net, "xc7a35t", work_dir=tmp_path, rom_style="block")
    assert res.bram == 1.0 and res.cells["RAMB18E1"] == 2  # one RAMB18 per layer
    assert res.checks["netlist_sim_equal_reference"] is True


def test_digits16_example_searches_the_reuse_factor_as_a_free_parameter():
    from pathlib import Path

    from dse.study import load_study

    cfg = load_study(Path(__file__).resolve().parents[1] / "examples" / "snn-digits16.yaml")
    space = cfg.search_space()
    assert space.grid_size() == 2 * 2 * 6
    assert {"hdl.reuse_factor", "hdl.rom_style"} <= set(space.family.free_params)
    assert space.family.cross_checks(space.specs) == []
    # points that differ only in R share their training and their integer simulation
    fam = space.family
    a = {"model.task": "digits16", "hdl.scan": "full", "hdl.reuse_factor": 1, "quantization.weight_bits": 6}
    b = {**a, "hdl.reuse_factor": 16}
    assert fam.training_key(a) == fam.training_key(b) and fam.simulation_key(a) == fam.simulation_key(b)
    assert fam.simulation_key(a) != fam.simulation_key({**a, "quantization.weight_bits": 4})


def test_preflight_takes_fractional_bits_that_hold_the_threshold_and_counts_sharing():
    """With membrane_bits fixed, the preflight estimate quantizes as the quantizer does (fractional bits
    that keep the threshold representable) instead of failing the trial; R shrinks the estimate."""
    from types import SimpleNamespace

    from dse.families.records import Design
    from dse.families.snn.model import SNNDescription
    from dse.families.snn.pipeline import _preflight
    from dse.trial.context import Pruned

    desc = SNNDescription.from_dict({"n_inputs": 256, "layers": [
        {"size": 128, "neuron": "LIF", "k_beta": 3, "threshold": 1.0}, {"size": 10, "neuron": "readout", "k_beta": 3}],
        "encoding": {"kind": "rate", "steps": 25}})
    design = {"family": "snn", "params": {}, "hardware": {"backend": "yosys", "part": "xc7a100t", "clock_ns": 10.0},
              "scan": "full", "rom_style": "auto",
              "quantization": {"weight_bits": 6, "membrane_bits": 8, "frac_bits": None}}

    def trial(limit: float):
        return SimpleNamespace(spec=SimpleNamespace(max_utilisation=limit))

    def with_r(r):
        return Design.from_dict({**design, "reuse_factor": r})

    _preflight(trial(1.0), desc, None, with_r(1))  # fits: no exception
    # 22 RAMB18 of 270 and about 5,200 estimated LUT of 63,400 (Yosys: 4,653 with every ROM in block RAM): both
    # about 8 %, the larger of the two is named
    with pytest.raises(Pruned, match=r"the network needs 8% of the xc7a100t (bram_18k|lut)"):
        _preflight(trial(0.05), desc, None, with_r(1))
    _preflight(trial(0.05), desc, None, with_r(16))  # 11 RAMB18 with R = 16: 4 %

"""R = 1 writes the design the generator wrote before the reuse factor existed.

The golden VHDL in tests/fixtures/snn_r1_golden_7b3c99a.json was written by the generator at commit 7b3c99a
(before it was split into dse/families/snn/hdl/* and got R; `python bench/snn_old_generator.py FILE` extracts
that commit's dse and runs it), for small networks covering every neuron model, reset, recurrence,
multi-bit input and both scans. Today's generator at R = 1 must write the same text, byte for byte, except
for one later change of the top entity: ``out_valid`` rises when the last layer has finished its step instead
of when the whole stage has (a closed loop's output does not wait for the next bin's input; the cycles from
run to done are unchanged). :func:`_with_early_out_valid` applies exactly that change to the golden top.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from dse.families.snn import hdl
from dse.families.snn.network import QuantizedSNN, SNNLayer

GOLDEN = json.loads((Path(__file__).parent / "fixtures" / "snn_r1_golden_7b3c99a.json").read_text())


def _network(d: dict) -> QuantizedSNN:
    def arr(a):
        return None if a is None else np.array(a, dtype=np.int64)

    layers = [SNNLayer(arr(lay["weights"]), recurrent_weights=arr(lay["recurrent_weights"]),
                       **{k: v for k, v in lay.items() if k not in ("weights", "recurrent_weights")})
              for lay in d["layers"]]
    return QuantizedSNN(layers, **{k: v for k, v in d.items() if k != "layers"})


def test_golden_covers_the_models_and_scans():
    layers = [lay for case in GOLDEN["cases"].values() for lay in case["network"]["layers"]]
    assert {lay["neuron"] for lay in layers} == {"IF", "LIF", "LIF2", "readout"}
    assert {lay["reset"] for lay in layers} >= {"zero", "subtract", "none"}
    assert any(lay["recurrent_weights"] is not None for lay in layers)
    assert {case["network"]["scan"] for case in GOLDEN["cases"].values()} == {"full", "event"}


def _with_early_out_valid(top: str, n_layers: int) -> str:
    """The golden top with out_valid raised when the last layer is done (its only change since)."""
    last = n_layers - 1
    old_ov = f"            if stage >= {last} then\n              ov <= '1';\n            end if;\n"
    assert top.count(old_ov) == 1
    top = top.replace(old_ov, "")
    top = top.replace("  signal ov : std_logic;\n", "  signal ov : std_logic;\n  signal out_pending : std_logic;\n", 1)
    top = top.replace("        ov <= '0';\n      else\n", "        ov <= '0';\n        out_pending <= '0';\n      else\n", 1)
    early = ("        -- out_valid: as soon as the last layer has finished its step (not when the whole stage has), so "
             "a step's\n        -- output does not wait for the first layer's next step, i.e. for the next bin's "
             "input in a closed loop\n"
             f"        if start{last} = '1' then\n          out_pending <= '1';\n"
             f"        elsif cst = C_WAIT and out_pending = '1' and done{last} = '1' then\n"
             "          ov <= '1';\n          out_pending <= '0';\n        end if;\n")
    top, n = re.subn(r"(      else\n        ov <= '0';\n)", lambda m: m.group(1) + early, top, count=1)
    assert n == 1
    return top


@pytest.mark.parametrize("name", sorted(GOLDEN["cases"]))
def test_r1_vhdl_equals_the_old_generator(name):
    case = GOLDEN["cases"][name]
    net = _network(case["network"]).with_reuse(1)
    new = hdl.generate(net)
    assert list(new) == list(case["vhdl"])  # same files in the same (analysis) order
    for fname, text in case["vhdl"].items():
        if fname == f"{hdl.TOP}.vhd":
            text = _with_early_out_valid(text, len(net.layers))
        assert new[fname] == text, f"{name}: {fname} differs from the generator at {GOLDEN['generator_commit']}"


def test_r2_is_not_the_old_design():
    """The comparison can fail: R = 2 on the same network writes other VHDL."""
    case = GOLDEN["cases"]["lif_readout_full"]
    net = _network(case["network"]).with_reuse(2)
    assert hdl.generate(net) != case["vhdl"]

"""The SNN VHDL generator as it was before the reuse factor, run on today's networks.

OLD_GENERATOR is the commit before the generator was split into dse/families/snn/hdl/* (dd2f6ff) and got
the reuse factor R (a0fa9f5): "today's design" in the issue that asked R = 1 to keep it. Its `dse` package
is extracted with `git archive` into a temporary folder and run in a subprocess (its own imports, not this
checkout's); the network goes over as JSON of the fields both versions' QuantizedSNN/SNNLayer share.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_GENERATOR = "7b3c99a"

_LAYER_FIELDS = ("neuron", "reset", "k_beta", "k_alpha", "theta_int", "name")
_NET_FIELDS = ("weight_bits", "membrane_bits", "frac_bits", "input_bits", "time_steps", "scan", "name")

_RUN_OLD = """
import json, sys
import numpy as np
from dse.families.snn import hdl
from dse.families.snn.network import QuantizedSNN, SNNLayer
def arr(a):
    return None if a is None else np.array(a, dtype=np.int64)
d = json.load(sys.stdin)
layers = [SNNLayer(arr(lay["weights"]), recurrent_weights=arr(lay["recurrent_weights"]),
                   **{k: v for k, v in lay.items() if k not in ("weights", "recurrent_weights")})
          for lay in d.pop("layers")]
json.dump(hdl.generate(QuantizedSNN(layers, **d)), sys.stdout)
"""


def net_to_json(net) -> dict:
    """The fields of an R = 1 QuantizedSNN that the old generator also has (meta and R left out)."""
    if any(r != 1 for r in net.reuse_factors):
        raise ValueError(f"the old generator has no reuse factor: network has R = {net.reuse_factors}")
    layers = [{"weights": layer.weights.tolist(),
               "recurrent_weights": None if layer.recurrent_weights is None else layer.recurrent_weights.tolist(),
               **{k: getattr(layer, k) for k in _LAYER_FIELDS}} for layer in net.layers]
    return {"layers": layers, **{k: getattr(net, k) for k in _NET_FIELDS}}


def net_from_json(d: dict):
    """Today's QuantizedSNN from net_to_json's dict (R = 1)."""
    import numpy as np

    from dse.families.snn.network import QuantizedSNN, SNNLayer

    layers = [SNNLayer(np.array(lay["weights"], dtype=np.int64),
                       recurrent_weights=(None if lay["recurrent_weights"] is None
                                          else np.array(lay["recurrent_weights"], dtype=np.int64)),
                       **{k: lay[k] for k in _LAYER_FIELDS}) for lay in d["layers"]]
    return QuantizedSNN(layers, **{k: d[k] for k in _NET_FIELDS})


def old_generate(nets: list[dict], commit: str = OLD_GENERATOR) -> list[dict[str, str]]:
    """hdl.generate of the old generator (at `commit`) for each network given as net_to_json's dict."""
    with tempfile.TemporaryDirectory(prefix="dse_old_gen_") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "dse"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        env = {**os.environ, "PYTHONPATH": tmp}
        out = []
        for d in nets:
            r = subprocess.run([sys.executable, "-c", _RUN_OLD], input=json.dumps(d), capture_output=True, text=True,
                               cwd=tmp, env=env)
            if r.returncode != 0:
                raise RuntimeError(f"old generator ({commit}) failed: {r.stderr.strip().splitlines()[-1:]}")
            out.append(json.loads(r.stdout))
        return out


def golden_networks() -> dict[str, object]:
    """Small R = 1 networks covering every neuron model, every reset, recurrence, multi-bit input and both
    scans: the cases whose VHDL the old generator's golden file pins."""
    from dse.families.snn.network import random_network

    return {
        "lif_readout_full": random_network([12, 8, 3], neuron=["LIF", "readout"], scan="full", seed=1),
        "if_lif2_recurrent_event": random_network([12, 8, 3], neuron=["IF", "LIF2"], reset="zero",
                                                  recurrent=[True, False], scan="event", seed=2),
        "lif2_lif_multibit_none_event": random_network([10, 6, 4], neuron=["LIF2", "LIF"], reset="none",
                                                       input_bits=3, recurrent=[False, True], scan="event",
                                                       seed=3),
        "lif_readout_recurrent_full": random_network([9, 7, 2], neuron=["LIF", "readout"], recurrent=[True, False],
                                                     membrane_bits=10, weight_bits=4, scan="full", seed=4),
    }


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="write the old generator's VHDL of golden_networks() as a fixture")
    ap.add_argument("out", type=Path, help="fixture JSON, e.g. tests/fixtures/snn_r1_golden_7b3c99a.json")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    nets = {name: net_to_json(net) for name, net in golden_networks().items()}
    vhdl = old_generate(list(nets.values()))
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", OLD_GENERATOR], capture_output=True, text=True,
                            check=True).stdout.strip()
    data = {"note": f"VHDL written by dse's SNN generator at commit {commit} (before the reuse factor; "
                    "dse/families/snn/hdl/__init__.py's generate) for these networks, by `python "
                    "bench/snn_old_generator.py " + str(args.out) + "`. Today's generator at R = 1 must "
                    "write the same text (tests/test_snn_r1_golden.py).",
            "generator_commit": commit,
            "cases": {name: {"network": nets[name], "vhdl": v} for name, v in zip(nets, vhdl, strict=True)}}
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"{args.out}: {len(nets)} networks, {sum(len(t) for v in vhdl for t in v.values()):,} characters of VHDL")


if __name__ == "__main__":
    main()

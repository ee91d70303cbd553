"""``dse hdl GRAPH.nir`` end to end through the real CLI: a graph written by snnTorch's ``export_to_nir``
becomes a project folder with the GHDL check and the checked Yosys synthesis, and the JSON summary."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.hdl


def _snntorch_graph(path, sizes=(64, 6, 10)) -> None:
    import nir
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1], bias=False)
        with torch.no_grad():
            lin.weight.normal_(0.0, 3.0 / np.sqrt(sizes[i]))
        layers += [lin, snn.Leaky(beta=torch.full((sizes[i + 1],), 0.875), threshold=torch.ones(sizes[i + 1]),
                                  init_hidden=True, reset_mechanism="zero", reset_delay=False,
                                  output=i == len(sizes) - 2)]
    nir.write(str(path), export_to_nir(torch.nn.Sequential(*layers), torch.zeros(sizes[0])))


def _dse(*argv: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dse.cli", *argv], capture_output=True, text=True, cwd=cwd,
                          timeout=900)


def test_dse_hdl_builds_a_checked_project_from_an_snntorch_graph(tmp_path):
    from dse.families.snn.ghdl import require_tools_for_tests
    from dse.families.snn.tasks import load_task

    require_tools_for_tests(("ghdl", "yosys", "iverilog"))
    _snntorch_graph(tmp_path / "net.nir")
    p = _dse("hdl", "net.nir", "--weight-bits", "6", "--membrane-bits", "10", "--eval-task", "digits",
             "--time-steps", "4", "--scan", "event", "-o", "proj", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["ghdl_equal"] is True and r["lut"] > 0 and r["ff"] > 0 and r["dsp"] == 0 and r["bram_18k"] >= 0
    assert r["latency_cycles"] > 0 and 0.0 <= r["accuracy"] <= 1.0 and r["test_samples"] == len(load_task("digits").test)
    assert r["synthesis_checks"]["latch_free"] and r["synthesis_checks"]["netlist_sim_equal_reference"]
    assert [lay["neuron"] for lay in r["layers"]] == ["LIF", "LIF"] and r["membrane_bits"] == 10
    proj = tmp_path / "proj"
    files = {p.relative_to(proj).as_posix() for p in proj.rglob("*") if p.is_file()}
    assert {"run_ghdl.sh", "run_yosys.sh", "vivado.tcl", "README.md", "network.json", "network.nir",
            "import.json", "sim/expected_outputs.txt", "hdl/snn_top.vhd"} <= files
    assert "## From NIR" in (proj / "README.md").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".proj-")], "the temporary folder is left"
    # the written network.nir is the integer network: imported at its own bits it gives the same weights
    from dse.families.snn.model import QuantSpec
    from dse.families.snn.nir_import import import_file
    from dse.families.snn.quantize import to_quantized

    net = json.loads((proj / "network.json").read_text())
    back = to_quantized(import_file(proj / "network.nir").model(),
                        QuantSpec(net["weight_bits"], net["membrane_bits"], net["frac_bits"]), net["time_steps"])
    for want, got in zip(net["layers"], back.layers, strict=True):
        np.testing.assert_array_equal(np.asarray(want["weights"]), got.weights)


def test_a_study_searches_the_hardware_of_a_nir_network(tmp_path):
    """``model.nir`` in an snn study: the network comes from the file (no training), each trial quantizes
    it at its own bits and costs it; the float accuracy is the graph's own, the same for every trial."""
    import yaml
    from reliability_helpers import dse

    from dse.families.snn.ghdl import require_tools_for_tests

    require_tools_for_tests(("ghdl",))
    _snntorch_graph(tmp_path / "net.nir")
    study = {"name": "nirstudy", "family": "snn",
             "model": {"task": "digits", "encoding": "rate", "time_steps": 4, "nir": "net.nir"},
             "quantization": {"weight_bits": {"choices": [4, 6]}, "membrane_bits": 10},
             "objectives": ["accuracy", "lut"], "sampler": {"name": "grid"}, "n_trials": 2,
             "execution": {"workers": 1, "cpus_per_trial": 1},
             "hardware": {"backend": "hdl-estimate", "part": "xc7a35t"}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    r = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    from storage import open_storage

    with open_storage(f"sqlite:///{tmp_path / 'nirstudy.db'}") as st:
        results = [st.project.load_result("nirstudy", n) for n in (0, 1)]
    assert all(res.cache["model"] is False and "model" not in {a.kind for a in res.artifacts} for res in results)
    floats = {res.accuracy["float"]["accuracy"] for res in results}
    assert len(floats) == 1, "both trials score the one imported float network"
    assert {res.accuracy["quantization"]["weight_bits"] for res in results} == {4, 6}
    assert all(res.hardware["lut"] > 0 for res in results)


def test_dse_hdl_reuse_factor_out_of_range_is_one_line(tmp_path):
    """--reuse-factor is checked against the imported network's layer sizes before anything is written."""
    import subprocess
    import sys

    import nir
    import numpy as np

    graph = nir.NIRGraph.from_list(nir.Input(np.array([4])), nir.Linear(np.ones((3, 4))),
                                   nir.LIF(tau=np.full(3, 8e-4), r=np.full(3, 8.0), v_leak=np.zeros(3),
                                           v_threshold=np.ones(3)), nir.Output(np.array([3])))
    path = tmp_path / "g.nir"
    nir.write(path, graph)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "dse.cli", "hdl", str(path), "--weight-bits", "6", "--reuse-factor",
                        "2 2", "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip().splitlines() == [
        "dse hdl: error: command line: --reuse-factor: reuse_factor: 2 values for 1 layers"], r.stderr
    assert not out.exists() and not list(tmp_path.glob(".out-*"))

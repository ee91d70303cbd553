"""The LFADS family's export payload: the hls4ml project with testbench data, the model, a README.

Layout it adds to the package (beside design.json and reports/, written for every family)::

    hls_project/      the hls4ml project: firmware/, build_prj.tcl (Vitis/Vivado HLS), testbench,
                      tb_data/ with test-trial inputs and the expected C-simulation outputs
    model/model.h5    the trained Keras/QKeras deploy model
    hls_config.yml    hls4ml's configuration of the project
    csim.sh           compiles and runs the C-simulation testbench with g++ alone
    README.md         how to build it on an FPGA machine
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from dse.export import ExportRequest, copytree_inside, inside

TB_TRIALS = 5

#: Compiles the project's testbench (``myproject_test.cpp``) with g++ alone; both scripts below start with it.
_CSIM_BUILD = """set -euo pipefail
cd "$(dirname "$0")/hls_project"
g++ -O2 -std=c++14 -Ifirmware -Ifirmware/ap_types -Ifirmware/nnet_utils -DWEIGHTS_DIR='"firmware/weights"' \\
    myproject_test.cpp firmware/myproject.cpp -o csim_tb
"""

CSIM_SH = """#!/usr/bin/env bash
# C simulation of the exported design with g++ alone: compiles the hls4ml testbench, runs it on
# tb_data/tb_input_features.dat and compares with tb_data/tb_output_predictions.dat.
""" + _CSIM_BUILD + """./csim_tb > tb_data/csim_stdout.log
echo "C-simulation outputs written to hls_project/tb_data/csim_results.log"
"""

STREAM_CSIM_SH = """#!/usr/bin/env bash
# C simulation of the exported causal design with g++ alone: compiles the streaming testbench, which runs
# the test trials through one bin's step at a time (carrying its states) and compares every bin's outputs
# with tb_data/stream_expected.dat; exits non-zero on any difference.
""" + _CSIM_BUILD + """./csim_tb | tee tb_data/csim_stdout.log
echo "C-simulation outputs written to hls_project/tb_data/csim_results.log (one line per bin)"
"""


def _fmt(rows: np.ndarray) -> str:
    return "\n".join(" ".join(f"{v:.8g}" for v in row) for row in rows) + "\n"


def export(req: ExportRequest, work: Path) -> list[str]:
    """Write the payload of ``req``'s trial into ``work`` (see the module docstring)."""
    from dse.errors import ConfigError
    from dse.families.lfads.pipeline import FACTORS, LOGRATES, stored_hardware_model
    from dse.hls.cache import compile_model
    from dse.hls.csim import run_csim
    from dse.hls.design import HLSDesign
    from dse.trial.runner import load_split

    model_art = next((a for a in req.result.artifacts if a.kind == "model"), None)
    if model_art is None or not Path(model_art.path).is_file():
        raise ConfigError(req.source, f"trial {req.number}: its trained model is gone from the cache "
                          f"({model_art.path if model_art else 'no artifact'})", "--trial")
    hls_design = HLSDesign.from_dict(req.design["hls"])
    model, step = stored_hardware_model(req.design["model"], Path(model_art.path))
    compiled = compile_model(model, hls_design, req.build_cache_dir)
    copytree_inside(compiled.project_dir, work / "hls_project", work)
    inside(work, work / "model").mkdir()
    shutil.copy2(model_art.path, inside(work, work / "model" / "model.h5"))
    shutil.copy2(compiled.project_dir / "hls4ml_config.yml", inside(work, work / "hls_config.yml"))

    split = load_split(req.data)
    spikes = split.test.spikes[:TB_TRIALS].astype(np.float64)
    if step is not None:  # one bin's step: a testbench that streams the trials bin by bin
        _stream_testbench(compiled.hls_model, step, spikes, work)
        (work / "README.md").write_text(_readme(req, hls_design, per_bin=True))
        return ["hls_project", "model/model.h5", "hls_config.yml", "csim.sh", "README.md"]
    sim = run_csim(compiled.hls_model, spikes)
    n = len(spikes)
    inputs = np.concatenate([spikes.reshape(n, -1), np.zeros((n, spikes.shape[1]))], axis=1)
    preds = np.concatenate([sim[LOGRATES].reshape(n, -1), sim[FACTORS].reshape(n, -1)], axis=1)
    tb = inside(work, work / "hls_project" / "tb_data")
    tb.mkdir(exist_ok=True)
    (tb / "tb_input_features.dat").write_text(_fmt(inputs))
    (tb / "tb_output_predictions.dat").write_text(_fmt(preds))
    (work / "csim.sh").write_text(CSIM_SH)
    (work / "csim.sh").chmod(0o755)
    (work / "README.md").write_text(_readme(req, hls_design))
    return ["hls_project", "model/model.h5", "hls_config.yml", "csim.sh", "README.md"]


def _stream_testbench(hls_model: Any, step: Any, spikes: np.ndarray, work: Path) -> None:
    """The causal design's testbench (:mod:`dse.families.lfads.stream_tb`) in place of hls4ml's, its data and
    the script that runs it with g++."""
    from dse.families.lfads.step import run_csim_stream
    from dse.families.lfads.stream_tb import testbench, write_tb_data
    from dse.hls.csim import CSimOutput

    sim: CSimOutput = run_csim_stream(hls_model, step, spikes)
    project = work / "hls_project"
    tb = inside(work, project / "tb_data")
    tb.mkdir(exist_ok=True)
    write_tb_data(tb, step, spikes, sim["logrates"], sim["factors"])
    # the project's build_prj.tcl compiles <project>_test.cpp for C simulation and co-simulation
    inside(work, project / "myproject_test.cpp").write_text(testbench(hls_model, spikes.shape[0], spikes.shape[1]))
    (work / "csim.sh").write_text(STREAM_CSIM_SH)
    (work / "csim.sh").chmod(0o755)


def _readme(req: ExportRequest, design: Any, per_bin: bool = False) -> str:
    hw = req.result.hardware or {}
    acc = req.result.accuracy.get("csim", {})
    tool = "vitis-run --mode hls --tcl build_prj.tcl" if design.backend == "Vitis" else "vivado_hls -f build_prj.tcl"
    lines = [
        f"# {req.study}, trial {req.number}: LFADS on {design.part} at {design.clock_period:g} ns",
        "",
        f"Exported by dse from study `{req.study}`. Parameters: "
        + ", ".join(f"`{k}={v}`" for k, v in req.params.items()),
        "",
        "## What it measured",
        "",
        f"- accuracy (bit-accurate C simulation, test trials): behaviour R² {acc.get('behavior_r2')}, "
        f"NPLL {acc.get('npll')}, bits/spike {acc.get('bits_per_spike')}, rate R² {acc.get('rate_r2')}",
        f"- hardware ({hw.get('backend')}{', ' + hw['tool_version'] if hw.get('tool_version') else ''}): "
        f"latency {hw.get('latency_cycles')} cycles = {hw.get('latency_us')} µs"
        f"{' per 10 ms bin (one call of the step)' if per_bin else ' per trial'}, II {hw.get('ii_cycles')}, "
        f"DSP {hw.get('dsp')}, LUT {hw.get('lut')}, FF {hw.get('ff')}, BRAM_18K {hw.get('bram_18k')}",
        "",
        "## Build on an FPGA machine",
        "",
        f"Needs {'Vitis HLS (2023.2 or newer)' if design.backend == 'Vitis' else 'Vivado HLS'} on PATH.",
        "",
        "```bash",
        "cd hls_project",
        "# C simulation + C synthesis (edit build_opt.tcl to enable cosim, export or Vivado synthesis)",
        tool,
        "```",
        "",
        "Reports land in `hls_project/myproject_prj/solution1/syn/report/`. Without an HLS tool, `./csim.sh`",
        "compiles the testbench with g++ and checks the design on five test trials (tb_data/).",
        *(["",
           "This is a causal design: the top function computes one bin. Its inputs are the bin's spike counts and",
           "the encoder, controller and generator GRU states; its outputs are the bin's log-rates and factors and",
           "the new states, which the surrounding logic keeps in registers and feeds back at the next bin (the",
           "testbench `myproject_test.cpp` does exactly that over whole trials, starting from",
           "`tb_data/stream_initial_states.dat`, and fails on any difference from dse's C simulation)."]
          if per_bin else []),
        "",
        "## Contents",
        "",
        "- `hls_project/` hls4ml project (firmware, build scripts, testbench, tb_data)",
        "- `model/model.h5` trained Keras/QKeras model (load with `dse.families.lfads.model.custom_objects()`)",
        "- `design.json`, `hls_config.yml` the design point and hls4ml configuration",
        "- `reports/` accuracy, hardware and full trial result",
    ]
    return "\n".join(lines) + "\n"

"""Export one trial as a deployable package (hls4ml project, model, design, reports, README).

Layout of the package directory::

    hls_project/      the hls4ml project: firmware/, build_prj.tcl (Vitis/Vivado HLS), testbench,
                      tb_data/ with test-trial inputs and the expected C-simulation outputs
    model/model.h5    the trained Keras/QKeras deploy model
    design.json       the design point (model, training, hls settings, Optuna params)
    hls_config.yml    hls4ml's configuration of the project
    reports/          accuracy.json (float and C-sim), hardware.json, result.json
    csim.sh           compiles and runs the C-simulation testbench with g++ alone
    README.md         how to build it on an FPGA machine

The package is assembled in a temporary directory beside the target and renamed into place, so a
failure leaves nothing half-written; every path written is checked to lie inside the target.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dse.errors import ConfigError

TB_TRIALS = 5

CSIM_SH = """#!/usr/bin/env bash
# C simulation of the exported design with g++ alone: compiles the hls4ml testbench, runs it on
# tb_data/tb_input_features.dat and compares with tb_data/tb_output_predictions.dat.
set -euo pipefail
cd "$(dirname "$0")/hls_project"
g++ -O2 -std=c++14 -Ifirmware -Ifirmware/ap_types -Ifirmware/nnet_utils -DWEIGHTS_DIR='"firmware/weights"' \\
    myproject_test.cpp firmware/myproject.cpp -o csim_tb
./csim_tb > tb_data/csim_stdout.log
echo "C-simulation outputs written to hls_project/tb_data/csim_results.log"
"""


def _inside(root: Path, path: Path) -> Path:
    root_r, path_r = root.resolve(), path.resolve()
    if root_r != path_r and root_r not in path_r.parents:
        raise ConfigError(str(path), f"refusing to write outside the export directory {root}", "--output")
    return path


def _copytree_inside(src: Path, dst: Path, root: Path) -> None:
    for p in src.rglob("*"):
        rel = p.relative_to(src)
        target = _inside(root, dst / rel)
        if p.is_symlink():
            continue  # never follow links out of the cache into the package
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif p.suffix not in (".so", ".o"):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(p, target)


def _fmt(rows: np.ndarray) -> str:
    return "\n".join(" ".join(f"{v:.8g}" for v in row) for row in rows) + "\n"


def export_trial(cfg: Any, st: Any, study: Any, number: int, out: Path, *, force: bool = False) -> Path:
    """Write trial ``number`` of the study as a package in ``out`` (see the module docstring)."""
    from dse.hls.cache import compile_model
    from dse.hls.csim import run_csim
    from dse.hls.design import HLSDesign
    from dse.trial.run import load_model, load_split

    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if number not in trials:
        raise ConfigError(cfg.source, f"trial {number} does not exist (the study has trials "
                          f"0..{max(trials) if trials else -1})", "--trial")
    trial = trials[number]
    if trial.state.name != "COMPLETE":
        raise ConfigError(cfg.source, f"trial {number} is {trial.state.name.lower()}, not complete", "--trial")
    result = st.project.load_result(cfg.name, number)
    design = trial.user_attrs.get("design")
    if result is None or design is None:
        raise ConfigError(cfg.source, f"trial {number} has no stored result/design", "--trial")
    model_art = next((a for a in result.artifacts if a.kind == "model"), None)
    if model_art is None or not Path(model_art.path).is_file():
        raise ConfigError(cfg.source, f"trial {number}: its trained model is gone from the cache "
                          f"({model_art.path if model_art else 'no artifact'})", "--trial")

    out = Path(out)
    if out.is_symlink():  # replacing it would remove the link, or write where it points, not where asked
        raise ConfigError(str(out), "is a symbolic link; give the directory it points to", "--output")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        raise ConfigError(str(out), "exists and is not an empty directory (use --force to replace)", "--output")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise ConfigError(str(out), f"parent directory {parent} does not exist", "--output")
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=parent))
    except OSError as e:
        raise ConfigError(str(out), f"cannot write there: {e.strerror}", "--output") from None
    try:
        hls_design = HLSDesign.from_dict(design["hls"])
        model = load_model(Path(model_art.path))
        compiled = compile_model(model, hls_design, study_cache(cfg))
        _copytree_inside(compiled.project_dir, work / "hls_project", work)
        (_inside(work, work / "model")).mkdir()
        shutil.copy2(model_art.path, _inside(work, work / "model" / "model.h5"))
        shutil.copy2(compiled.project_dir / "hls4ml_config.yml", _inside(work, work / "hls_config.yml"))

        split = load_split(cfg.data.spec())
        spikes = split.test.spikes[:TB_TRIALS].astype(np.float64)
        sim = run_csim(compiled.hls_model, spikes)
        n = len(spikes)
        inputs = np.concatenate([spikes.reshape(n, -1), np.zeros((n, spikes.shape[1]))], axis=1)
        preds = np.concatenate([sim.logrates.reshape(n, -1), sim.factors.reshape(n, -1)], axis=1)
        tb = _inside(work, work / "hls_project" / "tb_data")
        tb.mkdir(exist_ok=True)
        (tb / "tb_input_features.dat").write_text(_fmt(inputs))
        (tb / "tb_output_predictions.dat").write_text(_fmt(preds))

        (work / "design.json").write_text(json.dumps({"trial": number, "params": trial.params, **design},
                                                     indent=1, default=str))
        rep = _inside(work, work / "reports")
        rep.mkdir()
        (rep / "accuracy.json").write_text(json.dumps(result.accuracy, indent=1, default=str))
        (rep / "hardware.json").write_text(json.dumps(result.hardware, indent=1, default=str))
        (rep / "result.json").write_text(json.dumps(result.to_dict(), indent=1, default=str))
        (work / "csim.sh").write_text(CSIM_SH)
        (work / "csim.sh").chmod(0o755)
        (work / "README.md").write_text(_readme(cfg, number, trial, result, hls_design))
        if out.exists():
            shutil.rmtree(out)
        work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def study_cache(cfg: Any) -> Path:
    from dse.driver.run import study_paths

    return study_paths(cfg).hls_cache


def _readme(cfg: Any, number: int, trial: Any, result: Any, design: Any) -> str:
    hw = result.hardware or {}
    acc = result.accuracy.get("csim", {})
    tool = "vitis-run --mode hls --tcl build_prj.tcl" if design.backend == "Vitis" else "vivado_hls -f build_prj.tcl"
    lines = [
        f"# {cfg.name}, trial {number}: LFADS on {design.part} at {design.clock_period:g} ns",
        "",
        f"Exported by dse from study `{cfg.name}`. Parameters: "
        + ", ".join(f"`{k}={v}`" for k, v in trial.params.items()),
        "",
        "## What it measured",
        "",
        f"- accuracy (bit-accurate C simulation, test trials): behaviour R² {acc.get('behavior_r2')}, "
        f"NPLL {acc.get('npll')}, bits/spike {acc.get('bits_per_spike')}, rate R² {acc.get('rate_r2')}",
        f"- hardware ({hw.get('backend')}{', ' + hw['tool_version'] if hw.get('tool_version') else ''}): "
        f"latency {hw.get('latency_cycles')} cycles = {hw.get('latency_us')} µs, II {hw.get('ii_cycles')}, "
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
        "",
        "## Contents",
        "",
        "- `hls_project/` hls4ml project (firmware, build scripts, testbench, tb_data)",
        "- `model/model.h5` trained Keras/QKeras model (load with `dse.models.lfads.model.custom_objects()`)",
        "- `design.json`, `hls_config.yml` the design point and hls4ml configuration",
        "- `reports/` accuracy, hardware and full trial result",
    ]
    return "\n".join(lines) + "\n"

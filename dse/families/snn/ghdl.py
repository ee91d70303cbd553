"""Co-simulation of the generated VHDL with GHDL: write the design, analyse, elaborate, run, parse."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dse.families.snn import hdl
from dse.families.snn.network import QuantizedSNN


class ToolError(RuntimeError):
    """An HDL tool failed (or is missing); the message names the tool and carries its output's tail."""


@dataclass
class SimResult:
    spikes: np.ndarray | None  # (samples, T, n_out) of the last layer, None for a readout
    readout: np.ndarray | None  # (samples, T, n_out) readout membranes
    cycles: np.ndarray  # (samples,) cycles from run to done
    #: (samples, T) closed-loop latency of every step (simulate's ``gap`` > 0), else None
    step_latency: np.ndarray | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    work_dir: Path | None = None


def run_tool(cmd: list[str], cwd: Path, timeout: float | None = None, what: str | None = None) -> str:
    """Run a tool; ToolError with the output's tail if it fails, is missing or times out."""
    label = what or Path(cmd[0]).name
    if shutil.which(cmd[0]) is None:
        raise ToolError(f"{label}: {cmd[0]} not found on PATH (make venv installs it)")
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise ToolError(f"{label}: timed out after {timeout} s") from err
    out = (proc.stdout or "") + (proc.stderr or "")
    if proc.returncode != 0:
        raise ToolError(f"{label} failed (exit {proc.returncode}): {out[-3000:]}")
    return out


def write_design(net: QuantizedSNN, directory: Path, testbench: bool = True) -> list[Path]:
    """Write the design's VHDL (and testbenches) into directory; returns the VHDL sources in analysis order."""
    directory.mkdir(parents=True, exist_ok=True)
    files = hdl.generate(net)
    if testbench:
        files.update(hdl.generate_testbench(net))
    paths = []
    for name, text in files.items():
        p = directory / name
        p.write_text(text)
        if name.endswith(".vhd"):
            paths.append(p)
    return paths


def ghdl_run(directory: Path, sources: list[str], top: str = hdl.TB, timeout: float | None = 600,
             generics: dict[str, int] | None = None) -> dict[str, float]:
    """Analyse sources (names relative to directory), elaborate and run `top` there (with integer
    ``generics``). Returns seconds per phase."""
    work = directory / "ghdl_work"
    work.mkdir(exist_ok=True)
    opts = ["--std=08", f"--workdir={work.name}"]
    secs = {}
    t0 = time.perf_counter()
    run_tool(["ghdl", "-a", *opts, *sources], directory, timeout, "ghdl analyse")
    run_tool(["ghdl", "-e", *opts, top], directory, timeout, "ghdl elaborate")
    secs["ghdl_compile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    gen = [f"-g{k}={v}" for k, v in (generics or {}).items()]
    run_tool(["ghdl", "-r", *opts, top, *gen, "--ieee-asserts=disable"], directory, timeout, "ghdl run")
    secs["ghdl_run"] = time.perf_counter() - t0
    return secs


def simulate(net: QuantizedSNN, x: np.ndarray, work_dir: Path | None = None, timeout: float | None = 600,
             gap: int = 0) -> SimResult:
    """Simulate the generated design on x (samples, T, n_in) with GHDL. ``gap`` > 0: as in a closed loop, each
    step's inputs arrive ``gap`` cycles after the previous step's last one, and every step's latency (its first
    input beat to its output) is measured (``step_latency``); ``cycles`` then include the gaps."""
    x = net.check_inputs(x)
    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="dse_ghdl_")
        work_dir = Path(tmp.name)
    try:
        work_dir = Path(work_dir)
        paths = write_design(net, work_dir)
        (work_dir / hdl.INPUT_FILE).write_text(hdl.format_inputs(net, x))
        secs = ghdl_run(work_dir, [p.name for p in paths], timeout=timeout, generics={"GAP": gap} if gap else None)
        text = (work_dir / hdl.OUTPUT_FILE).read_text()
        spikes, mem, cycles = hdl.parse_outputs(text, net, x.shape[0])
        lat = hdl.parse_step_latency(text, net, x.shape[0]) if gap else None
        return SimResult(spikes, mem, cycles, seconds=secs, work_dir=None if tmp else work_dir, step_latency=lat)
    finally:
        if tmp is not None:
            tmp.cleanup()


def missing_tools(names: tuple[str, ...] = ("ghdl",)) -> list[str]:
    """The named executables that are not on PATH."""
    return [n for n in names if shutil.which(n) is None]


def require_tools_for_tests(names: tuple[str, ...]) -> None:
    """In a test: skip when tools are missing, but fail when the CI variable is set (CI must run them)."""
    import os

    import pytest

    missing = missing_tools(names)
    if not missing:
        return
    msg = f"{', '.join(missing)} not on PATH (make venv installs it: apt-get install -y ghdl yosys iverilog verilator)"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and {msg}")
    pytest.skip(msg)

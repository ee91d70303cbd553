"""``dse hdl GRAPH.nir``: one spiking network from another framework to a checked hardware project.

The NIR graph is imported (:mod:`dse.families.snn.nir_import`), quantized post-training with dse's
quantizer (:mod:`dse.families.snn.quantize`), and written as the folder ``dse export`` writes for an SNN
trial (:func:`dse.families.snn.hdl_project.build_project`: VHDL, weight memories, testbench with the
integer reference's expected outputs, run_ghdl.sh, run_yosys.sh, Vivado TCL, README), plus
``network.nir`` (the quantized network back in NIR) and ``import.json`` (what the import made of each
node). The GHDL check and the checked Yosys synthesis run on it. With ``--eval-task`` the integer model
is scored on that task's test split (inputs rate-coded over ``--time-steps`` steps, as dse's digits
tasks are), and the bits it does not get are chosen on the task's data; without it they are chosen from
the weights alone and the testbench gets seeded random spike trains.

``latency_cycles`` is exact: the full scan's closed form (input-independent), or for the event scan the
largest count over the testbench samples (the cycles depend on the spikes).

The folder is built in a temporary directory beside ``-o`` and renamed into place at the end: bad
input or a failing tool leaves nothing behind. Bad input is one line (exit 2).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dse.errors import ConfigError, ToolNotFoundError

TESTBENCH_SAMPLES = 4
RANDOM_INPUT_RATE = 0.2  # spike probability per input and step of the testbench without a task


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``dse hdl``."""
    p.add_argument("graph", type=Path, help="the network as a NIR file (nir.write / export_to_nir)")
    p.add_argument("--part", default="xc7a35t", help="FPGA part (xc7*, xcku*/..., lfe5u-*f, ice40*)")
    p.add_argument("--weight-bits", type=int, required=True, metavar="W", help="signed weight bits")
    p.add_argument("--membrane-bits", type=int, default=None, metavar="M",
                   help="signed membrane bits (default: calibrated on the inputs so nothing saturates)")
    p.add_argument("--frac-bits", type=int, default=None, metavar="F",
                   help="fractional bits (default: chosen from the weights, or on the task's validation split)")
    p.add_argument("--scan", default="full", help="input scan: full (every input a cycle) | event (only spikes)")
    p.add_argument("--clock-ns", type=float, default=10.0, help="target clock period (latency in us; nextpnr)")
    p.add_argument("--reuse-factor", default="1", metavar="R",
                   help="neurons per shared datapath: one R for every layer, or one per layer ('16 10'); "
                        "a layer of n neurons has ceil(n/R) datapaths (results are the same for every R)")
    p.add_argument("--dt", type=float, default=None,
                   help="the exporter's time step in seconds (default 1e-4, snnTorch's; a graph written by dse "
                        "carries its own)")
    p.add_argument("--reset", default=None, choices=("zero", "subtract"),
                   help="the spiking layers' reset (default: the graph's; NIR resets to zero, but snnTorch's "
                        "default Leaky subtracts the threshold and its exporter does not say so). dse subtracts "
                        "before the next leak, snnTorch after it, so a subtract-reset snnTorch network fires "
                        "more often in dse; train with reset_mechanism='zero' for NIR's exact semantics")
    p.add_argument("--eval-task", default=None, metavar="TASK", help="score the integer model on TASK's test split")
    p.add_argument("--time-steps", type=int, default=25, metavar="T", help="time steps per sample (default 25)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the project folder (new or empty)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")


def _check(args: argparse.Namespace) -> None:
    from dse.families.snn.synth import parse_part

    def bad(flag: str, problem: str) -> ConfigError:
        return ConfigError("command line", problem, flag)

    try:
        parse_part(args.part)
    except ValueError as e:
        raise bad("--part", str(e).removeprefix("part: ")) from None
    if not 2 <= args.weight_bits <= 16:
        raise bad("--weight-bits", f"must be in [2, 16], got {args.weight_bits}")
    if args.membrane_bits is not None and not 2 <= args.membrane_bits <= 32:
        raise bad("--membrane-bits", f"must be in [2, 32], got {args.membrane_bits}")
    if args.frac_bits is not None and not 0 <= args.frac_bits <= 30:
        raise bad("--frac-bits", f"must be in [0, 30], got {args.frac_bits}")
    if args.scan not in ("full", "event"):
        raise bad("--scan", f"unknown scan {args.scan!r} (known: full, event)")
    if not (args.clock_ns > 0 and np.isfinite(args.clock_ns)):
        raise bad("--clock-ns", f"must be a positive number, got {args.clock_ns}")
    if args.dt is not None and not (args.dt > 0 and np.isfinite(args.dt)):
        raise bad("--dt", f"must be a positive time step in seconds, got {args.dt}")
    if args.time_steps < 1:
        raise bad("--time-steps", f"must be a positive integer, got {args.time_steps}")
    if args.eval_task is not None:
        from dse.families.snn import tasks

        if args.eval_task not in tasks.TASKS or args.eval_task == "decode":
            known = ", ".join(t for t in tasks.TASKS if t != "decode")
            raise bad("--eval-task", f"unknown classification task {args.eval_task!r} (known: {known})")
    out: Path = args.output
    if out.is_symlink() or (out.exists() and (not out.is_dir() or any(out.iterdir()))):
        raise ConfigError(str(out), "exists and is not an empty directory", "--output")
    if not out.resolve().parent.is_dir():
        raise ConfigError(str(out), f"parent directory {out.resolve().parent} does not exist", "--output")


def prepare(args: argparse.Namespace) -> tuple[Any, Any, float]:
    """The checks that need the graph and the task, before anything is written: (imported, task, dt)."""
    from dse.families.snn.nir_import import import_file

    _check(args)
    imported = import_file(args.graph, dt=args.dt, reset=args.reset)
    dt = imported.dt
    task = None
    if args.eval_task is not None:
        from dse.families.snn.tasks import load_task

        task = load_task(args.eval_task)
        if task.n_inputs != imported.n_inputs:
            raise ConfigError(str(args.graph), f"the network takes {imported.n_inputs} inputs, the task "
                              f"{args.eval_task!r} has {task.n_inputs}", "--eval-task")
    return imported, task, dt


def _reuse_factor(text: str, sizes: list[int]) -> int | list[int]:
    """--reuse-factor: one R or one per layer, each within 1..n of its layer (one line otherwise)."""
    from dse.families.snn.network import check_reuse_factor
    from dse.families.snn.study_checks import parse_layer_reuse

    try:
        rs = parse_layer_reuse(text)
        value: int | list[int] = rs[0] if len(rs) == 1 else rs
        check_reuse_factor(value, sizes)
    except (ValueError, IndexError) as e:
        raise ConfigError("command line", str(e) or f"no reuse factor in {text!r}", "--reuse-factor") from None
    return value


def build(args: argparse.Namespace, imported: Any, task: Any, dt: float, work: Path) -> dict[str, Any]:
    """Quantize, write the project into ``work``, check it (GHDL, checked Yosys), score it."""
    from dse.families.snn import reference
    from dse.families.snn.encoding import EncodingSpec
    from dse.families.snn.ghdl import ToolError
    from dse.families.snn.hdl_project import build_project
    from dse.families.snn.lowering import BRAM_18K_PER_UNIT
    from dse.families.snn.nir_export import write_nir
    from dse.families.snn.quantize import to_quantized
    from dse.families.snn.synth import SynthesisCheckError, synthesize

    encoding = EncodingSpec(kind="rate", steps=args.time_steps, seed=0)
    model = imported.model(encoding)
    quant = _quant(model, task, args, encoding)
    net = to_quantized(model, quant, args.time_steps, args.scan, name=args.graph.stem or "snn")
    net = net.with_reuse(_reuse_factor(args.reuse_factor, [lay.n_out for lay in net.layers]))
    if task is not None:
        from dse.families.snn.train import encode_inputs

        inputs = encode_inputs(encoding, task.test)[:TESTBENCH_SAMPLES]
    else:
        rng = np.random.default_rng(0)
        inputs = (rng.random((TESTBENCH_SAMPLES, args.time_steps, net.n_in)) < RANDOM_INPUT_RATE).astype(np.int64)
    try:
        project = build_project(net, inputs, work, part=args.part, run_ghdl=True, run_yosys=False)
        s = synthesize(net, args.part, work_dir=work / "synth_checked", check_inputs=inputs[:2],
                       freq_mhz=1000.0 / args.clock_ns)
    except SynthesisCheckError as e:
        raise ConfigError(str(args.graph), f"{args.part}: {e}", "--part") from None
    except ToolError as e:
        if "not found" in str(e):
            raise ToolNotFoundError(str(e)) from None
        raise
    write_nir(net, work / "network.nir", dt=dt)
    cycles = reference.simulate(net, inputs).cycles[net.scan]
    latency = int(reference.full_scan_cycles(net)) if net.scan == "full" else int(cycles.max())
    result: dict[str, Any] = {
        "graph": str(args.graph), "output": str(args.output), "part": args.part, "dt": dt,
        **quant.to_dict(), "scan": net.scan, "reuse_factor": net.reuse_factor, "time_steps": net.time_steps, "sizes": net.sizes,
        "lut": s.lut, "ff": s.ff, "bram_18k": int(np.ceil(s.bram * BRAM_18K_PER_UNIT[s.family])), "dsp": s.dsp,
        "latency_cycles": latency, "latency_us": round(latency * args.clock_ns / 1000.0, 3),
        "max_clock_mhz": s.max_clock_mhz, "ghdl_equal": bool(project.ghdl_equal_reference),
        "synthesis_checks": s.checks, "layers": imported.report(), "notes": imported.notes,
    }
    if task is not None:
        from dse.families.snn.scoring import score_integer

        m = score_integer(net, model.desc, task)
        result.update(eval_task=task.name, accuracy=m["accuracy"], test_samples=len(task.test),
                      mean_cycles=m["cycles"][net.scan])
    (work / "import.json").write_text(json.dumps(result, indent=1, default=_plain))
    with (work / "README.md").open("a") as readme:
        readme.write(f"""
## From NIR

Built by `dse hdl` from `{args.graph.name}` (time step dt = {dt:g} s). `import.json`: what the import made of
each node (neuron model, leak shift and the relative error of beta, notes) and the synthesis figures;
`network.nir`: this integer network back in NIR (float parameters = integers / 2**{quant.frac_bits}).
""")
    return result


def _quant(model, task, args: argparse.Namespace, encoding):
    """The fixed-point format: given bits kept; the rest chosen on the task's data, or from the weights."""
    from dse.families.snn.model import QuantSpec
    from dse.families.snn.quantize import (
        calibrate_membrane_bits,
        choose_frac_bits,
        frac_bits_cap,
        resolve_quant,
    )

    if task is not None:
        return resolve_quant(model, task, args.weight_bits, args.membrane_bits, args.frac_bits)
    f = args.frac_bits
    if f is None:
        f = choose_frac_bits(model, args.weight_bits)
        if args.membrane_bits is not None:
            f = min(f, frac_bits_cap(model, args.membrane_bits))
    mb = args.membrane_bits
    if mb is None:
        rng = np.random.default_rng(1)
        x = (rng.random((64, encoding.steps, model.desc.n_inputs)) < RANDOM_INPUT_RATE).astype(np.int64)
        mb = calibrate_membrane_bits(model, x, f)
    return QuantSpec(weight_bits=args.weight_bits, membrane_bits=mb, frac_bits=f)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Build the project into ``args.output`` (atomically); print the summary (one JSON object with --json)."""
    imported, task, dt = prepare(args)
    out: Path = args.output
    parent = out.resolve().parent
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=parent))
    except OSError as e:
        raise ConfigError(str(out), f"cannot write there: {e.strerror}", "--output") from None
    try:
        result = build(args, imported, task, dt, work)
        if out.exists():
            out.rmdir()  # empty (checked above)
        work.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, default=_plain))
    else:
        _print(result)
    return 0 if result["ghdl_equal"] else 1


def _print(r: dict[str, Any]) -> None:
    print(f"{r['graph']} -> {r['output']}: {'-'.join(map(str, r['sizes']))}, W={r['weight_bits']} "
          f"M={r['membrane_bits']} F={r['frac_bits']}, {r['scan']} scan, T={r['time_steps']}")
    for lay in r["layers"]:
        err = f", beta {lay['beta']:.4g} -> 1-2^-{lay['k_beta']} (rel. error {lay['beta_rel_error']:.2%})" \
            if lay.get("beta") is not None else ""
        print(f"  {lay['node']} ({lay['nir_type']} -> {lay['neuron']}, {lay['size']} neurons){err}")
    for note in r["notes"]:
        print(f"  note: {note}")
    print(f"  {r['part']}: {r['lut']} LUT, {r['ff']} FF, {r['bram_18k']} BRAM18, {r['dsp']} DSP; "
          f"{r['latency_cycles']} cycles ({r['latency_us']} us); GHDL equal to the integer model: {r['ghdl_equal']}")
    if "accuracy" in r:
        print(f"  integer accuracy on {r['eval_task']} test: {r['accuracy']:.4f}")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``dse hdl``: the SNN family's command (``SNNFamily.commands``)."""
    p = sub.add_parser("hdl", help="a NIR spiking network to a checked VHDL project (GHDL + Yosys)")
    add_arguments(p)
    p.set_defaults(func=run)

"""``dse train --family snn``: train one SNN with the default recipe; report float and integer accuracy.

The float model is trained (BPTT, surrogate gradients), quantized post-training at each ``--weight-bits``
(fractional and membrane bits calibrated unless given), optionally fine-tuned with QAT, and every
integer network is scored on the integer reference model (the counterpart of C simulation). With
``--json`` the last stdout line is one JSON object; the ``integer_*`` headline is the first weight width
(QAT's when ``--qat``). Bad input raises :class:`dse.errors.UserInputError` (one line).

``add_arguments`` and ``run`` are what ``dse/commands/train.py`` wires in; ``main(argv)`` runs the same
thing standalone (``python -m dse.families.snn.cli``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from dse.errors import ConfigError
from dse.families.records import TrainReport, TrainRequest

TASK_CHOICES = ("decode", "digits", "digits16", "digits28")


class _Parser(argparse.ArgumentParser):
    """argparse that raises ConfigError (one line) instead of exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError("command line", message)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The SNN options of ``dse train`` (besides ``--family snn``)."""
    p.add_argument("--data", default="synthetic", help="decode task: 'synthetic' (default) or a .npz/.h5/.nwb file")
    p.add_argument("--task", default="decode", help=f"one of {', '.join(TASK_CHOICES)} (default decode)")
    p.add_argument("--epochs", type=int, default=None, help="float training epochs (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="training seed (weights, shuffling, rate coding)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the 80/10/10 split (0: LFADS's test trials)")
    p.add_argument("--weight-bits", type=int, nargs="+", default=[6], metavar="W",
                   help="weight widths to quantize to (default 6); the first is the headline")
    p.add_argument("--membrane-bits", type=int, default=None, metavar="M",
                   help="membrane width (default: calibrated on the training inputs)")
    p.add_argument("--frac-bits", type=int, default=None, metavar="F",
                   help="fractional bits (default: the most the weight width allows)")
    p.add_argument("--qat", action="store_true", help="also fine-tune each width with QAT (the headline then)")
    p.add_argument("--baseline", action="store_true",
                   help="decode: also score the causal linear decoder (ridge on the last few bins)")
    p.add_argument("-o", "--output", type=Path, default=None, help="directory for model.pt, recipe and metrics")
    p.add_argument("--hdl-part", default=None, metavar="PART",
                   help="also build the headline integer network's VHDL project into OUTPUT/hdl for PART "
                        "(e.g. xc7a35t, lfe5u-25f), with the GHDL check against the integer model and the "
                        "checked Yosys synthesis report")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dse train --family snn", description="train one SNN with the default recipe")
    p.add_argument("--family", default="snn", choices=["snn"], help=argparse.SUPPRESS)
    add_arguments(p)
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object on the last line")
    return p


def _check_args(args: TrainRequest) -> None:
    if args.task not in TASK_CHOICES:
        raise ConfigError("command line", f"unknown task {args.task!r} (known: {', '.join(TASK_CHOICES)})", "--task")
    if args.epochs is not None and args.epochs < 1:
        raise ConfigError("command line", f"must be a positive integer, got {args.epochs}", "--epochs")
    for w in args.weight_bits:
        if not 2 <= w <= 16:
            raise ConfigError("command line", f"weight widths must be in [2, 16], got {w}", "--weight-bits")
    if args.membrane_bits is not None and not 2 <= args.membrane_bits <= 32:
        raise ConfigError("command line", f"must be in [2, 32], got {args.membrane_bits}", "--membrane-bits")
    if args.frac_bits is not None and not 0 <= args.frac_bits <= 30:
        raise ConfigError("command line", f"must be in [0, 30], got {args.frac_bits}", "--frac-bits")
    if args.baseline and args.task != "decode":
        raise ConfigError("command line", "the linear baseline is for the decode task", "--baseline")
    if args.output is not None and args.output.exists() and not args.output.is_dir():
        raise ConfigError(str(args.output), "exists and is not a directory", "--output")
    if getattr(args, "hdl_part", None) is not None:
        from dse.families.snn.synth import parse_part

        if args.output is None:
            raise ConfigError("command line", "needs -o/--output (the project goes to OUTPUT/hdl)", "--hdl-part")
        try:
            parse_part(args.hdl_part)
        except ValueError as e:
            raise ConfigError("command line", str(e).removeprefix("part: "), "--hdl-part") from None


def train_and_report(args: TrainRequest) -> dict[str, Any]:
    """Everything ``run`` prints, as a dict."""
    from dse.families.snn.quantize import ptq, qat, resolve_quant
    from dse.families.snn.recipe import default_recipe
    from dse.families.snn.scoring import score_float
    from dse.families.snn.tasks import load_task
    from dse.families.snn.train import train_snn

    _check_args(args)
    task = load_task(args.task, args.data, args.split_seed)
    recipe = default_recipe(task, args.epochs, args.seed)
    result = train_snn(recipe.description, task, recipe.train)
    if result.stopped_reason == "non_finite_loss":
        raise FloatingPointError(f"SNN training: loss became NaN/inf in epoch {result.epochs}")
    by = recipe.train.classify_by
    metric = "behavior_r2" if task.kind == "regression" else "accuracy"
    float_m = score_float(result.model, task, by)
    report: dict[str, Any] = {
        "family": "snn", "task": task.name, "data": task.source,
        metric: float_m[metric],
        **({"behavior_r2_trial": float_m["behavior_r2_trial"]} if metric == "behavior_r2" else {}),
        "epochs": result.epochs, "best_epoch": result.best_epoch, "stopped_reason": result.stopped_reason,
        "train_seconds": round(result.train_seconds, 3),
        "seconds_per_epoch": round(result.train_seconds / max(1, result.epochs), 4),
    }
    integer: list[dict[str, Any]] = []
    nets = {}
    for wb in args.weight_bits:
        t0 = time.perf_counter()
        q = resolve_quant(result.model, task, wb, args.membrane_bits, args.frac_bits, classify_by=by)
        calibrate_s = time.perf_counter() - t0
        runs = [ptq(result.model, task, q, by)]
        runs[0].quantize_seconds += calibrate_s  # choosing the bits is part of PTQ
        if args.qat:
            runs.append(qat(result, task, q, recipe.qat_epochs))
        for r in runs:
            integer.append({k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.summary().items()})
            nets[f"{r.mode}_w{wb}"] = r
    head = next(r for r in integer if r["mode"] == ("qat" if args.qat else "ptq"))
    report[f"integer_{metric}"] = head[metric]
    report["integer_bits"] = {k: head[k] for k in ("weight_bits", "membrane_bits", "frac_bits")}
    report["quantize_seconds"] = round(sum(r["quantize_seconds"] for r in integer), 3)
    report["integer_seconds"] = round(sum(r["integer_seconds"] for r in integer), 3)
    report["integer"] = integer
    if args.baseline:
        from dse.families.snn.baselines import causal_linear_decoder

        base = causal_linear_decoder(task)
        report["linear_behavior_r2"] = base["behavior_r2"]
        report["linear_lags"] = base["lags"]
    if args.output is not None:
        if getattr(args, "hdl_part", None) is not None:
            report["hdl"] = _build_hdl(args, task, recipe, nets[f"{head['mode']}_w{head['weight_bits']}"].net)
        _save(args.output, result, recipe, nets, report)
    return report


def _build_hdl(args: TrainRequest, task, recipe, net) -> dict[str, Any]:
    """The VHDL project of ``net`` with the GHDL check and the checked Yosys synthesis (hdl_project)."""
    from dse.families.snn.hdl_project import build_project
    from dse.families.snn.synth import SynthesisCheckError
    from dse.families.snn.train import encode_inputs

    inputs = encode_inputs(recipe.description.encoding, task.test)[:4]
    t0 = time.perf_counter()
    try:
        r = build_project(net, inputs, args.output / "hdl", part=args.hdl_part, run_ghdl=True, run_yosys=True)
    except SynthesisCheckError as e:  # e.g. a block RAM without a simulation model: no unchecked netlist
        raise ConfigError("command line", f"{args.hdl_part}: {e}", "--hdl-part") from None
    s = r.synth
    return {"dir": str(r.out_dir), "part": args.hdl_part, "ghdl_equal_reference": r.ghdl_equal_reference,
            "lut": s.lut, "ff": s.ff, "bram": s.bram, "dsp": s.dsp, "latches": s.latches,
            "max_clock_mhz": s.max_clock_mhz, "checks": s.checks, "seconds": round(time.perf_counter() - t0, 1)}


def _save(out: Path, result, recipe, nets: dict, report: dict) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    torch.save(result.model.state_dict(), out / "model.pt")
    (out / "recipe.json").write_text(json.dumps(recipe.to_dict(), indent=2))
    (out / "metrics.json").write_text(json.dumps(report, indent=2, default=str))
    for name, r in nets.items():
        r.net.save(out / f"integer_{name}.npz")  # QuantizedSNN.load reads it back (weights, bits, thresholds)


def run(args: TrainRequest) -> TrainReport:
    """``dse train --family snn``: the report (``dse train`` prints it)."""
    report = train_and_report(args)
    return TrainReport(report, _lines(report))


def _lines(report: dict[str, Any]) -> tuple[str, ...]:
    metric = "behavior_r2" if "behavior_r2" in report else "accuracy"
    lines = [f"SNN {report['task']} ({report['data']}): float {metric} {report[metric]:.4f}, "
             f"{report['epochs']} epochs in {report['train_seconds']:.1f} s"]
    lines += [f"  integer {r['mode']} W={r['weight_bits']} M={r['membrane_bits']} F={r['frac_bits']}: "
              f"{metric} {r[metric]:.4f}" for r in report["integer"]]
    if "linear_behavior_r2" in report:
        lines.append(f"  causal linear decoder ({report['linear_lags']} bins): "
                     f"behavior_r2 {report['linear_behavior_r2']:.4f}")
    return tuple(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run and print; raises :class:`dse.errors.UserInputError` on bad input."""
    args = build_parser().parse_args(argv)
    report = run(TrainRequest("snn", vars(args)))
    print(json.dumps(dict(report.metrics), default=str) if args.json else "\n".join(report.lines))
    return 0


if __name__ == "__main__":
    from dse.errors import UserInputError

    try:
        sys.exit(main())
    except UserInputError as e:
        print(f"dse train: error: {e}", file=sys.stderr)
        sys.exit(2)

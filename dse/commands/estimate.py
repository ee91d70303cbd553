"""``dse estimate MODEL``: hardware cost of a saved Keras 2 / QKeras model (.h5) for one design point."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from dse.errors import ConfigError, UserInputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="latency and resources of a saved Keras/QKeras model (.h5)")
    p.add_argument("model", type=Path, help="a saved Keras 2 model (.h5; QKeras layers allowed)")
    p.add_argument("--precision", default="ap_fixed<16,6>", help="PTQ precision for every layer")
    p.add_argument("--qat", action="store_true", help="take weight/state precisions from the QKeras quantizers")
    p.add_argument("--reuse-factor", type=int, default=1)
    p.add_argument("--recurrent-reuse-factor", type=int, default=None,
                   help="reuse factor of the recurrent products of every GRU/LSTM (default: --reuse-factor)")
    p.add_argument("--strategy", choices=("latency", "resource"), default="latency")
    p.add_argument("--io-type", choices=("io_parallel", "io_stream"), default="io_parallel")
    p.add_argument("--table-size", type=int, default=1024)
    p.add_argument("--part", default="xcu55c")
    p.add_argument("--clock-ns", type=float, default=5.0)
    p.add_argument("--backend", choices=("estimate", "vitis", "vivado"), default="estimate")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line of stdout")
    p.set_defaults(func=run)


def _load(path: Path):
    if not path.is_file():
        raise UserInputError(str(path), "file not found")
    from tensorflow import keras

    from dse.models.lfads.model import custom_objects

    try:
        return keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    except Exception as e:  # corrupt file, not a Keras model, unknown layer
        raise UserInputError(str(path), f"cannot load as a Keras 2 model: {type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''}") from None


def run(args: argparse.Namespace) -> int:
    from dse.cost.base import get_backend
    from dse.cost.parts import full_part_name, get_part
    from dse.hls.design import HLSDesign

    try:
        get_part(args.part)
    except KeyError as e:
        raise ConfigError("command line", str(e.args[0]), "--part") from None
    if args.clock_ns <= 0:
        raise ConfigError("command line", f"must be > 0, got {args.clock_ns}", "--clock-ns")
    model = _load(args.model)
    recurrent = {}
    if args.recurrent_reuse_factor is not None:
        recurrent = {layer.name: args.recurrent_reuse_factor for layer in model.layers
                     if _is_recurrent(layer)}
    design = HLSDesign(
        quantization="qat" if args.qat else "ptq", precision=args.precision, reuse_factor=args.reuse_factor,
        recurrent_reuse_factor=recurrent, strategy="Latency" if args.strategy == "latency" else "Resource",
        io_type=args.io_type, table_size=args.table_size, part=full_part_name(args.part),
        clock_period=args.clock_ns, backend="Vivado" if args.backend == "vivado" else "Vitis",
        input_precision=args.precision if not _integer_inputs(model) else HLSDesign.input_precision)
    from dse.hls.convert import convert

    with tempfile.TemporaryDirectory(prefix="dse-estimate-") as tmp:
        hls_model = convert(model, design, Path(tmp) / "prj")
        report = get_backend(args.backend).cost(hls_model, part=design.part, clock_ns=args.clock_ns,
                                                output_dir=str(Path(tmp) / "synth"))
    out = {"latency_cycles": report.latency_cycles, "latency_us": report.latency_us,
           "ii_cycles": report.ii_cycles, "dsp": report.dsp, "lut": report.lut, "ff": report.ff,
           "bram_18k": report.bram_18k, "uram": report.uram, "utilisation": report.utilisation(),
           "backend": report.backend, "part": report.part, "clock_ns": report.clock_ns,
           "tool_version": report.tool_version, "fits": report.fits()}
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>15}: {v:.4g}" if isinstance(v, float) else f"{k:>15}: {v}")
    return 0


def _is_recurrent(layer) -> bool:
    name = type(layer).__name__
    if name == "Bidirectional":
        return True
    return any(r in name for r in ("GRU", "LSTM", "SimpleRNN"))


def _integer_inputs(model) -> bool:
    """LFADS-style models take spike counts: keep dse's exact unsigned-integer input type."""
    return [i.name for i in model.inputs][:1] == ["spikes"]

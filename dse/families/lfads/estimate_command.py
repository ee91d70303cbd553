"""``dse estimate MODEL``: hardware cost of a saved Keras 2 / QKeras model (.h5) for one design point.

Any reuse factor hls4ml 1.3.0 accepts is accepted: with the Resource strategy hls4ml replaces one that is
not in its valid list for a product by the closest valid value (``set_closest_reuse_factor``); ``dse
estimate`` makes the same choice with hls4ml's rule (:mod:`dse.hls.reuse`), builds the
design with it and reports every substitution.  The output also gives the estimate's uncertainty per
metric (cross-validated error of its layer mix) and the layers costed by a fallback.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from dse.cost.registry import backend_names
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
    p.add_argument("--backend", choices=backend_names(costs="hls4ml"), default="estimate")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line of stdout")
    p.set_defaults(func=run)


def _load(path: Path):
    if not path.is_file():
        raise UserInputError(str(path), "file not found")
    from tensorflow import keras

    from dse.families.lfads.model import custom_objects

    try:
        return keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    except Exception as e:  # corrupt file, not a Keras model, unknown layer
        raise UserInputError(str(path), f"cannot load as a Keras 2 model: {type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''}") from None


def run(args: argparse.Namespace) -> int:
    from dse.cost.parts import full_part_name, get_part
    from dse.cost.registry import get_backend
    from dse.hls.design import HLSDesign

    try:
        get_part(args.part)
    except KeyError as e:
        raise ConfigError("command line", str(e.args[0]), "--part") from None
    if args.clock_ns <= 0:
        raise ConfigError("command line", f"must be > 0, got {args.clock_ns}", "--clock-ns")
    if args.reuse_factor < 1 or (args.recurrent_reuse_factor is not None and args.recurrent_reuse_factor < 1):
        raise ConfigError("command line", "reuse factors must be >= 1", "--reuse-factor")
    model = _load(args.model)
    layer_rf, recurrent, substitutions = resolve_reuse_factors(
        model, args.reuse_factor, args.recurrent_reuse_factor, resource=args.strategy == "resource")
    design = HLSDesign(
        quantization="qat" if args.qat else "ptq", precision=args.precision, reuse_factor=args.reuse_factor,
        layer_reuse_factor=layer_rf, recurrent_reuse_factor=recurrent,
        strategy="Latency" if args.strategy == "latency" else "Resource",
        io_type=args.io_type, table_size=args.table_size, part=full_part_name(args.part),
        clock_period=args.clock_ns, backend="Vivado" if args.backend == "vivado" else "Vitis",
        input_precision=args.precision if not _integer_inputs(model) else HLSDesign.input_precision)
    from dse.hls.convert import convert

    with tempfile.TemporaryDirectory(prefix="dse-estimate-") as tmp:
        hls_model = convert(model, design, Path(tmp) / "prj")
        report = get_backend(args.backend).cost(hls_model, part=design.part, clock_ns=args.clock_ns,
                                                output_dir=str(Path(tmp) / "synth"))
    subs = [s.to_dict() for s in substitutions] + [
        s for s in report.details.get("reuse_factor_substitutions", [])
        if (s["layer"], s["product"]) not in {(x.layer, x.product) for x in substitutions}]
    report.details["reuse_factor_substitutions"] = subs
    out = {"latency_cycles": report.latency_cycles, "latency_us": report.latency_us,
           "ii_cycles": report.ii_cycles, "dsp": report.dsp, "lut": report.lut, "ff": report.ff,
           "bram_18k": report.bram_18k, "uram": report.uram, "utilisation": report.utilisation(),
           "backend": report.backend, "part": report.part, "clock_ns": report.clock_ns,
           "tool_version": report.tool_version, "fits": report.fits(),
           "uncertainty": report.details.get("uncertainty", {}),
           "reuse_factor_substitutions": subs,
           "fallback_layers": report.details.get("fallback_layers", [])}
    if args.json:
        print(json.dumps(out))
        return 0
    unc = out["uncertainty"]
    for k, v in out.items():
        if k in ("uncertainty", "reuse_factor_substitutions", "fallback_layers"):
            continue
        text = f"{v:.4g}" if isinstance(v, float) else str(v)
        metric = {"latency_cycles": "latency", "latency_us": "latency", "bram_18k": "bram"}.get(k, k)
        if metric in unc and isinstance(v, int | float) and not isinstance(v, bool):
            text += f" (± {unc[metric] * 100:.0f} %)"
        print(f"{k:>15}: {text}")
    if unc:
        print(f"{'uncertainty':>15}: {report.details.get('uncertainty_basis', '')}")
    for s in subs:
        print(f"{'reuse factor':>15}: {s['layer']} ({s['product']}): {s['requested']} -> {s['used']} "
              "(hls4ml's closest valid value)")
    for f in out["fallback_layers"]:
        print(f"{'fallback':>15}: {f['name']} ({f['class']}): {f['reason']}")
    return 0


def resolve_reuse_factors(model, reuse_factor: int, recurrent_reuse_factor: int | None, *, resource: bool):
    """Per-layer input and recurrent reuse factors as hls4ml 1.3.0 will build them, and the substitutions.

    With the Resource strategy each product's requested value goes to hls4ml's closest valid value
    (:mod:`dse.hls.reuse`, applied by :mod:`dse.cost.estimator_rf`); the Latency
    strategy keeps any value (hls4ml does not change it)."""
    from dse.cost.estimator_rf import resolve_model_reuse_factors
    from dse.hls import matmul_sizes

    sizes = matmul_sizes(model)
    names = {name for name, _ in sizes}
    requested = {n: reuse_factor for n in names}
    recurrent = {n: recurrent_reuse_factor for n, kind in sizes if kind == "recurrent"
                 and recurrent_reuse_factor is not None}
    used_in, used_rec, subs = resolve_model_reuse_factors(sizes, requested, recurrent, resource=resource)
    layer_rf = {n: rf for n, rf in used_in.items() if rf != reuse_factor}
    rec = {n: rf for n, rf in used_rec.items() if rf != used_in.get(n, reuse_factor)}
    return layer_rf, rec, subs


def _integer_inputs(model) -> bool:
    """LFADS-style models take spike counts: keep dse's exact unsigned-integer input type."""
    return [i.name for i in model.inputs][:1] == ["spikes"]

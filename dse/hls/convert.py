"""(trained Keras/QKeras model, :class:`~dse.hls.design.HLSDesign`) -> hls4ml ``ModelGraph``.

``to_hls_config`` starts from ``hls4ml.utils.config_from_keras_model(model, granularity='name')`` and
overrides precisions, reuse factors, tables and the flow (:func:`dse.hls.workarounds.flow_for`);
``convert`` builds the ``ModelGraph`` (not written, not compiled) and checks that hls4ml used the
reuse factors it was given. The C simulation reads the weights from text files at run time
(hls4ml's ``write_weights_txt=True``): embedded as C++ initialisers, the paper-size model's ~75k
ap_fixed constants kept g++ busy for over ten CPU-minutes (one huge static initialiser), see
:mod:`dse.hls.cache` for what that means for relocating a compiled project.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dse.hls import reuse, workarounds
from dse.hls.design import PRECISION_VARS, HLSDesign, parse_precision
from dse.hls.errors import DesignError

log = logging.getLogger(__name__)

PROJECT_NAME = "myproject"
#: Type of an input that is all zeros (HLSDesign.zero_inputs): holds 0 exactly, 2-bit operand.
ZERO_INPUT_PRECISION = "ap_fixed<2,2>"
_RNN_CLASSES = ("GRU", "QGRU", "LSTM", "QLSTM", "SimpleRNN", "QSimpleRNN")
_FLOAT_CLASSES = ("Dense", "GRU", "LSTM", "SimpleRNN", "Conv1D", "Conv2D")
_QKERAS_CLASSES = tuple(f"Q{c}" for c in _FLOAT_CLASSES)


# ============================================================================================ helpers


@contextlib.contextmanager
def _hls4ml_output() -> Iterator[None]:
    """hls4ml reports on stdout; keep its warnings (as log warnings) and drop the rest."""
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            yield
    finally:
        for line in buf.getvalue().splitlines():
            if "WARNING" in line:
                log.warning("hls4ml: %s", line.strip())
            else:
                log.debug("hls4ml: %s", line)


def _keras_layers(model: Any) -> dict[str, Any]:
    return {layer.name: layer for layer in model.layers}


def _class(layer: Any) -> str:
    return type(layer).__name__


def _wrapped(layer: Any) -> Any | None:
    """The layer inside a TimeDistributed/Bidirectional wrapper, else None."""
    return getattr(layer, "layer", None) if _class(layer) in ("TimeDistributed", "Bidirectional") else None


def _has_initial_state(model: Any, layer: Any) -> bool:
    return any(len(node.keras_inputs) > 1 for node in layer.inbound_nodes) and _class(layer) in _RNN_CLASSES


def matmul_sizes(model: Any) -> dict[tuple[str, str], tuple[int, int]]:
    """``(layer, 'input'|'recurrent') -> (n_in, n_out)`` of every matrix product, as hls4ml sizes them."""
    sizes: dict[tuple[str, str], tuple[int, int]] = {}
    for name, layer in _keras_layers(model).items():
        inner = _wrapped(layer) or layer
        cls = _class(inner).removeprefix("Q")
        if cls in ("GRU", "LSTM", "SimpleRNN"):
            gates = {"GRU": 3, "LSTM": 4, "SimpleRNN": 1}[cls]
            n_in = (
                int(layer.input_shape[-1])
                if not isinstance(layer.input_shape, list)
                else int(layer.input_shape[0][-1])
            )
            sizes[(name, "input")] = (n_in, gates * inner.units)
            sizes[(name, "recurrent")] = (inner.units, gates * inner.units)
        elif cls == "Dense":
            sizes[(name, "input")] = (int(inner.kernel.shape[0]), int(inner.kernel.shape[1]))
    return sizes


def valid_reuse_factors(model: Any) -> dict[tuple[str, str], list[int]]:
    """The reuse factors hls4ml's Resource strategy accepts for each product of :func:`matmul_sizes`
    (:func:`dse.hls.reuse.valid_reuse_factors`; the Vivado and Vitis backends share the rule)."""
    return {key: list(reuse.valid_reuse_factors(*size)) for key, size in matmul_sizes(model).items()}


def _check_design(model: Any, design: HLSDesign) -> None:
    layers = _keras_layers(model)
    unknown = design.layer_names() - set(layers)
    if unknown:
        raise DesignError(f"unknown layer(s) {sorted(unknown)}; the model has {sorted(layers)}")
    for name, _ in design.recurrent_reuse_factor:
        if (name, "recurrent") not in matmul_sizes(model):
            raise DesignError(f"layer {name!r} is not recurrent", "recurrent_reuse_factor")
    for name, source in design.state_inputs:
        if _class(layers[name]) != "InputLayer" or _class(layers[source]) not in ("GRU", "QGRU"):
            raise DesignError(f"{name!r} -> {source!r}: expected a model input and a GRU layer", "state_inputs")
    if design.io_type == "io_stream":
        blockers = [
            n
            for n, layer in layers.items()
            if _class(layer) == "Bidirectional" or _has_initial_state(model, layer)
        ]
        if blockers:
            raise DesignError(
                f"io_stream is not supported for layers {blockers}: hls4ml 1.3.0 implements "
                "Bidirectional only with arrays (nnet::bidirectional_stack; the Vitis backend raises for "
                "io_stream) and a GRU with an initial state only with arrays; use io_parallel",
                "io_type",
            )
    if design.strategy == "Resource":
        valid = valid_reuse_factors(model)
        for (name, kind), rfs in valid.items():
            rf = design.recurrent_rf(name) if kind == "recurrent" else design.layer_rf(name)
            if rf not in rfs:
                n_in, n_out = matmul_sizes(model)[(name, kind)]
                field = "recurrent_reuse_factor" if kind == "recurrent" else "reuse_factor"
                raise DesignError(
                    f"layer {name!r}: {kind} reuse factor {rf} is invalid for its {n_in}x{n_out} product "
                    "with the Resource strategy (hls4ml would silently use the closest valid one); "
                    f"valid: {rfs}",
                    field,
                )
    quantized = sorted(
        n for n, layer in layers.items() if _class(_wrapped(layer) or layer) in _QKERAS_CLASSES
    )
    plain = sorted(n for n, layer in layers.items() if _class(_wrapped(layer) or layer) in _FLOAT_CLASSES)
    if design.quantization == "qat" and plain:
        raise DesignError(
            f"quantization='qat' needs a QKeras model; layers {plain} are not quantized", "quantization"
        )
    if design.quantization == "ptq" and quantized:
        # hls4ml would keep the quantizers' weight types of these layers, so this would not be the PTQ design.
        raise DesignError(
            f"quantization='ptq' needs a float model; layers {quantized} are QKeras layers "
            "(use quantization='qat')",
            "quantization",
        )


# ======================================================================================= configuration


def _set_all(precision: dict[str, str], value: str) -> None:
    for key in precision:
        if key != "table":
            precision[key] = value


def _apply_override(layer_cfg: dict, var: str | None, value: str, bidirectional: bool) -> None:
    prec = layer_cfg.setdefault("Precision", {})
    if var is None:
        _set_all(prec, value)
        return
    keys = (
        [f"{d}_{var}" for d in ("forward", "backward")]
        if bidirectional and var not in ("result", "accum")
        else [var]
    )
    for key in keys:
        prec[key] = value


def to_hls_config(model: Any, design: HLSDesign) -> dict[str, Any]:
    """The hls4ml config (``hls_config``) of ``design`` for ``model`` (validates the design first)."""
    import hls4ml

    _check_design(model, design)
    flow = workarounds.flow_for(design.backend)
    with _hls4ml_output():
        cfg = hls4ml.utils.config_from_keras_model(
            model,
            granularity="name",
            backend=design.backend,
            default_precision=design.precision,
            default_reuse_factor=design.reuse_factor,
        )
    cfg["Flows"] = [flow]
    cfg["Model"].update(
        {
            "Precision": {"default": design.precision},
            "ReuseFactor": design.reuse_factor,
            "Strategy": design.strategy,
        }
    )
    names: dict[str, dict] = cfg["LayerName"]
    keras_layers = _keras_layers(model)

    # hls4ml lists TimeDistributed but not the layer it wraps (which becomes its own node).
    for layer in keras_layers.values():
        if _class(layer) == "TimeDistributed":
            names.setdefault(
                layer.layer.name, {"Precision": {v: "auto" for v in ("weight", "bias", "result", "accum")}}
            )

    for lcfg in names.values():
        prec = lcfg.setdefault("Precision", {})
        if design.quantization == "ptq":
            _set_all(prec, design.precision)
        else:  # QAT: quantizer-derived precisions stay; everything without a quantizer gets `precision`
            for key, value in prec.items():
                if key != "table" and value == "auto":
                    prec[key] = design.precision
        if "table" in prec:
            prec["table"] = design.table_precision
        if "TableSize" in lcfg:
            lcfg["TableSize"] = design.table_size

    # Per-layer overrides and reuse factors, by Keras layer name (wrappers stand for what they wrap).
    for key, value in design.layer_precision:
        lname, _, var = key.partition(".")
        layer = keras_layers[lname]
        bidir = _class(layer) == "Bidirectional"
        targets = [lname] + ([layer.layer.name] if _class(layer) == "TimeDistributed" else [])
        for target in targets:
            if target in names:
                _apply_override(names[target], var or None, value, bidir)
            # hls4ml splits a Dense's (linear) activation into its own layer; it must not re-cast the result
            if f"{target}_linear" in names and var in ("", "result"):
                names[f"{target}_linear"]["Precision"]["result"] = value
    for lname, layer in keras_layers.items():
        rf, rrf = design.layer_rf(lname), design.recurrent_rf(lname)
        for target in [lname] + ([layer.layer.name] if _class(layer) == "TimeDistributed" else []):
            lcfg = names.get(target)
            if lcfg is None:
                continue
            lcfg["ReuseFactor"] = rf
            if "RecurrentReuseFactor" in lcfg:
                lcfg["RecurrentReuseFactor"] = rrf
            for d in ("Forward", "Backward"):
                if f"{d}ReuseFactor" in lcfg:
                    lcfg[f"{d}ReuseFactor"] = rf
                    lcfg[f"{d}RecurrentReuseFactor"] = rrf

    # Inputs: counts exactly, all-zero inputs in 2 bits, a carried state in its layer's state type (set by the
    # dse_state_input_type pass once hls4ml has typed the layer).
    state_of = dict(design.state_inputs)
    for lname, layer in keras_layers.items():
        if _class(layer) == "InputLayer" and lname in names:
            zero = lname in design.zero_inputs
            names[lname]["Precision"]["result"] = ZERO_INPUT_PRECISION if zero else design.input_precision
            if lname in state_of:
                names[lname][workarounds.STATE_OF_KEY] = state_of[lname]

    for lname, lcfg in names.items():
        for var, value in lcfg.get("Precision", {}).items():
            if value != "auto":
                _validate_hls_precision(value, f"{lname}.{var}")
    return cfg


def _validate_hls_precision(value: str, where: str) -> None:
    s = str(value)
    if s.startswith("fixed<") or s.startswith("ufixed<"):  # hls4ml's own spelling (e.g. from quantizers)
        return
    parse_precision(s, where)


# ============================================================================================ convert


_MATMUL_NODES = (
    "Dense",
    "PointwiseConv1D",
    "PointwiseConv2D",
    "Conv1D",
    "Conv2D",
    "GRU",
    "LSTM",
    "SimpleRNN",
)


def effective_reuse_factors(hls_model: Any) -> dict[tuple[str, str], int]:
    """The reuse factors hls4ml will generate: ``(node, 'input'|'recurrent'|'<dir> recurrent') -> rf``."""
    out: dict[tuple[str, str], int] = {}
    for node in hls_model.get_layers():
        if node.class_name == "Bidirectional":
            out[(node.name, "input")] = int(node.get_attr("reuse_factor"))
            for d in ("forward", "backward"):
                out[(node.name, f"{d} recurrent")] = int(node.get_attr(f"{d}_recurrent_reuse_factor"))
        elif node.get_attr("reuse_factor") is not None and node.class_name in _MATMUL_NODES:
            out[(node.name, "input")] = int(node.get_attr("reuse_factor"))
            if node.get_attr("recurrent_reuse_factor") is not None:
                out[(node.name, "recurrent")] = int(node.get_attr("recurrent_reuse_factor"))
    return out


def _expected_reuse_factors(model: Any, design: HLSDesign) -> dict[tuple[str, str], int]:
    out = {}
    for lname, kind in matmul_sizes(model):
        layer = _keras_layers(model)[lname]
        node = layer.layer.name if _class(layer) == "TimeDistributed" else lname
        if kind == "input":
            out[(node, "input")] = design.layer_rf(lname)
        elif _class(layer) == "Bidirectional":
            for d in ("forward", "backward"):
                out[(node, f"{d} recurrent")] = design.recurrent_rf(lname)
        else:
            out[(node, "recurrent")] = design.recurrent_rf(lname)
    return out


def convert(model: Any, design: HLSDesign, output_dir: str | Path) -> Any:
    """Convert ``model`` (the LFADS ``deploy`` model or any Keras-2/QKeras model) for ``design``.

    Returns the hls4ml ``ModelGraph``; nothing is written to ``output_dir`` yet (``write()`` /
    ``compile()`` or :func:`dse.hls.csim.compile_model` do that).
    """
    import hls4ml

    config = to_hls_config(model, design)
    with _hls4ml_output():
        hls_model = hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=config,
            output_dir=str(output_dir),
            project_name=PROJECT_NAME,
            backend=design.backend,
            part=design.part,
            clock_period=design.clock_period,
            io_type=design.io_type,
            write_weights_txt=True,
        )
    if workarounds.is_enabled("recurrent_reuse_factor"):
        got, want = effective_reuse_factors(hls_model), _expected_reuse_factors(model, design)
        changed = {k: (v, got[k]) for k, v in want.items() if k in got and got[k] != v}
        if changed:
            raise DesignError(f"hls4ml changed reuse factors (requested, used): {changed}", "reuse_factor")
    return hls_model


__all__ = [
    "PRECISION_VARS",
    "convert",
    "effective_reuse_factors",
    "matmul_sizes",
    "to_hls_config",
    "valid_reuse_factors",
]

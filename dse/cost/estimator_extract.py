"""Turn a converted ``hls4ml.model.ModelGraph`` into :class:`~dse.cost.estimator_layers.LayerSpec` s.

Only public ModelGraph/Layer accessors are used (``get_layers()``, ``class_name``, ``get_attr``,
``types``, ``get_input_variable``, ``get_output_variable``, ``get_weights``, ``model.config``), and
hls4ml itself is not imported, so this works on any graph hls4ml 1.x produces.  Each hls4ml class
name maps to an extractor function in :data:`EXTRACTORS`; an unmapped class becomes an ``unknown``
spec that the cost model prices conservatively and reports in ``details['warnings']``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dse.cost.estimator_layers import LayerSpec


@dataclass(frozen=True)
class GraphInfo:
    """Design-wide settings read from ``hls_model.config``."""

    io_type: str
    pipeline_style: str
    backend: str
    strategy: str
    clock_uncertainty: str | None = None  # hls4ml's ClockUncertainty ("27%", or ns)


def graph_info(hls_model: Any) -> GraphInfo:
    """io type, pipeline style, backend name and model-level strategy of a converted model."""
    cfg = hls_model.config
    io_type = str(cfg.get_config_value("IOType") or "io_parallel")
    style = str(getattr(cfg, "pipeline_style", "auto") or "auto").lower()
    strategy = str(getattr(cfg, "model_strategy", None) or "latency").lower()
    if style not in ("pipeline", "dataflow"):
        # mirror SetPipelineStyle [hls4ml backends/vivado/passes/pipeline_style.py:17-34]
        resource = any(str(_attr(layer, "strategy", "")).lower() == "resource" for layer in hls_model.get_layers())
        style = "dataflow" if io_type == "io_stream" or resource else "pipeline"
    backend = getattr(getattr(cfg, "backend", None), "name", None) or str(cfg.get_config_value("Backend") or "")
    try:
        unc = cfg.get_config_value("ClockUncertainty")
    except Exception:  # noqa: BLE001
        unc = None
    return GraphInfo(io_type=io_type, pipeline_style=style, backend=backend, strategy=strategy,
                     clock_uncertainty=None if unc is None else str(unc))


# --------------------------------------------------------------------------------------------------
# Small accessors
# --------------------------------------------------------------------------------------------------


def _attr(layer: Any, name: str, default: Any = None) -> Any:
    try:
        value = layer.get_attr(name, default)
    except Exception:  # noqa: BLE001 - a broken attribute must not stop an estimate
        return default
    return default if value is None else value


def _width(precision: Any, default: int) -> int:
    width = getattr(precision, "width", None)
    return int(width) if width else default


def _type_bits(layer: Any, type_name: str, default: int) -> int:
    """Bit width of a named type of ``layer`` (``weight_t``, ``accum_t``, ``table_t``...)."""
    t = getattr(layer, "types", {}).get(type_name) if hasattr(layer, "types") else None
    if t is None:
        t = _attr(layer, type_name)
    return _width(getattr(t, "precision", None), default)


def _var_bits(var: Any, default: int) -> int:
    return _width(getattr(getattr(var, "type", None), "precision", None), default)


def _input_bits(layer: Any, default: int = 16) -> int:
    try:
        return _var_bits(layer.get_input_variable(), default)
    except Exception:  # noqa: BLE001
        return default


def _output(layer: Any) -> Any:
    try:
        return layer.get_output_variable()
    except Exception:  # noqa: BLE001
        return None


def _result_bits(layer: Any, default: int = 16) -> int:
    return _var_bits(_output(layer), default)


def _out_size(layer: Any) -> int:
    var = _output(layer)
    shape = getattr(var, "shape", None) or []
    return int(math.prod(int(s) for s in shape)) if shape else 0


def _in_size(layer: Any) -> int:
    try:
        shape = layer.get_input_variable().shape
    except Exception:  # noqa: BLE001
        return 0
    return int(math.prod(int(s) for s in shape)) if shape else 0


def _nzeros(layer: Any, weight: str = "weight") -> int:
    try:
        return int(layer.get_weights(weight).nzeros)
    except Exception:  # noqa: BLE001
        return 0


def _common(layer: Any, info: GraphInfo) -> dict[str, Any]:
    """Fields every spec shares."""
    strategy = str(_attr(layer, "strategy", "") or info.strategy).lower()
    return {
        "name": str(layer.name),
        "reuse_factor": int(_attr(layer, "reuse_factor", 1)),
        "data_bits": _input_bits(layer),
        "result_bits": _result_bits(layer),
        "strategy": strategy,
        "io_type": info.io_type,
        "table_size": int(_attr(layer, "table_size", 1024)),
        "table_bits": _type_bits(layer, "table_t", 18),
    }


# --------------------------------------------------------------------------------------------------
# Extractors by hls4ml class name
# --------------------------------------------------------------------------------------------------

Extractor = Callable[[Any, GraphInfo], LayerSpec]
EXTRACTORS: dict[str, Extractor] = {}


def extractor(*class_names: str) -> Callable[[Extractor], Extractor]:
    def deco(fn: Extractor) -> Extractor:
        for c in class_names:
            EXTRACTORS[c] = fn
        return fn

    return deco


@extractor("Dense")
def _dense(layer: Any, info: GraphInfo) -> LayerSpec:
    base = _common(layer, info)
    return LayerSpec(
        kind="dense",
        n_in=int(_attr(layer, "n_in", _in_size(layer))),
        n_out=int(_attr(layer, "n_out", _out_size(layer))),
        weight_bits=_type_bits(layer, "weight_t", 16),
        accum_bits=_type_bits(layer, "accum_t", base["result_bits"]),
        n_zeros=_nzeros(layer),
        **base,
    )


@extractor("Conv1D", "PointwiseConv1D", "Conv2D", "PointwiseConv2D", "Conv2DBatchnorm", "DepthwiseConv1D",
           "DepthwiseConv2D")
def _conv(layer: Any, info: GraphInfo) -> LayerSpec:
    """Conv1D/Conv2D: one ``filt * n_chan -> n_filt`` product per output pixel (a depthwise convolution:
    ``filt`` products per output channel, ``filt -> n_filt``, the same product count).

    hls4ml 1.3.0 sets ``n_partitions = out_pixels // ParallelizationFactor`` [init_conv1d / init_conv2d in
    backends/vivado/vivado_backend.py]; io_parallel ``conv_*d_latency_cl`` loops over the partitions
    (``PIPELINE II=reuse_factor``) and unrolls ``n_pixels`` MVPs inside [nnet_conv1d_latency.h,
    nnet_conv2d_latency.h].  io_stream reads every *input* pixel once through a line buffer
    (``ReadInputHeight``/``ReadInputWidth`` loops, ``PIPELINE II=reuse_factor`` [nnet_conv2d_stream.h:51-58,
    nnet_conv1d_stream.h]) and computes one output pixel per read, so its steps are the input pixels."""
    base = _common(layer, info)
    two_d = layer.class_name != "Conv1D" and "2D" in layer.class_name
    depthwise = layer.class_name.startswith("Depthwise")
    filt = int(_attr(layer, "filt_width", 1)) * (int(_attr(layer, "filt_height", 1)) if two_d else 1)
    chan = int(_attr(layer, "n_chan", 1))
    pixels = int(_attr(layer, "out_width", 1)) * (int(_attr(layer, "out_height", 1)) if two_d else 1)
    partitions = int(_attr(layer, "n_partitions", pixels)) or pixels
    if info.io_type == "io_stream":
        partitions = int(_attr(layer, "in_width", 1)) * (int(_attr(layer, "in_height", 1)) if two_d else 1)
        pixels = partitions
    return LayerSpec(
        kind="conv2d" if two_d else "conv1d",
        n_in=filt if depthwise else filt * chan,
        n_out=int(_attr(layer, "n_filt", 1)),
        positions=partitions,
        parallel=max(pixels // partitions, 1),
        weight_bits=_type_bits(layer, "weight_t", 16),
        accum_bits=_type_bits(layer, "accum_t", base["result_bits"]),
        n_zeros=_nzeros(layer),
        **base,
    )


_RNN_KINDS = {"GRU": "gru", "LSTM": "lstm", "SimpleRNN": "simple_rnn"}


@extractor("GRU", "LSTM", "SimpleRNN")
def _recurrent(layer: Any, info: GraphInfo) -> LayerSpec:
    """A recurrent layer.  With ``pass_initial_states`` hls4ml calls the non-static cell
    [T:recurrent_templates.py:406-425 -> nnet_recurrent.h gru_stack(data, h_state, ...)]; without it a
    second input (a Keras ``initial_state``) is silently not wired: hls4ml 1.3.0's Keras converter never
    sets ``pass_initial_states`` (only the PyTorch one does), which the spec flags."""
    base = _common(layer, info)
    n_state = int(_attr(layer, "n_out", 0)) or _out_size(layer)
    passes_state = bool(_attr(layer, "pass_initial_states", False))
    note = ""
    if len(getattr(layer, "inputs", [])) > 1 and not passes_state:
        note = ("WARNING: initial state input is not passed to the HLS cell (hls4ml pass_initial_states=False): "
                "the generated design starts from a zero state, and HLS may drop the logic that only fed it; "
                "the estimate costs the layers as intended")
    return LayerSpec(
        kind=_RNN_KINDS[layer.class_name],
        n_in=int(_attr(layer, "n_in", 0)),
        n_out=n_state,
        n_state=n_state,
        timesteps=int(_attr(layer, "n_timesteps", 1)),
        recurrent_reuse_factor=int(_attr(layer, "recurrent_reuse_factor", base["reuse_factor"])),
        weight_bits=_type_bits(layer, "weight_t", 16),
        recurrent_weight_bits=_type_bits(layer, "recurrent_weight_t", 16),
        accum_bits=_type_bits(layer, "accum_t", base["result_bits"]),
        static=bool(_attr(layer, "static", True)) and not passes_state,
        activation=str(_attr(layer, "activation", "tanh")),
        recurrent_activation=str(_attr(layer, "recurrent_activation", "sigmoid")),
        n_zeros=_nzeros(layer),
        note=note,
        **base,
    )


@extractor("Bidirectional")
def _bidirectional(layer: Any, info: GraphInfo) -> LayerSpec:
    """Both directions are costed as the forward one (hls4ml requires equal shapes for concat)."""
    base = _common(layer, info)
    base["reuse_factor"] = int(_attr(layer, "forward_reuse_factor", base["reuse_factor"]))
    kind = _RNN_KINDS.get(str(_attr(layer, "forward_class_name", "GRU")), "gru")
    n_state = int(_attr(layer, "forward_n_states", 0)) or _out_size(layer) // 2
    return LayerSpec(
        kind=kind,
        n_in=int(_attr(layer, "n_in", 0)),
        n_out=2 * n_state,
        n_state=n_state,
        timesteps=int(_attr(layer, "n_timesteps", 1)),
        directions=2,
        recurrent_reuse_factor=int(_attr(layer, "forward_recurrent_reuse_factor", base["reuse_factor"])),
        weight_bits=_type_bits(layer, "forward_weight_t", 16),
        recurrent_weight_bits=_type_bits(layer, "forward_recurrent_weight_t", 16),
        accum_bits=_type_bits(layer, "accum_t", base["result_bits"]),
        static=bool(_attr(layer, "static", True)),
        activation=str(_attr(layer, "forward_activation", "tanh")),
        recurrent_activation=str(_attr(layer, "forward_recurrent_activation", "sigmoid")),
        n_zeros=_nzeros(layer, "forward_weight"),
        **base,
    )


@extractor("Activation", "ParametrizedActivation", "HardActivation", "PReLU", "TernaryTanh", "UnaryLUT")
def _activation(layer: Any, info: GraphInfo) -> LayerSpec:
    base = _common(layer, info)
    n = _out_size(layer)
    return LayerSpec(kind="activation", n_in=n, n_out=n, activation=str(_attr(layer, "activation", "linear")),
                     **base)


@extractor("Softmax")
def _softmax(layer: Any, info: GraphInfo) -> LayerSpec:
    base = _common(layer, info)
    base["table_bits"] = _type_bits(layer, "exp_table_t", base["table_bits"])
    n = _out_size(layer)
    return LayerSpec(kind="softmax", n_in=n, n_out=n, activation="softmax", **base)


@extractor("BatchNormalization", "ApplyAlpha")
def _batchnorm(layer: Any, info: GraphInfo) -> LayerSpec:
    base = _common(layer, info)
    n = _out_size(layer)
    return LayerSpec(kind="elementwise", n_in=n, n_out=n, weight_bits=_type_bits(layer, "scale_t", 16),
                     accum_bits=base["result_bits"], **base)


@extractor("Pooling1D", "Pooling2D", "GlobalPooling1D", "GlobalPooling2D")
def _pooling(layer: Any, info: GraphInfo) -> LayerSpec:
    """Max/average pooling: comparisons or additions over each window, no weight products
    [nnet_pooling.h pooling1d_cl/pooling2d_cl/global_pooling*: ``reduce`` with ``Op_max``/``Op_add``]."""
    base = _common(layer, info)
    n = _out_size(layer)
    if layer.class_name.startswith("Global"):
        window = max(_in_size(layer) // max(n, 1), 1)
    else:
        window = int(_attr(layer, "pool_width", 1)) * int(_attr(layer, "pool_height", 1) or 1)
    op = str(_attr(layer, "pool_op", "Max")).lower()
    # io_stream pooling reads every input pixel once (nnet_pooling_stream.h ReadInputHeight/Width loops)
    in_pixels = int(_attr(layer, "in_width", 1) or 1) * int(_attr(layer, "in_height", 1) or 1)
    return LayerSpec(kind="pooling", n_in=n * window, n_out=n, positions=window, activation=op,
                     timesteps=in_pixels if info.io_type == "io_stream" else 1, note=layer.class_name, **base)


@extractor("Input", "InputLayer", "Reshape", "Transpose", "Concatenate", "Merge", "Dropout", "Flatten",
           "ZeroPadding1D", "Cropping1D", "Repack", "Clone", "Resize")
def _passthrough(layer: Any, info: GraphInfo) -> LayerSpec:
    base = _common(layer, info)
    n = _out_size(layer)
    return LayerSpec(kind="passthrough", n_in=_in_size(layer) or n, n_out=n, note=layer.class_name, **base)


def _unknown(layer: Any, info: GraphInfo) -> LayerSpec:
    """A class without an extractor: costed by the ``unknown`` fallback and listed in
    ``details['fallback_layers']``."""
    base = _common(layer, info)
    return LayerSpec(kind="unknown", n_in=int(_attr(layer, "n_in", 0) or _in_size(layer)), n_out=_out_size(layer),
                     weight_bits=_type_bits(layer, "weight_t", 16), accum_bits=_type_bits(layer, "accum_t", 16),
                     note=str(layer.class_name), **base)


def reuse_factor_substitutions(hls_model: Any) -> list[dict[str, Any]]:
    """Reuse factors hls4ml replaced by its closest valid value: the value asked for in the model's
    configuration (``config.get_reuse_factor`` and dse's ``RecurrentReuseFactor``) against the one the
    layer carries after conversion [backends/fpga/fpga_backend.py ``set_closest_reuse_factor``]."""
    out: list[dict[str, Any]] = []
    cfg = hls_model.config
    for layer in hls_model.get_layers():
        cls = layer.class_name
        if cls not in ("Dense", "Conv1D", "Conv2D", "PointwiseConv1D", "PointwiseConv2D", "GRU", "LSTM",
                       "SimpleRNN", "Bidirectional"):
            continue
        try:
            requested = int(cfg.get_reuse_factor(layer))
            lcfg = cfg.get_layer_config(layer) or {}
        except Exception:  # noqa: BLE001 - a graph without a config: nothing to compare
            continue
        pairs: list[tuple[str, int, Any]] = []
        if cls == "Bidirectional":
            for d in ("forward", "backward"):
                pairs.append((f"{d} input", requested, _attr(layer, f"{d}_reuse_factor")))
                rec = int(lcfg.get(f"{d.capitalize()}RecurrentReuseFactor", lcfg.get("RecurrentReuseFactor",
                                                                                      requested)))
                pairs.append((f"{d} recurrent", rec, _attr(layer, f"{d}_recurrent_reuse_factor")))
        else:
            pairs.append(("input", requested, _attr(layer, "reuse_factor")))
            if cls in _RNN_KINDS:
                rec = int(lcfg.get("RecurrentReuseFactor", requested))
                pairs.append(("recurrent", rec, _attr(layer, "recurrent_reuse_factor")))
        for product, want, used in pairs:
            if used is not None and int(used) != want:
                out.append({"layer": str(layer.name), "product": product, "requested": want, "used": int(used)})
    return out


# --------------------------------------------------------------------------------------------------
# Graph walk
# --------------------------------------------------------------------------------------------------


def _time_loop(mode: str, pipeline_style: str) -> str:
    """How a TimeDistributed loop is realised (see :func:`estimator_layers.cost_layer`)."""
    mode = (mode or "off").lower()
    if mode == "unroll":
        return "unrolled"
    if mode == "pipeline":
        return "pipelined"
    return "unrolled" if pipeline_style == "pipeline" else "sequential"


def specs_from_model(hls_model: Any) -> tuple[list[LayerSpec], GraphInfo]:
    """All layers of ``hls_model`` as LayerSpecs, in graph order, plus the design-wide settings.

    hls4ml 1.3.0 splits ``TimeDistributed(inner)`` into a start node, the inner layer(s) and an
    ``<name>_end`` node; the inner layers get ``time_loop``/``time_steps_wrapped`` from the start node.
    """
    info = graph_info(hls_model)
    specs: list[LayerSpec] = []
    wrap: tuple[str, int, str] | None = None  # (end node name, T, loop mode)
    for layer in hls_model.get_layers():
        cls = layer.class_name
        if cls == "TimeDistributed":
            if wrap is not None and layer.name == wrap[0]:
                wrap = None
            else:
                steps = int(_attr(layer, "n_time_steps", 1))
                mode = _time_loop(str(_attr(layer, "time_step_loop_parallelism", "off")), info.pipeline_style)
                wrap = (f"{layer.name}_end", steps, mode)
            continue
        fn = EXTRACTORS.get(cls, _unknown)
        spec = fn(layer, info)
        if wrap is not None:
            spec = replace(spec, time_loop=wrap[2], time_steps_wrapped=wrap[1])
        specs.append(spec)
    return specs, info

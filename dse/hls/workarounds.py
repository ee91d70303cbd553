"""Registered fixes for the defects of hls4ml 1.3.0 / QKeras 0.9.0 met when converting LFADS.

Nothing in site-packages is patched and no hls4ml internals are monkeypatched. Only hls4ml's own
extension points are used:

* Keras-v2 layer handlers (``hls4ml.converters.keras_v2_to_hls.layer_handlers``): the GRU, QGRU and
  Bidirectional entries are replaced by wrappers that call the original handler and fix its result.
  (``register_keras_v2_layer_handler`` refuses names that exist, so the dict entry is replaced.)
* Optimizer passes (``hls4ml.model.optimizer.register_pass``) run by a flow of our own
  (:func:`flow_for`), which is the backend's ``ip`` flow with two extra sub-flows; the conversion
  selects it with the ``Flows`` key of the hls4ml config, so hls4ml's own flows are left unchanged
  and other hls4ml users in the process are not affected.
* A custom C++ header registered with ``Backend.register_source`` (hard activations).

Every fix is named in :data:`WORKAROUNDS` and can be switched off for a test with :func:`enabled`;
each has a test in ``tests/test_hls_workarounds.py`` that fails without it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from dse.hls.errors import DesignError, UnsupportedModelError
from dse.hls.reuse import valid_reuse_factors

#: name -> the defect it works around (the fix is described where it is implemented).
WORKAROUNDS: dict[str, str] = {
    "gru_initial_state": (
        "The Keras-v2 GRU handler drops `initial_state`: the GRU silently starts from zeros (hls4ml's GRU "
        "has the code path, attribute `pass_initial_states`; only the PyTorch converter sets it)."
    ),
    "initial_state_type": (
        "With `pass_initial_states`, nnet::gru_stack takes the state array as the GRU's result type and "
        "its recurrent weights/biases as the *input* weight/bias types; g++ fails ('cannot convert "
        "ap_fixed<40,20>* to ap_fixed<16,6>*') unless the types agree."
    ),
    "bidirectional_qgru": (
        "Bidirectional(QGRU): hls4ml looks the weights up under cell `qgru_cell` (QKeras names it "
        "`qgru_cell_N`) and crashes; it keeps the class name 'QGRU' (C++ `qgru_class` does not exist, "
        "n_mult=4) and ignores the quantizers inside the wrapper."
    ),
    "qgru_weights": (
        "QGRU weights are written unquantized (only Dense/Conv apply `weight_quantizer`), and the "
        "quantizer's type is ap_fixed<W,I+1> with AP_TRN: the C++ floors the float shadow weights instead "
        "of rounding them as QKeras does."
    ),
    "qgru_state_precision": (
        "QGRU precisions from config_from_keras_model: the state quantizer becomes `accum` and the tanh "
        "quantizer `result` (the state, e.g. ap_fixed<16,1>, clipping it to [-1,1)); the recurrent bias "
        "gets no quantizer precision."
    ),
    "hard_activations": (
        "QGRU with QKeras hard activations: the QKeras handler asserts 'Hard activation not supported'; "
        "the recurrent templates can only call nnet::activation:: classes (relu/sigmoid/tanh), which have "
        "no hard versions."
    ),
    "recurrent_resource_kernel": (
        "With the Resource strategy the recurrent template picks the recurrent product's kernel "
        "(DenseResource_rf_leq_nin / _rf_gt_nin_rem0) from the layer's *input* reuse factor; with a "
        "recurrent reuse factor on the other side of n_state the kernel's assert aborts the C simulation "
        "(and the whole Python process)."
    ),
    "time_distributed_output": (
        "A TimeDistributed layer that is a model output *and* feeds another layer: after "
        "expand_time_distributed the model output still names the loop-start marker, whose buffer holds "
        "one time step of the layer's input -- a wrong output, no error."
    ),
    "time_distributed_types": (
        "nnet::read_time_step/write_time_step use one type for their input and output, but the "
        "TimeDistributed loop markers get their own (configured/default) result type: g++ fails ('cannot "
        "convert ap_fixed<16,6,...>* to ap_fixed<40,16>*') when they differ."
    ),
    "recurrent_reuse_factor": (
        "init_gru/init_bidirectional overwrite the configured (Forward/Backward)RecurrentReuseFactor with "
        "ReuseFactor, so the recurrent product's reuse factor cannot be chosen."
    ),
    "table_precision": (
        "The `Precision: table` entry that config_from_keras_model writes for activation tables is never "
        "read: every table is ap_fixed<18,8> whatever the config says."
    ),
    "rnn_guards": (
        "RNN features hls4ml ignores silently: reset_after=False (the templates implement only "
        "reset_after=True), go_backwards/stateful GRUs, non-concat Bidirectional merge (Vitis switches to "
        "concat), activations without an nnet::activation class; use_bias=False crashes."
    ),
}

#: hls4ml layer-config key of an input that carries a recurrent layer's state (HLSDesign.state_inputs),
#: read by the dse_state_input_type pass.
STATE_OF_KEY = "DseStateOf"

_FLAGS: ContextVar[Mapping[str, bool] | None] = ContextVar("dse_hls_workarounds", default=None)


def is_enabled(name: str) -> bool:
    if name not in WORKAROUNDS:
        raise KeyError(f"unknown workaround {name!r}; known: {sorted(WORKAROUNDS)}")
    return (_FLAGS.get() or {}).get(name, True)


@contextlib.contextmanager
def enabled(**flags: bool) -> Iterator[None]:
    """Switch workarounds on/off by name inside a ``with`` block, e.g. ``enabled(gru_initial_state=False)``.

    Flags are read when the model is parsed and when the flows run, i.e. inside ``convert``.
    """
    for name in flags:
        is_enabled(name)
    token = _FLAGS.set({**(_FLAGS.get() or {}), **flags})
    try:
        yield
    finally:
        _FLAGS.reset(token)


# ============================================================================ Keras-v2 layer handlers

_RNN_ACTIVATIONS = ("sigmoid", "tanh", "relu")  # the classes nnet_recr_activations.h defines
HARD_HEADER_NAME = "nnet_dse_hard_activations.h"
_HARD_PREFIX = "dse_hard_"


def _check_rnn_config(class_name: str, cfg: Mapping[str, Any], name: str) -> None:
    """Reject what hls4ml's recurrent layers would silently get wrong."""
    if "GRU" in class_name and not cfg.get("reset_after", False):
        raise UnsupportedModelError(
            "GRU(reset_after=False) is not implemented by hls4ml 1.3.0: nnet::gru always applies the reset "
            "gate "
            "after the recurrent product (Keras' reset_after=True); the C simulation would be silently wrong",
            name,
        )
    for key in ("stateful", "go_backwards"):
        if cfg.get(key, False):
            raise UnsupportedModelError(f"{key}=True is ignored by hls4ml's recurrent layers", name)
    if not cfg.get("use_bias", True):
        raise UnsupportedModelError(
            "use_bias=False crashes hls4ml 1.3.0's recurrent parser; use a bias", name
        )
    for key in ("activation", "recurrent_activation"):
        act = cfg.get(key)
        if isinstance(act, str) and act not in _RNN_ACTIVATIONS:
            raise UnsupportedModelError(
                f"{key}={act!r}: hls4ml's recurrent templates only have {_RNN_ACTIVATIONS}", name
            )
    for key in ("kernel_quantizer", "recurrent_quantizer", "bias_quantizer", "state_quantizer"):
        q = cfg.get(key)
        if isinstance(q, Mapping):
            if q.get("class_name") != "quantized_bits":
                raise UnsupportedModelError(
                    f"{key}: only quantized_bits is supported in recurrent layers", name
                )
            if q["config"].get("alpha", 1) not in (1, 1.0, None):
                raise UnsupportedModelError(
                    f"{key}: alpha={q['config']['alpha']!r}; recurrent layers need alpha=1", name
                )


def _activation_spec(value: Any, key: str, name: str) -> tuple[str, int | None, Any]:
    """(kind, bits, quantizer) of a QKeras RNN activation: kind 'real', 'hard' or 'other'."""
    if not isinstance(value, Mapping) and not (isinstance(value, str) and "(" in value):
        return "other", None, None
    from qkeras import quantizers as qq

    q = qq.get_quantizer(value)
    cls = type(q).__name__
    if cls not in ("quantized_tanh", "quantized_sigmoid"):
        return "other", None, q
    if getattr(q, "use_real_tanh", False) or getattr(q, "use_real_sigmoid", False):
        return "real", int(q.bits), q
    if q.symmetric:
        raise UnsupportedModelError(f"{key}: symmetric {cls} is not supported", name)
    if qq._sigmoid is not qq.hard_sigmoid:  # set_internal_sigmoid('smooth'/'real') changes what 'hard' means
        raise UnsupportedModelError(f"{key}: QKeras' internal sigmoid is not hard_sigmoid", name)
    return "hard", int(q.bits), q


def _hard_activation_name(q: Any) -> str:
    kind = "tanh" if type(q).__name__ == "quantized_tanh" else "sigmoid"
    return f"{_HARD_PREFIX}{kind}_{int(q.bits)}"


def _real_activation_config(q: Any) -> dict:
    cls = type(q).__name__
    flag = "use_real_tanh" if cls == "quantized_tanh" else "use_real_sigmoid"
    return {"class_name": cls, "config": {**q.get_config(), flag: True}}


def _hard_activations(rnn_cfg: dict, name: str) -> dict[str, str]:
    """Make ``rnn_cfg``'s hard QKeras activations 'real' in place (so hls4ml parses them) and return
    {config key: C++ activation class} for them. hard_activations workaround, step 1 of 2."""
    out = {}
    if not is_enabled("hard_activations"):
        return out
    for key in ("activation", "recurrent_activation"):
        kind, _, q = _activation_spec(rnn_cfg.get(key), key, name)
        if kind == "hard":
            out[key] = _hard_activation_name(q)
            rnn_cfg[key] = _real_activation_config(q)
    return out


class _QuantizerPrecision:
    """Quacks like an hls4ml quantizer for ``config_from_keras_model`` (which reads ``hls_type``)."""

    def __init__(self, hls_type: Any) -> None:
        self.hls_type = hls_type


def _qkeras_quantizer(cfg: Any):
    from hls4ml.model.quantizers import QKerasQuantizer

    return QKerasQuantizer(cfg) if isinstance(cfg, Mapping) else None


def _state_precision(cfg: Any):
    """The exact type of QKeras quantized_bits(W, I) applied to a value: round half to even, clip."""
    from hls4ml.model.types import FixedPrecisionType, RoundingMode, SaturationMode

    c = cfg["config"]
    signed = bool(c.get("keep_negative", True))
    integer = int(c.get("integer", 0)) + (1 if signed else 0)
    return FixedPrecisionType(int(c["bits"]), integer, signed, RoundingMode.RND_CONV, SaturationMode.SAT)


def _quantize_rnn(layer: dict, rnn_cfg: Mapping[str, Any], prefix: str, name: str) -> None:
    """qgru_weights + qgru_state_precision for one QGRU (``prefix``: '', 'forward_' or 'backward_')."""
    kq = _qkeras_quantizer(rnn_cfg.get("kernel_quantizer"))
    rq = _qkeras_quantizer(rnn_cfg.get("recurrent_quantizer"))
    bq = _qkeras_quantizer(rnn_cfg.get("bias_quantizer"))
    if is_enabled("qgru_weights"):
        for var, q in (("weight", kq), ("recurrent_weight", rq), ("bias", bq), ("recurrent_bias", bq)):
            if q is not None:
                layer[f"{prefix}{var}_data"] = q(layer[f"{prefix}{var}_data"])
    if is_enabled("qgru_state_precision"):
        for var, q in (("weight", kq), ("recurrent_weight", rq), ("bias", bq), ("recurrent_bias", bq)):
            layer[f"{prefix}{var}_quantizer"] = q
        layer.pop("accum_quantizer", None)
        layer.pop("activation_quantizer", None)
        state = rnn_cfg.get("state_quantizer")
        if isinstance(state, Mapping):
            layer["result_quantizer"] = _QuantizerPrecision(_state_precision(state))


def _parse_gru(original, keras_layer, input_names, input_shapes, data_reader):
    name = keras_layer["config"]["name"]
    if is_enabled("rnn_guards"):
        _check_rnn_config(keras_layer["class_name"], keras_layer["config"], name)
        if input_names and len(input_names) > 2:
            raise UnsupportedModelError("a GRU takes one initial state", name)
    hard = {}
    if keras_layer["class_name"] == "QGRU":
        keras_layer = copy.deepcopy(keras_layer)
        hard = _hard_activations(keras_layer["config"], name)
    layer, shape = original(keras_layer, input_names, input_shapes, data_reader)
    layer.update(hard)  # hard_activations, step 2: nnet::activation::dse_hard_* from our header
    if keras_layer["class_name"] == "QGRU":
        _quantize_rnn(layer, keras_layer["config"], "", name)
    if is_enabled("gru_initial_state") and input_names and len(input_names) == 2:
        # Keras lists [sequence, initial_state] as the layer's inbound tensors; hls4ml's GRU already
        # implements the second input (nnet::gru_stack<data_T, h_T, res_T, CONFIG_T>) when asked.
        layer["pass_initial_states"] = True
    return layer, shape


class _QKerasCellReader:
    """Weight reader that also finds QKeras' numbered cells (``qgru_cell_3``) under hls4ml's ``qgru_cell``."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader

    def get_weights_data(self, layer_name: str, var_name: str):
        data = self._reader.get_weights_data(layer_name, var_name)
        m = re.fullmatch(r"(.*)/(q\w+_cell)/(\w+)", var_name)
        if data is not None or m is None:
            return data
        model = getattr(self._reader, "model", None)
        if model is None:
            raise UnsupportedModelError(
                "Bidirectional(QGRU) is converted from an in-memory model only", layer_name
            )
        pattern = re.compile(rf"{re.escape(m[1])}/{m[2]}(_\d+)?/{re.escape(m[3])}:\d+$")
        for w in model.get_layer(layer_name).weights:
            if pattern.search(w.name):
                return w.numpy()
        return None


def _parse_bidirectional(original, keras_layer, input_names, input_shapes, data_reader):
    cfg = keras_layer["config"]
    name = cfg["name"]
    subs = [cfg["layer"]] + ([cfg["backward_layer"]] if cfg.get("backward_layer") else [])
    if is_enabled("rnn_guards"):
        for sub in subs:
            _check_rnn_config(sub["class_name"], {**sub["config"], "go_backwards": False}, name)
        if cfg.get("merge_mode", "concat") != "concat":
            raise UnsupportedModelError(
                f"merge_mode={cfg.get('merge_mode')!r}: the Vitis backend silently uses "
                "'concat'; only 'concat' is supported",
                name,
            )
        if input_names and len(input_names) > 1:
            raise UnsupportedModelError("initial states of a Bidirectional layer are not supported", name)
    if not is_enabled("bidirectional_qgru") or not any(s["class_name"].startswith("Q") for s in subs):
        return original(keras_layer, input_names, input_shapes, data_reader)

    keras_layer = copy.deepcopy(keras_layer)
    cfg = keras_layer["config"]
    subs = [cfg["layer"]] + ([cfg["backward_layer"]] if cfg.get("backward_layer") else [])
    hard = {s["config"]["name"]: _hard_activations(s["config"], name) for s in subs}
    layer, shape = original(keras_layer, input_names, input_shapes, _QKerasCellReader(data_reader))
    by_name = {s["config"]["name"]: s for s in subs}
    for d in ("forward", "backward"):
        sub = by_name[layer[f"{d}_name"]]
        layer[f"{d}_class_name"] = sub["class_name"].removeprefix("Q")  # C++ gru_class, n_mult = 3
        for key in ("activation", "recurrent_activation"):
            kind, _, q = _activation_spec(sub["config"][key], key, name)
            if key in hard[sub["config"]["name"]]:
                layer[f"{d}_{key}"] = hard[sub["config"]["name"]][key]
            elif kind == "real":  # hls4ml would keep the quantizer's config dict as the C++ class name
                layer[f"{d}_{key}"] = type(q).__name__.removeprefix("quantized_")
        _quantize_rnn(layer, sub["config"], f"{d}_", name)
    return layer, shape


# ==================================================================================== optimizer passes


def _optimizer_classes():
    from hls4ml.model.optimizer import ModelOptimizerPass, OptimizerPass

    class InitialStateType(OptimizerPass):
        """initial_state_type: give the initial state's producer the GRU's state (result) type.

        Casting the producer's accumulator once, straight to the state type, is what the hardware
        does anyway when it loads the state register; for QAT it is exactly QKeras' state quantizer
        applied to the initial state (QGRU quantizes h_{t-1}, including h_0). A separate cast layer
        would round twice. The producer must feed only the GRU (true for LFADS' ``ic``).
        """

        def match(self, node):
            return (
                is_enabled("initial_state_type")
                and node.class_name in ("GRU", "LSTM", "SimpleRNN")
                and bool(node.get_attr("pass_initial_states", False))
            )

        def transform(self, model, node):
            state_name = node.inputs[1]
            others = [n.name for n in model.graph.values() if n is not node and state_name in n.inputs]
            if others or state_name in model.outputs:
                raise UnsupportedModelError(
                    f"the initial state {state_name!r} also feeds {others or 'a model output'}; it must feed "
                    "only the recurrent layer (its type is set to the layer's state type)",
                    node.name,
                )
            state_var = node.get_input_variable(state_name)
            state_var.type.precision = node.get_output_variable().type.precision
            for a, b in (("weight", "recurrent_weight"), ("bias", "recurrent_bias")):
                ta, tb = node.types[f"{a}_t"].precision, node.types[f"{b}_t"].precision
                if str(ta) != str(tb):
                    raise DesignError(
                        f"layer {node.name!r}: a GRU with an initial state needs {b} precision == {a} "
                        f"precision in hls4ml 1.3.0 (nnet::gru_stack declares both with the {a} type); "
                        f"got {tb} vs {ta}",
                        "layer_precision",
                    )
            return False

    class StateInputType(OptimizerPass):
        """dse_state_input_type (a dse feature, not a workaround: always on): an input marked with
        ``HLSDesign.state_inputs`` takes the state type of the GRU whose state it carries, and so does a
        Reshape that only re-views it (hls4ml copies the input's type into the Reshape at creation)."""

        def match(self, node):
            return node.class_name == "Input" and STATE_OF_KEY in node.model.config.get_layer_config(node)

        def transform(self, model, node):
            source = model.graph[model.config.get_layer_config(node)[STATE_OF_KEY]]
            precision = source.get_output_variable().type.precision
            var = node.get_output_variable()
            if str(var.type.precision) == str(precision):
                return False
            var.type.precision = precision
            for other in model.graph.values():
                if other.class_name == "Reshape" and var.name in other.inputs:
                    other.get_output_variable().type.precision = precision
            return False

    class RecurrentReuseFactor(OptimizerPass):
        """recurrent_reuse_factor: re-apply the configured recurrent reuse factors after init_gru.

        For Bidirectional, the per-direction input reuse factor is set to the layer's, which is what
        the template actually uses for the input product (it only reads the per-direction one to
        choose the Resource kernel).
        """

        def match(self, node):
            return is_enabled("recurrent_reuse_factor") and node.class_name in (
                "GRU",
                "LSTM",
                "SimpleRNN",
                "Bidirectional",
            )

        def transform(self, model, node):
            cfg = model.config.get_layer_config(node)
            rf = node.get_attr("reuse_factor")
            backend = model.config.backend
            resource = str(node.get_attr("strategy", "latency")).lower().startswith("resource")
            if node.class_name == "Bidirectional":
                sizes = backend.get_layer_mult_size(node)
                for (_, _, n_in_r, n_out_r), d in zip(sizes, ("forward", "backward"), strict=True):
                    rrf = int(cfg.get(f"{d.capitalize()}RecurrentReuseFactor", rf))
                    _check_rf(node.name, f"{d} recurrent", n_in_r, n_out_r, rrf, resource)
                    node.set_attr(f"{d}_reuse_factor", rf)
                    node.set_attr(f"{d}_recurrent_reuse_factor", rrf)
            else:
                _, _, n_in_r, n_out_r = backend.get_layer_mult_size(node)
                rrf = int(cfg.get("RecurrentReuseFactor", rf))
                _check_rf(node.name, "recurrent", n_in_r, n_out_r, rrf, resource)
                node.set_attr("recurrent_reuse_factor", rrf)
            return False

    class TimeDistributedOutput(ModelOptimizerPass):
        """time_distributed_output: point model outputs at the end marker of an expanded TimeDistributed."""

        def __init__(self):
            self.name = "dse_time_distributed_output"

        def transform(self, model):
            if not is_enabled("time_distributed_output"):
                return False
            outputs = []
            for out in model.outputs:
                node = model.graph.get(out)
                end = node.get_attr("wrapped_layer") if node is not None else None
                if (
                    node is not None
                    and node.class_name == "TimeDistributed"
                    and getattr(end, "name", None) == f"{node.name}_end"
                ):  # node is the loop start
                    out = end.outputs[0]
                outputs.append(out)
            model.outputs = outputs
            return False

    class TimeDistributedTypes(OptimizerPass):
        """time_distributed_types: a TimeDistributed marker copies values, so it gets its input's type."""

        def match(self, node):
            return is_enabled("time_distributed_types") and node.class_name == "TimeDistributed"

        def transform(self, model, node):
            node.get_output_variable().type.precision = node.get_input_variable().type.precision
            return False

    class TablePrecision(OptimizerPass):
        """table_precision: apply the config's ``Precision: {table: ...}`` to the node's ``table_t``."""

        def match(self, node):
            if not is_enabled("table_precision") or node.get_attr("table_t") is None:
                return False
            want = node.model.config.get_layer_config(node).get("Precision", {})
            return isinstance(want, Mapping) and "table" in want

        def transform(self, model, node):
            want = model.config.get_layer_config(node)["Precision"]["table"]
            node.get_attr("table_t").precision = model.config.backend.convert_precision_string(want)
            return False

    class HardActivationInclude(OptimizerPass):
        """hard_activations, step 3: include our header where a dse_hard_* activation is used."""

        def match(self, node):
            if node.class_name not in ("GRU", "LSTM", "SimpleRNN", "Bidirectional"):
                return False
            acts = [str(v) for k, v in node.attributes.items() if str(k).endswith("activation")]
            inc = node.get_attr("include_header", []) or []
            return any(a.startswith(_HARD_PREFIX) for a in acts) and _HEADER_INCLUDE not in inc

        def transform(self, model, node):
            node.set_attr("include_header", [*(node.get_attr("include_header", []) or []), _HEADER_INCLUDE])
            return False

    class RecurrentResourceKernel(OptimizerPass):
        """recurrent_resource_kernel: pick the recurrent product's Resource kernel by its own reuse factor."""

        def match(self, node):
            return (
                is_enabled("recurrent_resource_kernel")
                and node.class_name in ("GRU", "LSTM", "Bidirectional")
                and str(node.get_attr("strategy", "")).lower() == "resource"
                and bool(node.get_attr("config_cpp"))
            )

        def transform(self, model, node):
            if node.class_name == "Bidirectional":
                blocks = [
                    (
                        f"config{node.index}_2_{d[0]}",
                        node.get_attr(f"{d}_recurrent_reuse_factor"),
                        node.get_attr(f"{d}_n_states"),
                    )
                    for d in ("forward", "backward")
                ]
            else:
                blocks = [
                    (f"config{node.index}_2", node.get_attr("recurrent_reuse_factor"), node.get_attr("n_out"))
                ]
            text = node.get_attr("config_cpp")
            for name, rrf, n_state in blocks:
                kernel = (
                    "DenseResource_rf_leq_nin" if int(rrf) <= int(n_state) else "DenseResource_rf_gt_nin_rem0"
                )
                pattern = re.compile(
                    rf"(struct {re.escape(name)} : nnet::dense_config \{{.*?using kernel = nnet::)"
                    r"DenseResource_rf_\w+?(<)",
                    re.DOTALL,
                )
                text, n = pattern.subn(rf"\g<1>{kernel}\g<2>", text, count=1)
                if n != 1:
                    raise RuntimeError(
                        f"recurrent_resource_kernel: no Resource kernel in {name} of {node.name}"
                    )
            node.set_attr("config_cpp", text)
            return False

    return {
        "dse_recurrent_resource_kernel": RecurrentResourceKernel,
        "dse_initial_state_type": InitialStateType,
        "dse_state_input_type": StateInputType,
        "dse_recurrent_reuse_factor": RecurrentReuseFactor,
        "dse_time_distributed_output": TimeDistributedOutput,
        "dse_table_precision": TablePrecision,
        "dse_time_distributed_types": TimeDistributedTypes,
        "dse_hard_activation_include": HardActivationInclude,
    }


def _check_rf(layer: str, what: str, n_in: int, n_out: int, rf: int, resource: bool) -> None:
    if resource:
        valid = list(valid_reuse_factors(n_in, n_out))
        if rf not in valid:
            raise DesignError(
                f"layer {layer!r}: {what} reuse factor {rf} is invalid for a {n_in}x{n_out} product "
                f"with the Resource strategy; valid: {valid}",
                "recurrent_reuse_factor",
            )


# ========================================================================================= C++ header

_HEADER_INCLUDE = f"nnet_utils/{HARD_HEADER_NAME}"
_HARD_HEADER = (
    r"""// Generated by dse.hls.workarounds (hard_activations): QKeras hard activations for hls4ml's RNNs.
#ifndef NNET_DSE_HARD_ACTIVATIONS_H_
#define NNET_DSE_HARD_ACTIVATIONS_H_

#include "ap_fixed.h"
#include "nnet_recr_activations.h"

namespace nnet {
namespace activation {

// QKeras quantized_sigmoid(B), use_real_sigmoid=False: clip(x/2 + 1/2, 0, 1) rounded half-to-even to B
// fractional bits and clipped to 1 - 2^-B, i.e. ap_ufixed<B,0,AP_RND_CONV,AP_SAT>(x/2 + 1/2). x/2 + 1/2 is
// exact in a type one bit wider than x on both sides. No multiplier, no table.
template <int B, class data_T, class res_T, typename CONFIG_T>
class dse_hard_sigmoid_q : public Activation<data_T, res_T, CONFIG_T> {
  public:
    static void activation(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
        #pragma HLS PIPELINE
        typedef ap_fixed<data_T::width + 2, data_T::iwidth + 1> wide_t;
        for (int ii = 0; ii < CONFIG_T::n_in; ii++) {
            #pragma HLS UNROLL
            wide_t x = data[ii];
            x = x >> 1;
            x += wide_t(0.5);
            ap_ufixed<B, 0, AP_RND_CONV, AP_SAT> q = x;
            res[ii] = q;
        }
    }
};

// QKeras quantized_tanh(B), use_real_tanh=False: 2*hard_sigmoid(x) - 1 = clip(x, -1, 1), rounded
// half-to-even to B-1 fractional bits and clipped to [-1, 1 - 2^-(B-1)]:
// ap_fixed<B,1,AP_RND_CONV,AP_SAT>(x).
template <int B, class data_T, class res_T, typename CONFIG_T>
class dse_hard_tanh_q : public Activation<data_T, res_T, CONFIG_T> {
  public:
    static void activation(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
        #pragma HLS PIPELINE
        for (int ii = 0; ii < CONFIG_T::n_in; ii++) {
            #pragma HLS UNROLL
            ap_fixed<B, 1, AP_RND_CONV, AP_SAT> q = data[ii];
            res[ii] = q;
        }
    }
};

#define DSE_HARD_ACTIVATIONS(B)                                                                    \
    template <class data_T, class res_T, typename CONFIG_T>                                        \
    using dse_hard_sigmoid_##B = dse_hard_sigmoid_q<B, data_T, res_T, CONFIG_T>;                   \
    template <class data_T, class res_T, typename CONFIG_T>                                        \
    using dse_hard_tanh_##B = dse_hard_tanh_q<B, data_T, res_T, CONFIG_T>;
"""
    + "".join(f"DSE_HARD_ACTIVATIONS({b})\n" for b in range(2, 33))
    + r"""#undef DSE_HARD_ACTIVATIONS

} // namespace activation
} // namespace nnet

#endif
"""
)


def _header_path() -> Path:
    """Write the header once per content to a temp dir (atomically) and return its absolute path."""
    digest = hashlib.sha256(_HARD_HEADER.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"dse-hls-{digest}" / HARD_HEADER_NAME
    if not path.is_file() or path.read_text() != _HARD_HEADER:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(_HARD_HEADER)
        os.replace(tmp, path)
    return path


# ======================================================================================= installation

PRE_TEMPLATES_FLOW = "dse_pre_templates"
POST_TEMPLATES_FLOW = "dse_post_templates"
BACKENDS = ("Vitis", "Vivado")


@functools.cache
def install() -> None:
    """Register the handlers, passes, flows and header with hls4ml (idempotent, once per process)."""
    import hls4ml
    from hls4ml.converters.keras_v2_to_hls import get_layer_handlers
    from hls4ml.model.flow import register_flow
    from hls4ml.model.optimizer import register_pass

    handlers = get_layer_handlers()  # the module's `layer_handlers` dict itself
    for cls_name, wrapper in (
        ("GRU", _parse_gru),
        ("QGRU", _parse_gru),
        ("Bidirectional", _parse_bidirectional),
    ):
        handlers[cls_name] = functools.partial(wrapper, handlers[cls_name])
    for name, cls in _optimizer_classes().items():
        register_pass(name, cls)
    # Before vivado:specific_types: types are still plain precisions; after init_layers and infer_precision.
    register_flow(
        PRE_TEMPLATES_FLOW,
        [
            "dse_recurrent_reuse_factor",
            "dse_initial_state_type",
            "dse_state_input_type",
            "dse_time_distributed_output",
            "dse_time_distributed_types",
            "dse_table_precision",
        ],
    )
    register_flow(POST_TEMPLATES_FLOW, ["dse_hard_activation_include", "dse_recurrent_resource_kernel"])
    header = _header_path()
    for backend in BACKENDS:
        hls4ml.backends.get_backend(backend).register_source(header)


def flow_for(backend: str) -> str:
    """Name of our variant of ``<backend>:ip`` (registered on first use); put it in the config's ``Flows``."""
    from hls4ml.model.flow import get_available_flows, get_flow, register_flow

    install()
    name = f"dse_{backend.lower()}_ip"
    if name not in get_available_flows():
        requires = list(get_flow(f"{backend.lower()}:ip").requires)
        requires.insert(requires.index("vivado:specific_types"), PRE_TEMPLATES_FLOW)
        requires.append(POST_TEMPLATES_FLOW)
        register_flow(name, None, requires=requires)
    return name

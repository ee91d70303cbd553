"""One FPGA design point of a trained model: precision, parallelism, interface and target.

A design point is plain, frozen, hashable data (mappings are stored as sorted tuples), so that it can
be a key, be logged as JSON and be compared. :func:`dse.hls.convert.to_hls_config` turns it into an
hls4ml configuration; everything hls4ml 1.3.0 would silently change or get wrong is rejected here or
there with a :class:`~dse.hls.errors.DesignError`.

Layer names are those of the *Keras* model (for LFADS: ``encoder``, ``ic``, ``generator``,
``factors``, ``logrates``); ``TimeDistributed`` wrappers stand for the layer they wrap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from dse.hls.errors import DesignError

Quantization = Literal["ptq", "qat"]
Strategy = Literal["Latency", "Resource"]
IOType = Literal["io_parallel", "io_stream"]
Backend = Literal["Vitis", "Vivado"]

#: Variables of a layer that a ``"layer.var"`` precision override may name.
PRECISION_VARS = ("weight", "bias", "recurrent_weight", "recurrent_bias", "result", "accum")

#: Xilinx Alveo U55C, the board of the LFADS-on-FPGA paper.
DEFAULT_PART = "xcu55c-fsvh2892-2L-e"

_FIXED_RE = re.compile(
    r"^(?:ap_)?(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(AP_\w+)\s*)?(?:,\s*(AP_\w+)\s*)?(?:,\s*(\d+)\s*)?>$"
)
_INT_RE = re.compile(r"^(?:ap_)?(u?)int<\s*(\d+)\s*>$")
_ROUNDING = {"AP_TRN", "AP_TRN_ZERO", "AP_RND", "AP_RND_ZERO", "AP_RND_MIN_INF", "AP_RND_INF", "AP_RND_CONV"}
_SATURATION = {"AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM"}


@dataclass(frozen=True)
class FixedType:
    """A parsed ``ap_[u]fixed<W,I[,Q,O]>`` / ``ap_[u]int<W>`` (I includes the sign bit, as in Vivado)."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "AP_TRN"
    saturation: str = "AP_WRAP"

    def __str__(self) -> str:
        base = f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer}"
        if (self.rounding, self.saturation) == ("AP_TRN", "AP_WRAP"):
            return base + ">"
        return f"{base},{self.rounding},{self.saturation}>"


def parse_precision(text: str, field_name: str = "precision") -> FixedType:
    """Parse an HLS fixed-point/integer type string, raising :class:`DesignError` if it is not one."""
    s = str(text).strip()
    m = _FIXED_RE.match(s)
    if m:
        unsigned, w, i, rnd, sat, _nbits = m.groups()
        t = FixedType(int(w), int(i), not unsigned, rnd or "AP_TRN", sat or "AP_WRAP")
    else:
        m = _INT_RE.match(s)
        if not m:
            raise DesignError(f"{text!r} is not an ap_fixed<W,I>/ap_ufixed/ap_int/ap_uint type", field_name)
        t = FixedType(int(m.group(2)), int(m.group(2)), not m.group(1))
    if not 1 <= t.width <= 1024:
        raise DesignError(f"{text!r}: width must be in 1..1024", field_name)
    if t.rounding not in _ROUNDING or t.saturation not in _SATURATION:
        raise DesignError(f"{text!r}: unknown rounding/saturation mode", field_name)
    return t


def _as_items(value: Any, name: str, cast: type) -> tuple[tuple[str, Any], ...]:
    if isinstance(value, Mapping):
        items = value.items()
    else:
        try:
            items = [tuple(x) for x in value]
        except TypeError as e:
            raise DesignError(f"expected a mapping of layer name to value, got {value!r}", name) from e
    out = []
    for item in items:
        if len(item) != 2 or not isinstance(item[0], str) or not item[0]:
            raise DesignError(f"expected (layer name, value) pairs, got {item!r}", name)
        k, v = item
        if cast is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise DesignError(f"{k}: expected an integer, got {v!r}", name)
        out.append((k, cast(v)))
    keys = [k for k, _ in out]
    if len(set(keys)) != len(keys):
        raise DesignError(f"duplicate layer names in {keys}", name)
    return tuple(sorted(out))


@dataclass(frozen=True)
class HLSDesign:
    """An hls4ml design point.

    Precision
        ``quantization="ptq"``: every type of every layer (weights, biases, accumulators, results) is
        ``precision`` (hls4ml's model-granularity semantics, as in the paper's PTQ sweep), then
        ``layer_precision`` overrides: key ``"layer"`` sets all types of that layer, ``"layer.var"``
        one of :data:`PRECISION_VARS`. ``quantization="qat"``: weights, biases and GRU states take the
        precision of the model's QKeras quantizers (the weights are converted already quantized);
        values without a quantizer (GRU gate accumulators, dense accumulators and outputs) use
        ``precision``; ``layer_precision`` overrides still apply.
    Inputs
        ``input_precision`` is the type of the spike-count input. Counts are integers, so an unsigned
        integer type represents them exactly; the default ``ap_ufixed<8,8,AP_TRN,AP_SAT>`` holds 0..255
        and saturates (instead of wrapping) above. The inputs named in ``zero_inputs`` (Keras input names)
        are always all zeros (e.g. a generator's placeholder input, since hls4ml cannot convert
        ``Lambda``): they get ``ap_fixed<2,2>``, which holds 0 exactly for the price of a 2-bit operand.
        ``state_inputs`` maps an input to a recurrent layer whose state it carries from the previous call of
        a streaming design (a state register that feeds another layer than its GRU): it gets that layer's
        state type, so the stored state is read exactly. (A GRU's own initial-state input gets its type
        anyway.)
    Reuse factors
        ``reuse_factor`` for every matrix product, ``layer_reuse_factor`` per layer and
        ``recurrent_reuse_factor`` for the recurrent (state) product of a GRU / both directions of a
        Bidirectional (default: the layer's reuse factor). With ``strategy="Resource"`` each must be
        one hls4ml accepts for that product (a divisor of ``n_in``, or ``n_in`` times a divisor of
        ``n_out``: :mod:`dse.hls.reuse`); hls4ml would otherwise silently use the closest valid value, so
        :func:`~dse.hls.convert.convert` rejects it (see :func:`dse.hls.convert.valid_reuse_factors`).
    Activations
        ``table_size``/``table_precision``: the lookup tables of sigmoid/tanh in the recurrent layers.
    """

    quantization: Quantization = "ptq"
    precision: str = "ap_fixed<16,6>"
    layer_precision: tuple[tuple[str, str], ...] = ()
    input_precision: str = "ap_ufixed<8,8,AP_TRN,AP_SAT>"
    zero_inputs: tuple[str, ...] = ()
    state_inputs: tuple[tuple[str, str], ...] = ()
    reuse_factor: int = 1
    layer_reuse_factor: tuple[tuple[str, int], ...] = ()
    recurrent_reuse_factor: tuple[tuple[str, int], ...] = ()
    strategy: Strategy = "Latency"
    io_type: IOType = "io_parallel"
    table_size: int = 1024
    table_precision: str = "ap_fixed<18,8>"
    part: str = DEFAULT_PART
    clock_period: float = 5.0
    backend: Backend = "Vitis"

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        if self.quantization not in ("ptq", "qat"):
            raise DesignError(f"must be 'ptq' or 'qat', got {self.quantization!r}", "quantization")
        for name in ("precision", "input_precision", "table_precision"):
            parse_precision(getattr(self, name), name)
        setattr_(self, "layer_precision", _as_items(self.layer_precision, "layer_precision", str))
        for key, value in self.layer_precision:
            parse_precision(value, f"layer_precision[{key}]")
            if "." in key and key.split(".", 1)[1] not in PRECISION_VARS:
                raise DesignError(f"{key!r}: variable must be one of {PRECISION_VARS}", "layer_precision")
        for name in ("layer_reuse_factor", "recurrent_reuse_factor"):
            setattr_(self, name, _as_items(getattr(self, name), name, int))
        if isinstance(self.zero_inputs, str) or not all(isinstance(n, str) for n in self.zero_inputs):
            raise DesignError(f"must be a list of input names, got {self.zero_inputs!r}", "zero_inputs")
        setattr_(self, "zero_inputs", tuple(self.zero_inputs))
        setattr_(self, "state_inputs", _as_items(self.state_inputs, "state_inputs", str))
        for name, value in (
            ("reuse_factor", self.reuse_factor),
            *self.layer_reuse_factor,
            *self.recurrent_reuse_factor,
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DesignError(f"reuse factors must be integers >= 1, got {value!r}", name)
        if self.strategy not in ("Latency", "Resource"):
            raise DesignError(f"must be 'Latency' or 'Resource', got {self.strategy!r}", "strategy")
        if self.io_type not in ("io_parallel", "io_stream"):
            raise DesignError(f"must be 'io_parallel' or 'io_stream', got {self.io_type!r}", "io_type")
        if (
            isinstance(self.table_size, bool)
            or not isinstance(self.table_size, int)
            or self.table_size < 2
            or self.table_size & (self.table_size - 1)
        ):
            raise DesignError(f"must be a power of two >= 2, got {self.table_size!r}", "table_size")
        if not self.part or not isinstance(self.part, str):
            raise DesignError("must be a non-empty FPGA part name", "part")
        if not isinstance(self.clock_period, int | float) or not self.clock_period > 0:
            raise DesignError(f"must be > 0 (ns), got {self.clock_period!r}", "clock_period")
        setattr_(self, "clock_period", float(self.clock_period))
        if self.backend not in ("Vitis", "Vivado"):
            raise DesignError(f"must be 'Vitis' or 'Vivado', got {self.backend!r}", "backend")

    # ------------------------------------------------------------------------------------- lookups

    def layer_rf(self, layer: str) -> int:
        """The reuse factor of ``layer``'s input product."""
        return dict(self.layer_reuse_factor).get(layer, self.reuse_factor)

    def recurrent_rf(self, layer: str) -> int:
        """The reuse factor of ``layer``'s recurrent product."""
        return dict(self.recurrent_reuse_factor).get(layer, self.layer_rf(layer))

    def layer_names(self) -> set[str]:
        """Every layer name the design refers to (checked against the model by ``convert``)."""
        names = {k.split(".", 1)[0] for k, _ in self.layer_precision}
        return (names | {k for k, _ in self.layer_reuse_factor} | {k for k, _ in self.recurrent_reuse_factor}
                | {k for k, _ in self.state_inputs} | {v for _, v in self.state_inputs})

    # --------------------------------------------------------------------------------- (de)serialise

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name in ("layer_precision", "layer_reuse_factor", "recurrent_reuse_factor"):
            d[name] = dict(d[name])
        d["zero_inputs"] = list(d["zero_inputs"])
        d["state_inputs"] = dict(d["state_inputs"])
        if not d["state_inputs"]:  # designs without one keep the dict (and cache keys) they always had
            del d["state_inputs"]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HLSDesign:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise DesignError(f"unknown field(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)

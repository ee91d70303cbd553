"""Load-time checks of an snn study: the combinations of fixed or chosen values that the quantizer or the
VHDL generator would refuse once a model is trained are refused when the study file is read.

Values are those a spec can produce (fixed values, every choice, both ends of a range: `values_or_ends`),
as for the other cross-parameter checks, so a refused combination is one some trial would draw.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from search_spaces.specs import Spec, values_or_ends

Problems = list[tuple[str, str]]


def parse_layer_reuse(text: str) -> list[int]:
    """``"16 1"`` or ``"16,1"`` -> [16, 1]; '' -> [] (ValueError naming the entry at fault)."""
    out = []
    for entry in str(text).replace(",", " ").split():
        try:
            out.append(int(entry))
        except ValueError:
            raise ValueError(f"{entry!r} is not an integer reuse factor") from None
    return out


def layer_reuse_problem(value: Any) -> str | None:
    try:
        parse_layer_reuse(value)
    except ValueError as e:
        return str(e)
    return None


def _values(specs: Mapping[str, Spec], name: str) -> list[Any]:
    return values_or_ends(specs[name]) if name in specs else []


def check_leak_shifts(specs: Mapping[str, Spec]) -> Problems:
    """A leak shift k >= membrane_bits makes the leak vanish: the integer network refuses it."""
    neurons = {str(n).lower() for n in _values(specs, "model.neuron")}
    shifts = [("model.readout_k", _values(specs, "model.readout_k"))]
    if neurons & {"lif", "lif2"}:
        shifts.append(("model.k_beta", _values(specs, "model.k_beta")))
    if "lif2" in neurons:
        shifts.append(("model.k_alpha", _values(specs, "model.k_alpha")))
    for mb in _values(specs, "quantization.membrane_bits"):
        for name, ks in shifts:
            for k in ks:
                if k >= mb:
                    return [(name, f"leak shift {k} >= quantization.membrane_bits {mb} makes the leak vanish "
                                   "(need a shift below the membrane bits)")]
    return []


def check_layer_reuse(specs: Mapping[str, Spec], n_outputs: int | None) -> Problems:
    """hdl.layer_reuse_factors: one R per layer (hidden layers, then the output layer), each within 1..n_out.
    ``n_outputs``: the output layer's size when known (the task decides it)."""
    texts = [t for t in _values(specs, "hdl.layer_reuse_factors") if str(t).strip()]
    if not texts:
        return []
    depths = _values(specs, "model.hidden_layers") or [1]
    widths = _values(specs, "model.hidden_units") or [128]
    for text in texts:
        rs = parse_layer_reuse(text)
        for depth in depths:
            if len(rs) != depth + 1:
                return [("hdl.layer_reuse_factors", f"{text!r} gives {len(rs)} reuse factors for {depth + 1} layers "
                                                    f"({depth} hidden + the output layer)")]
            sizes = [min(widths)] * depth + ([n_outputs] if n_outputs else [])
            for li, (r, n) in enumerate(zip(rs, sizes, strict=False)):
                if not 1 <= r <= n:
                    what = "output layer" if li == depth else "hidden layer"
                    return [("hdl.layer_reuse_factors", f"layer {li} ({what} of {n} neurons): reuse factor {r} "
                                                        f"outside the valid range 1..{n}")]
    return []


def output_size(specs: Mapping[str, Spec], data: Any) -> int | None:
    """The output layer's neurons: 10 classes for the digits tasks, the behaviour dimensions for decode."""
    tasks = set(_values(specs, "model.task")) or {"decode"}
    if tasks <= {"digits", "digits16", "digits28"}:
        return 10
    behavior = getattr(data, "behavior", None)
    if tasks == {"decode"} and behavior is not None and getattr(behavior, "ndim", 0) == 3:
        return int(behavior.shape[2])
    return None

"""Reuse factors as hls4ml 1.3.0 builds them, for the estimator and ``dse estimate``, with every substitution.

hls4ml replaces a Resource-strategy reuse factor that is not valid for its product by the closest valid
one and keeps any value under the Latency strategy (:mod:`dse.hls.reuse`, the one home of that rule).  This
module applies the rule to every product of a model or of a list of LayerSpecs and records each value it
changes, for the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from dse.hls.reuse import used_reuse_factor


@dataclass(frozen=True)
class Substitution:
    """One reuse factor hls4ml replaces: ``product`` is ``input`` or ``recurrent``."""

    layer: str
    product: str
    n_in: int
    n_out: int
    requested: int
    used: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        return (f"{self.layer} ({self.product} {self.n_in}x{self.n_out}): reuse factor {self.requested} "
                f"-> {self.used} (hls4ml's closest valid value)")


def resolve(layer: str, product: str, n_in: int, n_out: int, requested: int, *, resource: bool,
            out: list[Substitution]) -> int:
    """:func:`dse.hls.reuse.used_reuse_factor`, appending a :class:`Substitution` to ``out`` when it changes."""
    used = used_reuse_factor(n_in, n_out, requested, resource=resource)
    if used != requested:
        out.append(Substitution(layer, product, int(n_in), int(n_out), int(requested), used))
    return used


def resolve_model_reuse_factors(
    sizes: dict[tuple[str, str], tuple[int, int]],
    layer_rf: dict[str, int],
    recurrent_rf: dict[str, int],
    *,
    resource: bool,
) -> tuple[dict[str, int], dict[str, int], list[Substitution]]:
    """hls4ml's choice for every product of a Keras model.

    ``sizes`` is ``(layer, 'input'|'recurrent') -> (n_in, n_out)`` (``dse.hls.matmul_sizes``); ``layer_rf`` /
    ``recurrent_rf`` the requested reuse factors by layer.  Returns the per-layer input and recurrent
    reuse factors hls4ml will use, and the substitutions.
    """
    subs: list[Substitution] = []
    used_in: dict[str, int] = {}
    used_rec: dict[str, int] = {}
    for (name, kind), (n_in, n_out) in sorted(sizes.items()):
        if kind == "input":
            used_in[name] = resolve(name, "input", n_in, n_out, layer_rf[name], resource=resource, out=subs)
        else:
            req = recurrent_rf.get(name, layer_rf[name])
            used_rec[name] = resolve(name, "recurrent", n_in, n_out, req, resource=resource, out=subs)
    return used_in, used_rec, subs


_GATES = {"gru": 3, "lstm": 4, "simple_rnn": 1}


def resolve_specs(specs: list[Any]) -> tuple[list[Any], list[Substitution]]:
    """LayerSpecs with hls4ml's reuse factor for every Resource-strategy product, and the substitutions.

    Dense and convolution layers have one ``n_in x n_out`` product (a convolution's ``n_in`` is
    ``filt * n_chan``, hls4ml's ``get_layer_mult_size``); recurrent layers an input ``n_in x gates*n`` and a
    recurrent ``n x gates*n`` product, each resolved from its own requested value as hls4ml's
    ``init_gru``/``init_lstm``/``init_bidirectional`` do.
    """
    from dataclasses import replace

    out, subs = [], []
    for s in specs:
        if not s.is_resource:
            out.append(s)
            continue
        if s.kind in ("dense", "conv1d", "conv2d"):
            rf = resolve(s.name, "input", s.n_in, s.n_out, s.reuse_factor, resource=True, out=subs)
            out.append(replace(s, reuse_factor=rf))
        elif s.kind in _GATES:
            n = s.n_state or s.n_out
            g = _GATES[s.kind] * n
            rf = resolve(s.name, "input", s.n_in, g, s.reuse_factor, resource=True, out=subs)
            rrf = resolve(s.name, "recurrent", n, g, s.rf_recurrent, resource=True, out=subs)
            out.append(replace(s, reuse_factor=rf, recurrent_reuse_factor=rrf))
        else:
            out.append(s)
    return out, subs

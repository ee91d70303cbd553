"""The ``estimate`` cost backend: an analytical model of hls4ml 1.3.0 designs, no HLS tool needed.

Usage::

    from dse.cost.registry import get_backend
    report = get_backend("estimate").cost(hls_model, part="xcu55c", clock_ns=5.0)
    report.latency_us, report.dsp, report.details["layers"]

or, without hls4ml (e.g. for designs built from custom templates)::

    from dse.cost.estimator import estimate_specs
    from dse.cost.estimator_layers import LayerSpec
    report = estimate_specs([LayerSpec("gru", "gru", n_in=6, n_state=20, timesteps=20)], part="xcu250")

The per-layer formulas, their sources and the fitted constants live in
:mod:`dse.cost.estimator_layers`; the ModelGraph walk in :mod:`dse.cost.estimator_extract`.  The
numbers model what Vivado/Vitis HLS *csynth* reports (the calibration data are csynth reports), not
post-route results; ``bench/estimator_fidelity.py`` measures how close they are.
"""

from __future__ import annotations

import math
from typing import Any

from dse.cost.base import CostBackend, HardwareReport, register_backend
from dse.cost.estimator_extract import reuse_factor_substitutions, specs_from_model
from dse.cost.estimator_layers import (
    REFERENCE_CLOCK_UNCERTAINTY,
    Constants,
    DesignEstimate,
    LayerCost,
    LayerSpec,
    Target,
    estimate_design,
)
from dse.cost.parts import get_part

ESTIMATOR_VERSION = "estimate-4 (hls4ml 1.3.0 templates, fitted 2026-12-07, nested leave-one-repository-out checked)"

#: Metrics that carry an uncertainty, and the LayerCost attribute each is summed from.
UNCERTAIN_METRICS = {"latency": "latency", "dsp": "dsp", "lut": "lut", "ff": "ff", "bram": "bram_18k"}
_RECURRENT = ("gru", "lstm", "simple_rnn")


def clock_uncertainty_fraction(value: Any, clock_ns: float) -> float | None:
    """hls4ml's ``ClockUncertainty`` ("27%", "12.5%", or nanoseconds) as a fraction of the clock."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100.0
        return float(text.removesuffix("ns")) / float(clock_ns)
    except ValueError:
        return None


def layer_family(kind: str) -> str:
    """The calibration family a layer kind belongs to: recurrent, dense, conv, fallback or other."""
    if kind in _RECURRENT:
        return "recurrent"
    if kind == "dense":
        return "dense"
    if kind in ("conv1d", "conv2d"):
        return "conv"
    if kind == "unknown":
        return "fallback"
    return "other"


def design_family(kinds: list[str]) -> str:
    """The family of a whole design (as the calibration rows are grouped): recurrent if it has a recurrent
    layer, else conv if it has a convolution, else dense."""
    fams = {layer_family(k) for k in kinds}
    for f in ("recurrent", "conv", "dense"):
        if f in fams:
            return f
    return "dense"


def uncertainty(layers: list[LayerCost], table: dict[str, dict[str, float]] | None = None
                ) -> tuple[dict[str, float], str]:
    """Relative uncertainty per metric: the nested leave-one-repository-out median |relative error| of the
    design's layer mix.

    Each layer's share of a metric (its latency, DSP, LUT ... over the design's) is weighted by the
    cross-validated error of its family (:data:`dse.cost.estimator_uncertainty.LORO_MEDIAN_REL_ERR`,
    written by ``bench/estimator_fidelity.py``); layers without a family of their own (activations,
    pooling, wiring) take the design's family; convolutions, which no calibration row has, take the
    dense family's error (an MVP per pixel) and are named in the basis; fallback-costed layers count as
    100 % uncertain.  Where a metric is 0 the design family's error is used.
    """
    if table is None:
        from dse.cost.estimator_uncertainty import LORO_MEDIAN_REL_ERR as table
    fam_design = design_family([lc.kind for lc in layers])
    notes = [f"nested leave-one-repository-out median |rel. error| by layer family (design family {fam_design})"]

    def err(fam: str, metric: str) -> float:
        if fam == "fallback":
            return 1.0
        if fam == "other":
            fam = fam_design
        if fam == "conv" and "conv" not in table:
            fam = "dense"
        value = table.get(fam, {}).get(metric, table.get("all", {}).get(metric))
        return math.nan if value is None else float(value)

    if any(layer_family(lc.kind) == "conv" for lc in layers) and "conv" not in table:
        notes.append("convolutions: no calibration row, the dense family's error is used")
    if any(layer_family(lc.kind) == "fallback" for lc in layers):
        notes.append("fallback-costed layers count as 100 % uncertain")
    out: dict[str, float] = {}
    for metric, attr in UNCERTAIN_METRICS.items():
        values = [(layer_family(lc.kind), float(getattr(lc, attr))) for lc in layers]
        total = sum(v for _, v in values)
        if total <= 0:
            out[metric] = round(err(fam_design, metric), 4)
        else:
            out[metric] = round(sum(v / total * err(f, metric) for f, v in values), 4)
    return out, "; ".join(notes)


def make_target(
    part: str,
    clock_ns: float,
    *,
    io_type: str = "io_parallel",
    pipeline_style: str | None = None,
    bidirectional_parallel: bool = True,
    consts: Constants | None = None,
    specs: list[LayerSpec] | None = None,
    clock_uncertainty: float | None = None,
) -> Target:
    """A :class:`Target` for ``part``; the pipeline style defaults to what hls4ml 1.3.0 would pick."""
    if pipeline_style is None:
        resource = any(s.is_resource for s in specs or [])
        pipeline_style = "dataflow" if io_type == "io_stream" or resource else "pipeline"
    return Target(
        family=get_part(part).family,
        fabric=get_part(part).fabric,
        clock_ns=float(clock_ns),
        io_type=io_type,
        pipeline_style=pipeline_style,
        bidirectional_parallel=bidirectional_parallel,
        clock_uncertainty=REFERENCE_CLOCK_UNCERTAINTY if clock_uncertainty is None else float(clock_uncertainty),
        consts=consts or Constants(),
    )


def report_from_estimate(est: DesignEstimate, *, part: str, clock_ns: float, specs: list[LayerSpec],
                         extra: dict[str, Any] | None = None) -> HardwareReport:
    """Wrap a :class:`DesignEstimate` as a :class:`HardwareReport` with a per-layer ``details`` block.

    ``details`` keys besides the per-layer ones:

    * ``uncertainty``: ``{metric: relative error}`` for latency, dsp, lut, ff, bram (see :func:`uncertainty`);
      ``uncertainty_basis`` says how it was derived.
    * ``fallback_layers``: ``[{"name", "class", "reason"}]``, layers costed by the fallback (no cost model
      for their kind; no multipliers charged).
    * ``reuse_factor_substitutions``: ``[{"layer", "product", "requested", "used", ...}]``, reuse factors
      hls4ml replaced by its closest valid value (set by :func:`estimate_model` and ``dse estimate``).
    """
    unc, basis = uncertainty(est.layers)
    details: dict[str, Any] = {
        "estimator": ESTIMATOR_VERSION,
        "layers": [lc.to_dict() for lc in est.layers],
        "specs": [s.__dict__.copy() for s in specs],
        "assumptions": est.assumptions,
        "warnings": est.warnings,
        "products": sum(lc.products for lc in est.layers),
        "lut_products": sum(lc.lut_products for lc in est.layers),
        "uncertainty": unc,
        "uncertainty_basis": basis,
        "fallback_layers": [{"name": s.name, "class": s.note or s.kind,
                             "reason": "no cost model for this layer kind: element-wise fallback, no multipliers"}
                            for s, lc in zip(specs, est.layers, strict=True) if lc.kind == "unknown"],
        "reuse_factor_substitutions": [],
    }
    details.update(extra or {})
    return HardwareReport(
        backend="estimate",
        part=part,
        clock_ns=float(clock_ns),
        latency_cycles=est.latency,
        latency_cycles_best=est.latency_best,
        ii_cycles=est.ii,
        dsp=est.dsp,
        lut=est.lut,
        ff=est.ff,
        bram_18k=est.bram_18k,
        uram=0,
        clock_est_ns=None,
        tool_version=ESTIMATOR_VERSION,
        details=details,
    )


def estimate_specs(
    specs: list[LayerSpec],
    *,
    part: str,
    clock_ns: float = 5.0,
    io_type: str | None = None,
    pipeline_style: str | None = None,
    bidirectional_parallel: bool = True,
    consts: Constants | None = None,
    clock_uncertainty: float | None = None,
) -> HardwareReport:
    """Estimate a design given directly as LayerSpecs (io type defaults to the specs' own;
    ``clock_uncertainty`` is a fraction of the clock, default 12.5 %).

    A Resource-strategy reuse factor hls4ml would replace is replaced the same way (hls4ml's own
    functions, :func:`dse.cost.estimator_rf.resolve_specs`) and listed in
    ``details['reuse_factor_substitutions']``."""
    from dse.cost.estimator_rf import resolve_specs

    specs, subs = resolve_specs(specs)
    io = io_type or (specs[0].io_type if specs else "io_parallel")
    target = make_target(part, clock_ns, io_type=io, pipeline_style=pipeline_style,
                         bidirectional_parallel=bidirectional_parallel, consts=consts, specs=specs,
                         clock_uncertainty=clock_uncertainty)
    est = estimate_design(specs, target)
    return report_from_estimate(est, part=part, clock_ns=clock_ns, specs=specs,
                                extra={"pipeline_style": target.pipeline_style, "io_type": io,
                                       "reuse_factor_substitutions": [x.to_dict() for x in subs]})


def estimate_model(
    hls_model: Any,
    *,
    part: str,
    clock_ns: float = 5.0,
    bidirectional_parallel: bool = True,
    consts: Constants | None = None,
) -> HardwareReport:
    """Estimate a converted ``hls4ml.model.ModelGraph`` (its ``ClockUncertainty`` is honoured)."""
    specs, info = specs_from_model(hls_model)
    target = make_target(part, clock_ns, io_type=info.io_type, pipeline_style=info.pipeline_style,
                         bidirectional_parallel=bidirectional_parallel, consts=consts, specs=specs,
                         clock_uncertainty=clock_uncertainty_fraction(info.clock_uncertainty, clock_ns))
    est = estimate_design(specs, target)
    return report_from_estimate(
        est, part=part, clock_ns=clock_ns, specs=specs,
        extra={"pipeline_style": info.pipeline_style, "io_type": info.io_type, "hls_backend": info.backend,
               "reuse_factor_substitutions": reuse_factor_substitutions(hls_model)},
    )


@register_backend
class EstimatorBackend(CostBackend):
    """Analytical estimate of csynth latency/resources; always available.

    ``bidirectional_parallel=True`` (default) has the two directions of a Bidirectional RNN overlap, as the
    template and the calibration rows show; False runs them one after the other (see
    :func:`dse.cost.estimator_layers.cost_recurrent`).
    """

    name = "estimate"
    costs = "hls4ml"  # a converted hls4ml ModelGraph (no project written)
    needs_project = False
    source = "hls4ml estimate (dse)"

    @classmethod
    def note_sections(cls, hardware: dict[str, Any]) -> list[str]:
        from dse.cost.hls_notes import hls4ml_note_sections

        return hls4ml_note_sections(hardware)

    def __init__(self, *, bidirectional_parallel: bool = True, consts: Constants | None = None) -> None:
        self.bidirectional_parallel = bidirectional_parallel
        self.consts = consts

    def cost(self, hls_model: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        return estimate_model(hls_model, part=part, clock_ns=clock_ns,
                              bidirectional_parallel=self.bidirectional_parallel, consts=self.consts)

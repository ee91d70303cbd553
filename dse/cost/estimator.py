"""The ``estimate`` cost backend: an analytical model of hls4ml 1.3.0 designs, no HLS tool needed.

Usage::

    from dse.cost.base import get_backend
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

from typing import Any

from dse.cost.base import CostBackend, HardwareReport, register_backend
from dse.cost.estimator_extract import specs_from_model
from dse.cost.estimator_layers import Constants, DesignEstimate, LayerSpec, Target, estimate_design
from dse.cost.parts import get_part

ESTIMATOR_VERSION = "estimate-1 (hls4ml 1.3.0 templates, calibrated 2025-11-21)"


def make_target(
    part: str,
    clock_ns: float,
    *,
    io_type: str = "io_parallel",
    pipeline_style: str | None = None,
    bidirectional_parallel: bool = False,
    consts: Constants | None = None,
    specs: list[LayerSpec] | None = None,
) -> Target:
    """A :class:`Target` for ``part``; the pipeline style defaults to what hls4ml 1.3.0 would pick."""
    if pipeline_style is None:
        resource = any(s.is_resource for s in specs or [])
        pipeline_style = "dataflow" if io_type == "io_stream" or resource else "pipeline"
    return Target(
        family=get_part(part).family,
        clock_ns=float(clock_ns),
        io_type=io_type,
        pipeline_style=pipeline_style,
        bidirectional_parallel=bidirectional_parallel,
        consts=consts or Constants(),
    )


def report_from_estimate(est: DesignEstimate, *, part: str, clock_ns: float, specs: list[LayerSpec],
                         extra: dict[str, Any] | None = None) -> HardwareReport:
    """Wrap a :class:`DesignEstimate` as a :class:`HardwareReport` with a per-layer ``details`` block."""
    details: dict[str, Any] = {
        "estimator": ESTIMATOR_VERSION,
        "layers": [lc.to_dict() for lc in est.layers],
        "specs": [s.__dict__.copy() for s in specs],
        "assumptions": est.assumptions,
        "warnings": est.warnings,
        "products": sum(lc.products for lc in est.layers),
        "lut_products": sum(lc.lut_products for lc in est.layers),
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
    bidirectional_parallel: bool = False,
    consts: Constants | None = None,
) -> HardwareReport:
    """Estimate a design given directly as LayerSpecs (io type defaults to the specs' own)."""
    io = io_type or (specs[0].io_type if specs else "io_parallel")
    target = make_target(part, clock_ns, io_type=io, pipeline_style=pipeline_style,
                         bidirectional_parallel=bidirectional_parallel, consts=consts, specs=specs)
    est = estimate_design(specs, target)
    return report_from_estimate(est, part=part, clock_ns=clock_ns, specs=specs,
                                extra={"pipeline_style": target.pipeline_style, "io_type": io})


def estimate_model(
    hls_model: Any,
    *,
    part: str,
    clock_ns: float = 5.0,
    bidirectional_parallel: bool = False,
    consts: Constants | None = None,
) -> HardwareReport:
    """Estimate a converted ``hls4ml.model.ModelGraph``."""
    specs, info = specs_from_model(hls_model)
    target = make_target(part, clock_ns, io_type=info.io_type, pipeline_style=info.pipeline_style,
                         bidirectional_parallel=bidirectional_parallel, consts=consts, specs=specs)
    est = estimate_design(specs, target)
    return report_from_estimate(
        est, part=part, clock_ns=clock_ns, specs=specs,
        extra={"pipeline_style": info.pipeline_style, "io_type": info.io_type, "hls_backend": info.backend},
    )


@register_backend
class EstimatorBackend(CostBackend):
    """Analytical estimate of csynth latency/resources; always available.

    ``bidirectional_parallel=True`` assumes the two directions of a Bidirectional RNN overlap instead of
    running one after the other (see :func:`dse.cost.estimator_layers.cost_recurrent`).
    """

    name = "estimate"
    needs_project = False

    def __init__(self, *, bidirectional_parallel: bool = False, consts: Constants | None = None) -> None:
        self.bidirectional_parallel = bidirectional_parallel
        self.consts = consts

    def cost(self, hls_model: Any, *, part: str, clock_ns: float, output_dir: str | None = None) -> HardwareReport:
        return estimate_model(hls_model, part=part, clock_ns=clock_ns,
                              bidirectional_parallel=self.bidirectional_parallel, consts=self.consts)

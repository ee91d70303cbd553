"""Re-costing one finished trial's design with another backend: what a verification runs (a Ray task).

The family rebuilds the lowered design from the trial's stored record (``Family.lowered_design``); the
backend costs it on the study's part and clock, as the trial's own backend did.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from dse.cost.base import CostBackend
from dse.errors import ConfigError
from dse.families.records import Design, DesignPoint, ExportRequest, HardwareTarget


def request_of(cfg: Any, st: Any, study: Any, number: int) -> ExportRequest:
    """The stored record of complete trial ``number``, as its family reads it (``ConfigError`` otherwise)."""
    from dse.driver.paths import study_paths

    trial = next(iter(st.read_trials(cfg.name, numbers=(number,))), None)
    if trial is None:
        raise ConfigError(cfg.source, f"trial {number} does not exist", "--trial")
    if trial.state.name != "COMPLETE":
        raise ConfigError(cfg.source, f"trial {number} is {trial.state.name.lower()}, not complete", "--trial")
    if trial.user_attrs.get("duplicate_of") is not None:
        raise ConfigError(cfg.source, f"trial {number} repeated trial {trial.user_attrs['duplicate_of']}'s design "
                          "point: verify that trial", "--trial")
    result = st.project.load_result(cfg.name, number)
    design = trial.user_attrs.get("design")
    if result is None or design is None or not result.hardware:
        raise ConfigError(cfg.source, f"trial {number} has no stored result, design or hardware report", "--trial")
    point = DesignPoint(cfg.family, dict(result.params), cfg.hardware)
    own = {k: v for k, v in design.items() if k != "family"}
    return ExportRequest(cfg.source, cfg.name, number, Design(point, own), result, cfg.data.spec(),
                         study_paths(cfg).build_cache)


def recost(request: ExportRequest, backend: str | type[CostBackend], output_dir: str | None = None) -> dict[str, Any]:
    """The report (``HardwareReport.to_dict()``) of ``backend`` (a name, or the class the runner resolved: a
    worker then imports the backend's module as it unpickles it, whichever package registered it) on the
    trial's rebuilt design."""
    from dse.cost.registry import backend_class
    from dse.families import get_family

    cls = backend_class(backend) if isinstance(backend, str) else backend
    request = retarget(request, cls.name)
    design = get_family(request.design.family).lowered_design(request)
    target = request.design.hardware
    if output_dir is not None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
    report = cls().cost(design, part=target.part, clock_ns=target.clock_ns, output_dir=output_dir)
    return report.to_dict()


def retarget(request: ExportRequest, backend: str) -> ExportRequest:
    """``request`` with its design's hardware target naming ``backend``: a family that lowers differently per
    tool (hls4ml writes a Vitis or a Vivado HLS project) rebuilds the design for the backend that costs it."""
    target = request.design.hardware
    if target.backend == backend:
        return request
    point = DesignPoint(request.design.family, dict(request.design.params),
                        HardwareTarget(backend, target.part, target.clock_ns))
    return dataclasses.replace(request, design=Design(point, dict(request.design.own)))


def run_remote(request: ExportRequest, backend: str | type[CostBackend], output_dir: str | None) -> dict[str, Any]:
    """The Ray task: ``{"hardware": report}`` or ``{"error": "Type: message"}`` (a tool's failure is an answer,
    not a lost worker)."""
    try:
        return {"hardware": recost(request, backend, output_dir)}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"[:2000]}

"""The hardware numbers a study shows, and its front recomputed with them.

Optuna keeps every trial's values as the study's cost backend estimated them (the sampler learnt from those).
What ``dse pareto``, ``dse status``, ``dse compare`` and the dashboard show is read here instead, per trial:

- a verified design (a real backend re-costed it, :mod:`storage.verifications`): the real numbers;
- else, when the study calibrates (``hardware.verify.calibrate``) and has enough verified designs: the
  estimate times the study's ratios (:mod:`dse.verify.calibration`);
- else the estimate.

The front is computed again with those numbers (a design whose real numbers are worse can leave it), and a
verified or calibrated design's feasibility is that of its shown numbers under the study's constraints.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from dse.cost.base import HardwareReport
from dse.cost.registry import hardware_source
from dse.verify.calibration import Calibration, fit

VERIFIED, CALIBRATED, ESTIMATED = "verified", "calibrated", "estimate"


def report_metrics(hardware: Mapping[str, Any]) -> dict[str, float]:
    """The hardware objectives (``HardwareReport.metrics()``) of a stored report (``HardwareReport.to_dict()``)."""
    names = {f.name for f in dataclasses.fields(HardwareReport)}
    return HardwareReport(**{k: v for k, v in hardware.items() if k in names}).metrics()


@dataclass(frozen=True)
class TrialHardware:
    """One trial's shown hardware numbers, where they come from, and the estimate they replaced."""

    number: int
    how: str  # VERIFIED, CALIBRATED or ESTIMATED
    source: str  # as the cost backend describes its numbers (plus the calibration, when applied)
    metrics: Mapping[str, float]  # empty for an estimated trial whose report was not read (Optuna's values show)
    estimate: Mapping[str, float] = field(default_factory=dict)  # empty when the shown numbers are the estimate
    hardware: Mapping[str, Any] | None = None  # the shown report (the real one for a verified design)


@dataclass(frozen=True)
class StudyHardware:
    """The shown hardware of a study's complete trials and the calibration applied (None: none applies)."""

    trials: Mapping[int, TrialHardware]
    calibration: Calibration | None
    values: Mapping[int, list[float]]  # objective values with the shown numbers, by trial number
    feasible: Mapping[int, bool]  # feasibility of the trials whose shown numbers are not the estimate

    def front(self, trials: Sequence[FrozenTrial], directions: Sequence[Any], n_constraints: int) -> list[FrozenTrial]:
        from objectives.pareto import pareto_front

        return pareto_front(trials, directions, n_constraints, values=self.values, feasibility=self.feasible)


def study_hardware(cfg: Any, st: Any, trials: Sequence[FrozenTrial]) -> StudyHardware:
    """The shown hardware of ``trials`` (complete ones with a stored report) of the study ``cfg``."""
    verified = st.verifications.done(cfg.name)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    estimates = _estimates(cfg, st, [t.number for t in complete if t.number in verified])
    calibration = None
    if cfg.verify is not None and cfg.verify.calibrate:
        calibration = calibration_of(cfg, estimates, {n: v.hardware for n, v in verified.items()})
    if calibration is not None:  # every estimate is shown calibrated: read them all
        estimates.update(_estimates(cfg, st, [t.number for t in complete if t.number not in verified]))
    shown: dict[int, TrialHardware] = {}
    for t in complete:  # shown as estimated (Optuna's values): only where the stored report says so
        if t.number not in estimates:
            shown[t.number] = TrialHardware(t.number, ESTIMATED, hardware_source(t.user_attrs), {})
    for number, est_hw in estimates.items():
        est = report_metrics(est_hw)
        if number in verified:
            real_hw = verified[number].hardware
            shown[number] = TrialHardware(number, VERIFIED, hardware_source(real_hw), report_metrics(real_hw), est,
                                          real_hw)
        elif calibration is not None and est_hw.get("backend") == cfg.hardware.backend:
            shown[number] = TrialHardware(number, CALIBRATED, f"{hardware_source(est_hw)}, "
                                          f"{calibration.line(_hardware_objectives(cfg))}",
                                          calibration.apply(est), est, est_hw)
        else:
            shown[number] = TrialHardware(number, ESTIMATED, hardware_source(est_hw), est, {}, est_hw)
    values: dict[int, list[float]] = {}
    feasible: dict[int, bool] = {}
    for t in trials:
        hw = shown.get(t.number)
        if hw is None or hw.how == ESTIMATED or t.values is None:
            continue
        values[t.number] = [float(hw.metrics[o]) if o in hw.metrics else v
                            for o, v in zip(cfg.objective_names, t.values, strict=True)]
        metrics = {**{k: v for k, v in t.user_attrs.items() if isinstance(v, int | float)},
                   **dict(zip(cfg.objective_names, values[t.number], strict=True)), **hw.metrics}
        feasible[t.number] = all(c <= 0 for c in cfg.constraint_values(metrics) if not math.isnan(c))
    return StudyHardware(shown, calibration, values, feasible)


def _estimates(cfg: Any, st: Any, numbers: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored reports (the study backend's estimates) of trials ``numbers`` that have one."""
    out = {}
    for n in numbers:
        result = st.project.load_result(cfg.name, n)
        if result is not None and result.hardware:
            out[n] = result.hardware
    return out


def calibration_of(cfg: Any, estimates: Mapping[int, Mapping[str, Any]],
                   verified: Mapping[int, Mapping[str, Any]]) -> Calibration | None:
    """The study's calibration: its verified designs whose estimate came from its own backend."""
    pairs = [(report_metrics(estimates[n]), report_metrics(real)) for n, real in sorted(verified.items())
             if n in estimates and estimates[n].get("backend") == cfg.hardware.backend]
    return fit(pairs)


def _hardware_objectives(cfg: Any) -> list[str]:
    from dse.cost.base import HARDWARE_METRICS, UTIL_METRIC

    return [o for o in cfg.objective_names if o in HARDWARE_METRICS or o in UTIL_METRIC.values()]


def view_attrs(cfg: Any) -> set[str]:
    """The user attributes of a trial that the views of a study read (:func:`verified_front`, ``dse status``,
    ``dse pareto``): its repeated point, constraint values and their metrics, failure reason and the keys that
    say where its hardware numbers come from."""
    from dse.cost.registry import source_keys
    from objectives.constraints import CONSTRAINTS_ATTR
    from objectives.designs import DUPLICATE_ATTR

    return {DUPLICATE_ATTR, CONSTRAINTS_ATTR, "fail_reason", *source_keys(), *(c.metric for c in cfg.constraints)}


def rank(front: Any, values: Any, directions: Any) -> list[Any]:
    """``front`` best first: by the first objective, a tie by the second, and so on, then by trial number.

    Ties on the first objective are common (an SNN's accuracy is the same at every reuse factor and scan of one
    training): broken by trial number alone they would send the earliest-sampled designs to the real tool,
    whatever they cost; broken by the next objectives they send the best of the tied designs."""
    signs = [-1.0 if str(d).lower().endswith("maximize") else 1.0 for d in directions]
    return sorted(front, key=lambda t: (*(s * v for s, v in zip(signs, values.get(t.number, t.values), strict=True)),
                                        t.number))


def verified_front(cfg: Any, st: Any, study: Any,
                   trials: Sequence[FrozenTrial] | None = None) -> tuple[list[FrozenTrial], StudyHardware]:
    """The study's feasible front with the shown numbers, and those numbers (of ``trials``, by default all the
    study's trials with the attributes a view reads, :func:`view_attrs`)."""
    from objectives.constraints import n_constraints

    trials = st.read_trials(cfg.name, user_attrs=view_attrs(cfg)) if trials is None else trials
    hardware = study_hardware(cfg, st, trials)
    return hardware.front(trials, study.directions, n_constraints(study.user_attrs)), hardware

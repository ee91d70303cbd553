"""Fit of the estimator's free constants on the calibration rows, and its leave-one-repository-out check.

:func:`compare` predicts each row (:mod:`dse.cost.calibration`) and its relative errors; :func:`fit` fits
the free constants of :class:`~dse.cost.estimator_layers.Constants` starting from :data:`PRIORS`;
:func:`loro` re-fits without each source repository in turn and predicts its rows (the headline, held-out
error); :func:`ablation` toggles each constant between fitted and frozen at its prior under LORO, which is
how :data:`FROZEN` was decided.  ``bench/estimator_fidelity.py`` runs them and writes the results; the
shipped constants in :mod:`dse.cost.estimator_layers` are :func:`fit` on every covered row.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from typing import Any

from dse.cost.base import HardwareReport
from dse.cost.calibration import PART_ALIASES, QUANTITIES, REPORT_COLUMNS, Built
from dse.cost.estimator import estimate_specs
from dse.cost.estimator_layers import Constants

# --------------------------------------------------------------------------------------------------
# Comparison with the reports
# --------------------------------------------------------------------------------------------------


def predict(b: Built, consts: Constants | None = None, *, bidirectional_parallel: bool = True) -> HardwareReport:
    """The estimate of a row's design with ``consts`` (default: the shipped constants)."""
    part = PART_ALIASES.get(b.row.part, b.row.part)
    return estimate_specs(b.specs, part=part, clock_ns=b.row.clock_ns, io_type=b.row.io_type,
                          pipeline_style=b.pipeline_style, consts=consts,
                          bidirectional_parallel=bidirectional_parallel, clock_uncertainty=b.clock_uncertainty)


def predicted_values(rep: HardwareReport) -> dict[str, float]:
    return {"latency": rep.latency_cycles, "dsp": rep.dsp, "lut": rep.lut, "ff": rep.ff, "bram": rep.bram_18k}


def rel_err(pred: float, actual: float) -> float:
    """Signed relative error (pred-actual)/actual; 0 when both are 0, inf when only the actual is."""
    if actual == 0:
        return 0.0 if pred == 0 else math.inf
    return (pred - actual) / actual


@dataclass
class Comparison:
    """One row's predicted and reported quantities and the signed relative errors; ``claims`` are the
    quantities the estimator claims for the row (the others are shown, not counted)."""

    case: str
    source: str
    claims: tuple[str, ...]
    why_not: str
    predicted: dict[str, float]
    reported: dict[str, float]
    errors: dict[str, float] = field(default_factory=dict)
    latency_bidir_sequential: float | None = None  # rows with a Bidirectional: latency if directions don't overlap
    repo: str = ""
    family: str = ""


def compare(builts: list[Built], reported: dict[str, dict[str, Any]], consts: Constants | None = None
            ) -> list[Comparison]:
    """Every row of ``builts`` predicted with ``consts`` and compared with its report."""
    out = []
    for b in builts:
        rep = predict(b, consts)
        pred = predicted_values(rep)
        actual = {q: float(reported[b.row.case][REPORT_COLUMNS[q]]) for q in QUANTITIES}
        errs = {q: rel_err(pred[q], actual[q]) for q in QUANTITIES}
        comp = Comparison(b.row.case, b.source, b.row.claims, b.row.why_not, pred, actual, errs, repo=b.repo,
                          family=b.family)
        if any(s.directions == 2 for s in b.specs):
            comp.latency_bidir_sequential = predict(b, consts, bidirectional_parallel=False).latency_cycles
        out.append(comp)
    return out


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def medians(comps: list[Comparison], family: str | None = None) -> dict[str, tuple[float, int]]:
    """Median |relative error| per quantity over the rows that claim it (and count of rows)."""
    res = {}
    for q in QUANTITIES:
        errs = [abs(c.errors[q]) for c in comps
                if q in c.claims and math.isfinite(c.errors[q]) and (family is None or c.family == family)]
        res[q] = (_median(errs), len(errs))
    return res


def repo_weighted_medians(comps: list[Comparison]) -> dict[str, float]:
    """Median over repositories of each repository's median |relative error| (every repo counts once:
    the 35 rows of one study would otherwise decide the row median alone)."""
    res = {}
    for q in QUANTITIES:
        per_repo: dict[str, list[float]] = {}
        for c in comps:
            if q in c.claims and math.isfinite(c.errors[q]):
                per_repo.setdefault(c.repo, []).append(abs(c.errors[q]))
        res[q] = _median([_median(v) for v in per_repo.values()])
    return res


# --------------------------------------------------------------------------------------------------
# Fit of the free constants, leave-one-repository-out cross-validation, ablation
# --------------------------------------------------------------------------------------------------

#: Constants fitted together by least squares on the LUT and FF of the rows that claim them.
FIT_PARAMS = ("lut_per_product_acc_bit", "lut_resource_in_per_bit", "lut_rnn_gate_per_state_bit",
              "ff_per_product_acc_bit", "ff_resource_in_per_bit", "ff_rnn_gate_per_state_bit")


#: Constants that enter one quantity linearly: solved per covered row, the median is taken.
LINEAR_PARAMS = {
    "const_weight_dsp_fraction": ("dsp", 0.0, 1.0),
    "const_lut_mult_factor": ("lut", 0.0, 1.0),
    "rnn_step_overhead_resource": ("latency", 0, 20),
    "rnn_step_overhead_latency": ("latency", 0, 20),
}

#: Values of the fitted constants *before* any fit (the start of every fit, and what a constant is frozen at
#: when the ablation drops it), each from a source that is not a fit on the calibration totals:
#: - const_weight_dsp_fraction 1.0: every >= 9-bit-weight product in a DSP, hls4ml's own DSP model
#:   (optimization/dsp_aware_pruning/objectives/vivado_objectives.py);
#: - rnn_step_overhead_*: 8 cycles at 5 ns, the GRU cell's serial work after the MVPs -- two table lookups
#:   (2 x 7.5 ns) and two dependent products (r * U_h h, then the state mix; 2 x 4 ns) plus a register
#:   stage -- [T:nnet_recurrent.h gru_static];
#: - LUT/FF coefficients: round values of the per-instance tables the constants' comments cite.
PRIORS = {
    "const_weight_dsp_fraction": 1.0,
    "rnn_step_overhead_resource": 8,
    "rnn_step_overhead_latency": 8,
    "lut_per_product_acc_bit": 1.7,
    "lut_resource_in_per_bit": 2.9,
    "lut_rnn_gate_per_state_bit": 100.0,
    "ff_per_product_acc_bit": 1.0,
    "ff_resource_in_per_bit": 3.0,
    "ff_rnn_gate_per_state_bit": 20.0,
    "narrow_mul_fraction": 0.5,
    "const_lut_mult_factor": 0.5,
    "top_overhead_per_layer": 0.75,
    "softmax_ns": 15.0,
    "adder_level_ns": 1.25,
    "ultrascale_delay_scale": 1.0,
    "artix7_delay_scale": 1.0,
}

#: Latency constants fitted by a grid search (latency is a step function of them): the grid, and the
#: quantity whose median |log(pred/reported)| over the training rows is minimised.
GRID_PARAMS = {
    "narrow_mul_fraction": ("latency", (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)),
    "top_overhead_per_layer": ("latency", (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)),
    "softmax_ns": ("latency", (5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0)),
    "adder_level_ns": ("latency", (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)),
    "ultrascale_delay_scale": ("latency", (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)),
    "artix7_delay_scale": ("latency", (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)),
}

#: Fitted constants the leave-one-repository-out ablation dropped (frozen at PRIORS); decided by the
#: ``--ablation`` table in bench/results/estimator_fidelity.md.
FROZEN: tuple[str, ...] = ("narrow_mul_fraction", "top_overhead_per_layer", "softmax_ns", "adder_level_ns",
                           "rnn_step_overhead_resource", "lut_resource_in_per_bit",
                           "lut_rnn_gate_per_state_bit", "ff_per_product_acc_bit", "ff_resource_in_per_bit",
                           "ff_rnn_gate_per_state_bit", "artix7_delay_scale")


def prior_constants() -> Constants:
    """Constants with every fitted value at its prior (the unfitted structural constants as shipped)."""
    return replace(Constants(), **PRIORS)


def solve_linear(builts: list[Built], reported: dict[str, dict[str, Any]], param: str, base: Constants
                 ) -> tuple[float | None, dict[str, float]]:
    """Per row, the value of ``param`` that reproduces the reported quantity exactly (the quantity is
    linear in it); returns the median over the rows that depend on it (None if none do), and the
    per-row values."""
    quantity, v0, v1 = LINEAR_PARAMS[param]
    per_row: dict[str, float] = {}
    for b in builts:
        if quantity not in b.row.claims:
            continue
        p0 = predicted_values(predict(b, replace(base, **{param: v0})))[quantity]
        p1 = predicted_values(predict(b, replace(base, **{param: v1})))[quantity]
        if abs(p1 - p0) < 1e-9:
            continue
        actual = float(reported[b.row.case][REPORT_COLUMNS[quantity]])
        per_row[b.row.case] = v0 + (actual - p0) * (v1 - v0) / (p1 - p0)
    return (statistics.median(per_row.values()) if per_row else None), per_row


def fit(builts: list[Built], reported: dict[str, dict[str, Any]], *, frozen: tuple[str, ...] = FROZEN,
        verbose: bool = False) -> Constants:
    """Fit the free constants on ``builts`` (the rows that claim something), starting from :data:`PRIORS`.

    1. :data:`LINEAR_PARAMS`: the DSP fraction of constant-weight products and the per-step RNN overheads,
       solved row by row (each quantity is linear in them), median over the rows (a constant no row
       depends on keeps its prior).
    2. :data:`FIT_PARAMS`: the LUT and FF coefficients, least squares (soft-L1 on log(pred/reported))
       over the rows that claim LUT resp. FF.
    Constants in ``frozen`` keep their prior.  The dense-latency delays, top overhead and BRAM rules are
    structural or read off instance rows and are not fitted.
    """
    import numpy as np
    from scipy.optimize import least_squares

    builts = [b for b in builts if b.row.claims]
    base = prior_constants()
    for param, (quantity, grid) in GRID_PARAMS.items():
        if param in frozen:
            continue
        # the loss is taken over the rows the constant moves (a constant of a few rows would otherwise be
        # invisible in the median over all rows and stay at whatever the tie-break picks)
        lo, hi = replace(base, **{param: min(grid)}), replace(base, **{param: max(grid)})
        rows = [b for b in builts if quantity in b.row.claims
                and predicted_values(predict(b, lo))[quantity] != predicted_values(predict(b, hi))[quantity]]

        def loss(value: float, rows: list[Built] = rows, quantity: str = quantity, param: str = param,
                 base: Constants = base) -> float:
            consts = replace(base, **{param: value})
            errs = []
            for b in rows:
                actual = float(reported[b.row.case][REPORT_COLUMNS[quantity]])
                pred = predicted_values(predict(b, consts))[quantity]
                if actual > 0:
                    errs.append(abs(math.log(max(pred, 0.5) / actual)))
            return statistics.median(errs) if errs else 0.0

        best = min(grid, key=lambda v: (loss(v), abs(v - PRIORS[param])))
        if verbose:
            print(f"{param}: grid -> {best}")
        base = replace(base, **{param: best})
    for param in LINEAR_PARAMS:
        if param in frozen:
            continue
        value, per_row = solve_linear(builts, reported, param, base)
        if value is None:
            continue
        lo, hi = LINEAR_PARAMS[param][1:]
        value = min(max(value, lo), hi)
        value = round(value, 2) if isinstance(getattr(base, param), float) else round(value)
        if verbose:
            print(f"{param}: per row {', '.join(f'{k} {v:.2f}' for k, v in per_row.items())} -> median {value}")
        base = replace(base, **{param: value})
    free = [p for p in FIT_PARAMS if p not in frozen]
    if not free:
        return base
    x0 = np.log([getattr(base, p) for p in free])

    def residuals(logx: np.ndarray) -> np.ndarray:
        consts = replace(base, **{p: float(math.exp(v)) for p, v in zip(free, logx, strict=True)})
        res = []
        for b in builts:
            want = [q for q in ("lut", "ff") if q in b.row.claims]
            if not want:
                continue
            pred = predicted_values(predict(b, consts))
            for q in want:
                actual = float(reported[b.row.case][REPORT_COLUMNS[q]])
                if actual > 0:
                    res.append(math.log(max(pred[q], 1.0) / actual))
        return np.array(res) if res else np.zeros(1)

    # predictions are rounded to whole resources: finite differences need a visible step
    sol = least_squares(residuals, x0, loss="soft_l1", f_scale=0.2, diff_step=0.05, max_nfev=60)
    return replace(base, **{p: float(math.exp(v)) for p, v in zip(free, sol.x, strict=True)})


def covered(builts: list[Built]) -> list[Built]:
    """The rows the estimator claims at least one quantity for."""
    return [b for b in builts if b.row.claims]


def loro(builts: list[Built], reported: dict[str, dict[str, Any]], *, frozen: tuple[str, ...] = FROZEN
         ) -> tuple[list[Comparison], dict[str, Constants]]:
    """Leave one repository out: for each repository of the covered rows, fit on the others and compare
    its rows with the constants of that fit.  Returns the held-out comparisons and the per-fold fits."""
    rows = covered(builts)
    out: list[Comparison] = []
    fits: dict[str, Constants] = {}
    for repo in sorted({b.repo for b in rows}):
        train = [b for b in rows if b.repo != repo]
        consts = fit(train, reported, frozen=frozen)
        fits[repo] = consts
        out += compare([b for b in rows if b.repo == repo], reported, consts)
    return out, fits


def param_quantity(param: str) -> tuple[str, ...]:
    """The quantities a fitted constant is fitted on."""
    if param in GRID_PARAMS:
        return (GRID_PARAMS[param][0],)
    if param in LINEAR_PARAMS:
        return (LINEAR_PARAMS[param][0],)
    return ("lut",) if param.startswith("lut") else ("ff",)


def affected_cases(builts: list[Built], param: str) -> set[str]:
    """Covered rows whose prediction of the param's quantity moves when the param moves (from its prior to
    twice it, or +4 for integers): the rows the param can matter for."""
    base = prior_constants()
    v = getattr(base, param)
    other = replace(base, **{param: v + 4 if isinstance(v, int) else (v * 2 if v else 1.0)})
    out = set()
    for b in covered(builts):
        q = [x for x in param_quantity(param) if x in b.row.claims]
        p0, p1 = predicted_values(predict(b, base)), predicted_values(predict(b, other))
        if any(p0[x] != p1[x] for x in q):
            out.add(b.row.case)
    return out


def score(comps: list[Comparison], quantities: tuple[str, ...], cases: set[str]) -> float:
    """Mean over ``quantities`` of the median |relative error| over the rows in ``cases`` that claim it."""
    meds = []
    for q in quantities:
        errs = [abs(c.errors[q]) for c in comps if c.case in cases and q in c.claims and math.isfinite(c.errors[q])]
        if errs:
            meds.append(statistics.median(errs))
    return statistics.mean(meds) if meds else math.nan


def ablation(builts: list[Built], reported: dict[str, dict[str, Any]]) -> list[tuple[str, str, int, float, float]]:
    """For each free constant: (name, quantity, rows it affects, LORO error as shipped, LORO error with
    this constant's state toggled -- frozen at its prior if the shipped estimator fits it, fitted if it is
    in :data:`FROZEN`), the errors being the median |relative error| of the constant's quantity over the
    covered rows it affects.  The shipped choice holds when toggling does not lower that error."""
    shipped = loro(builts, reported, frozen=FROZEN)[0]
    out = []
    for p in (*GRID_PARAMS, *LINEAR_PARAMS, *FIT_PARAMS):
        cases = affected_cases(builts, p)
        qs = param_quantity(p)
        toggled = tuple(x for x in FROZEN if x != p) if p in FROZEN else (*FROZEN, p)
        other = loro(builts, reported, frozen=toggled)[0]
        out.append((p, "/".join(qs), len(cases), score(shipped, qs, cases), score(other, qs, cases)))
    return out


#: The layer families the uncertainty table distinguishes (``dse.cost.estimator.design_family``).
FAMILIES = ("recurrent", "dense", "conv")


def family_table(comps: list[Comparison]) -> dict[str, dict[str, float]]:
    """{family: {quantity: median |rel err|}} plus ``all``, over the rows that claim each quantity."""
    out: dict[str, dict[str, float]] = {}
    for fam in (*FAMILIES, None):
        meds = medians(comps, fam)
        if all(n == 0 for _, n in meds.values()):
            continue
        out[fam or "all"] = {q: round(m, 4) for q, (m, n) in meds.items() if n > 0}
    return out

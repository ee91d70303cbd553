"""Fit of the estimator's free constants on the calibration rows, and its cross-validation.

:func:`compare` predicts each row (:mod:`dse.cost.calibration`) and its relative errors; :func:`fit` fits
the free constants of :class:`~dse.cost.estimator_layers.Constants` starting from :func:`prior_constants`;
:func:`loro` re-fits without each source repository in turn and predicts its rows; :func:`select_frozen`
decides by such a LORO which outside-prior constants (:data:`PRIORS`) to freeze; :func:`nested_loro` makes
that choice and the fit inside each outer fold, without the held-out repository -- its error is the headline
of ``bench/estimator_fidelity.py``.  Every constant whose value used to be read off a calibration report is
fitted in every fold (:data:`START` is only where the fit starts).  The shipped constants in
:mod:`dse.cost.estimator_layers` are :func:`fit` on every covered row with :data:`FROZEN` frozen.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from typing import Any

from dse.cost.base import HardwareReport
from dse.cost.calibration import PART_ALIASES, QUANTITIES, REPORT_COLUMNS, Built
from dse.cost.estimator import estimate_specs
from dse.cost.estimator_layers import Constants, LayerSpec, Target, estimate_design

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


def _prepared(b: Built) -> tuple[list[LayerSpec], Target]:
    """The row's resolved specs and target, made once per Built (the fit evaluates thousands of constant
    sets on the same rows; :func:`predict` would rebuild them and the report every time)."""
    cached = b.__dict__.get("_prepared")
    if cached is None:
        from dse.cost.estimator import make_target
        from dse.cost.estimator_rf import resolve_specs

        specs, _ = resolve_specs(b.specs)
        part = PART_ALIASES.get(b.row.part, b.row.part)
        io = b.row.io_type or (specs[0].io_type if specs else "io_parallel")
        target = make_target(part, b.row.clock_ns, io_type=io, pipeline_style=b.pipeline_style,
                             bidirectional_parallel=True, consts=None, specs=specs,
                             clock_uncertainty=b.clock_uncertainty)
        cached = (specs, target)
        b.__dict__["_prepared"] = cached
    return cached


def values(b: Built, consts: Constants | None = None) -> dict[str, float]:
    """The row's predicted quantities, the same numbers as ``predicted_values(predict(b, consts))``."""
    specs, target = _prepared(b)
    est = estimate_design(specs, replace(target, consts=consts or Constants()))
    return {"latency": est.latency, "dsp": est.dsp, "lut": est.lut, "ff": est.ff, "bram": est.bram_18k}


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
FIT_PARAMS = ("const_lut_mult_factor", "lut_per_product_acc_bit", "lut_per_output_acc_bit", "lut_elementwise_per_bit",
              "lut_resource_in_per_bit", "lut_rnn_gate_per_state_bit",
              "ff_per_product_acc_bit", "ff_resource_in_per_bit", "ff_rnn_gate_per_state_bit")


#: Constants that enter one quantity linearly: solved per covered row, the median is taken.
LINEAR_PARAMS = {
    "const_weight_dsp_fraction": ("dsp", 0.0, 1.0),
    "rnn_step_overhead_resource": ("latency", 0, 20),
    "rnn_step_overhead_latency": ("latency", 0, 20),
}

#: Priors from sources *outside* the calibration set.  Only these constants may be frozen (kept at the
#: prior instead of fitted); whether each one is, is decided inside every cross-validation fold
#: (:func:`select_frozen`, nested in :func:`nested_loro`), never on the held-out rows.
#: - const_weight_dsp_fraction 1.0: every >= 9-bit-weight product in a DSP, hls4ml's own DSP model
#:   (hls4ml 1.3.0 optimization/dsp_aware_pruning/objectives/vivado_objectives.py:15,32);
#: - const_lut_mult_factor, narrow_mul_fraction 0.5: a product by a constant is a shift-and-add over the
#:   constant's set bits, about half of them for a uniformly random constant (no report read);
#: - lut_per_product_acc_bit 1.0: each product feeds one adder of the accumulator width, and an N-bit
#:   adder is N LUT6 on the carry chain (UG474 7-series CLB, UG574 UltraScale CLB: one LUT + carry per bit);
#: - lut_per_output_acc_bit 1.0: the bias adder of each output, N LUT6 for N bits (same guides);
#: - lut_elementwise_per_bit 1.0: a relu/cast is a select per bit, one LUT6 per bit (same guides);
#: - ultrascale_delay_scale, artix7_delay_scale 1.0: no difference between fabrics (the null hypothesis).
PRIORS = {
    "const_weight_dsp_fraction": 1.0,
    "const_lut_mult_factor": 0.5,
    "narrow_mul_fraction": 0.5,
    "lut_per_product_acc_bit": 1.0,
    "lut_per_output_acc_bit": 1.0,
    "lut_elementwise_per_bit": 1.0,
    "ultrascale_delay_scale": 1.0,
    "artix7_delay_scale": 1.0,
}

#: Where the fit of the constants with no outside source starts.  They are fitted in every fold (never
#: frozen): their old values were read off the calibration reports, so holding them fixed would leak the
#: held-out rows into the prediction.  The start is a neutral round number or the middle of the grid,
#: not a value read off a report; the fit moves them.
START = {
    "mult_delay_ns": 3.5,
    "adder_level_ns": 1.5,
    "table_lookup_ns": 7.5,
    "softmax_ns": 15.0,
    "top_overhead_base_cycles": 1,
    "top_overhead_per_layer": 1.0,
    "resource_dense_extra_cycles": 1,
    "stream_layer_extra_cycles": 2,
    "rnn_step_overhead_resource": 8,
    "rnn_step_overhead_latency": 8,
    "lut_resource_in_per_bit": 1.0,
    "lut_rnn_gate_per_state_bit": 10.0,
    "ff_per_product_acc_bit": 1.0,
    "ff_resource_in_per_bit": 1.0,
    "ff_rnn_gate_per_state_bit": 10.0,
}

#: Latency constants fitted by a coordinate grid search (latency is a step function of them): the grid, and
#: the quantity whose median |log(pred/reported)| over the training rows it moves is minimised.
GRID_PARAMS = {
    "mult_delay_ns": ("latency", (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0)),
    "adder_level_ns": ("latency", (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)),
    "table_lookup_ns": ("latency", (2.5, 5.0, 7.5, 10.0, 15.0)),
    "softmax_ns": ("latency", (5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0)),
    "top_overhead_base_cycles": ("latency", (0, 1, 2, 3)),
    "top_overhead_per_layer": ("latency", (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)),
    "resource_dense_extra_cycles": ("latency", (0, 1, 2, 3)),
    "stream_layer_extra_cycles": ("latency", (0, 1, 2, 3, 4, 5)),
    "narrow_mul_fraction": ("latency", (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0)),
    "ultrascale_delay_scale": ("latency", (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)),
    "artix7_delay_scale": ("latency", (1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)),
}
#: Passes of the coordinate grid search (a second pass moved no held-out figure and doubles the time).
GRID_PASSES = 1

#: Constants the selection on every covered row froze at their priors (:func:`select_frozen` on all rows,
#: written by ``bench/estimator_fidelity.py``); the shipped constants are :func:`fit` with them frozen.
#: The *measured* error never uses this tuple: :func:`nested_loro` re-selects inside each fold.
FROZEN: tuple[str, ...] = ("narrow_mul_fraction", "lut_per_product_acc_bit")


#: Weight of the pull of each least-squares coefficient towards its start, in log units (see :func:`fit`):
#: the candidates :func:`select_frozen` chooses from by inner cross-validation, and the value chosen on every
#: covered row (the shipped fit's).
PRIOR_PULL_CANDIDATES = (0.05, 0.1, 0.3)
PRIOR_PULL = 0.1


def all_params() -> tuple[str, ...]:
    """Every constant the fit touches."""
    return (*GRID_PARAMS, *LINEAR_PARAMS, *FIT_PARAMS)


def prior_constants() -> Constants:
    """Where every fit starts: the outside-source :data:`PRIORS` and the neutral :data:`START` values (the
    structural constants, from hls4ml's templates and the vendor guides, as shipped)."""
    return replace(Constants(), **PRIORS, **START)


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
        p0 = values(b, replace(base, **{param: v0}))[quantity]
        p1 = values(b, replace(base, **{param: v1}))[quantity]
        if abs(p1 - p0) < 1e-9:
            continue
        actual = float(reported[b.row.case][REPORT_COLUMNS[quantity]])
        per_row[b.row.case] = v0 + (actual - p0) * (v1 - v0) / (p1 - p0)
    return (statistics.median(per_row.values()) if per_row else None), per_row


def _grid_step(builts: list[Built], reported: dict[str, dict[str, Any]], base: Constants, param: str,
               start: Constants) -> Constants:
    """One coordinate of the grid search: the grid value of ``param`` with the lowest median |log error| of
    its quantity over the rows it moves (ties: the value nearest the start)."""
    quantity, grid = GRID_PARAMS[param]
    # the loss is taken over the rows the constant moves (a constant of a few rows would otherwise be
    # invisible in the median over all rows and stay at whatever the tie-break picks)
    lo, hi = replace(base, **{param: min(grid)}), replace(base, **{param: max(grid)})
    rows = [b for b in builts if quantity in b.row.claims
            and values(b, lo)[quantity] != values(b, hi)[quantity]]
    if not rows:
        return base
    actual = {b.row.case: float(reported[b.row.case][REPORT_COLUMNS[quantity]]) for b in rows}

    def loss(value: float) -> float:
        consts = replace(base, **{param: value})
        errs = [abs(math.log(max(values(b, consts)[quantity], 0.5) / actual[b.row.case]))
                for b in rows if actual[b.row.case] > 0]
        return statistics.median(errs) if errs else 0.0

    best = min(grid, key=lambda v: (loss(v), abs(v - getattr(start, param))))
    return replace(base, **{param: best})


def fit(builts: list[Built], reported: dict[str, dict[str, Any]], *, frozen: tuple[str, ...] = FROZEN,
        pull: float = PRIOR_PULL, verbose: bool = False) -> Constants:
    """Fit the free constants on ``builts`` (the rows that claim something), starting from
    :func:`prior_constants`; constants in ``frozen`` keep their start value (for the shipped estimator and
    in the cross-validation only constants with an outside-source prior, :data:`PRIORS`, are ever frozen).

    1. :data:`GRID_PARAMS` (delays, per-layer cycles, fabric scales) by a coordinate grid search, and
       :data:`LINEAR_PARAMS` (DSP fraction of constant-weight products, LUT factor of constant products,
       per-step RNN overheads) solved row by row (each quantity is linear in them), median over the rows;
       both :data:`GRID_PASSES` times, as the latency constants interact.
    2. :data:`FIT_PARAMS`: the LUT and FF coefficients, least squares (soft-L1 on log(pred/reported))
       over the rows that claim LUT resp. FF.
    """
    import numpy as np
    from scipy.optimize import least_squares

    builts = [b for b in builts if b.row.claims]
    start = prior_constants()
    base = start
    for _ in range(GRID_PASSES):
        for param in GRID_PARAMS:
            if param not in frozen:
                base = _grid_step(builts, reported, base, param, start)
        for param in LINEAR_PARAMS:
            if param in frozen:
                continue
            value, per_row = solve_linear(builts, reported, param, base)
            if value is None:
                continue
            lo, hi = LINEAR_PARAMS[param][1:]
            value = min(max(value, lo), hi)
            value = round(value, 2) if isinstance(getattr(base, param), float) else round(value)
            base = replace(base, **{param: value})
    if verbose:
        for param in (*GRID_PARAMS, *LINEAR_PARAMS):
            print(f"{param}: {getattr(base, param)}{' (frozen)' if param in frozen else ''}")
    free = [p for p in FIT_PARAMS if p not in frozen]
    if not free:
        return base
    # LUT and FF are sums of terms each linear in one coefficient: evaluate every row once with the free
    # coefficients at 0 and once per coefficient at 1, and fit on that linear model (cheap, exact but for
    # the final rounding to whole resources)
    zero = replace(base, **dict.fromkeys(free, 0.0))
    a0: list[float] = []
    cols: list[list[float]] = []
    actual: list[float] = []
    for b in builts:
        want = [q for q in ("lut", "ff") if q in b.row.claims]
        if not want:
            continue
        v0 = values(b, zero)
        v1 = [values(b, replace(zero, **{p: 1.0})) for p in free]
        for q in want:
            rep = float(reported[b.row.case][REPORT_COLUMNS[q]])
            if rep > 0:
                a0.append(v0[q])
                cols.append([v[q] - v0[q] for v in v1])
                actual.append(rep)
    if not actual:
        return base
    a0_, cols_, actual_ = np.array(a0), np.array(cols), np.array(actual)

    x0 = np.log([max(getattr(base, p), 1e-3) for p in free])

    def residuals(logx: np.ndarray) -> np.ndarray:
        # a weak pull of each coefficient towards its start (PRIORS / START, none read off a report): a
        # coefficient the training rows cannot pin down (a term only the held-out repository has, or two
        # terms that always come together, like a dense's outputs and the relu behind it) stays near its
        # start instead of running to a bound; moving one e-fold costs as much as one row off by 30 %
        return np.concatenate([np.log(np.maximum(a0_ + cols_ @ np.exp(logx), 1.0) / actual_),
                               pull * (logx - x0)])

    sol = least_squares(residuals, x0, loss="soft_l1", f_scale=0.2, bounds=(-7.0, 10.0))
    return replace(base, **{p: float(math.exp(v)) for p, v in zip(free, sol.x, strict=True)})


def covered(builts: list[Built]) -> list[Built]:
    """The rows the estimator claims at least one quantity for."""
    return [b for b in builts if b.row.claims]


def loro(builts: list[Built], reported: dict[str, dict[str, Any]], *, frozen: tuple[str, ...] = FROZEN,
         pull: float = PRIOR_PULL) -> tuple[list[Comparison], dict[str, Constants]]:
    """Leave one repository out: for each repository of the covered rows, fit on the others and compare
    its rows with the constants of that fit.  Returns the held-out comparisons and the per-fold fits."""
    rows = covered(builts)
    out: list[Comparison] = []
    fits: dict[str, Constants] = {}
    for repo in sorted({b.repo for b in rows}):
        train = [b for b in rows if b.repo != repo]
        consts = fit(train, reported, frozen=frozen, pull=pull)
        fits[repo] = consts
        out += compare([b for b in rows if b.repo == repo], reported, consts)
    return out, fits


#: The quantities of the headline and of the frozen-or-fitted selection.
HEADLINE = ("latency", "dsp", "lut")


def selection_score(comps: list[Comparison]) -> float:
    """What the frozen-or-fitted selection minimises: the mean over :data:`HEADLINE` of the median
    |relative error| over the held-out rows that claim each quantity."""
    meds = [m for m, n in (medians(comps)[q] for q in HEADLINE) if n > 0 and math.isfinite(m)]
    return statistics.mean(meds) if meds else math.nan


def select_frozen(builts: list[Built], reported: dict[str, dict[str, Any]], *, start: str = "fitted",
                  verbose: bool = False) -> tuple[tuple[str, ...], float, list[tuple[str, float, float, bool]]]:
    """The fit's free choices, decided by leave-one-repository-out on ``builts`` alone: first the pull of
    the least-squares coefficients towards their starts (:data:`PRIOR_PULL_CANDIDATES`, every constant
    fitted), then, one constant at a time (in :data:`PRIORS` order), whether to freeze an outside-prior
    constant -- kept frozen if that lowers :func:`selection_score`.  ``start='frozen'`` runs the search the
    other way (every outside-prior constant frozen; one at a time fitted if that lowers the score).  Returns
    the frozen tuple, the pull and the trail (choice, score before, score with it, kept)."""
    if start not in ("fitted", "frozen"):
        raise ValueError(f"start must be 'fitted' or 'frozen', not {start!r}")
    initial: tuple[str, ...] = tuple(PRIORS) if start == "frozen" else ()
    trail: list[tuple[str, float, float, bool]] = []
    scores = {v: selection_score(loro(builts, reported, frozen=initial, pull=v)[0]) for v in PRIOR_PULL_CANDIDATES}
    pull = min(PRIOR_PULL_CANDIDATES, key=lambda v: (scores[v], abs(v - PRIOR_PULL)))
    for v in PRIOR_PULL_CANDIDATES:
        trail.append((f"pull={v}", scores[PRIOR_PULL_CANDIDATES[0]], scores[v], v == pull))
    frozen = initial
    best = scores[pull]
    if verbose:
        print(f"  pull: {scores} -> {pull}")
    for p in PRIORS:
        trial = tuple(x for x in frozen if x != p) if start == "frozen" else (*frozen, p)
        s = selection_score(loro(builts, reported, frozen=trial, pull=pull)[0])
        keep = math.isfinite(s) and s < best - 1e-4
        trail.append((p, best, s, keep))
        if verbose:
            print(f"  {'fit' if start == 'frozen' else 'freeze'} {p}: {best:.4f} -> {s:.4f} "
                  f"{'kept' if keep else 'dropped'}")
        if keep:
            frozen, best = trial, s
    return frozen, pull, trail


@dataclass
class Fold:
    """One outer fold of :func:`nested_loro`: the held-out repository, the constants frozen and the pull
    chosen by the selection on the other repositories, and the constants fitted on them."""

    repo: str
    frozen: tuple[str, ...]
    pull: float
    consts: Constants
    trail: list[tuple[str, float, float, bool]]


def nested_loro(builts: list[Built], reported: dict[str, dict[str, Any]], *, start: str = "fitted",
                verbose: bool = False) -> tuple[list[Comparison], list[Fold]]:
    """Nested leave-one-repository-out, the honest held-out error.

    Outer loop: each repository of the covered rows is held out in turn.  On the other repositories only,
    :func:`select_frozen` decides (by an inner leave-one-repository-out) which outside-prior constants to
    freeze and how strongly the least-squares coefficients are pulled to their starts, and :func:`fit` fits every other constant; the held-out repository's rows are then predicted.
    Nothing about the held-out rows enters the prediction: not the constants' values, not the
    frozen-or-fitted choice, not (since no constant is read off a report any more) a structural value."""
    rows = covered(builts)
    out: list[Comparison] = []
    folds: list[Fold] = []
    for repo in sorted({b.repo for b in rows}):
        train = [b for b in rows if b.repo != repo]
        if verbose:
            print(f"outer fold: {repo} held out ({len(train)} training rows)")
        frozen, pull, trail = select_frozen(train, reported, start=start, verbose=verbose)
        consts = fit(train, reported, frozen=frozen, pull=pull)
        folds.append(Fold(repo, frozen, pull, consts, trail))
        out += compare([b for b in rows if b.repo == repo], reported, consts)
    return out, folds


def off_by(c: Comparison, factor: float = 2.0, quantities: tuple[str, ...] = HEADLINE) -> list[str]:
    """The claimed quantities of a row whose prediction is off by more than ``factor`` (either way)."""
    out = []
    for q in quantities:
        if q not in c.claims:
            continue
        pred, rep = c.predicted[q], c.reported[q]
        if rep == 0 and pred == 0:
            continue
        if rep <= 0 or pred <= 0 or max(pred / rep, rep / pred) > factor:
            out.append(q)
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

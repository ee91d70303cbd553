"""Fidelity of the ``estimate`` backend against the real synthesis runs in ../shared/calibration.

Rows: ``hls_reports.csv`` (14) and ``hls_reports_extra.csv`` (47), rebuilt as the estimator's LayerSpecs by
:mod:`dse.cost.calibration`; every row the estimator claims to cover is predicted (latency/DSP/LUT/FF/BRAM)
and compared with the reported csynth numbers (:mod:`dse.cost.estimator_fit`).

The headline is the *nested* leave-one-repository-out error (:func:`dse.cost.estimator_fit.nested_loro`):
for each source repository (``repo`` column) the fit's free choices (which outside-prior constants are
frozen, the pull of the LUT/FF coefficients to their starts) are made by an inner leave-one-repository-out
on the other repositories, every other constant is fitted on them, and the held-out rows are predicted.
In-sample errors and the plain LORO with the choices made on every row are shown for comparison (both
optimistic).  The per-family nested medians are also written to ``dse/cost/estimator_uncertainty.py``
(the ``uncertainty`` of every estimate).

    .venv/bin/python bench/estimator_fidelity.py        # -> bench/results/estimator_fidelity.{json,md,csv}
    .venv/bin/python bench/estimator_fidelity.py --fit  # the choices and fit on all covered rows (shipped)

The reference data stay in ../shared (or $DSE_SHARED_DIR); nothing of them is copied into the repo.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dse.cost.base import HardwareReport  # noqa: E402
from dse.cost.calibration import (  # noqa: E402
    QUANTITIES,
    Built,
    Row,
    all_rows,
    build_all,
    convert,
    load_reported,
)
from dse.cost.estimator_fit import (  # noqa: E402
    FROZEN,
    HEADLINE,
    PRIOR_PULL,
    PRIORS,
    Comparison,
    Fold,
    all_params,
    compare,
    covered,
    family_table,
    fit,
    loro,
    medians,
    nested_loro,
    off_by,
    rel_err,
    repo_weighted_medians,
    select_frozen,
)
from dse.cost.estimator_layers import Constants  # noqa: E402
from dse.errors import UserInputError  # noqa: E402

RESULTS = REPO / "bench" / "results"
#: The accuracy the estimator aims at on designs it never saw (nested LORO median relative error), and the
#: share of designs allowed off by more than 2x in latency, DSP or LUT (one in a dozen).
TARGET_MEDIAN = {"latency": 0.15, "dsp": 0.15, "lut": 0.15}
TARGET_OFF2X_SHARE = 1 / 12

# The paper's design (sec. 2.1 / 4.3 / Table 1).
PAPER_LATENCY_US = 41.97
PAPER_CLOCK_NS = 5.0
LFADS_SIZES = {"T": 73, "N": 70, "E": 64, "Z": 64, "F": 4}


# --------------------------------------------------------------------------------------------------
# The paper's design
# --------------------------------------------------------------------------------------------------


def lfads_keras(T: int = 73, N: int = 70, E: int = 64, Z: int = 64, F: int = 4) -> Any:
    """The LFADS autoencoder of the paper (Keras 2 functional, as dse builds it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from tensorflow import keras

    spikes = keras.Input((T, N), name="spikes")
    gen_input = keras.Input((T, 1), name="gen_input")
    x = keras.layers.Dropout(0.05)(spikes)
    enc = keras.layers.Bidirectional(keras.layers.GRU(E), merge_mode="concat", name="encoder")(x)
    ic = keras.layers.Dense(Z, name="ic")(enc)
    gen = keras.layers.GRU(Z, return_sequences=True, name="generator")(gen_input, initial_state=ic)
    factors = keras.layers.TimeDistributed(keras.layers.Dense(F, use_bias=False), name="factors")(gen)
    logrates = keras.layers.TimeDistributed(keras.layers.Dense(N), name="logrates")(factors)
    return keras.Model([spikes, gen_input], [logrates, factors])


PAPER_SETTINGS: tuple[tuple[str, str, int], ...] = (
    ("Latency", "Latency", 1),
    ("Resource", "Resource", 1),
    ("Resource", "Resource", 4),
    ("Resource", "Resource", 8),
    ("Resource", "Resource", 16),
    ("Resource", "Resource", 32),
    ("Resource", "Resource", 64),
)


def paper_estimates() -> list[tuple[str, HardwareReport]]:
    """The paper's design (ap_fixed<16,6>, xcu55c, 5 ns, io_parallel, Vitis) for a few strategies and
    model-level reuse factors (hls4ml moves each layer's RF to its closest valid value)."""
    from dse.cost.estimator import estimate_model

    model = lfads_keras(**LFADS_SIZES)
    out = []
    for label, strategy, rf in PAPER_SETTINGS:
        hm = convert(model, precision="ap_fixed<16,6>", reuse_factor=rf, strategy=strategy, io_type="io_parallel",
                     backend="Vitis", part="xcu55c", clock_ns=PAPER_CLOCK_NS, granularity="name")
        out.append((f"{label}, RF={rf}", estimate_model(hm, part="xcu55c", clock_ns=PAPER_CLOCK_NS)))
    return out


def paper_reading(paper: list[tuple[str, HardwareReport]]) -> list[str]:
    """An honest reading of the estimates next to the paper's 41.97 us, computed from the numbers."""
    if not paper:
        return []
    target = PAPER_LATENCY_US * 1000 / PAPER_CLOCK_NS
    fitting = [(lab, r) for lab, r in paper if r.fits()]
    lines = []
    rf1 = [(lab, r) for lab, r in paper if lab.endswith("RF=1")]
    for lab, r in rf1:
        lines.append(f"- {lab}: {r.latency_us:.1f} us ({r.latency_cycles / target:.2f}x the paper's cycles) but "
                     f"{r.dsp} DSPs = {r.utilisation()['dsp'] * 100:.0f}% of the U55C: does not fit.")
    if fitting:
        lab, r = min(fitting, key=lambda x: abs(x[1].latency_cycles - target))
        lines.append(f"- Closest fitting setting: {lab}: {r.latency_us:.1f} us, {r.dsp} DSPs "
                     f"({r.utilisation()['dsp'] * 100:.0f}%), {r.lut} LUTs ({r.utilisation()['lut'] * 100:.0f}%).")
    lines += [
        "- Reading: a fully parallel (RF=1) LFADS does not fit a U55C in stock hls4ml 1.3.0: the encoder's "
        "2 x (70x192 + 64x192) products alone are ~51k multipliers (~41k DSPs at the constant-weight "
        "fraction), and with the Latency strategy the pipelined top also unrolls both TimeDistributed dense "
        "layers over the 73 steps.  So the published design must have reused multipliers (RF > 1, not "
        "stated in the paper).  The paper's number comes from its own HLS Bidirectional/GRU implementation "
        "on an Alveo U55C (sec. 3, 4.3; its 41.97 us is the paper's own HLS estimate, sec. 4, not a board "
        "measurement).  The calibration rows closest to such a kernel (YanLunHuang/LFADS, case05/07/10: custom "
        "templates) run the two encoder directions in parallel, as the estimator now assumes for hls4ml's "
        "bidirectional_stack too (case05, the encoder alone, is predicted within 5 %), but also overlap "
        "the *layers* through streams, which stock hls4ml 1.3.0 io_parallel does not: the estimator, adding "
        "the layers back to back, over-predicts the full kernels (case07/10) about 2.7x.  Where the estimate "
        "lands near the paper's figure that coincidence is not a validation of either.",
    ]
    return lines



# --------------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------------


def _fmt_err(e: float) -> str:
    return "n/a" if not math.isfinite(e) else f"{e * 100:+.0f}%"


def _pct(e: float) -> str:
    return "-" if not math.isfinite(e) else f"{e * 100:.1f}%"



def _summary(comps: list[Comparison]) -> dict[str, Any]:
    """Medians, repository-weighted medians and the rows off by more than 2x of a set of comparisons."""
    meds = medians(comps)
    rw = repo_weighted_medians(comps)
    off = {c.case: off_by(c) for c in comps if off_by(c)}
    return {
        "median_rel_err": {q: round(meds[q][0], 4) if math.isfinite(meds[q][0]) else None for q in meds},
        "rows": {q: meds[q][1] for q in meds},
        "repo_weighted_median_rel_err": {q: round(rw[q], 4) if math.isfinite(rw[q]) else None for q in rw},
        "designs": len(comps),
        "off_by_more_than_2x": off,
        "off_by_more_than_2x_count": len(off),
    }


def results_json(nested: list[Comparison], folds: list[Fold], plain: list[Comparison], insample: list[Comparison],
                 frozen_all: tuple[str, ...], pull_all: float, trail_all: list[tuple[str, float, float, bool]],
                 meta: dict[str, str]) -> dict[str, Any]:
    """Everything the markdown states, as data (the prose is written from this dict)."""
    head = _summary(nested)
    goal = {q: head["median_rel_err"][q] is not None and head["median_rel_err"][q] <= TARGET_MEDIAN[q]
            for q in TARGET_MEDIAN}
    goal["off_by_2x"] = head["off_by_more_than_2x_count"] <= TARGET_OFF2X_SHARE * head["designs"]
    return {
        **meta,
        "headline": "nested leave-one-repository-out",
        "nested_loro": head,
        "goal": {"median_max": TARGET_MEDIAN, "off_by_2x_max_share": round(TARGET_OFF2X_SHARE, 4), "met": goal},
        "loro_selection_on_all_rows": _summary(plain),
        "in_sample": _summary(insample),
        "folds": [{"held_out": f.repo, "frozen": list(f.frozen), "prior_pull": f.pull,
                   "constants": {p: round(float(getattr(f.consts, p)), 4) for p in all_params()},
                   "selection_trail": [{"constant": p, "score_before": round(a, 4), "score_frozen": round(b, 4),
                                        "frozen": k} for p, a, b, k in f.trail]} for f in folds],
        "shipped_selection": {"frozen": list(frozen_all), "prior_pull": pull_all,
                              "matches_shipped": tuple(frozen_all) == FROZEN and pull_all == PRIOR_PULL,
                              "trail": [{"constant": p, "score_before": round(a, 4), "score_frozen": round(b, 4),
                                         "frozen": k} for p, a, b, k in trail_all]},
        "per_row": [{"case": c.case, "repo": c.repo, "family": c.family, "claims": list(c.claims),
                     **{f"{q}_reported": c.reported[q] for q in QUANTITIES},
                     **{f"{q}_nested": c.predicted[q] for q in QUANTITIES}} for c in nested],
    }


def markdown(data: dict[str, Any], comps: list[Comparison], nested: list[Comparison], insample: list[Comparison],
             builts: list[Built], rows: list[Row], paper: list[tuple[str, HardwareReport]]) -> str:
    """The fidelity page; every figure in the prose comes from ``data`` (the JSON) or the comparisons."""
    nested_by_case = {c.case: c for c in nested}
    ins_by_case = {c.case: c for c in insample}
    head = data["nested_loro"]
    med = head["median_rel_err"]
    lines = [
        "# Estimator fidelity",
        "",
        f"- command: `{data['command']}`",
        f"- machine: {data['machine']}",
        f"- date: {data['date']}, commit {data['commit']}",
        f"- load average at the end (1/5/15 min): {data['load']}",
        "",
        "Against `../shared/calibration/hls_reports.csv` and `hls_reports_extra.csv` (csynth numbers).  Relative "
        "error = (predicted - reported) / reported.  Figures in `bench/results/estimator_fidelity.json`.",
        "",
        "## Headline: nested leave-one-repository-out (designs the estimator never saw)",
        "",
        "Each repository is held out in turn.  On the *other* repositories only: (1) an inner "
        "leave-one-repository-out decides which constants with an outside-source prior (`PRIORS` in "
        "dse/cost/estimator_fit.py: hls4ml's DSP model, UG474/UG574 adder cost, 'no fabric difference') are "
        "frozen at that prior, (2) every other constant is fitted -- including the delays, per-layer cycles and "
        "LUT/FF coefficients that used to be read off these reports (`START` is only where the fit begins).  "
        "The held-out rows are then predicted.",
        "",
        "| quantity | nested LORO median abs. rel. error | rows | repository-weighted median |",
        "|---|---|---|---|",
    ]
    for q in QUANTITIES:
        rw = head["repo_weighted_median_rel_err"][q]
        lines.append(f"| {q} | {_pct(med[q] if med[q] is not None else math.nan)} | {head['rows'][q]} | "
                     f"{_pct(rw if rw is not None else math.nan)} |")
    n_off, n = head["off_by_more_than_2x_count"], head["designs"]
    lines += ["", f"Designs off by more than 2x in latency, DSP or LUT (claimed quantities): **{n_off} of {n}**"
              + (": " + ", ".join(f"{k} ({'/'.join(v)})" for k, v in head["off_by_more_than_2x"].items())
                 if n_off else "") + ".", ""]
    g = data["goal"]
    for q in TARGET_MEDIAN:
        lines.append(f"- {q}: nested LORO median {_pct(med[q] if med[q] is not None else math.nan)} -- "
                     f"{'meets' if g['met'][q] else 'MISSES'} the {g['median_max'][q] * 100:.0f} % goal")
    lines.append(f"- off by > 2x: {n_off} of {n} ({n_off / max(n, 1) * 100:.0f} %) -- "
                 f"{'meets' if g['met']['off_by_2x'] else 'MISSES'} the goal of at most one in twelve")
    plain, ins = data["loro_selection_on_all_rows"], data["in_sample"]
    lines += ["", "## Optimism of the non-nested figures", "",
              "| quantity | in-sample | LORO, frozen set chosen on all rows | nested LORO |", "|---|---|---|---|"]
    for q in QUANTITIES:
        vals = [x["median_rel_err"][q] for x in (ins, plain, head)]
        lines.append(f"| {q} | " + " | ".join(_pct(v if v is not None else math.nan) for v in vals) + " |")
    lines.append(f"| designs off > 2x | {ins['off_by_more_than_2x_count']} | {plain['off_by_more_than_2x_count']} "
                 f"| {n_off} |")
    lines += ["", "## The frozen-or-fitted choice, per outer fold", "",
              "| held-out repository | frozen at the outside prior (all others fitted) | pull to start |",
              "|---|---|---|"]
    for f in data["folds"]:
        lines.append(f"| {f['held_out']} | {', '.join(f['frozen']) or 'none'} | {f['prior_pull']} |")
    sel = data["shipped_selection"]
    lines += ["", f"On every covered row the same selection freezes: {', '.join(sel['frozen']) or 'none'}, pull "
              f"{sel['prior_pull']} (shipped `FROZEN`/`PRIOR_PULL` "
              f"{'match' if sel['matches_shipped'] else 'DO NOT match -- refit'}).  "
              f"Candidates: {', '.join(PRIORS)}.", ""]
    lines += ["### Nested LORO by held-out repository", "",
              "| repository | rows | latency | DSP | LUT |", "|---|---|---|---|---|"]
    for repo in sorted({c.repo for c in nested}):
        sub = [c for c in nested if c.repo == repo]
        meds = medians(sub)
        lines.append(f"| {repo} | {len(sub)} | " + " | ".join(f"{_pct(meds[q][0])} ({meds[q][1]})"
                                                             for q in HEADLINE) + " |")
    lines += ["", "## Per row", "",
              "| case | repository | family | latency pred/rep (nested err, in-sample) | DSP | LUT | FF | BRAM18 |",
              "|---|---|---|---|---|---|---|---|"]
    for c in comps:
        lc, ic = nested_by_case.get(c.case), ins_by_case.get(c.case)
        cells = []
        for q in QUANTITIES:
            if q not in c.claims or lc is None:
                cells.append(f"{c.predicted[q]:.0f} / {c.reported[q]:.0f} (not claimed: {_fmt_err(c.errors[q])})")
            else:
                cells.append(f"{lc.predicted[q]:.0f} / {c.reported[q]:.0f} ({_fmt_err(lc.errors[q])}, "
                             f"{_fmt_err(ic.errors[q]) if ic else 'n/a'})")
        lines.append(f"| {c.case} | {c.repo} | {c.family} | " + " | ".join(cells) + " |")
    lines += ["", "## Rows not covered (or covered only in part), and why", ""]
    built_cases = {b.row.case for b in builts}
    for r in rows:
        missing = [q for q in QUANTITIES if q not in r.claims]
        if not missing:
            continue
        what = "not covered" if not r.claims else f"not covered for {', '.join(missing)}"
        lines.append(f"- {r.case}: {what} -- {r.why_not}" + ("" if r.case in built_cases else " (not estimated)"))
    for c in comps:
        if c.latency_bidir_sequential is not None:
            e_par = c.errors["latency"]
            e_seq = rel_err(c.latency_bidir_sequential, c.reported["latency"])
            lines.append(f"- {c.case} (Bidirectional): latency with the directions overlapping (the default) "
                         f"{c.predicted['latency']:.0f} cycles ({_fmt_err(e_par)}); one after the other "
                         f"{c.latency_bidir_sequential:.0f} ({_fmt_err(e_seq)}); reported {c.reported['latency']:.0f}")
    if paper:
        lines += ["", "## The paper's design (LFADS, ap_fixed<16,6>, xcu55c @ 5 ns)", "",
                  f"Paper (estimated by its HLS tool): {PAPER_LATENCY_US} us per trial = {PAPER_LATENCY_US * 1000 / PAPER_CLOCK_NS:.0f} cycles "
                  "at 5 ns (reuse factor and strategy not stated).", "",
                  "| setting | latency (cycles) | latency (us) | II | DSP | LUT | FF | BRAM18 | uncertainty lat/DSP/LUT "
                  "| fits xcu55c |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for label, r in paper:
            u = r.details.get("uncertainty", {})
            lines.append(f"| {label} | {r.latency_cycles} | {r.latency_us:.2f} | {r.ii_cycles} | {r.dsp} | {r.lut} "
                         f"| {r.ff} | {r.bram_18k} | "
                         + "/".join(f"±{u.get(q, math.nan) * 100:.0f}%" for q in ("latency", "dsp", "lut"))
                         + f" | {'yes' if r.fits() else 'no'} |")
        lines += [""] + paper_reading(paper)
    return "\n".join(lines) + "\n"


def write_csv(comps: list[Comparison], loro_comps: list[Comparison], path: Path) -> None:
    """Per row: reported, shipped-constant prediction and the nested-LORO prediction (``*_loro`` columns)."""
    import csv

    loro_by_case = {c.case: c for c in loro_comps}
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        header = ["case", "repo", "family", "source", "claims"]
        for q in QUANTITIES:
            header += [f"{q}_reported", f"{q}_pred_insample", f"{q}_rel_err_insample", f"{q}_pred_loro",
                       f"{q}_rel_err_loro"]
        w.writerow(header)
        for c in comps:
            lc = loro_by_case.get(c.case)
            row: list[Any] = [c.case, c.repo, c.family, c.source, ";".join(c.claims)]
            for q in QUANTITIES:
                row += [round(c.reported[q]), round(c.predicted[q]), round(c.errors[q], 4),
                        round(lc.predicted[q]) if lc else "", round(lc.errors[q], 4) if lc else ""]
            w.writerow(row)


UNCERTAINTY_MODULE = REPO / "dse" / "cost" / "estimator_uncertainty.py"


def write_uncertainty_module(table: dict[str, dict[str, float]], header: list[str], path: Path) -> None:
    """The per-family LORO medians as the table :func:`dse.cost.estimator.uncertainty` reads."""
    body = json.dumps(table, indent=4, sort_keys=True)
    text = (
        '"""Cross-validated error of the estimator by layer family -- GENERATED, do not edit.\n\n'
        "Written by ``python bench/estimator_fidelity.py``: the nested leave-one-repository-out median |relative\n"
        "error| per family (recurrent / dense / ... / all) and metric over the calibration rows that claim the\n"
        "metric; see bench/results/estimator_fidelity.md.  Read by ``dse.cost.estimator.uncertainty``.\n\n"
        + "\n".join(h.lstrip("- ") for h in header) + '\n"""\n\n'
        f"LORO_MEDIAN_REL_ERR: dict[str, dict[str, float]] = {body}\n"
    )
    path.write_text(text)


def _meta(argv: list[str]) -> dict[str, str]:
    """Command, commit, machine, date and load of this run (bench/common.py)."""
    import datetime

    from bench.common import git_rev, load_average, machine

    return {
        "command": "python bench/estimator_fidelity.py" + (" " + " ".join(argv) if argv else ""),
        "commit": git_rev(),
        "machine": machine(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load_average(),
    }


def sensitivity_frozen_start(builts: list[Built], reported: dict[str, dict[str, Any]], argv: list[str]) -> int:
    """The nested LORO with the inner selection run the other way (start frozen, fit what helps): how much
    the headline depends on that procedural choice.  Written beside the main results, not over them."""
    nested, folds = nested_loro(builts, reported, start="frozen", verbose=True)
    head = _summary(nested)
    data = {**_meta(argv), "selection_start": "frozen", "nested_loro": head,
            "folds": [{"held_out": f.repo, "frozen": list(f.frozen), "prior_pull": f.pull} for f in folds]}
    (RESULTS / "estimator_fidelity_frozen_start.json").write_text(json.dumps(data, indent=1) + "\n")
    med, rw = head["median_rel_err"], head["repo_weighted_median_rel_err"]
    lines = ["## Estimator fidelity: sensitivity of the nested LORO to the selection's starting point", "",
             f"- command: `{data['command']}`", f"- machine: {data['machine']}",
             f"- date: {data['date']}, commit {data['commit']}", f"- load average at the end (1/5/15 min): {data['load']}",
             "", "The inner selection of the headline (bench/results/estimator_fidelity.md) starts with every "
             "outside-prior constant fitted and freezes one at a time where that lowers the inner LORO error; here "
             "it starts with all of them frozen at their priors and fits one at a time where that helps.  This "
             "variant was run *after* the headline's outer errors were seen, so it is a sensitivity check, not an "
             "alternative headline.", "",
             "| quantity | nested LORO median | repository-weighted |", "|---|---|---|"]
    for q in QUANTITIES:
        lines.append(f"| {q} | {_pct(med[q] if med[q] is not None else math.nan)} | "
                     f"{_pct(rw[q] if rw[q] is not None else math.nan)} |")
    lines += ["", f"Designs off by more than 2x in latency, DSP or LUT: {head['off_by_more_than_2x_count']} of "
              f"{head['designs']}.", "", "| held-out repository | frozen | pull |", "|---|---|---|"]
    lines += [f"| {f['held_out']} | {', '.join(f['frozen']) or 'none'} | {f['prior_pull']} |" for f in data["folds"]]
    md = "\n".join(lines) + "\n"
    (RESULTS / "estimator_fidelity_frozen_start.md").write_text(md)
    print(md)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", action="store_true", help="select and fit the constants on all covered rows, print them")
    ap.add_argument("--no-paper", action="store_true", help="skip the paper-design estimates")
    ap.add_argument("--selection-start", choices=("fitted", "frozen"), default="fitted",
                    help="sensitivity run: start the inner selection with every outside-prior constant frozen "
                         "(fitted one at a time if that helps); writes estimator_fidelity_frozen_start.{json,md} "
                         "only (the nested headline and the per-fold choices)")
    args = ap.parse_args(argv)
    argv = argv if argv is not None else sys.argv[1:]

    try:
        reported = load_reported()
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = all_rows(reported)
    builts = build_all(reported)
    cov = covered(builts)
    if args.fit:
        frozen, pull, _ = select_frozen(cov, reported, verbose=True)
        consts = fit(cov, reported, frozen=frozen, pull=pull)
        print(f"FROZEN = {frozen!r}\nPRIOR_PULL = {pull}")
        for p in all_params():
            print(f"{p} = {getattr(consts, p):.4g}   (shipped {getattr(Constants(), p):.4g})")
        return 0

    if args.selection_start == "frozen":
        return sensitivity_frozen_start(builts, reported, argv)
    comps = compare(builts, reported)  # shipped constants, every row (not claimed ones marked)
    insample = compare(cov, reported, fit(cov, reported))
    nested, folds = nested_loro(builts, reported, verbose=True)
    frozen_all, pull_all, trail_all = select_frozen(cov, reported)
    plain, _ = loro(builts, reported, frozen=frozen_all, pull=pull_all)
    paper = [] if args.no_paper else paper_estimates()
    data = results_json(nested, folds, plain, insample, frozen_all, pull_all, trail_all, _meta(argv))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "estimator_fidelity.json").write_text(json.dumps(data, indent=1) + "\n")
    md = markdown(data, comps, nested, insample, builts, rows, paper)
    (RESULTS / "estimator_fidelity.md").write_text(md)
    write_csv(comps, nested, RESULTS / "estimator_fidelity.csv")
    header = [f"- command: `{data['command']}`", f"- date: {data['date']}, commit {data['commit']}"]
    write_uncertainty_module(family_table(nested), header, UNCERTAINTY_MODULE)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Fidelity of the ``estimate`` backend against the real synthesis runs in ../shared/calibration.

Rows: ``hls_reports.csv`` (14) and ``hls_reports_extra.csv`` (47), rebuilt as the estimator's LayerSpecs by
:mod:`dse.cost.calibration`; every row the estimator claims to cover is predicted (latency/DSP/LUT/FF/BRAM)
and compared with the reported csynth numbers (:mod:`dse.cost.estimator_fit`).

The headline numbers are *leave-one-repository-out* (LORO): for each source repository (``repo``
column) the free constants are re-fitted on the other repositories' rows and the held-out rows are
predicted with them.  In-sample errors (constants fitted on every row) are shown next to them only for
comparison.  The ablation (skipped with ``--no-ablation``) re-runs the LORO with each free constant's
state toggled (fitted <-> frozen at its prior): a constant whose fit does not lower the held-out error is
not fitted (``FROZEN``).  The per-family LORO
medians are also written to ``dse/cost/estimator_uncertainty.py`` (the ``uncertainty`` of every estimate).

    .venv/bin/python bench/estimator_fidelity.py            # -> bench/results/estimator_fidelity.{md,csv}
    .venv/bin/python bench/estimator_fidelity.py --fit      # fit on all covered rows, print the constants

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
    FAMILIES,
    FIT_PARAMS,
    FROZEN,
    GRID_PARAMS,
    LINEAR_PARAMS,
    Comparison,
    ablation,
    compare,
    covered,
    family_table,
    fit,
    loro,
    medians,
    rel_err,
    repo_weighted_medians,
)
from dse.cost.estimator_layers import Constants  # noqa: E402
from dse.errors import UserInputError  # noqa: E402

RESULTS = REPO / "bench" / "results"
#: The accuracy the estimator aims at on the rows it covers (median relative error).
TARGET_MEDIAN = {"latency": 0.25, "dsp": 0.25, "lut": 0.25}

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
        "on an Alveo U55C (sec. 3, 4.3; whether 41.97 us is measured on the board or the HLS estimate is not "
        "explicit).  The calibration rows closest to such a kernel (YanLunHuang/LFADS, case05/07/10: custom "
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



def markdown(comps: list[Comparison], loro_comps: list[Comparison], insample: list[Comparison],
             builts: list[Built], rows: list[Row], paper: list[tuple[str, HardwareReport]],
             ablation_rows: list[tuple[str, str, int, float, float]], header: list[str]) -> str:
    loro_by_case = {c.case: c for c in loro_comps}
    ins_by_case = {c.case: c for c in insample}
    lines = [
        "# Estimator fidelity",
        "",
        *header,
        "",
        "Against `../shared/calibration/hls_reports.csv` and `hls_reports_extra.csv` (csynth numbers).  Relative "
        "error = (predicted - reported) / reported.  **LORO** = leave one repository out: the free constants are "
        "re-fitted without the row's repository, then the row is predicted.  *In-sample* = constants fitted on "
        "every covered row (shown for comparison only).",
        "",
        "## Leave-one-repository-out median |relative error| (the headline)",
        "",
        "| family | rows | latency | DSP | LUT | FF | BRAM18 |",
        "|---|---|---|---|---|---|---|",
    ]
    for fam in (*FAMILIES, None):
        meds = medians(loro_comps, fam)
        n = max(k for _, k in meds.values())
        if n == 0:
            continue
        cells = [f"{_pct(meds[q][0])} ({meds[q][1]})" for q in QUANTITIES]
        lines.append(f"| {fam or '**all covered rows**'} | {n} | " + " | ".join(cells) + " |")
    rw = repo_weighted_medians(loro_comps)
    lines.append("| all, each repository weighted once (median of repository medians) | "
                 f"{len({c.repo for c in loro_comps})} repos | " + " | ".join(_pct(rw[q]) for q in QUANTITIES)
                 + " |")
    lines += ["", "(n) = rows that claim the quantity.  Target: <= 25 % (aim 15 %) for latency, DSP and LUT.", ""]
    target_lines = []
    lm = medians(loro_comps)
    for q, bound in TARGET_MEDIAN.items():
        ok = lm[q][0] <= bound
        target_lines.append(f"- {q}: LORO median {_pct(lm[q][0])} over {lm[q][1]} rows: "
                            f"{'meets' if ok else 'MISSES'} the {bound * 100:.0f} % target")
    lines += target_lines
    lines += ["", "## In-sample vs LORO", "", "| quantity | in-sample median | LORO median | rows |", "|---|---|---|---|"]
    im = medians(insample)
    for q in QUANTITIES:
        lines.append(f"| {q} | {_pct(im[q][0])} | {_pct(lm[q][0])} | {lm[q][1]} |")
    lines += ["", "### LORO by held-out repository", "",
              "| repository | rows | latency | DSP | LUT |", "|---|---|---|---|---|"]
    for repo in sorted({c.repo for c in loro_comps}):
        sub = [c for c in loro_comps if c.repo == repo]
        meds = medians(sub)
        lines.append(f"| {repo} | {len(sub)} | " + " | ".join(f"{_pct(meds[q][0])} ({meds[q][1]})"
                                                             for q in TARGET_MEDIAN) + " |")
    if ablation_rows:
        lines += ["", "## Ablation: which constants survive cross-validation", "",
                  "LORO median |relative error| of the quantity a constant is fitted on, over the covered rows whose "
                  "prediction it moves: as shipped, and with that one constant toggled (fitted -> frozen at its "
                  "prior, `PRIORS` in dse/cost/estimator_fit.py with sources; frozen -> fitted).  A constant is "
                  "fitted only if fitting it lowers the held-out error; `FROZEN` lists the dropped ones.", "",
                  "| constant | quantity | rows affected | shipped: | LORO as shipped | LORO toggled | shipped choice holds |",
                  "|---|---|---|---|---|---|---|"]
        for p, q, n, ship, tog in ablation_rows:
            # a fitted constant must lower the held-out error; a frozen one must not be better fitted
            if not (math.isfinite(tog) and math.isfinite(ship)):
                holds = True
            else:
                holds = tog > ship + 1e-4 if p not in FROZEN else tog >= ship - 1e-4
            lines.append(f"| {p} | {q} | {n} | {'frozen' if p in FROZEN else 'fitted'} | {_pct(ship)} | {_pct(tog)} "
                         f"| {'yes' if holds else 'NO'} |")
        lines += ["", f"Constants frozen in the shipped estimator (`FROZEN`): {', '.join(FROZEN) or 'none'}."]
    lines += ["", "## Per row", "",
              "| case | repository | family | latency pred/rep (LORO err, in-sample) | DSP | LUT | FF | BRAM18 |",
              "|---|---|---|---|---|---|---|---|"]
    for c in comps:
        lc, ic = loro_by_case.get(c.case), ins_by_case.get(c.case)
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
    lines += ["", "## The paper's design (LFADS, ap_fixed<16,6>, xcu55c @ 5 ns)", "",
              f"Paper: {PAPER_LATENCY_US} us per trial = {PAPER_LATENCY_US * 1000 / PAPER_CLOCK_NS:.0f} cycles "
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
        "Written by ``python bench/estimator_fidelity.py``: the leave-one-repository-out median |relative\n"
        "error| per family (recurrent / dense / ... / all) and metric over the calibration rows that claim the\n"
        "metric; see bench/results/estimator_fidelity.md.  Read by ``dse.cost.estimator.uncertainty``.\n\n"
        + "\n".join(h.lstrip("- ") for h in header) + '\n"""\n\n'
        f"LORO_MEDIAN_REL_ERR: dict[str, dict[str, float]] = {body}\n"
    )
    path.write_text(text)


def _header(argv: list[str] | None) -> list[str]:
    import datetime
    import platform
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001
        commit = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except Exception:  # noqa: BLE001
        cpu = platform.processor()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"- command: `python bench/estimator_fidelity.py{' ' + ' '.join(argv) if argv else ''}`",
        f"- machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}",
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit {commit}",
        f"- load average at the end (1/5/15 min): {load}",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fit", action="store_true", help="fit the free constants on all covered rows and print them")
    ap.add_argument("--no-ablation", action="store_true", help="skip the per-constant LORO ablation (slow)")
    ap.add_argument("--no-paper", action="store_true", help="skip the paper-design estimates")
    args = ap.parse_args(argv)

    try:
        reported = load_reported()
    except UserInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = all_rows(reported)
    builts = build_all(reported)
    if args.fit:
        consts = fit(covered(builts), reported, verbose=True)
        for p in (*GRID_PARAMS, *LINEAR_PARAMS, *FIT_PARAMS):
            print(f"{p.upper()} = {getattr(consts, p):.3g}   (shipped {getattr(Constants(), p):.3g})")
        print("in-sample medians:", {q: round(m, 3) for q, (m, _) in medians(compare(builts, reported, consts)).items()})
        return 0

    comps = compare(builts, reported)  # shipped constants, every row (not claimed ones marked)
    insample = compare(covered(builts), reported, fit(covered(builts), reported))
    loro_comps, _ = loro(builts, reported)
    abl = [] if args.no_ablation else ablation(builts, reported)
    paper = [] if args.no_paper else paper_estimates()
    header = _header(argv if argv is not None else sys.argv[1:])
    RESULTS.mkdir(parents=True, exist_ok=True)
    md = markdown(comps, loro_comps, insample, builts, rows, paper, abl, header)
    (RESULTS / "estimator_fidelity.md").write_text(md)
    write_csv(comps, loro_comps, RESULTS / "estimator_fidelity.csv")
    write_uncertainty_module(family_table(loro_comps), header, UNCERTAINTY_MODULE)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The paper's precision scans, reproduced with dse's trial pipeline at the paper size.

- PTQ: one float model; ap_fixed<I+F, I> for I in {4, 6, 8} and F in 2..16 (step --frac-step);
  accuracy from the bit-accurate C simulation (paper Fig. 5).
- QAT: one QKeras model per total width W in 4..16 (step --qat-step), integer bits fixed (paper Fig. 6).
- The published design: PTQ ap_fixed<16,6>, U55C at 200 MHz, estimated next to the paper's 41.97 us.

Every point is a real trial (train or cached model -> hls4ml -> g++ C-sim -> metrics -> estimator), so
the scan also exercises the DSE path. Writes bench/results/paper_scans.md and paper_scans.png.

Usage: python bench/paper_scans.py [--frac-step 2] [--qat-step 2] [--skip-qat] [--reuse-factor 16]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, header, write_result  # noqa: E402

PAPER_US = 41.97


#: Per-product reuse factors valid with the Resource strategy (each divides its product's inputs).
FOLDED = {"layer_reuse_factor": {"encoder": 70, "ic": 128, "generator": 64, "factors": 64, "logrates": 4},
          "recurrent_reuse_factor": {"encoder": 64, "generator": 64}}
MODERATE = {"layer_reuse_factor": {"encoder": 10, "ic": 8, "generator": 8, "factors": 8, "logrates": 2},
            "recurrent_reuse_factor": {"encoder": 8, "generator": 8}}


def spec(tmp: Path, n: int, quant: str, width: int, integer: int, rf: int, strategy: str, per_layer=None,
         qat_options: dict | None = None, name: str = "paper-scans", qat_precision: str = "new"):
    """One paper-size trial; ``qat_options`` adds QuantSpec fields (state_outputs, init, finetune_epochs)."""
    from dse.families.lfads.params import qat_value_precision
    from dse.trial.spec import TrialSpec

    qat = ({"bits": width, "integer": integer - 1, "activations": "real", **(qat_options or {})}
           if quant == "qat" else None)
    # QAT: values without a quantizer get the headroom of dse/families/lfads/params.py's rule (dse's
    # earlier rule, ap_fixed<W+8,I+4>, with qat_precision="old", to measure what the wider one changed)
    if quant == "qat":
        w, i = (width + 8, integer + 4) if qat_precision == "old" else qat_value_precision(width, integer)
        prec = f"ap_fixed<{w},{i}>"
    else:
        prec = f"ap_fixed<{width},{integer}>"
    design = {
        "family": "lfads",
        "model": {"encoder_units": 64, "latent_units": 64, "factors": 4, "quant": qat},
        "train": {"seed": 0},
        "hls": {"quantization": quant, "precision": prec, "reuse_factor": rf,
                "strategy": strategy, "io_type": "io_parallel", "table_size": 1024,
                "part": "xcu55c-fsvh2892-2L-e", "clock_period": 5.0, "backend": "Vitis", **(per_layer or {})},
        "hardware": {"backend": "estimate", "part": "xcu55c", "clock_ns": 5.0},
        "params": {"quant": quant, "width": width, "integer": integer},
    }
    return TrialSpec(name, n, design, {"source": "synthetic", "options": {}, "split_seed": 0},
                     ["behavior_r2", "npll"], str(tmp / f"t{n}"), str(tmp / "models"), str(tmp / "hls"), None,
                     pruning={"enabled": False})  # a scan measures every point


def row(r, **extra) -> dict:
    c, f, hw = r.accuracy.get("csim", {}), r.accuracy.get("float", {}), r.hardware or {}
    return {**extra, "status": r.status, "reason": r.fail_reason, "csim_behavior_r2": c.get("behavior_r2"),
            "csim_npll": c.get("npll"), "csim_rate_r2": c.get("rate_r2"), "float_behavior_r2": f.get("behavior_r2"),
            "float_npll": f.get("npll"), "latency_us": hw.get("latency_us"), "dsp": hw.get("dsp"),
            "lut": hw.get("lut"), "seconds": r.timings.get("total")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frac-step", type=int, default=2)
    ap.add_argument("--qat-step", type=int, default=2)
    ap.add_argument("--qat-integer", type=int, default=3, help="QAT integer bits incl. sign (paper: 3)")
    ap.add_argument("--reuse-factor", type=int, default=2, help="1 and 2 are valid for every LFADS product")
    ap.add_argument("--strategy", default="Latency", choices=("Latency", "Resource"))
    ap.add_argument("--skip-qat", action="store_true")
    ap.add_argument("--skip-ptq", action="store_true", help="QAT only; results go to paper_scans_qat.*")
    ap.add_argument("--workdir", type=Path, default=None, help="keep caches here (default: a temp dir)")
    args = ap.parse_args()
    from dse.trial.runner import run_trial

    tmp = args.workdir or Path(tempfile.mkdtemp(prefix="dse-paper-scans-"))
    rows, n, t0 = [], 0, time.perf_counter()
    for integer in () if args.skip_ptq else (4, 6, 8):
        for frac in range(2, 17, args.frac_step):
            r = run_trial(spec(tmp, n, "ptq", integer + frac, integer, args.reuse_factor, args.strategy))
            rows.append(row(r, mode="ptq", integer=integer, frac=frac, width=integer + frac))
            print(json.dumps(rows[-1]), flush=True)
            n += 1
    if not args.skip_qat:
        for width in range(4, 17, args.qat_step):
            r = run_trial(spec(tmp, n, "qat", width, args.qat_integer, args.reuse_factor, args.strategy))
            rows.append(row(r, mode="qat", integer=args.qat_integer, frac=width - args.qat_integer, width=width))
            print(json.dumps(rows[-1]), flush=True)
            n += 1
    published = []
    for rf, strategy, per_layer, label in ((1, "Latency", None, "1"), (2, "Resource", None, "2"),
                                           (1, "Resource", MODERATE, "moderate per layer"),
                                           (1, "Resource", FOLDED, "folded per layer")):
        r = run_trial(spec(tmp, n, "ptq", 16, 6, rf, strategy, per_layer))
        published.append(row(r, rf=label, strategy=strategy))
        n += 1
    name = "paper_scans_qat" if args.skip_ptq else "paper_scans"
    (RESULTS / f"{name}.json").write_text(json.dumps({"scan": rows, "published": published}, indent=1))
    _plot(rows, name)
    md = header("The paper's precision scans at the paper size (synthetic data, C-simulation accuracy)",
                f"python bench/paper_scans.py --frac-step {args.frac_step} "
                + ("--skip-qat " if args.skip_qat else f"--qat-step {args.qat_step} ")
                + ("--skip-ptq " if args.skip_ptq else "")
                + f"--reuse-factor {args.reuse_factor} --strategy {args.strategy}")
    md += f"\nWall time: {time.perf_counter() - t0:.0f} s. Float model (published-design rows): behaviour R2 "
    md += f"{published[0]['float_behavior_r2']:.3f}, NPLL {published[0]['float_npll']:.4f}.\n\n"
    md += "| mode | I | F | W | C-sim behaviour R2 | C-sim NPLL | C-sim rate R2 | latency us | DSP | LUT | status |\n"
    md += "|---|---|---|---|---|---|---|---|---|---|---|\n"
    for x in rows:
        md += (f"| {x['mode']} | {x['integer']} | {x['frac']} | {x['width']} | {_f(x['csim_behavior_r2'])} | "
               f"{_f(x['csim_npll'], 4)} | {_f(x['csim_rate_r2'])} | {_f(x['latency_us'], 1)} | {x['dsp']} | "
               f"{x['lut']} | {x['status']}{' ' + str(x['reason'])[:60] if x['reason'] else ''} |\n")
    md += "\nThe published design, ap_fixed<16,6> on the U55C at 200 MHz (the paper's estimated latency, Sec. 4.3 and Table 1: 41.97 us):\n\n"
    md += "| RF | strategy | C-sim behaviour R2 | latency us | vs paper | DSP | LUT |\n|---|---|---|---|---|---|---|\n"
    for x in published:
        ratio = f"{x['latency_us'] / PAPER_US:.2f}x" if x["latency_us"] else "n/a"
        md += (f"| {x['rf']} | {x['strategy']} | {_f(x['csim_behavior_r2'])} | {_f(x['latency_us'], 2)} | {ratio} | "
               f"{x['dsp']} | {x['lut']} |\n")
    write_result(name, md)


def _f(v, nd: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{nd}f}"


def _plot(rows: list[dict], name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for integer, color in ((4, "tab:orange"), (6, "tab:green"), (8, "tab:red")):
        xs = [r for r in rows if r["mode"] == "ptq" and r["integer"] == integer and r["csim_behavior_r2"] is not None]
        axes[0].plot([r["frac"] for r in xs], [r["csim_behavior_r2"] for r in xs], "o-", color=color,
                     label=f"PTQ, {integer} integer bits")
    floats = [r["float_behavior_r2"] for r in rows if r["mode"] == "ptq" and r["float_behavior_r2"] is not None]
    if floats:
        axes[0].axhline(floats[0], color="k", ls="--", label="float")
    axes[0].set(xlabel="fractional bits", ylabel="behaviour R2 (C sim)", title="PTQ (paper Fig. 5)")
    axes[0].legend()
    q = [r for r in rows if r["mode"] == "qat" and r["csim_behavior_r2"] is not None]
    if not q:
        axes[1].text(0.5, 0.5, "QAT scan not run (--skip-qat)", ha="center", va="center", transform=axes[1].transAxes)
    axes[1].plot([r["width"] for r in q], [r["csim_behavior_r2"] for r in q], "o-", label="QAT (C sim)")
    axes[1].plot([r["width"] for r in q], [r["float_behavior_r2"] for r in q], "s--", label="QAT (QKeras)")
    axes[1].set(xlabel="total bits", ylabel="behaviour R2", title="QAT (paper Fig. 6)")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(RESULTS / f"{name}.png", dpi=110)


if __name__ == "__main__":
    main()

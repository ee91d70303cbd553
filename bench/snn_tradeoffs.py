"""Spiker+'s trade-off analysis on scikit-learn's digits (8x8): accuracy and hardware against hidden size,
weight bits, membrane bits and time steps.

Built from the SNN family's pieces directly: one float training per (hidden size, time steps) setting
(default digits recipe: 64 - H - 10, feed-forward LIF k_beta=3, rate coding, 30 epochs), post-training
quantization over the bit grid (weight bits 4-8 x membrane bits {calibrated, 4..10}; with a fixed
membrane width the fractional bits are chosen on the validation split, quantize.resolve_quant), integer
accuracy on the reference model (test split), cycles of the full and the event-driven input scan (mean
over the test images, reference model).

Hardware (LUT, FF, BRAM) of the design lines (hidden sweep, weight-bit sweep, membrane-bit sweep,
time-step sweep): checked Yosys synthesis (dse.families.snn.synth.synthesize: GHDL -> Yosys
synth_xilinx for xc7a35t, no latches, gate-level netlist simulated equal to the integer reference on
2 test images), cached in --cache-dir; a design whose synthesis fails, times out or does not fit the
--synth-budget gets the calibrated analytic estimate (hw_estimate) instead. Every number says where it
comes from (`yosys` or `estimate`); the estimate is also given for every synthesized design.

Usage: python bench/snn_tradeoffs.py [--cache-dir /tmp/bench-snn/synth-cache] [--synth-budget 1500]
       [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, header, write_result  # noqa: E402

HIDDEN = (32, 64, 128, 256)
WEIGHT_BITS = (4, 5, 6, 7, 8)
MEMBRANE_BITS = (None, 4, 5, 6, 7, 8, 9, 10)  # None: calibrated (nothing the float model reaches saturates)
TIME_STEPS = (10, 25, 50)
BASE_H, BASE_T, BASE_W, BASE_M = 64, 25, 6, 8
PART = "xc7a35t"


def _recipe(task, hidden: int, steps: int, epochs: int | None):
    from dse.families.snn.encoding import EncodingSpec
    from dse.families.snn.model import SNNDescription
    from dse.families.snn.recipe import default_recipe

    r = default_recipe(task, epochs, 0)
    d = r.description
    h, out = d.layers
    desc = SNNDescription(d.n_inputs, (replace(h, size=hidden), out),
                          EncodingSpec("rate", steps=steps, seed=d.encoding.seed))
    return replace(r, description=desc)


def hardware_lines() -> list[tuple[str, int, int, int, int | None]]:
    """(line, hidden, time steps, weight bits, membrane bits) of the designs whose hardware is costed."""
    lines = [("hidden", h, BASE_T, BASE_W, BASE_M) for h in HIDDEN]
    lines += [("weight bits", BASE_H, BASE_T, w, BASE_M) for w in WEIGHT_BITS]
    lines += [("membrane bits", BASE_H, BASE_T, BASE_W, m) for m in MEMBRANE_BITS if m is not None]
    lines += [("time steps", BASE_H, t, BASE_W, BASE_M) for t in TIME_STEPS]
    return sorted(lines, key=lambda x: x[1] >= 256)  # the largest (slowest) synthesis last


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-dir", default="/tmp/bench-snn/synth-cache")
    ap.add_argument("--synth-budget", type=float, default=1500.0,
                    help="seconds of synthesis in all; designs after that get the estimate")
    ap.add_argument("--synth-timeout", type=float, default=600.0, help="per tool call")
    ap.add_argument("--quick", action="store_true", help="3 epochs, 2 hidden sizes (a smoke run)")
    ap.add_argument("--no-synth", action="store_true", help="estimate only (no synthesis)")
    ap.add_argument("--json", default=str(RESULTS / "snn_tradeoffs.json"))
    ap.add_argument("--from-json", action="store_true", help="only rewrite the report and plot from --json")
    ap.add_argument("--lines", nargs="+", default=None, help="cost only these hardware lines (and train only "
                    "the networks they need, with no accuracy grid): a helper run beside the main one")
    ap.add_argument("--merge-json", nargs="*", default=[],
                    help="with --from-json: take Yosys rows from these helper JSONs where --json has estimates")
    args = ap.parse_args()
    command = "python bench/snn_tradeoffs.py " + " ".join(sys.argv[1:])
    name = "snn_tradeoffs" if not args.quick else "snn_tradeoffs_quick"
    if args.from_json:
        data = json.loads(Path(args.json).read_text())
        for other in args.merge_json:
            merge(data, json.loads(Path(other).read_text()))
        write_result(name, report(data, data.get("command", command)))
        plot(data, RESULTS / f"{name}.png")
        return
    from dse.families.snn import hw_estimate
    from dse.families.snn.encoding import SNNConfigError
    from dse.families.snn.quantize import ptq, resolve_quant, time_steps_of, to_quantized
    from dse.families.snn.scoring import score_float
    from dse.families.snn.synth import synthesize
    from dse.families.snn.tasks import load_task
    from dse.families.snn.train import encode_inputs, train_snn

    epochs = 3 if args.quick else None
    hidden = HIDDEN[:2] if args.quick else HIDDEN
    t_all = time.perf_counter()
    task = load_task("digits", seed=0)
    settings = [(h, BASE_T) for h in hidden] + [(BASE_H, t) for t in TIME_STEPS if t != BASE_T]
    if args.lines:
        settings = [s for s in settings if any(ln in args.lines and (h, t) == s for ln, h, t, _, _ in hardware_lines())]
    models, quants, acc_rows = {}, {}, []
    for h, t in settings:
        rec = _recipe(task, h, t, epochs)
        res = train_snn(rec.description, task, rec.train)
        f = score_float(res.model, task)["accuracy"]
        models[(h, t)] = res.model
        row = {"hidden": h, "time_steps": t, "float_accuracy": f, "epochs": res.epochs,
               "best_epoch": res.best_epoch, "train_seconds": res.train_seconds, "ptq": []}
        t0 = time.perf_counter()
        full = (h, t) == (BASE_H, BASE_T)  # the whole W x M grid on the base network only (time)
        if args.quick or args.lines:
            full = False
        grid = [(w, m) for w in WEIGHT_BITS for m in MEMBRANE_BITS] if full else \
            [(w, None) for w in (4, 6, 8)] + [(BASE_W, BASE_M)]
        for w, m in grid:
            try:
                q = quants[(h, t, w, m)] = resolve_quant(res.model, task, w, m)
                p = ptq(res.model, task, q)
            except SNNConfigError as e:  # the threshold does not fit this membrane width
                row["ptq"].append({"weight_bits": w, "membrane_bits_fixed": m, "skipped": str(e)})
                continue
            c = p.metrics["cycles"]
            row["ptq"].append({"weight_bits": w, "membrane_bits_fixed": m, **q.to_dict(),
                               "accuracy": p.metrics["accuracy"], "cycles_full": float(c["full"]),
                               "cycles_event": float(c["event"])})
        row["ptq_seconds"] = time.perf_counter() - t0
        acc_rows.append(row)
        print(f"H={h} T={t}: float {f:.4f}, train {res.train_seconds:.1f} s, grid {row['ptq_seconds']:.1f} s",
              flush=True)

    hw_rows, synth_spent = [], 0.0
    for line, h, t, w, m in hardware_lines():
        if (h, t) not in models or (args.lines and line not in args.lines):
            continue
        model = models[(h, t)]
        q = quants.get((h, t, w, m)) or resolve_quant(model, task, w, m)
        x = encode_inputs(model.desc.encoding, task.test)
        for scan in ("full", "event") if line == "hidden" else ("full",):
            net = to_quantized(model, q, time_steps_of(model, task), scan)
            est = hw_estimate.estimate(net)
            row = {"line": line, "hidden": h, "time_steps": t, "weight_bits": w, "membrane_bits": q.membrane_bits,
                   "frac_bits": q.frac_bits, "scan": scan, "est_lut": est.lut, "est_ff": est.ff,
                   "est_bram": est.bram, "cycles_full": est.cycles_full}
            if synth_spent < args.synth_budget and not args.no_synth:
                t0 = time.perf_counter()
                try:
                    s = synthesize(net, PART, cache_dir=args.cache_dir, check_inputs=x[:2],
                                   timeout=args.synth_timeout)
                    row.update(source="yosys", lut=s.lut, ff=s.ff, bram=s.bram, cached=s.cached, hdl_hash=s.hdl_hash,
                               synth_seconds=sum(s.seconds.values()), checks=s.checks)
                except Exception as e:  # noqa: BLE001 - a failed synthesis falls back to the estimate
                    row.update(source="estimate", synth_error=f"{type(e).__name__}: {str(e)[:200]}")
                synth_spent += time.perf_counter() - t0
            else:
                row.update(source="estimate", synth_error="synthesis budget spent")
            if row["source"] == "estimate":
                row.update(lut=est.lut, ff=est.ff, bram=est.bram)
            hw_rows.append(row)
            print(f"{line}: H={h} T={t} W={w} M={q.membrane_bits} {scan}: {row['source']} LUT {row['lut']:.0f} "
                  f"FF {row['ff']:.0f} BRAM {row['bram']} (synthesis so far {synth_spent:.0f} s)", flush=True)

    data = {"command": command, "part": PART, "accuracy": acc_rows, "hardware": hw_rows, "wall_seconds": time.perf_counter() - t_all,
            "synthesis_seconds": synth_spent}
    Path(args.json).write_text(json.dumps(data, indent=1, default=str))
    if args.lines:  # a helper run: its rows are merged into the main run's report (--from-json --merge-json)
        print(f"helper rows written to {args.json}")
        return
    write_result(name, report(data, command))
    plot(data, RESULTS / f"{name}.png")


def merge(data: dict, other: dict) -> None:
    """Yosys rows of a helper run replace the estimate rows of the same design point in ``data``."""
    def key(r: dict) -> tuple:
        return r["line"], r["hidden"], r["time_steps"], r["weight_bits"], r["membrane_bits"], r["scan"]

    theirs = {key(r): r for r in other["hardware"] if r["source"] == "yosys"}
    for i, r in enumerate(data["hardware"]):
        if r["source"] == "estimate" and key(r) in theirs:
            data["hardware"][i] = {**theirs[key(r)], "helper_run": True}
    data["synthesis_seconds"] += other.get("synthesis_seconds", 0.0)


def _acc(data: dict, h: int, t: int, w: int, m: int | None) -> dict | None:
    for r in data["accuracy"]:
        if r["hidden"] == h and r["time_steps"] == t:
            for p in r["ptq"]:
                if p["weight_bits"] == w and p["membrane_bits_fixed"] == m and "accuracy" in p:
                    return p
    return None


def report(data: dict, command: str) -> str:
    md = [header("SNN trade-offs on digits (Spiker+'s analysis): accuracy, LUT, FF, BRAM, cycles", command),
          "- note: 2 cores shared with other agents' processes (several other sessions and a `dse run` study "
          "running at the same time; 1-minute load average 8.7-17.7 in `uptime` samples during the run); seconds "
          "are wall-clock under that load",
          f"- total wall time {data['wall_seconds']:.0f} s, of it synthesis {data['synthesis_seconds']:.0f} s",
          "- task: scikit-learn digits 8x8, 1439/179/179 images; network 64 - H - 10, LIF k_beta=3 "
          "(feed-forward), leaky readout, rate coding, 30 epochs; accuracy on the 179 test images",
          "- integer accuracy: PTQ on the integer reference model (reference.py); M 'cal' = membrane bits "
          "calibrated on the training inputs (nothing saturates; F = the most the weights allow); a fixed M "
          "has F chosen on the validation split; cycles = mean over the test images (reference model)",
          f"- hardware: part {data['part']}; source `yosys` = checked Yosys synthesis (GHDL -> synth_xilinx, "
          "latch-free, gate-level netlist simulation equal to the integer reference on 2 test images); "
          "`estimate` = calibrated analytic estimate (hw_estimate; calibration error LUT <= 16 %, FF 3 %); "
          "BRAM in RAMB36 equivalents\n"]
    ys = [r for r in data["hardware"] if r["source"] == "yosys"]
    if any(r.get("helper_run") for r in data["hardware"]):
        md.append("- rows marked by the merge came from a helper run beside the main one (`python bench/snn_tradeoffs.py "
                  "--lines 'membrane bits' 'time steps' --synth-budget 1200 --json H`, same seeds: its base design "
                  "hit the main run's synthesis cache, i.e. identical HDL), merged with `--from-json --merge-json H`")
    if ys:
        err = [r["est_lut"] / r["lut"] - 1 for r in ys]
        ferr = [r["est_ff"] / r["ff"] - 1 for r in ys]
        md.append(f"- estimate vs Yosys on the {len(ys)} synthesized rows: LUT {min(err):+.0%} to {max(err):+.0%}, "
                  f"FF {min(ferr):+.0%} to {max(ferr):+.0%} (the estimate is pessimistic on these digits designs, "
                  "beyond its stated calibration error)\n")
    md += ["### Float and integer accuracy per network (PTQ, membrane calibrated)\n",
           "| H | T | float | " + " | ".join(f"W{w} (M/F)" for w in WEIGHT_BITS) + " | train s | cycles full / event |",
           "|---" * (5 + len(WEIGHT_BITS)) + "|"]
    for r in data["accuracy"]:
        cells, cyc = [], ""
        for w in WEIGHT_BITS:
            p = _acc(data, r["hidden"], r["time_steps"], w, None)
            cells.append(f"{p['accuracy']:.4f} ({p['membrane_bits']}/{p['frac_bits']})" if p else "–")
            if p and w == BASE_W:
                cyc = f"{p['cycles_full']:.0f} / {p['cycles_event']:.0f}"
        md.append(f"| {r['hidden']} | {r['time_steps']} | {r['float_accuracy']:.4f} | " + " | ".join(cells)
                  + f" | {r['train_seconds']:.1f} ({r['epochs']} ep.) | {cyc} |")
    md += ["", "### Integer accuracy over weight bits x membrane bits (PTQ; fixed M: F chosen on validation)\n"]
    for r in data["accuracy"]:
        md += [f"H={r['hidden']}, T={r['time_steps']} (float {r['float_accuracy']:.4f}):\n",
               "| W \\ M | " + " | ".join("cal" if m is None else str(m) for m in MEMBRANE_BITS) + " |",
               "|---" * (1 + len(MEMBRANE_BITS)) + "|"]
        for w in WEIGHT_BITS:
            cells = []
            for m in MEMBRANE_BITS:
                p = _acc(data, r["hidden"], r["time_steps"], w, m)
                cells.append(f"{p['accuracy']:.3f}" if p else "–")
            md.append(f"| {w} | " + " | ".join(cells) + " |")
        md.append("")
    md += ["### Hardware lines (base: H=64, T=25, W=6, M=8)\n",
           "| line | H | T | W | M/F | scan | integer acc. | LUT | FF | BRAM | source | est. LUT / FF | cycles "
           "(this scan) | synth s |", "|---" * 14 + "|"]
    order = ["hidden", "weight bits", "membrane bits", "time steps"]
    for h in sorted(data["hardware"], key=lambda r: (order.index(r["line"]), r["hidden"], r["time_steps"],
                                                      r["weight_bits"], r["membrane_bits"], r["scan"] != "full")):
        p = _acc(data, h["hidden"], h["time_steps"], h["weight_bits"], h["membrane_bits"])
        acc = f"{p['accuracy']:.4f}" if p else "–"
        cyc = (p["cycles_full"] if h["scan"] == "full" else p["cycles_event"]) if p else None
        src = h["source"] + (" (cached)" if h.get("cached") else "")
        if h["source"] == "estimate" and h.get("synth_error"):
            src += f" ({h['synth_error'][:60]})"
        ss = f"{h['synth_seconds']:.0f}" if h.get("synth_seconds") is not None and not h.get("cached") else "–"
        md.append(f"| {h['line']} | {h['hidden']} | {h['time_steps']} | {h['weight_bits']} | {h['membrane_bits']}/"
                  f"{h['frac_bits']} | {h['scan']} | {acc} | {h['lut']:.0f} | {h['ff']:.0f} | {h['bram']} | {src} | "
                  f"{h['est_lut']:.0f} / {h['est_ff']:.0f} | {f'{cyc:.0f}' if cyc is not None else '–'} | {ss} |")
    md.append("\nPlot: `snn_tradeoffs.png` (accuracy, LUT/FF and cycles against each swept parameter; "
              "filled markers = Yosys, open = estimate).\n")
    return "\n".join(md)


def _float_and_int_lines(a: Any, data: dict, rs: list[dict], x: str, at: Callable[[int], tuple[int, int]]
                         ) -> list[int]:
    """Float accuracy along one sweep (rows ``rs``, x value ``r[x]``) and the integer accuracy at 4/6/8 weight
    bits with calibrated membranes; ``at(x)`` is the (hidden, time steps) of an x value. Returns the xs."""
    xs = [r[x] for r in rs]
    a.plot(xs, [r["float_accuracy"] for r in rs], "k--o", label="float")
    for w in (4, 6, 8):
        a.plot(xs, [(_acc(data, *at(v), w, None) or {}).get("accuracy") for v in xs], "-o", label=f"int W{w} M cal")
    return xs


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(3, 4, figsize=(18, 11))
    sweeps = [("hidden", "hidden units H", lambda r: r["hidden"]),
              ("weight bits", "weight bits W", lambda r: r["weight_bits"]),
              ("membrane bits", "membrane bits M", lambda r: r["membrane_bits"]),
              ("time steps", "time steps T", lambda r: r["time_steps"])]
    for j, (line, label, key) in enumerate(sweeps):
        rows = [r for r in data["hardware"] if r["line"] == line]
        # accuracy
        a = ax[0, j]
        if line == "hidden":
            rs = sorted((r for r in data["accuracy"] if r["time_steps"] == BASE_T), key=lambda r: r["hidden"])
            xs = _float_and_int_lines(a, data, rs, "hidden", lambda h: (h, BASE_T))
            a.plot(xs, [(_acc(data, h, BASE_T, BASE_W, BASE_M) or {}).get("accuracy") for h in xs], ":s",
                   label=f"int W{BASE_W} M{BASE_M}")
            a.set_xscale("log", base=2)
        elif line == "weight bits":
            for m in (None, 6, 8, 10):
                a.plot(WEIGHT_BITS, [(_acc(data, BASE_H, BASE_T, w, m) or {}).get("accuracy") for w in WEIGHT_BITS],
                       "-o", label=f"int M {'cal' if m is None else m}")
        elif line == "membrane bits":
            ms = [m for m in MEMBRANE_BITS if m is not None]
            for w in WEIGHT_BITS:
                a.plot(ms, [(_acc(data, BASE_H, BASE_T, w, m) or {}).get("accuracy") for m in ms], "-o",
                       label=f"int W{w}")
        else:
            rs = sorted((r for r in data["accuracy"] if r["hidden"] == BASE_H), key=lambda r: r["time_steps"])
            _float_and_int_lines(a, data, rs, "time_steps", lambda t: (BASE_H, t))
        a.set_title(f"accuracy vs {label}")
        a.set_ylabel("test accuracy")
        a.legend(fontsize=7)
        a.grid(alpha=0.3)
        # LUT / FF / BRAM
        b = ax[1, j]
        for scan, color in (("full", "tab:blue"), ("event", "tab:orange")):
            rs = sorted((r for r in rows if r["scan"] == scan), key=key)
            xs = [key(r) for r in rs]
            b.plot(xs, [r["lut"] for r in rs], "-", color=color, label=f"LUT ({scan} scan)")
            b.plot(xs, [r["ff"] for r in rs], "--", color=color, label=f"FF ({scan} scan)")
            for r in rs:
                fc = color if r["source"] == "yosys" else "none"
                b.plot([key(r)], [r["lut"]], "o", color=color, mfc=fc)
                b.plot([key(r)], [r["ff"]], "s", color=color, mfc=fc)
        bram = sorted((r for r in rows if r["scan"] == "full"), key=key)
        if any(r["bram"] for r in bram):
            b2 = b.twinx()
            b2.plot([key(r) for r in bram], [r["bram"] for r in bram], "g:^", label="BRAM (RAMB36)")
            b2.set_ylabel("BRAM (RAMB36)", color="g")
        b.set_title(f"LUT / FF vs {label}\n(filled: Yosys, open: estimate)")
        b.set_ylabel("cells")
        b.legend(fontsize=7)
        b.grid(alpha=0.3)
        if line == "hidden":
            b.set_xscale("log", base=2)
        # cycles
        c = ax[2, j]
        if line in ("hidden", "time steps"):
            src = (sorted((r for r in data["accuracy"] if r["time_steps"] == BASE_T), key=lambda r: r["hidden"])
                   if line == "hidden" else
                   sorted((r for r in data["accuracy"] if r["hidden"] == BASE_H), key=lambda r: r["time_steps"]))
            xs = [r["hidden"] if line == "hidden" else r["time_steps"] for r in src]
            ps = [_acc(data, r["hidden"], r["time_steps"], BASE_W, None) or {} for r in src]
        else:
            xs = WEIGHT_BITS if line == "weight bits" else [m for m in MEMBRANE_BITS if m is not None]
            ps = [(_acc(data, BASE_H, BASE_T, x, BASE_M) if line == "weight bits" else
                   _acc(data, BASE_H, BASE_T, BASE_W, x)) or {} for x in xs]
        c.plot(xs, [p.get("cycles_full") for p in ps], "-o", label="full scan")
        c.plot(xs, [p.get("cycles_event") for p in ps], "-o", label="event-driven scan (mean)")
        c.set_title(f"cycles per image vs {label}")
        c.set_xlabel(label)
        c.set_ylabel("cycles")
        c.legend(fontsize=7)
        c.grid(alpha=0.3)
        if line == "hidden":
            c.set_xscale("log", base=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"plot written to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Latency for area with the SNN reuse factor R: Flexi-NeurA's 256-128-10 (digits16) or Spiker+'s 784-128-10 (digits28).

The network (--task digits16: 256-128-10 on scikit-learn's digits at 16x16; --task digits28: 784-128-10 on
them at 28x28) is trained here (dse's digits recipe: rate coding, T = 25, LIF hidden layer, leaky readout),
quantized to 6-bit weights and 8-bit membranes (PTQ and QAT; the QAT network is the one built), then for
every R in {1, 2, 4, ..., 128} and both scans: integer test accuracy (the same for every R and scan: the
reuse factor changes no output bit), cycles from the exact cycle model (mean and worst over the test set;
the model is checked against GHDL by tests/test_snn_reuse.py), microseconds at 100 MHz, synaptic
operations per inference, and LUT / FF / BRAM36 / DSP from Yosys synth_xilinx on xc7a100t, every result
checked (no latch, gate-level netlist simulation equal to the integer reference on test images).

Published points on the plot (not measured here; MNIST, not digits16):
* Flexi-NeurA (arXiv 2602.18140): 256-128-10 LIF, 1,623 logic cells, 7 BRAM, 1.1 ms, 97.23 % on MNIST.
* Spiker+ (arXiv 2401.01141): 784-128-10, 7,612 logic cells, 18 BRAM, 780 us, 93.85 % on MNIST.
"Logic cells" is Xilinx's marketing unit (1.6 logic cells per 6-input LUT in 7-series data sheets): if
the papers mean that unit, 1,623 cells ~ 1,014 LUT6 and 7,612 ~ 4,758; if they count LUTs, they are LUTs.

    nice -n 10 .venv/bin/python bench/snn_reuse.py [--task digits16|digits28] [--reuse 1 2 4 ...]
        [--scans full event] [--points R:SCAN ...] [--append] [--no-netlist-check] [--epochs 30] [--from-json FILE]

Results: bench/results/snn_reuse.{json,md,png} (digits16) and snn_reuse_784.{json,md,png} (digits28).
The issue's target (accuracy >= 0.95, <= 1,000 LUT, <= 7 BRAM36, <= 1,100 us) is set for the 256-128-10
network and is only checked for digits16.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import RESULTS, git_rev, load_average, machine  # noqa: E402

PART = "xc7a100t"
CLOCK_MHZ = 100.0
LUT_PER_CELL = 1 / 1.6
PUBLISHED = {
    "Flexi-NeurA (256-128-10, MNIST)": {"logic_cells": 1623, "bram": 7, "latency_us": 1100, "accuracy": 97.23,
                                        "source": "arXiv 2602.18140"},
    "Spiker+ (784-128-10, MNIST)": {"logic_cells": 7612, "bram": 18, "latency_us": 780, "accuracy": 93.85,
                                    "source": "arXiv 2401.01141"},
}
TARGET = {"accuracy": 0.95, "lut": 1000, "bram": 7, "latency_us": 1100}
REUSE = (1, 2, 4, 8, 16, 32, 64, 128)


@dataclass(frozen=True)
class Bench:
    """What differs between the two networks' runs: task, result files, published comparison, target."""

    task: str
    out: str  # bench/results/<out>.{json,md,png}
    title: str
    published: tuple[str, ...]  # keys of PUBLISHED drawn and listed
    target: bool  # the issue's target applies (it is set for 256-128-10 on digits16)


BENCHES = {
    "digits16": Bench("digits16", "snn_reuse", "Flexi-NeurA's 256-128-10 on digits16",
                      tuple(PUBLISHED), True),
    "digits28": Bench("digits28", "snn_reuse_784", "Spiker+'s 784-128-10 on digits28",
                      ("Spiker+ (784-128-10, MNIST)",), False),
}


def task_inputs(task_name: str, epochs: int | None, seed: int = 0) -> np.ndarray:
    """The encoded test inputs of the task (no training: the encoding is seeded numpy)."""
    from dse.families.snn.recipe import default_recipe
    from dse.families.snn.tasks import load_task
    from dse.families.snn.train import encode_inputs

    task = load_task(task_name, seed=seed)
    return encode_inputs(default_recipe(task, epochs, seed).description.encoding, task.test)


def digest(a: np.ndarray) -> str:
    """sha256 of an integer array's values and shape (machine-independent)."""
    b = np.ascontiguousarray(np.asarray(a, dtype=np.int64))
    return hashlib.sha256(repr(b.shape).encode() + b.tobytes()).hexdigest()


def weights_digest(net) -> str:
    """sha256 of a network's weight matrices (the table's network, named in its JSON)."""
    return digest(np.concatenate([lay.weights.ravel() for lay in net.layers]))


def train_network(task_name: str, epochs: int | None, seed: int = 0) -> tuple[object, object, dict]:
    """Train the task's network and quantize to 6/8 bits: (QAT network, test inputs, accuracies)."""
    from dse.families.snn.quantize import ptq, qat, resolve_quant
    from dse.families.snn.recipe import default_recipe
    from dse.families.snn.scoring import score_float
    from dse.families.snn.tasks import load_task
    from dse.families.snn.train import encode_inputs, train_snn

    task = load_task(task_name, seed=seed)
    recipe = default_recipe(task, epochs, seed)
    t0 = time.perf_counter()
    res = train_snn(recipe.description, task, recipe.train)
    train_s = time.perf_counter() - t0
    fl = score_float(res.model, task)["accuracy"]
    q = resolve_quant(res.model, task, 6, 8, classify_by=recipe.train.classify_by)
    p = ptq(res.model, task, q)
    qa = qat(res, task, q, recipe.qat_epochs)
    x = encode_inputs(recipe.description.encoding, task.test)
    info = {"float": fl, "ptq": p.metrics["accuracy"], "qat": qa.metrics["accuracy"], "epochs": res.epochs,
            "train_seconds": train_s, "quant": q.to_dict(), "sizes": list(recipe.description.sizes),
            "test_images": len(task.test), "time_steps": int(x.shape[1]), "inputs_sha256": digest(x)}
    return qa.net, x, info


def stored_network(net_file: Path, previous: dict, task_name: str, epochs: int | None):
    """The network and inputs of an earlier run, read from its saved integer network (no retraining: a
    float training is not bit-reproducible across CPUs, so rows measured on another machine stay valid)."""
    from dse.families.snn.network import QuantizedSNN

    net = QuantizedSNN.load(net_file)
    x = task_inputs(task_name, epochs)
    info = previous["network"]
    if digest(x) != info.get("inputs_sha256"):
        sys.exit(f"{net_file}: --append refused: the task's test inputs differ from the stored run's "
                 f"(sha256 {digest(x)[:12]} vs {str(info.get('inputs_sha256'))[:12]})")
    if weights_digest(net) != info.get("weights_sha256"):
        sys.exit(f"{net_file}: --append refused: the saved network is not the one the results were measured on")
    return net, x, info


def measure(net, x: np.ndarray, reuse: int, scan: str, cache: Path, check_samples: int, rom_style: str,
            netlist_check: bool = True) -> dict:
    from dse.families.snn import reference, synth
    from dse.families.snn.activity import activity

    n = net.with_reuse(reuse).with_scan(scan)
    ref = reference.simulate(n, x)
    cyc = ref.cycles[scan]
    t0 = time.perf_counter()
    r = synth.synthesize(n, PART, cache_dir=cache, check_inputs=x[:check_samples] if netlist_check else None,
                         netlist_check=netlist_check, timeout=7200, rom_style=rom_style)
    return {"reuse": reuse, "scan": scan, "rom_style": rom_style, "units": n.units, "groups": n.groups,
            "cycles_mean": float(cyc.mean()), "cycles_max": int(cyc.max()),
            "latency_us_mean": float(cyc.mean()) / CLOCK_MHZ, "latency_us_max": int(cyc.max()) / CLOCK_MHZ,
            "synaptic_ops": activity(n, x, ref)["synaptic_ops"], "lut": r.lut, "ff": r.ff, "bram36": r.bram,
            "dsp": r.dsp, "carry": r.carry, "cells": r.cells, "checks": r.checks, "cached": r.cached,
            "seconds": r.seconds, "wall_seconds": time.perf_counter() - t0}


def behaviour(net, x: np.ndarray, reuse: int, scan: str) -> tuple[float, int, float]:
    """Mean and worst cycles and mean synaptic ops of a network on the test set: a fingerprint of its weights
    (an event-scan row's cycles follow every spike), used to check a retrained network is the stored one."""
    from dse.families.snn import reference
    from dse.families.snn.activity import activity

    n = net.with_reuse(reuse).with_scan(scan)
    ref = reference.simulate(n, x)
    cyc = ref.cycles[scan]
    return float(cyc.mean()), int(cyc.max()), float(activity(n, x, ref)["synaptic_ops"])


def behaviour_of(row: dict) -> tuple[float, int, float]:
    return row["cycles_mean"], row["cycles_max"], row["synaptic_ops"]


def meets(row: dict, accuracy: float) -> bool:
    return (accuracy >= TARGET["accuracy"] and row["lut"] <= TARGET["lut"] and row["bram36"] <= TARGET["bram"]
            and row["latency_us_max"] <= TARGET["latency_us"])


def markdown(data: dict, command: str, bench: Bench, image: str) -> str:
    info = data["network"]
    acc = info["qat"]
    sizes = "-".join(map(str, info["sizes"]))
    side = {"digits16": 16, "digits28": 28}[bench.task]
    target_col = bench.target
    lines = [
        f"## SNN reuse factor: latency for area ({bench.title})", "",
        f"- command: `{command}`", f"- machine: {data['machine']}",
        f"- date: {data['date']}, commit {data['commit']}", f"- load average at the end: {data['load']}", "",
    ]
    runs = data.get("runs", [])
    if len(runs) > 1:
        lines += ["Rows come from several invocations (the command above joins them with &&); each with its "
                  "commit: " + "; ".join(f"{r['date']} commit {r['commit']}" for r in runs) +
                  ". Rows measured since the per-row record carry their commit in the JSON.", ""]
    lines += [
        f"Network {sizes} LIF + leaky readout, rate coding T = {info['time_steps']}, "
        f"trained {info['epochs']} epochs on {bench.task} (scikit-learn digits at {side}x{side}; "
        f"{info['test_images']} test images). Float test accuracy {info['float']:.4f}; 6-bit weights, 8-bit "
        f"membranes (F = {info['quant']['frac_bits']}): PTQ {info['ptq']:.4f}, QAT {info['qat']:.4f} (the built "
        "network). The integer accuracy is the same for every R and scan (the reuse factor changes no output bit; "
        "tests/test_snn_reuse.py checks GHDL and netlists against the reference).", "",
        f"Hardware: Yosys synth_xilinx for {PART}, weight ROMs placed with rom_style="
        f"{data['rows'][0]['rom_style'] if data['rows'] else '?'} (synth.mark_roms), every row checked for latches "
        "and, unless the table says otherwise, by a gate-level netlist simulation on a test image equal to the "
        "integer reference in outputs and cycles. "
        "LUT counts logic LUTs plus the LUTs of distributed RAM (4 per RAM32M; synth.xilinx_lut_memory). Cycles "
        f"from the exact cycle model on all test images (mean / worst), microseconds at {CLOCK_MHZ:.0f} MHz. "
        "Synaptic ops: weight reads that change a membrane, per inference (mean).", "",
        "| R | scan | datapaths (per layer) | LUT | FF | BRAM36 | DSP | cycles mean / max | us mean / max "
        "| synaptic ops |" + (" target met |" if target_col else ""),
        "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if target_col else ""),
    ]
    for row in sorted(data["rows"], key=lambda r: (r["reuse"], r["scan"] != "full")):
        lines.append(f"| {row['reuse']} | {row['scan']} | {' / '.join(map(str, row['units']))} | {row['lut']:,} | "
                     f"{row['ff']:,} | {row['bram36']:g} | {row['dsp']} | {row['cycles_mean']:,.0f} / "
                     f"{row['cycles_max']:,} | {row['latency_us_mean']:,.1f} / {row['latency_us_max']:,.1f} | "
                     f"{row['synaptic_ops']:,.0f} |" + (f" {'yes' if meets(row, acc) else 'no'} |" if target_col else ""))
    unchecked = [r for r in data["rows"] if r["checks"].get("netlist_sim_equal_reference") is not True]
    if unchecked:
        lines += ["", "Not simulated at gate level (latch check only; the netlist simulation of one image would "
                  "have taken tens of minutes at these cycle counts on the shared machine): "
                  + ", ".join(f"R={r['reuse']} {r['scan']}" for r in sorted(unchecked, key=lambda r: (r['reuse'], r['scan'])))
                  + ". The generator's output at every R is checked at gate level on smaller networks by "
                  "tests/test_snn_reuse.py."]
    have = {(r["reuse"], r["scan"]) for r in data["rows"]}
    missing = [f"R={r} {s}" for r in REUSE for s in ("full", "event") if (r, s) not in have]
    if missing:
        lines += ["", f"Not measured (each {sizes} synthesis took minutes to tens of minutes on the shared, loaded "
                  f"machine; not run for time): {', '.join(missing)}."]
    if bench.target:
        lines += ["", target_line(data["rows"], acc)]
    else:
        lines += ["", "The issue's target (accuracy >= 0.95, <= 1,000 LUT, <= 7 BRAM36, <= 1,100 us) is set for the "
                  "256-128-10 network and is not applied here."]
    lines += extra_sections(bench)
    lines += ["", f"Published points (plot; not comparable one to one: MNIST is not {bench.task}, and the papers' "
              "'logic cells' may be Xilinx's unit of 1.6 cells per LUT6, i.e. "
              + " and ".join(f"{PUBLISHED[k]['logic_cells']:,} cells ~ {PUBLISHED[k]['logic_cells'] * LUT_PER_CELL:,.0f} "
                             "LUT" for k in bench.published)
              + ", or LUTs):", ""]
    for name in bench.published:
        p = PUBLISHED[name]
        lines.append(f"- {name} ({p['source']}): {p['logic_cells']:,} logic cells, {p['bram']} BRAM, "
                     f"{p['latency_us']:,} us, {p['accuracy']} % on MNIST.")
    lines += ["", f"![area vs latency]({image})", ""]
    return "\n".join(lines)


def target_line(rows: list[dict], acc: float) -> str:
    good = [r for r in rows if meets(r, acc)]
    bounds = (f"integer accuracy >= {TARGET['accuracy']}, <= {TARGET['lut']:,} LUT, <= {TARGET['bram']} BRAM36, "
              f"worst-case <= {TARGET['latency_us']:,} us at 100 MHz")
    if not good:
        return (f"Target ({bounds}) not met by any row: integer accuracy {acc:.4f}; see the table for which bound "
                "each row misses.")
    best = min(good, key=lambda r: r["lut"])
    return (f"Target ({bounds}) met by {len(good)} row(s); the smallest: R = {best['reuse']}, {best['scan']} scan: "
            f"{best['lut']:,} LUT, {best['bram36']:g} BRAM36, {best['latency_us_max']:,.1f} us, accuracy {acc:.4f}.")


def extra_sections(bench: Bench) -> list[str]:
    """Paragraphs read from other result files: the dse run study (digits16) and the R = 1 check."""
    lines: list[str] = []
    study = RESULTS / "snn_reuse_study.json"
    if bench.task == "digits16" and study.exists():
        raw = json.loads(study.read_text())
        s = (raw["rows"] if isinstance(raw, dict) else raw)[0]
        lines += ["", "Inside a `dse run` study (bench/snn_reuse_study.yaml: R = 16, full scan; trained, quantized and "
                  "synthesized with checks by dse itself, its own training run): integer accuracy "
                  f"{s['integer_accuracy']:.4f}, {s['lut']:,.0f} LUT, {s['ff']:,.0f} FF, {s['bram_18k'] / 2:g} BRAM36, "
                  f"{s['dsp']:.0f} DSP, {s['latency_us']:,.1f} us at 100 MHz, {s['synaptic_ops']:,.0f} synaptic ops "
                  "(bench/results/snn_reuse_study.json"
                  + (f"; command `{raw['command']}`, commit {raw['commit']}, {raw['date']}, `dse run` wall time "
                     f"{raw['wall_seconds']:,.0f} s under load {raw['load_start']} at the start"
                     if isinstance(raw, dict) else "; the command and commit of that run were not recorded") + ")."]
    r1 = RESULTS / "snn_reuse_r1.json"
    if bench.task == "digits16" and r1.exists():
        lines += ["", *r1_paragraph(json.loads(r1.read_text()))]
    return lines


def _pct(a: float, b: float) -> str:
    return f"{100 * (a - b) / b:+.1f} %"


def r1_paragraph(d: dict) -> list[str]:
    """R = 1 against the design before the reuse factor, from bench/snn_reuse_r1.py's JSON."""
    row, issue = d["snn_reuse_r1_full_row"], d["issue"]
    mem_row = sum(n for c, n in row["cells"].items() if c.startswith(("RAM32", "RAM64", "RAM128", "RAM256", "SRL")))
    v = d["vhdl"]
    out = [f"**R = 1 and the design before the reuse factor** (bench/snn_reuse_r1.py, `{d['command']}`, commit "
           f"{d['commit']}, {d['date']}; bench/results/snn_reuse_r1.json). The issue asked R = 1 to give the "
           f"design of the time (same cycles, LUT within 2 %) and quoted {issue['lut']:,} LUT, {issue['ff']:,} FF, "
           f"{issue['bram36']} BRAM36 for a 256-128-10; the R = 1 full row above reads {row['lut']:,} LUT, "
           f"{row['ff']:,} FF, {row['bram36']:g} BRAM36 ({_pct(row['lut'], issue['lut'])} LUT). Like for like:", ""]
    out.append(f"- Generator: on the trained network (the same weights as the table"
               f"{'' if d['same_network_as_snn_reuse_json'] else ' -- NOT confirmed'}), today's VHDL at R = 1 is "
               f"{'byte-identical to' if v['identical'] else 'DIFFERENT from'} the generator's at commit "
               f"{d['old_generator']} (before the reuse factor; {len(v['files'])} files, "
               f"{sum(f['chars'] for f in v['files'].values()):,} characters), so cycles and area cannot differ "
               "by the generator. tests/test_snn_r1_golden.py pins this on small networks (golden VHDL from that "
               "commit).")
    out.append(f"- LUT counting: today's count adds the LUTs of distributed RAM and shift registers to LUT1-6; the "
               f"R = 1 row's netlist has {mem_row} such cells, so both counts give {row['lut']:,} there.")
    for s in d["syntheses"]:
        trained = s["design"].startswith("trained")
        out.append(f"- {'ROM placement' if trained else 'Network'}: {s['design']}, rom_style={s['rom_style']}"
                   f"{' (the old flow exactly: no ROM attribute)' if s['rom_style'] == 'auto' else ''}: {s['lut']:,} "
                   f"LUT ({s['lut_logic']:,} logic + {s['lut_memory']:,} LUT RAM/SRL), {s['ff']:,} FF, "
                   f"{s['bram36']:g} BRAM36, {s['cycles']:,} cycles for one image; "
                   + (f"{_pct(s['lut'], row['lut'])} LUT against the block-ROM row, " if trained else "")
                   + f"{_pct(s['lut'], issue['lut'])} against the issue's figure; "
                   + ("latch-free, gate-level netlist equal to the reference"
                      if s["checks"].get("netlist_sim_equal_reference") is True
                      else f"latch-free: {s['checks'].get('latch_free')}, no gate-level simulation") + ".")
    auto = next((s for s in d["syntheses"] if s["design"].startswith("trained") and s["rom_style"] == "auto"), None)
    rand = next((s for s in d["syntheses"] if not s["design"].startswith("trained")), None)
    if v["identical"] and mem_row == 0 and auto is not None:
        out += ["", "So, like for like (same network, same flow), R = 1 is the old design: identical VHDL, hence the "
                f"same cycles ({row['cycles_max']:,}) and, through the same flow, the same netlist (the LUT criterion holds "
                "by construction; the same VHDL was not synthesized twice). Neither the LUT-RAM "
                f"counting (no such cell at R = 1) nor the block-ROM attribute closes the gap to the issue's "
                f"{issue['lut']:,}: the old flow's own ROM placement gives {auto['bram36']:g} BRAM36 as the issue's "
                f"but {auto['lut']:,} LUT ({_pct(auto['lut'], row['lut'])} against block). The issue's figure is for "
                "another network: it predates the digits16 task, so no trained 256-input network existed, and it "
                "does not give its weights, neuron models or fractional bits (the trained one has a leaky readout "
                "and F = 4)"
                + (f"; a random-weight 256-128-10 like bench/snn_hardware.py's under the old flow gives "
                   f"{rand['lut']:,} LUT, {rand['ff']:,} FF, {rand['bram36']:g} BRAM36 "
                   f"({_pct(rand['lut'], issue['lut'])} from the issue's LUT)" if rand else
                   "; a random-weight 256-128-10 like bench/snn_hardware.py's was not synthesized in time")
                + (". That is within 2 % of the issue's figure: most likely the issue's network."
                   if rand and abs(rand["lut"] - issue["lut"]) <= 0.02 * issue["lut"] else
                   ". The issue's exact network could not be rebuilt, so its number is not reproduced here.")]
    return out


def plot(data: dict, path: Path, bench: Bench) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for scan, marker in (("full", "o"), ("event", "s")):
        rows = sorted((r for r in data["rows"] if r["scan"] == scan), key=lambda r: r["reuse"])
        ax.plot([r["latency_us_max"] for r in rows], [r["lut"] for r in rows], marker=marker, label=f"dse, {scan} scan")
        for r in rows:
            ax.annotate(f"R={r['reuse']}", (r["latency_us_max"], r["lut"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    for name in bench.published:
        p = PUBLISHED[name]
        lo, hi = p["logic_cells"] * LUT_PER_CELL, p["logic_cells"]
        ax.errorbar([p["latency_us"]], [hi], yerr=[[hi - lo], [0]], fmt="*", markersize=12, capsize=4,
                    label=f"{name}: cells (bar: /1.6 = LUT6)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("worst-case latency per image (us at 100 MHz)")
    ax.set_ylabel("LUT (Yosys synth_xilinx, xc7a100t)")
    ax.set_title(f"{'-'.join(map(str, data['network']['sizes']))} LIF on {bench.task}: "
                 "reuse factor R trades latency for area")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def point(text: str) -> tuple[int, str]:
    """One R:SCAN argument, e.g. 16:full."""
    r, _, scan = text.partition(":")
    if not r.isdigit() or int(r) < 1 or scan not in ("full", "event"):
        raise argparse.ArgumentTypeError(f"{text!r} is not R:SCAN with R >= 1 and SCAN full or event")
    return int(r), scan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="digits16", choices=sorted(BENCHES),
                    help="digits16: 256-128-10 (bench/results/snn_reuse.*); digits28: 784-128-10 (snn_reuse_784.*)")
    ap.add_argument("--reuse", type=int, nargs="+", default=list(REUSE))
    ap.add_argument("--scans", nargs="+", default=["full", "event"], choices=["full", "event"])
    ap.add_argument("--points", nargs="+", default=None, metavar="R:SCAN", type=point,
                    help="measure these points in this order (e.g. 16:full 32:event) instead of --reuse x --scans")
    ap.add_argument("--epochs", type=int, default=None, help="training epochs (default: the recipe's)")
    ap.add_argument("--check-samples", type=int, default=2, help="test images in each netlist simulation")
    ap.add_argument("--no-netlist-check", action="store_true",
                    help="skip the gate-level netlist simulation (latch check only; the row says so): for points "
                         "whose simulation takes too long on this machine")
    ap.add_argument("--rom-style", default="block", choices=["auto", "block", "distributed"],
                    help="where Yosys puts the weight ROMs (synth.mark_roms); block: every ROM in block RAM")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "dse" / "snn_reuse_synthesis"))
    ap.add_argument("--from-json", help="re-render the markdown and plot from a saved run")
    ap.add_argument("--append", action="store_true",
                    help="keep the rows of the results JSON and add the new points, on the network saved beside it "
                         "(<out>_network.npz; files without one: retrain and check it is the same network)")
    ap.add_argument("--out", default=None,
                    help="results base name in bench/results (default: the task's, e.g. snn_reuse_784)")
    args = ap.parse_args()
    command = "python bench/snn_reuse.py " + " ".join(sys.argv[1:])
    commit = git_rev()  # read once: a commit made while the run goes on is not the code that ran
    bench = BENCHES[args.task]
    out_name = args.out or bench.out
    out_json = RESULTS / f"{out_name}.json"
    net_file = RESULTS / f"{out_name}_network.npz"
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        bench = BENCHES[data.get("task", "digits16")]  # files written before --task are digits16's
    else:
        from dse.families.snn.train import set_determinism

        set_determinism(0)
        previous = json.loads(out_json.read_text()) if args.append and out_json.exists() else None
        if previous and net_file.exists():
            net, x, info = stored_network(net_file, previous, bench.task, args.epochs)
            print(f"network read from {net_file}", file=sys.stderr)
        else:
            net, x, info = train_network(bench.task, args.epochs)
            info["weights_sha256"] = weights_digest(net)
            print(f"trained: {json.dumps(info)}", file=sys.stderr)
        rows = previous["rows"] if previous else []
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        runs = [{"command": command, "commit": commit, "date": now}]
        if not previous:
            RESULTS.mkdir(parents=True, exist_ok=True)
            net.save(net_file)  # the rows' network, for later --append runs on any machine
        if previous and not net_file.exists():
            same = ("float", "ptq", "qat", "quant", "sizes", "test_images", "time_steps")
            if any(previous["network"][k] != info[k] for k in same):
                sys.exit(f"{out_json}: --append refused: the retrained network differs from the stored one "
                         f"({ {k: previous['network'][k] for k in same} } vs { {k: info[k] for k in same} })")
            stale = [r for r in rows[:1] if behaviour(net, x, r["reuse"], r["scan"]) != behaviour_of(r)]
            if stale:
                sys.exit(f"{out_json}: --append refused: the retrained network's cycles and synaptic ops differ from "
                         f"the stored row R={stale[0]['reuse']} {stale[0]['scan']} (not the same weights)")
        if previous:
            command = f"{previous['command']} && {command}"
            # every invocation that contributed rows, with the commit that ran it (the earlier runs kept one
            # commit for the whole file: theirs is the file's commit at the time)
            runs = previous.get("runs", [{"command": previous["command"], "commit": previous["commit"],
                                          "date": previous["date"]}]) + runs
        done = {(r["reuse"], r["scan"]) for r in rows}
        points = args.points or [(reuse, scan) for reuse in args.reuse for scan in args.scans]
        for reuse, scan in points:
            if (reuse, scan) not in done:
                rows.append(measure(net, x, reuse, scan, Path(args.cache), args.check_samples, args.rom_style,
                                    not args.no_netlist_check))
                r = rows[-1]
                r["commit"] = commit
                print(f"R={reuse} {scan}: {r['lut']} LUT {r['ff']} FF {r['bram36']} BRAM36, {r['cycles_max']} cycles "
                      f"({r['wall_seconds']:.0f} s)", file=sys.stderr)
            data = {"task": bench.task, "command": command, "runs": runs, "machine": machine(), "commit": commit,
                    "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "load": load_average(),
                    "network": info, "rows": rows}
            RESULTS.mkdir(parents=True, exist_ok=True)
            out_json.write_text(json.dumps(data, indent=1))  # after every row: a partial run is kept
    plot(data, RESULTS / f"{out_name}.png", bench)
    md = RESULTS / f"{out_name}.md"
    md.write_text(markdown(data, data["command"], bench, f"{out_name}.png"))
    print(md.read_text())


if __name__ == "__main__":
    main()

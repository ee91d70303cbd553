"""Bring your own SNN: a 64-32-10 snnTorch ``Leaky`` network trained on digits, exported with snnTorch's own
``export_to_nir``, through ``dse hdl GRAPH.nir --eval-task digits`` at 4/6/8-bit weights (12-bit membranes).

snnTorch trains on exactly the integer spike trains dse evaluates on (dse's seeded rate coding of
scikit-learn's 8x8 digits, T = 25), so the float and integer accuracies are on the same inputs and the
same 180-image test split. The neurons are what NIR describes and dse builds: ``Leaky`` with beta = 0.875
(= 1 - 2**-3, a shift leak), threshold 1, ``reset_mechanism="zero", reset_delay=False`` (NIR's reset to
v_reset = 0), ``Linear(bias=False)`` (dse's neurons have no bias). Classification: argmax of the output
spike counts (first index on ties), for both.

For every weight width the real command runs (a subprocess): PTQ, the project folder, the GHDL check
against the integer model and the checked Yosys synthesis (no latch, gate-level netlist simulation equal
to the integer model); LUT/FF/BRAM/DSP and cycles are its JSON. Seeds fixed; torch on one thread.

    .venv/bin/python bench/snn_nir.py [--epochs 40] [--part xc7a35t] [--keep DIR] [--from-json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import RESULTS, git_rev, load_average, machine  # noqa: E402

TIME_STEPS = 25
BETA = 0.875
WEIGHT_BITS = (4, 6, 8)
MEMBRANE_BITS = 12


def build_model(seed: int):
    import snntorch as snn
    import torch

    torch.manual_seed(seed)

    def leaky(n: int, last: bool):
        return snn.Leaky(beta=torch.full((n,), BETA), threshold=torch.ones(n), init_hidden=True,
                         reset_mechanism="zero", reset_delay=False, output=last)

    return torch.nn.Sequential(torch.nn.Linear(64, 32, bias=False), leaky(32, False),
                               torch.nn.Linear(32, 10, bias=False), leaky(10, True))


def run_counts(model, x: np.ndarray, grad: bool = False):
    """Output spike counts (samples, 10) of the snnTorch network on integer spike trains (samples, T, 64)."""
    import torch
    from snntorch import utils

    utils.reset(model)
    xt = torch.as_tensor(x, dtype=torch.float32)
    counts = 0
    with torch.set_grad_enabled(grad):
        for t in range(x.shape[1]):
            counts = counts + model(xt[:, t])[0]
    return counts


def train(task, encoding, epochs: int, seed: int, lr: float, batch: int):
    import torch

    from dse.families.snn.train import encode_inputs

    torch.set_num_threads(1)
    model = build_model(seed)
    x_train = encode_inputs(encoding, task.train)
    y_train = torch.as_tensor(task.train.y)
    x_valid = encode_inputs(encoding, task.valid)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    best, best_state, history = -1.0, None, []
    for epoch in range(epochs):
        model.train()
        for idx in np.array_split(rng.permutation(len(x_train)), max(1, len(x_train) // batch)):
            counts = run_counts(model, x_train[idx], grad=True)
            loss = torch.nn.functional.cross_entropy(counts, y_train[idx])  # spike counts as logits
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        acc = accuracy(model, x_valid, task.valid.y)
        history.append({"epoch": epoch + 1, "loss": float(loss.detach()), "valid_accuracy": acc})
        if acc > best:
            best, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model, history


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    counts = run_counts(model, x).detach().numpy()
    return float(np.mean(counts.argmax(axis=1) == y))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--part", default="xc7a35t")
    ap.add_argument("--keep", type=Path, default=None, help="keep the graph and the project folders here")
    ap.add_argument("--from-json", action="store_true", help="only rewrite the markdown from the kept JSON")
    args = ap.parse_args()
    if args.from_json:
        write_markdown(json.loads((RESULTS / "snn_nir.json").read_text()))
        return

    import nir
    import torch
    from snntorch.export_nir import export_to_nir

    from dse.families.snn.encoding import EncodingSpec
    from dse.families.snn.tasks import load_task
    from dse.families.snn.train import encode_inputs

    started = dt.datetime.now(dt.UTC)
    load_before = load_average()
    task = load_task("digits")
    encoding = EncodingSpec(kind="rate", steps=TIME_STEPS, seed=0)
    t0 = time.perf_counter()
    model, history = train(task, encoding, args.epochs, args.seed, args.lr, args.batch)
    train_s = time.perf_counter() - t0
    float_acc = accuracy(model, encode_inputs(encoding, task.test), task.test.y)

    work = args.keep or Path(tempfile.mkdtemp(prefix="snn_nir_"))
    work.mkdir(parents=True, exist_ok=True)
    graph = work / "digits_64_32_10.nir"
    # snnTorch 1.0's exporter type-checks only with a sample input without the batch dimension.
    nir.write(str(graph), export_to_nir(model, torch.zeros(64)))

    rows = []
    for wb in WEIGHT_BITS:
        out = work / f"hdl_w{wb}"
        cmd = [sys.executable, "-m", "dse.cli", "hdl", str(graph), "--part", args.part, "--weight-bits", str(wb),
               "--membrane-bits", str(MEMBRANE_BITS), "--eval-task", "digits", "--time-steps", str(TIME_STEPS),
               "-o", str(out), "--json"]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
        if p.returncode != 0:
            raise SystemExit(f"dse hdl failed (exit {p.returncode}): {p.stderr[-3000:]}")
        r = json.loads(p.stdout.strip().splitlines()[-1])
        rows.append({"weight_bits": wb, "membrane_bits": r["membrane_bits"], "frac_bits": r["frac_bits"],
                     "accuracy": r["accuracy"], "lut": r["lut"], "ff": r["ff"], "bram_18k": r["bram_18k"],
                     "dsp": r["dsp"], "latency_cycles": r["latency_cycles"], "latency_us": r["latency_us"],
                     "ghdl_equal": r["ghdl_equal"], "synthesis_checks": r["synthesis_checks"],
                     "layers": r["layers"], "seconds": round(time.perf_counter() - t0, 1),
                     "command": "dse " + " ".join({str(out): f"OUT_W{wb}", str(graph): "GRAPH.nir"}.get(c, c)
                                                  for c in cmd[3:])})
        print(f"W={wb}: accuracy {r['accuracy']:.4f}, {r['lut']} LUT, ghdl_equal {r['ghdl_equal']}", file=sys.stderr)

    command = "python bench/snn_nir.py " + " ".join(sys.argv[1:])
    data = {"command": command.strip(), "machine": machine(), "commit": git_rev(),
            "started": started.isoformat(timespec="seconds"),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average_before": load_before, "load_average_after": load_average(),
            "task": {"name": task.name, "test_samples": len(task.test), "time_steps": TIME_STEPS,
                     "encoding": encoding.to_dict()},
            "snntorch": {"float_accuracy": float_acc, "epochs": args.epochs, "lr": args.lr, "batch": args.batch,
                         "seed": args.seed, "beta": BETA, "train_seconds": round(train_s, 1), "history": history},
            "part": args.part, "rows": rows}
    (RESULTS / "snn_nir.json").write_text(json.dumps(data, indent=1))
    write_markdown(data)


def write_markdown(d: dict) -> None:
    rows = d["rows"]
    lines = [
        "## Bring your own SNN: snnTorch → NIR → dse hdl",
        "",
        f"- command: `{d['command']}` (JSON: bench/results/snn_nir.json)",
        f"- machine: {d['machine']}",
        f"- date: {d['finished']}, commit {d['commit']}; load average before / after: {d['load_average_before']} / "
        f"{d['load_average_after']}",
        "",
        "A 64-32-10 snnTorch `Leaky` network (beta 0.875, threshold 1, reset to zero, no bias) trained in snnTorch "
        f"on scikit-learn's 8x8 digits, rate coded by dse (T = {d['task']['time_steps']}, seeded), written with "
        "snnTorch's own `export_to_nir`, then built by `dse hdl` for each weight width (12-bit membranes, fractional "
        f"bits chosen on the validation split) for {d['part']}. Accuracy on the {d['task']['test_samples']}-image "
        "test split, both by argmax of the output spike counts. snnTorch's float accuracy: "
        f"**{d['snntorch']['float_accuracy']:.4f}** ({d['snntorch']['epochs']} epochs, "
        f"{d['snntorch']['train_seconds']} s).",
        "",
        "| weight bits | membrane bits | frac bits | dse integer accuracy | Δ vs snnTorch | LUT | FF | BRAM18 | DSP "
        "| cycles (full scan) | GHDL = integer model |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    fa = d["snntorch"]["float_accuracy"]
    for r in rows:
        lines.append(f"| {r['weight_bits']} | {r['membrane_bits']} | {r['frac_bits']} | {r['accuracy']:.4f} | "
                     f"{r['accuracy'] - fa:+.4f} | {r['lut']} | {r['ff']} | {r['bram_18k']} | {r['dsp']} | "
                     f"{r['latency_cycles']} | {r['ghdl_equal']} |")
    checked = all(r["synthesis_checks"].get("latch_free") and r["synthesis_checks"].get("netlist_sim_equal_reference")
                  for r in rows)
    samples = {r["synthesis_checks"].get("netlist_sim_samples") for r in rows}
    lines += ["", ("Every synthesis result passed its checks (no latch; the Yosys netlist simulated with iverilog "
                   f"on {'/'.join(map(str, samples))} test samples equals the integer model)." if checked else
                   "NOT every synthesis result passed its checks: see synthesis_checks in the JSON."),
              "The integer beta of both layers is exactly snnTorch's (0.875 = 1 - 2^-3). The command of one row "
              "(GRAPH.nir: the exported graph):", "", f"    {rows[-1]['command']}", "",
              "Not comparable with published accuracies: scikit-learn's 1,797 8x8 digits, not MNIST."]
    from common import write_result

    write_result("snn_nir", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""SNN training side: decoder accuracy against two references, digits at 4/6/8 weight bits, seconds per phase.

Decode (default synthetic data, the seeded 80/10/10 split LFADS uses, so the same 17 test trials):
the SNN decoder's behaviour R² (causal bin form: an affine map of the readout membranes at every bin)
for several training seeds, float and integer (PTQ at 4/6/8 weight bits, QAT at 6), next to

* the causal linear decoder: ridge on the last L bins of spikes, L chosen on the validation trials;
* LFADS: ``dse train --json`` (its behaviour R² is the non-causal trial form — a ridge from the whole
  trial's factors to the whole trial's behaviour — and its factors come from a bidirectional encoder
  that sees the whole trial; ``behavior_r2_bin`` is the per-bin map, still on non-causal factors).

Digits (8×8, 64-64-10) and digits28 (28×28, 784-128-10): float accuracy, PTQ and QAT integer accuracy at
4/6/8 weight bits on the integer reference model, the mean hardware cycles of both scan architectures.

``--sweep`` also re-runs the decode tuning grid (valid R² selects; test R² shown for information).

Usage: python bench/snn_training.py [--lfads-json FILE] [--seeds 0 1 2] [--sweep] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, write_result  # noqa: E402

SWEEP = [  # (label, changes to the default recipe)
    ("default recipe", {}),
    ("no weight decay", {"weight_decay": 0.0}),
    ("no gradient clipping", {"grad_clip": 0.0}),
    ("init gain 1 (instead of 3)", {"init_gain": 1.0}),
    ("64 hidden", {"hidden": 64}),
    ("256 hidden", {"hidden": 256}),
    ("hidden k_beta=3", {"k_beta": 3}),
    ("readout k_beta=2", {"k_readout": 2}),
    ("readout k_beta=4", {"k_readout": 4}),
    ("binary input (1 bit)", {"input_bits": 1}),
    ("LIF2 hidden (k_alpha=2)", {"neuron": "LIF2", "k_alpha": 2}),
    ("input dropout 0.4", {"input_dropout": 0.4}),
]


def lfads_reference(path: str | None) -> dict:
    """LFADS's metrics: from a saved ``dse train --json`` line, or by running it (2-4 min)."""
    if path:
        text = Path(path).read_text().strip().splitlines()
        return json.loads(next(line for line in reversed(text) if line.startswith("{")))
    out = subprocess.run([sys.executable, "-m", "dse.cli", "train", "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _variant(recipe, changes: dict):
    from dse.families.snn.encoding import EncodingSpec
    from dse.families.snn.model import LayerSpec, SNNDescription

    d = recipe.description
    h = d.layers[0]
    neuron = changes.get("neuron", h.neuron)
    hidden = LayerSpec(changes.get("hidden", h.size), neuron, k_beta=changes.get("k_beta", h.k_beta),
                       k_alpha=changes.get("k_alpha") if neuron == "LIF2" else None, recurrent=h.recurrent,
                       threshold=h.threshold)
    r = d.layers[-1]
    readout = LayerSpec(r.size, "readout", k_beta=changes.get("k_readout", r.k_beta))
    ib = changes.get("input_bits", d.encoding.input_bits)
    enc = EncodingSpec("current", input_bits=ib) if ib > 1 else EncodingSpec("binary")
    desc = SNNDescription(d.n_inputs, (hidden, readout), enc)
    keys = ("lr", "epochs", "grad_clip", "weight_decay", "init_gain", "input_dropout")
    train = replace(recipe.train, **{k: changes[k] for k in keys if k in changes})
    return replace(recipe, description=desc, train=train)


def decode_bench(seeds: list[int], epochs: int | None, sweep: bool) -> tuple[str, dict]:
    from dse.families.snn.baselines import causal_linear_decoder
    from dse.families.snn.quantize import ptq, qat, resolve_quant
    from dse.families.snn.recipe import default_recipe
    from dse.families.snn.scoring import score_float
    from dse.families.snn.tasks import decode_task
    from dse.families.snn.train import train_snn

    task = decode_task("synthetic", 0)
    rows, phases, out = [], [], {"snn": []}
    for seed in seeds:
        recipe = default_recipe(task, epochs, seed)
        res = train_snn(recipe.description, task, recipe.train)
        f = score_float(res.model, task)
        ints = {}
        for wb in (4, 6, 8):
            t0 = time.perf_counter()
            q = resolve_quant(res.model, task, wb)
            cal = time.perf_counter() - t0
            p = ptq(res.model, task, q)
            ints[f"ptq{wb}"] = (p, cal)
        t0 = time.perf_counter()
        q6 = ints["ptq6"][0].quant
        qa = qat(res, task, q6, recipe.qat_epochs)
        rec = {"seed": seed, "float": f["behavior_r2"], "float_trial": f["behavior_r2_trial"],
               **{k: v[0].metrics["behavior_r2"] for k, v in ints.items()}, "qat6": qa.metrics["behavior_r2"],
               "bits": {k: v[0].quant.to_dict() for k, v in ints.items()}, "epochs": res.epochs,
               "best_epoch": res.best_epoch}
        out["snn"].append(rec)
        rows.append(f"| SNN, seed {seed} | {f['behavior_r2']:.4f} | {f['behavior_r2_trial']:.4f} | "
                    + " | ".join(f"{ints[f'ptq{w}'][0].metrics['behavior_r2']:.4f} "
                                 f"(M{ints[f'ptq{w}'][0].quant.membrane_bits} F{ints[f'ptq{w}'][0].quant.frac_bits})"
                                 for w in (4, 6, 8))
                    + f" | {qa.metrics['behavior_r2']:.4f} |")
        p6, cal6 = ints["ptq6"]
        phases.append(f"| seed {seed} | {res.train_seconds:.1f} ({res.epochs} epochs, "
                      f"{res.train_seconds / res.epochs:.2f} s/epoch) | {p6.quantize_seconds + cal6:.2f} | "
                      f"{p6.integer_seconds:.2f} | {qa.quantize_seconds:.1f} ({recipe.qat_epochs} epochs) | "
                      f"{p6.metrics['cycles']['full']:.0f} / {p6.metrics['cycles']['event']:.0f} |")
    t0 = time.perf_counter()
    base = causal_linear_decoder(task)
    base_s = time.perf_counter() - t0
    out["linear"] = base
    recipe0 = default_recipe(task, epochs, seeds[0])
    d = recipe0.description
    md = ["### Decoding (synthetic, 136/17/17 trials, test trials = LFADS's)\n",
          f"Network: {d.n_inputs} inputs ({d.encoding.kind}, {d.encoding.input_bits} bits) → "
          + " → ".join(f"{lay.size} {lay.neuron}{' recurrent' if lay.recurrent else ''} (k_beta={lay.k_beta})"
                       for lay in d.layers)
          + f"; {recipe0.train.epochs} epochs max, batch {recipe0.train.batch_size}, lr {recipe0.train.lr}, "
            f"weight decay {recipe0.train.weight_decay}, grad clip {recipe0.train.grad_clip}, init gain "
            f"{recipe0.train.init_gain}; best epoch on validation loss kept.\n",
          "| model | behaviour R² (causal, bin) | trial form (non-causal) | integer PTQ W=4 | W=6 | W=8 | "
          "integer QAT W=6 |", "|---|---|---|---|---|---|---|", *rows,
          f"| causal linear decoder (ridge on the last {base['lags']} bins, lags chosen on validation) | "
          f"{base['behavior_r2']:.4f} | – | – | – | – | – |"]
    snn_mean = sum(r["float"] for r in out["snn"]) / len(out["snn"])
    md.append(f"\nSNN mean over seeds (float, causal): {snn_mean:.4f}; causal linear decoder: "
              f"{base['behavior_r2']:.4f} (validation R² by lags: "
              + ", ".join(f"{k}: {v:.4f}" for k, v in base["valid_r2_by_lags"].items())
              + f"; {base_s:.0f} s).\n")
    md += ["Seconds per phase (train = float BPTT; quantize = choosing F/M by calibration + conversion; "
           "integer model = reference.py on the test and training trials + scoring; QAT = fine-tuning + "
           "conversion); mean hardware cycles per trial (full scan / event-driven scan) at W=6:\n",
           "| run | train s | quantize s | integer model s | QAT s | cycles full / event |",
           "|---|---|---|---|---|---|", *phases, ""]
    if sweep:
        md += ["#### Tuning grid (seed 0; the validation R² chooses, test R² for information)\n",
               "| variant | valid R² | test R² | best epoch | train s |", "|---|---|---|---|---|"]
        for label, changes in SWEEP:
            r = _variant(recipe0, changes)
            res = train_snn(r.description, task, r.train)
            v, te = score_float(res.model, task, on="valid"), score_float(res.model, task)
            md.append(f"| {label} | {v['behavior_r2']:.4f} | {te['behavior_r2']:.4f} | {res.best_epoch} | "
                      f"{res.train_seconds:.0f} |")
        md.append("")
    return "\n".join(md), out


def digits_bench(name: str, epochs: int | None) -> tuple[str, dict]:
    from dse.families.snn.quantize import ptq, qat, resolve_quant
    from dse.families.snn.recipe import default_recipe
    from dse.families.snn.scoring import score_float
    from dse.families.snn.tasks import load_task
    from dse.families.snn.train import train_snn

    task = load_task(name, seed=0)
    recipe = default_recipe(task, epochs, 0)
    res = train_snn(recipe.description, task, recipe.train)
    f = score_float(res.model, task)
    d = recipe.description
    md = [f"### {name}: {' - '.join(str(s) for s in d.sizes)} ({d.encoding.kind} coding, T={d.encoding.steps}), "
          f"{len(task.train)}/{len(task.valid)}/{len(task.test)} images\n",
          f"Float test accuracy {f['accuracy']:.4f} after {res.epochs} epochs (best {res.best_epoch}), "
          f"train {res.train_seconds:.1f} s ({res.train_seconds / res.epochs:.2f} s/epoch).\n",
          "| weight bits | M / F bits (M calibrated unless fixed) | PTQ integer accuracy | QAT integer accuracy | quantize s | integer model s "
          "| QAT s | cycles full / event |", "|---|---|---|---|---|---|---|---|"]
    out = {"float": f["accuracy"], "epochs": res.epochs, "train_seconds": res.train_seconds, "bits": {}}
    for wb, mb in ((4, None), (6, None), (8, None), (6, 8)):
        t0 = time.perf_counter()
        q = resolve_quant(res.model, task, wb, mb, classify_by=recipe.train.classify_by)
        cal = time.perf_counter() - t0
        p = ptq(res.model, task, q)
        qa = qat(res, task, q, recipe.qat_epochs)
        out["bits"][f"{wb}/{mb}"] = {"ptq": p.metrics["accuracy"], "qat": qa.metrics["accuracy"], **q.to_dict()}
        c = p.metrics["cycles"]
        label = f"{wb}" if mb is None else f"{wb} (membrane fixed at {mb}, Spiker+'s widths; F chosen on validation)"
        md.append(f"| {label} | {q.membrane_bits} / {q.frac_bits} | {p.metrics['accuracy']:.4f} | "
                  f"{qa.metrics['accuracy']:.4f} | {p.quantize_seconds + cal:.2f} | {p.integer_seconds:.2f} | "
                  f"{qa.quantize_seconds:.1f} | {c['full']:.0f} / {c['event']:.0f} |")
    md.append("")
    return "\n".join(md), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lfads-json", default=None, help="a saved `dse train --json` output (else it is run)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sweep", action="store_true", help="also run the decode tuning grid")
    ap.add_argument("--quick", action="store_true", help="few epochs, one seed (a smoke run)")
    args = ap.parse_args()
    epochs = 3 if args.quick else None
    seeds = args.seeds[:1] if args.quick else args.seeds
    command = "python bench/snn_training.py " + " ".join(sys.argv[1:])
    t_all = time.perf_counter()
    dec_md, dec = decode_bench(seeds, epochs, args.sweep)
    lf = lfads_reference(args.lfads_json)
    if "error" in lf:
        lf_md = f"LFADS: `dse train --json` failed: {lf['error']}\n"
    else:
        lf_md = (f"LFADS on the same test trials (`dse train --json`, default recipe, {lf.get('epochs')} epochs, "
                 f"{lf.get('train_seconds')} s): behaviour R² {lf['behavior_r2']:.4f} (trial form, non-causal), "
                 f"per-bin map {lf['behavior_r2_bin']:.4f} (factors from a bidirectional encoder: non-causal "
                 f"too).\n")
    parts = [dec_md, lf_md]
    for name in ("digits", "digits28"):
        md, _ = digits_bench(name, epochs)
        parts.append(md)
    text = (header("SNN training: decoder vs linear decoder and LFADS; digits at 4/6/8 bits", command)
            + "- note: 2 cores shared with other agents' processes (3 other sessions running); seconds are "
              "wall-clock under that load\n"
            + f"- total wall time {time.perf_counter() - t_all:.0f} s\n\n" + "\n".join(parts))
    write_result("snn_training" if not args.quick else "snn_training_quick", text)


if __name__ == "__main__":
    main()

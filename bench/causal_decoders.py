"""Closed-loop decoders on one split: causal LFADS vs bidirectional LFADS vs the SNN decoder vs the causal
linear decoder, several training seeds each.

Every model is trained by ``dse train ... --json`` (the user's command) on the same data and the same
80/10/10 trial split (split seed 0: the SNN's decode task uses LFADS's test trials), and scored on the same
test trials:

- ``behavior_r2_bin``: R² of a per-bin readout of behaviour (the form a closed loop delivers; for the
  bidirectional LFADS the factors of bin t come from the whole trial, information a closed loop does not
  have). For the SNN: its float model's readout (``behavior_r2``, the per-bin form) and its
  integer (PTQ, 6-bit weights) model's.
- ``controller lag 1``: the causal LFADS whose controller reads the encoder's state after the previous bin
  (``--controller-lag 1``), so a bin's spikes cannot pass through to its own rates.
- ``rate_r2``: R² of the inferred firing rates against the synthetic data's true rates (LFADS only).
- the causal linear decoder (ridge on the last few bins, lags chosen on the validation trials) is
  deterministic: scored once (``--baseline`` of the SNN run with the first seed).

Usage: python bench/causal_decoders.py [--seeds 0 1 2] [--epochs N] [--data FILE]
       python bench/causal_decoders.py --from-json   (re-render bench/results/causal_decoders.md)
Writes bench/results/causal_decoders.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DSE, ROOT, header_from_meta, markdown_table, read_json, run_meta, write_json, write_result  # noqa: E402

NAME = "causal_decoders"
MODELS = {
    "causal LFADS": ["train", "--causal", "--controller-lag", "0"],  # what --causal alone trained until the lag
    "causal LFADS, controller lag 1": ["train", "--causal", "--controller-lag", "1"],
    "bidirectional LFADS": ["train"],
    "SNN decoder": ["train", "--family", "snn", "--task", "decode"],
}


def train(args: list[str]) -> tuple[dict[str, Any], float]:
    """One ``dse train --json`` run: its JSON report (the last stdout line) and wall seconds."""
    t0 = time.monotonic()
    r = subprocess.run([*DSE, *args, "--json"], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"dse {' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]), time.monotonic() - t0


def run(seeds: list[int], epochs: int | None, data: str | None) -> dict[str, Any]:
    common = [*(["--epochs", str(epochs)] if epochs else []), *(["--data", data] if data else [])]
    runs = []
    for seed in seeds:
        for model, args in MODELS.items():
            extra = ["--baseline"] if model == "SNN decoder" and seed == seeds[0] else []
            report, wall = train([*args, *common, "--seed", str(seed), *extra])
            runs.append({"model": model, "seed": seed, "wall_s": round(wall, 1), "report": report})
            print(f"{model} seed {seed}: {wall:.0f} s", file=sys.stderr)
    return {**run_meta(), "seeds": seeds, "epochs": epochs, "data": data or "synthetic (default options)",
            "runs": runs}


def _metrics(r: dict[str, Any]) -> dict[str, float | None]:
    rep = r["report"]
    if r["model"] == "SNN decoder":
        return {"behavior_r2_bin": rep.get("behavior_r2"), "integer_behavior_r2_bin": rep.get("integer_behavior_r2"),
                "rate_r2": None, "behavior_r2_trial": rep.get("behavior_r2_trial")}
    return {"behavior_r2_bin": rep.get("behavior_r2_bin"), "integer_behavior_r2_bin": None,
            "rate_r2": rep.get("rate_r2"), "behavior_r2_trial": rep.get("behavior_r2")}


def _stat(values: list[float | None]) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "–"
    if len(vals) == 1:
        return f"{vals[0]:.4f}"
    return f"{statistics.mean(vals):.4f} ± {statistics.stdev(vals):.4f}"


def render(d: dict[str, Any]) -> str:
    head = header_from_meta("Closed-loop decoders: causal LFADS vs bidirectional LFADS vs SNN vs linear", d,
                            f"{NAME}.json")
    cols = ["behavior_r2_bin", "integer_behavior_r2_bin", "rate_r2", "behavior_r2_trial"]
    rows = []
    for model in MODELS:
        runs = [r for r in d["runs"] if r["model"] == model]
        ms = [_metrics(r) for r in runs]
        if not runs:  # a model this run did not train (an older run's JSON)
            continue
        rows.append([model, "yes" if model != "bidirectional LFADS" else "no", len(runs),
                     *(_stat([m[c] for m in ms]) for c in cols),
                     f"{statistics.mean(r['wall_s'] for r in runs):.0f}"])
    snn0 = next(r["report"] for r in d["runs"] if r["model"] == "SNN decoder" and "linear_behavior_r2" in r["report"])
    rows.append([f"causal linear decoder ({snn0['linear_lags']} bins)", "yes", 1,
                 f"{snn0['linear_behavior_r2']:.4f}", "–", "–", "–", "–"])
    table = markdown_table(["model", "causal", "seeds", "behaviour R² per bin", "integer (SNN PTQ W=6) per bin",
                            "rate R²", "behaviour R² trial form", "wall s per run"], rows)
    per_seed = markdown_table(
        ["model", "seed", "behaviour R² per bin", "rate R²", "epochs", "wall s"],
        [[r["model"], r["seed"], _stat([_metrics(r)["behavior_r2_bin"]]), _stat([_metrics(r)["rate_r2"]]),
          r["report"].get("epochs"), r["wall_s"]] for r in d["runs"]])
    notes = (f"Data: {d['data']}, split seed 0 (the same test trials for every model), training epochs: "
             f"{d['epochs'] or 'each recipe default'}; mean ± standard deviation over the seeds "
             f"({', '.join(map(str, d['seeds']))}). LFADS figures are float Keras models scored by `dse train` "
             "(the hardware designs' C-simulation figures are in their studies); the SNN's integer column is its "
             "6-bit PTQ integer model. The bidirectional LFADS is not causal: its per-bin R² reads factors "
             "inferred from the whole trial, information a closed loop does not have. Rate R² needs the true rates "
             "(synthetic data); the SNN does not infer rates. Wall seconds include Python and TensorFlow/PyTorch "
             "start and were measured beside another benchmark (see the load).")
    return f"{head}\n{table}\n\nPer run:\n\n{per_seed}\n\n{notes}\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=None, help="training epochs of every model (default: recipes')")
    p.add_argument("--data", default=None, help="a data file dse train --data accepts (default: synthetic)")
    p.add_argument("--from-json", action="store_true", help="re-render the markdown from the saved run")
    a = p.parse_args()
    if a.from_json:
        d = read_json(NAME, "python bench/causal_decoders.py")
    else:
        d = run(a.seeds, a.epochs, a.data)
        write_json(NAME, d)
    write_result(NAME, render(d))


if __name__ == "__main__":
    main()

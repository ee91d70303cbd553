"""Training cost at the paper size: seconds per epoch and the wall time of a full default run.

Targets (a study trains many models on a 2-core machine): <= 1 s/epoch on the 2-core machine, full default training <= 10 min.
Seconds per epoch are measured on steady-state epochs (the first epoch includes graph tracing and
is reported separately). Also trains the 16-bit QAT model and reports accuracy of both.

Usage: python bench/bench_training.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, write_result  # noqa: E402


def epoch_times(quant=None, epochs: int = 6) -> tuple[float, float]:
    """(first epoch seconds, median steady-state seconds per epoch) at the paper size."""
    import numpy as np
    from tensorflow import keras

    from dse.data import load_data, split_data
    from dse.families.lfads.config import LFADSConfig, TrainConfig
    from dse.families.lfads.training import train_lfads

    split = split_data(load_data("synthetic"), 0)
    times: list[float] = []
    last = [time.perf_counter()]

    class T(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now

    last[0] = time.perf_counter()
    train_lfads(LFADSConfig(70, 73, quant=quant), split,
                TrainConfig(epochs=epochs, early_stopping_patience=epochs + 1), callbacks=[T()])
    return times[0], float(np.median(times[1:]))


def full_run(quant=None) -> dict:
    from dse.data import load_data, split_data
    from dse.families.lfads.config import LFADSConfig, TrainConfig
    from dse.families.lfads.evaluate import keras_predictor, score
    from dse.families.lfads.training import train_lfads

    t0 = time.perf_counter()
    split = split_data(load_data("synthetic"), 0)
    r = train_lfads(LFADSConfig(70, 73, quant=quant), split, TrainConfig())
    m = score(split, keras_predictor(r.models.deploy))
    return {**m, "epochs": r.epochs, "best_epoch": r.best_epoch, "train_seconds": r.train_seconds,
            "wall_seconds": time.perf_counter() - t0, "seconds_per_epoch": r.seconds_per_epoch}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="epoch timing only, no full training runs")
    args = ap.parse_args()
    from dse.families.lfads.config import QuantSpec

    rows = []
    for name, q in [("float", None), ("QAT 16-bit", QuantSpec(16, 5))]:
        first, steady = epoch_times(q)
        rows.append((name, first, steady))
    md = header("Training cost at the paper size (170 x 73 x 70, E=Z=64, F=4, batch 16)",
                "python bench/bench_training.py" + (" --quick" if args.quick else ""))
    md += "\n| model | first epoch (s, incl. tracing) | steady s/epoch | target |\n|---|---|---|---|\n"
    for name, first, steady in rows:
        md += f"| {name} | {first:.2f} | {steady:.3f} | <= 1 s |\n"
    if not args.quick:
        md += "\n| model | epochs run (best) | train s | wall s (data+train+eval) | behaviour R2 | rate R2 | NPLL | bits/spike |\n"
        md += "|---|---|---|---|---|---|---|---|\n"
        for name, q in [("float", None), ("QAT 16-bit", QuantSpec(16, 5))]:
            r = full_run(q)
            md += (f"| {name} | {r['epochs']} ({r['best_epoch']}) | {r['train_seconds']:.0f} | {r['wall_seconds']:.0f} "
                   f"| {r['behavior_r2']:.3f} | {r['rate_r2']:.3f} | {r['npll']:.4f} | {r['bits_per_spike']:.3f} |\n")
            print(json.dumps({name: r}), file=sys.stderr)
        md += "\nTarget: full default training <= 600 s.\n"
    write_result("training", md)


if __name__ == "__main__":
    main()

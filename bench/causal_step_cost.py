"""Estimated cost of one bin's step of the causal LFADS beside the bidirectional LFADS, at the paper size.

Both are converted by hls4ml with the paper's design settings (PTQ ``ap_fixed<16,6>``, reuse factor 1,
Latency strategy, io_parallel, 200 MHz on the U55C) and costed by dse's ``estimate`` backend, which
reads the converted graph (layer sizes, precisions, reuse factors), so untrained (seeded) weights give
the trained design's estimate. What is compared: the causal step runs once per 10 ms bin and its
latency is the delay from a bin's spikes to that bin's factors; the bidirectional design runs once per
*finished* trial (73 bins), so its latency is counted from the trial's last bin and its first factor
waits for the whole trial. The causal step's sizes: E=64 (forward only), C=32, U=4, Z=64, F=4.

Usage: python bench/causal_step_cost.py        (writes bench/results/causal_step_cost.{json,md})
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, header, write_result  # noqa: E402

PAPER = {"n_neurons": 70, "n_bins": 73, "encoder_units": 64, "latent_units": 64, "factors": 4}
CAUSAL = {"controller_units": 32, "controller_inputs": 4}
COLUMNS = ("latency_us", "latency_cycles", "ii_cycles", "dsp", "lut", "ff", "bram_18k")


def _cost(model, design, work: Path) -> dict:
    from dse.cost.registry import get_backend
    from dse.hls.convert import convert

    hls_model = convert(model, design, work)
    report = get_backend("estimate").cost(hls_model, part=design.part, clock_ns=design.clock_period)
    out = {k: float(v) for k, v in report.metrics().items() if k in COLUMNS}
    unc = (report.details or {}).get("uncertainty") or {}
    out["uncertainty"] = {k: unc[k] for k in COLUMNS if k in unc}
    return out


def main() -> None:
    import tempfile

    from tensorflow import keras

    from dse.families.lfads.config import LFADSConfig
    from dse.families.lfads.model import build_lfads
    from dse.families.lfads.step import build_step
    from dse.hls.design import HLSDesign

    design = HLSDesign(precision="ap_fixed<16,6>", reuse_factor=1, strategy="Latency", io_type="io_parallel",
                       part="xcu55c-fsvh2892-2L-e", clock_period=5.0, zero_inputs=("gen_input",))
    keras.utils.set_random_seed(0)
    bidir = build_lfads(LFADSConfig(**PAPER)).deploy
    steps = {}
    for lag in (1, 0):
        keras.utils.set_random_seed(0)
        cfg = LFADSConfig(**PAPER, **CAUSAL, causal=True, controller_lag=lag)
        steps[lag] = build_step(cfg, build_lfads(cfg).deploy)
    with tempfile.TemporaryDirectory() as tmp:
        rows = {"bidirectional (per trial)": _cost(bidir, design, Path(tmp) / "bidir")}
        for lag, name in ((1, "causal step, controller lag 1 (per bin)"), (0, "causal step, no lag (per bin)")):
            step_design = replace(design, zero_inputs=(), state_inputs=steps[lag].hls_state_inputs)
            rows[name] = _cost(steps[lag].model, step_design, Path(tmp) / f"step{lag}")
    command = "python bench/causal_step_cost.py"
    head = header("Causal LFADS: one bin's step vs the bidirectional design (estimator, paper size)", command)
    lines = [head, "| design | " + " | ".join(COLUMNS) + " |", "|---|" + "---|" * len(COLUMNS)]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{r[c]:.3g}" for c in COLUMNS) + " |")
    lines += ["", "Sizes: N=70, T=73, E=64, Z=64, F=4; the causal step also C=32, U=4 (encoder forward only). "
              "With the controller lag (the default) the controller reads the encoder's state from before the bin "
              "(a 4th state input): the same layers, so the same estimate (the estimator adds the layers' "
              "latencies; whether HLS overlaps the encoder and the controller is not estimated). "
              "PTQ ap_fixed<16,6>, reuse factor 1, Latency strategy, io_parallel, xcu55c at 5 ns. Estimates of "
              "dse's `estimate` backend (not synthesis); the bidirectional latency is per finished trial, the "
              "step's per bin: not the same quantity. Estimator uncertainty (relative) in the JSON."]
    md = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    from common import git_rev, load_average, machine

    (RESULTS / "causal_step_cost.json").write_text(json.dumps(
        {"command": command, "commit": git_rev(), "machine": machine(), "load_average": load_average(),
         "design": design.to_dict() if hasattr(design, "to_dict") else str(design), "sizes": {**PAPER, **CAUSAL},
         "results": rows}, indent=2, default=str))
    write_result("causal_step_cost", md)


if __name__ == "__main__":
    main()

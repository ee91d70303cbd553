"""hls4ml path at the paper size: convert, g++ compile, C-sim per trial, and the compile-cache hit.

Usage: python bench/bench_hls.py [--precision 'ap_fixed<16,6>'] [--trials 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import header, write_result  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--precision", default="ap_fixed<16,6>")
    ap.add_argument("--trials", type=int, default=50)
    args = ap.parse_args()
    from dse.families.lfads.testing import PAPER, lfads_deploy, poisson_spikes
    from dse.hls import HLSDesign, compile_model, run_csim

    cache = Path(tempfile.mkdtemp(prefix="dse-bench-hls-"))
    model = lfads_deploy(0, **PAPER)
    design = HLSDesign(precision=args.precision)
    spikes = poisson_spikes(args.trials, 73, 70, 0.5)
    t0 = time.perf_counter()
    first = compile_model(model, design, cache)
    first_s = time.perf_counter() - t0
    sim = run_csim(first.hls_model, spikes)
    t0 = time.perf_counter()
    hit = compile_model(model, design, cache)
    hit_s = time.perf_counter() - t0
    assert hit.cache_hit and not first.cache_hit
    md = header(f"hls4ml path at the paper size ({args.precision}, Latency, io_parallel, Vitis)",
                f"python bench/bench_hls.py --precision '{args.precision}' --trials {args.trials}")
    md += ("\n| step | seconds |\n|---|---|\n"
           f"| convert + write + hash | {first.convert_s:.2f} |\n| g++ (C-sim library) | {first.compile_s:.2f} |\n"
           f"| first call total (miss) | {first_s:.2f} |\n| C-sim per trial ({args.trials} trials) | "
           f"{sim.seconds / args.trials:.4f} |\n| cache hit (second call) | {hit_s:.2f} |\n"
           f"| hit / miss | 1 : {first_s / hit_s:.0f} |\n")
    write_result("hls_path", md)


if __name__ == "__main__":
    main()

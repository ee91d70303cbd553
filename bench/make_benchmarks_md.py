"""Assemble BENCHMARKS.md from the per-benchmark results in bench/results/*.md.

Each benchmark script writes its own section (command, machine, date, raw numbers); this only
concatenates them in a fixed order so that re-running one benchmark refreshes its section.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["training", "trial_cost", "hls_path", "ray_scaling", "search_grid", "search_live", "paper_design",
         "paper_scans", "paper_scans_qat", "qat_gap", "estimator_fidelity", "snn_training", "snn_tradeoffs",
         "snn_decoder_study", "snn_cross_family", "snn_nir", "snn_reuse", "snn_reuse_784",
         "snn_reuse_calibration"]

PREAMBLE = """# Benchmarks

Every section below was written by the script named in its `command` line, on the machine it names
(the shared 2-core development machine unless stated otherwise; its load average is recorded because
other jobs ran beside the benchmarks). Timings on this machine are noisy: compare within one run.
Re-run one script, then `python bench/make_benchmarks_md.py` to refresh this file.
"""


def main() -> None:
    results = ROOT / "bench" / "results"
    parts = [PREAMBLE]
    names = [n for n in ORDER if (results / f"{n}.md").exists()]
    names += sorted(p.stem for p in results.glob("*.md") if p.stem not in ORDER)
    for name in names:
        parts.append((results / f"{name}.md").read_text().strip() + "\n")
    (ROOT / "BENCHMARKS.md").write_text("\n\n".join(parts))
    print(f"BENCHMARKS.md: {', '.join(names)}")


if __name__ == "__main__":
    main()

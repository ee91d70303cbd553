"""Assemble BENCHMARKS.md from the per-benchmark results in bench/results/*.md.

Each benchmark script writes its own section (command, machine, date, raw numbers); this only
concatenates them in a fixed order so that re-running one benchmark refreshes its section. A section whose
script renders it from a run JSON in bench/results (:data:`FROM_JSON`) but which has no such JSON behind it is
marked as unverified, with the command that remakes it: its figures cannot be re-read from the run. Any other
section with no run JSON beside it (an older script wrote its tables straight into the markdown) says so.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["training", "trial_cost", "hls_path", "ray_scaling", "driver_throughput", "view_speed", "search_grid", "search_live", "paper_design",
         "paper_scans", "paper_scans_qat", "qat_gap", "estimator_fidelity", "snn_training", "causal_decoders", "causal_study", "causal_step_cost",
         "closed_loop_front",
         "snn_tradeoffs",
         "snn_decoder_study", "snn_verify_front", "verify_calibration", "snn_cross_family", "snn_nir", "snn_reuse",
         "snn_reuse_784", "snn_digits16_front", "snn_reuse_calibration",
         "snn_flatten_variance", "estimator_fidelity_frozen_start"]

#: Sections rendered from their run's JSON (bench/results/NAME.json), and the command that remakes that JSON.
FROM_JSON = {
    "paper_design": "python bench/paper_design.py --workdir DIR",
    "driver_throughput": "python bench/driver_throughput.py --trials 100 1000 --workers 1 2",
    "view_speed": "python bench/view_speed.py --code BEFORE AFTER --label before after",
    "causal_decoders": "python bench/causal_decoders.py --seeds 0 1 2",
    "causal_study": "python bench/causal_study.py",
    "closed_loop_front": "python bench/closed_loop_front.py",
    "search_grid": "python bench/search_grid.py --workdir GRID --workers 2 --qat-step 2",
    "search_live": ("python bench/search_grid.py --workdir GRID, then python bench/search_live.py --grid GRID "
                    "--workdir LIVE --runs cost-aware:0 ... --stop-fraction 0.95"),
}

PREAMBLE = """# Benchmarks

Every section below was written by the script named in its `command` line, on the machine it names
(the shared 2-core development machine unless stated otherwise; its load average is recorded because
other jobs ran beside the benchmarks). Timings on this machine are noisy: compare within one run.
Re-run one script, then `python bench/make_benchmarks_md.py` to refresh this file.
"""


def section(results: Path, name: str) -> str:
    """One results file's text, marked as unverified if it should come from a run JSON that is not there."""
    text = (results / f"{name}.md").read_text().strip() + "\n"
    if name in FROM_JSON and not (
            (results / f"{name}.json").is_file() and f"numbers read from: bench/results/{name}.json" in text):
        title, _, rest = text.partition("\n")
        text = (f"{title}\n\n> **Unverified:** no run JSON (bench/results/{name}.json) backs this section; its "
                "figures were typed into the markdown by an earlier version of the script and cannot be re-read "
                f"from the run. Remake it: `{FROM_JSON[name]}`.\n{rest}")
    elif name not in FROM_JSON and not (results / f"{name}.json").is_file():
        title, _, rest = text.partition("\n")
        text = (f"{title}\n\n> **No run JSON:** the script wrote these tables straight from its run and kept no JSON "
                f"(bench/results/{name}.json), so the figures cannot be re-read or re-checked from the run; they "
                f"predate that rule and were not re-run since.\n{rest}")
    return text


def main() -> None:
    results = ROOT / "bench" / "results"
    parts = [PREAMBLE]
    names = [n for n in ORDER if (results / f"{n}.md").exists()]
    names += sorted(p.stem for p in results.glob("*.md") if p.stem not in ORDER)
    for name in names:
        parts.append(section(results, name))
    (ROOT / "BENCHMARKS.md").write_text("\n\n".join(parts))
    print(f"BENCHMARKS.md: {', '.join(names)}")


if __name__ == "__main__":
    main()

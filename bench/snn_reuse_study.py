"""The SNN reuse factor inside a `dse run` study: bench/snn_reuse_study.yaml (256-128-10 on digits16, R = 16,
full scan, checked Yosys synthesis) run by dse itself into a fresh database and runs folder.

The study file is copied into a new temporary folder (its default storage, sqlite beside the file, is then a
new database) and run with DSE_RUNS_DIR in that folder, so nothing cached by an earlier run is reused; then
`dse pareto --format json` gives the rows. The JSON records the command, commit, machine, date, load before
and after, and the wall time of `dse run` (under the machine's load: see load).

    nice -n 10 .venv/bin/python bench/snn_reuse_study.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, git_rev, load_average, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "bench" / "snn_reuse_study.yaml"
DSE = [sys.executable, "-m", "dse.cli"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, default=None,
                    help="run in this new folder and keep it (default: a temporary folder, removed at the end)")
    args = ap.parse_args()
    command = "python bench/snn_reuse_study.py " + " ".join(sys.argv[1:])
    commit = git_rev()
    if args.keep is not None and args.keep.exists():
        sys.exit(f"--keep {args.keep}: already exists (the study must start from an empty database)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="snn_reuse_study_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        study = work / STUDY.name
        shutil.copy(STUDY, study)
        env = {**os.environ, "DSE_RUNS_DIR": str(work / "runs"), "PYTHONPATH": str(ROOT)}
        load_start = load_average()
        t0 = time.perf_counter()
        subprocess.run([*DSE, "run", str(study), "--no-progress"], check=True, env=env, cwd=ROOT)
        wall = time.perf_counter() - t0
        pareto = subprocess.run([*DSE, "pareto", str(study), "--format", "json"], check=True, env=env, cwd=ROOT,
                                capture_output=True, text=True).stdout
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    data = {"command": command, "commit": commit, "machine": machine(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "load_start": load_start,
            "load": load_average(), "wall_seconds": wall,
            "wall_note": "wall time of `dse run` (training, quantization, checked synthesis) on the shared machine "
                         "under the load recorded",
            "study": str(STUDY.relative_to(ROOT)),
            "study_sha256": hashlib.sha256(STUDY.read_bytes()).hexdigest()[:16],
            "dse_commands": [f"DSE_RUNS_DIR=<new folder>/runs dse run <new folder>/{STUDY.name} --no-progress",
                             f"dse pareto <new folder>/{STUDY.name} --format json"],
            "rows": json.loads(pareto)}
    out = RESULTS / "snn_reuse_study.json"
    out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"written to {out}: {len(data['rows'])} Pareto row(s), dse run {wall:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

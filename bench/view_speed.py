"""How long ``dse status`` and ``dse pareto`` take on a large study, for one or more checkouts of dse.

The study: ``dse run`` of a ``tiny`` study (``bench/driver_throughput``'s space, ``--trials`` trials, one
worker) into a fresh SQLite database, then its rows copied ``--copies`` times over (Optuna's trial tables and
dse's ``dse_*`` tables, trial ids and numbers shifted, ``duplicate_of`` shifted with them), so a 10,000-trial
study takes minutes to make rather than the driver's half hour. The copies repeat the original's values, so
the front holds every copy of each front design (a front ``--copies`` times larger than a real study's of that
size would be: a hard case for the views). Dashboard notes (study system attributes) are not copied: no view
reads them.

Each checkout's ``dse status`` and ``dse pareto`` (table and ``--format json``) run ``--repeat`` times as
subprocesses (Python start included); the median wall time and the median CPU time (user + system of the
child) are kept. The JSON outputs of ``dse pareto`` must be the same for every checkout (``same_front``).
Wall times depend on the machine's load (recorded before and after); CPU times much less.

    python bench/view_speed.py [--trials 1000] [--copies 10] [--repeat 3] [--code DIR [DIR ...]]
           [--label NAME ...]
    python bench/view_speed.py --from-json    # re-render the markdown of the saved run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, header_from_meta, markdown_table, read_json, run_meta, write_json, write_result  # noqa: E402
from driver_throughput import git_commit, study  # noqa: E402

NAME = "view_speed"
OPTUNA_CHILDREN = ("trial_values", "trial_params", "trial_user_attributes", "trial_system_attributes",
                   "trial_heartbeats", "trial_intermediate_values")
DSE_CHILDREN = ("dse_objectives", "dse_accuracy", "dse_hardware", "dse_artifacts", "dse_timings", "dse_versions")


def replicate(db: Path, copies: int) -> int:
    """Append ``copies - 1`` copies of every trial of the (single-study) SQLite database ``db``; returns the
    number of trials after."""
    import sqlite3

    con = sqlite3.connect(db)
    try:
        cols = {t: [r[1] for r in con.execute(f"PRAGMA table_info({t})")]
                for t in ("trials", *OPTUNA_CHILDREN, "dse_trials", *DSE_CHILDREN)}
        max_tid = con.execute("SELECT MAX(trial_id) FROM trials").fetchone()[0]
        n = con.execute("SELECT MAX(number) + 1 FROM trials").fetchone()[0]
        max_pk = con.execute("SELECT MAX(id) FROM dse_trials").fetchone()[0]
        max_dse_tid = con.execute("SELECT MAX(trial_id) FROM dse_trials").fetchone()[0]
        if max_dse_tid > max_tid:
            raise SystemExit(f"{db}: dse_trials refers to trial ids beyond Optuna's")

        def copy(table: str, shift: dict[str, str], where: str) -> None:
            keep = [c for c in cols[table] if c in shift or not _own_key(table, c)]
            sel = [shift.get(c, c) for c in keep]
            con.execute(f"INSERT INTO {table} ({', '.join(keep)}) SELECT {', '.join(sel)} FROM {table} WHERE {where}")

        for k in range(1, copies):
            tid = f"trial_id + {k * max_tid}"
            copy("trials", {"trial_id": tid, "number": f"number + {k * n}"}, f"trial_id <= {max_tid}")
            for t in OPTUNA_CHILDREN:
                copy(t, {"trial_id": tid}, f"trial_id <= {max_tid}")
            con.execute(f"UPDATE trial_user_attributes SET value_json = CAST(value_json AS INTEGER) + {k * n} "
                        f"WHERE key = 'duplicate_of' AND value_json != 'null' AND trial_id > {k * max_tid} "
                        f"AND trial_id <= {(k + 1) * max_tid}")
            copy("dse_trials", {"id": f"id + {k * max_pk}", "trial_id": tid,
                                "trial_number": f"trial_number + {k * n}"}, f"id <= {max_pk}")
            for t in DSE_CHILDREN:
                shift = {"trial_pk": f"trial_pk + {k * max_pk}"}
                if "trial_number" in cols[t]:
                    shift |= {"trial_number": f"trial_number + {k * n}", "trial_id": tid}
                copy(t, shift, f"trial_pk <= {max_pk}")
        con.commit()
        return con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    finally:
        con.close()


def _own_key(table: str, column: str) -> bool:
    """The table's own autoincrement key (left out of a copy: the database numbers the new rows)."""
    own = {"trials": "trial_id", "trial_values": "trial_value_id", "trial_params": "param_id",
           "trial_user_attributes": "trial_user_attribute_id",
           "trial_system_attributes": "trial_system_attribute_id", "trial_heartbeats": "trial_heartbeat_id",
           "trial_intermediate_values": "trial_intermediate_value_id"}
    return column == own.get(table, "id")


def timed(code: Path, cwd: Path, *args: str) -> tuple[float, float, str]:
    """(wall s, child CPU s, stdout) of ``dse ARGS`` run from checkout ``code``."""
    env = {**{k: v for k, v in os.environ.items() if k != "DSE_RUNS_DIR"}, "PYTHONPATH": str(code),
           "COLUMNS": "200", "DSE_RUNS_DIR": str(cwd / "runs")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "dse.cli", *args], cwd=cwd, env=env, capture_output=True,
                         text=True, check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=1000, help="trials of the study dse runs")
    ap.add_argument("--copies", type=int, default=10, help="the study's trials copied this many times in all")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--code", type=Path, nargs="+", default=[ROOT], help="checkouts whose views are timed")
    ap.add_argument("--label", nargs="+", default=None, help="a name per checkout (e.g. before after)")
    ap.add_argument("--from-json", action="store_true", help="re-render the markdown of the saved run")
    args = ap.parse_args(argv)
    if args.from_json:
        write_result(NAME, render(read_json(NAME, "python bench/view_speed.py")))
        return 0
    labels = args.label or [c.name for c in args.code]
    if len(labels) != len(args.code):
        ap.error("--label: one name per --code")
    meta = run_meta(argv)
    with tempfile.TemporaryDirectory(prefix="dse-view-speed-") as tmp:
        work = Path(tmp)
        db = work / "study.db"
        (work / "study.yaml").write_text(yaml.safe_dump(
            study("views", {"url": f"sqlite:///{db}"}, args.trials, 1), sort_keys=False))
        t0 = time.monotonic()
        timed(ROOT, work, "run", "study.yaml", "--no-progress")
        run_s = time.monotonic() - t0
        total = replicate(db, args.copies)
        rows: list[dict[str, Any]] = []
        fronts = []
        for code, label in zip(args.code, labels, strict=True):
            code = code.resolve()
            row: dict[str, Any] = {"label": label, "code_commit": git_commit(code),
                                   "load_1min_before": round(os.getloadavg()[0], 2)}
            for view, view_args in (("status", ()), ("pareto", ()), ("pareto_json", ("--format", "json"))):
                walls, cpus = [], []
                for _ in range(args.repeat):
                    wall, cpu, out = timed(code, work, view.split("_")[0], "study.yaml", *view_args)
                    walls.append(wall)
                    cpus.append(cpu)
                row[f"{view}_wall_s"] = round(statistics.median(walls), 2)
                row[f"{view}_cpu_s"] = round(statistics.median(cpus), 2)
                if view == "pareto_json":
                    fronts.append(json.loads(out))
            row["front_size"] = len(fronts[-1])
            row["load_1min_after"] = round(os.getloadavg()[0], 2)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    data = {"meta": meta, "trials": total, "base_trials": args.trials, "copies": args.copies,
            "base_run_s": round(run_s, 1), "repeat": args.repeat,
            "same_front": all(f == fronts[0] for f in fronts), "rows": rows}
    write_json(NAME, data)
    write_result(NAME, render(data))
    return 0


def render(data: dict[str, Any]) -> str:
    md = header_from_meta(f"`dse status` / `dse pareto` on a {data['trials']:,}-trial study", data["meta"],
                          f"{NAME}.json")
    md += (f"\nA `tiny` study of {data['base_trials']:,} trials run by `dse run`, its rows copied to "
           f"{data['trials']:,} trials (bench/view_speed.py's docstring). Median of {data['repeat']} runs per "
           "command, Python start included; CPU = the command's user + system time. Same `dse pareto --format json` "
           f"output for every checkout: {'yes' if data['same_front'] else '**no**'}. `dse status` is not the same work "
           "in every checkout: since 21feeac it prints the front's 25 best designs (and how many more there are), "
           "before it printed every front design. Goal (issue: cost-aware search everywhere): under 2 s each on a "
           "10,000-trial study.\n\n")
    views = ("status", "pareto", "pareto_json")
    return md + markdown_table(
        ["code", "front designs", "`status` wall / CPU s", "`pareto` wall / CPU s",
         "`pareto --format json` wall / CPU s", "load before → after"],
        [[f"{r['label']} {r['code_commit']}", r["front_size"], *(f"{r[f'{v}_wall_s']} / {r[f'{v}_cpu_s']}" for v in views),
          f"{r['load_1min_before']} → {r['load_1min_after']}"] for r in data["rows"]])


if __name__ == "__main__":
    raise SystemExit(main())

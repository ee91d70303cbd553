"""Driver throughput: trials per second of ``dse run`` on ``tiny`` trials (milliseconds each), so the figure is
the driver's own fixed cost per trial (ask, sample, Ray task round trip, storage, tell, dashboard note).

For every (storage, number of trials, workers): a fresh study directory and database, ``dse run`` as a
subprocess (the user's path), and two rates:

- ``wall``: trials / the subprocess's wall time (Python start, Ray start and shutdown included: nothing
  subtracted);
- ``in-loop``: trials / (last trial's end - first trial's start), read from the study's database (Optuna's
  ``datetime_start``/``datetime_complete``): the steady rate of the ask/tell loop.

On the largest study it also times ``dse status`` and ``dse pareto`` (subprocess wall, Python start included).
``--code DIR`` runs another checkout's ``dse`` (e.g. the main branch, for a before/after in one run); its
commit is recorded per row. The space has a continuous parameter (``model.ridge``, log-uniform), so a
sampler never proposes an evaluated point again and every trial is run.

The machine is shared: wall times depend on its load, which is recorded (1-minute load average before and
after each row).

Usage: python bench/driver_throughput.py [--trials 100 1000] [--workers 1 2] [--postgres] [--code DIR]
       [--label NAME] [--append] [--no-sqlite]
PostgreSQL: set DSE_TEST_POSTGRES_URL (as root: eval "$(CI=true bash .ci/postgres.sh)").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, header_from_meta, markdown_table, run_meta, write_json, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAME = "driver_throughput"
PG_ENV = "DSE_TEST_POSTGRES_URL"
PG_PASSWORD_ENV = "DSE_BENCH_PG_PASSWORD"


def study(name: str, storage: dict[str, Any], n_trials: int, workers: int) -> dict[str, Any]:
    return {
        "name": name,
        "family": "tiny",
        "storage": storage,
        "data": {"source": "synthetic", "options": {"n_trials": 30, "n_bins": 12, "n_neurons": 8, "seed": 0}},
        "model": {"lags": {"choices": [1, 2, 3]}, "ridge": {"low": 0.01, "high": 100.0, "log": True}},
        "train": {"seconds": 0.0},
        "quantization": {"weight_bits": {"choices": [6, 8, 12]}, "frac_bits": 4},
        "hardware_model": {"parallel_macs": {"choices": [1, 2, 4, 8]}},
        "objectives": ["behavior_r2", "latency_us", "lut"],
        "constraints": {"max_utilisation": 1.0},
        "sampler": {"name": "random", "seed": 1},  # O(1) per ask: the driver's cost, not the sampler's
        "n_trials": n_trials,
        "execution": {"workers": workers, "cpus_per_trial": 1, "max_retries": 1},
    }


def git_commit(code: Path) -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=code).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True, cwd=code).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def dse(code: Path, cwd: Path, env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "dse.cli", *args], cwd=cwd, capture_output=True, text=True,
                         env={**env, "PYTHONPATH": str(code)})
    return time.monotonic() - t0, out


def in_loop(url: str, name: str) -> dict[str, Any]:
    """Trials by state and the span first start -> last end, from the study's database."""
    import sqlalchemy
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.drivername == "postgresql":  # the driver dse depends on (SQLAlchemy 2.1's default is psycopg 3)
        u = u.set(drivername="postgresql+psycopg2")
    engine = sqlalchemy.create_engine(u)
    try:
        with engine.connect() as c:
            rows = c.execute(sqlalchemy.text(
                "SELECT t.state, COUNT(*), MIN(t.datetime_start), MAX(t.datetime_complete) FROM trials t "
                "JOIN studies s ON s.study_id = t.study_id WHERE s.study_name = :n GROUP BY t.state"),
                {"n": name}).all()
    finally:
        engine.dispose()
    states = {str(r[0]).split(".")[-1]: int(r[1]) for r in rows}
    starts = [r[2] for r in rows if r[2] is not None]
    ends = [r[3] for r in rows if r[3] is not None]
    span = None
    if starts and ends:
        first, last = (min(starts), max(ends))
        if isinstance(first, str):  # SQLite returns text
            from datetime import datetime

            first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
        span = (last - first).total_seconds()
    return {"states": states, "span_s": span}


def measure(code: Path, backend: str, n_trials: int, workers: int, env: dict[str, str], *,
            time_views: bool) -> dict[str, Any]:
    name = f"tp-{backend}-{n_trials}-{workers}-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="dse-throughput-") as tmp:
        work = Path(tmp)
        if backend == "sqlite":
            url = f"sqlite:///{work / 'study.db'}"
            storage = {"url": url}
        else:
            from sqlalchemy.engine import URL, make_url

            u = make_url(os.environ[PG_ENV])
            url = u.render_as_string(hide_password=False)
            storage = {"url": URL.create(u.drivername, username=u.username, host=u.host, port=u.port,
                                         database=u.database).render_as_string(), "password_env": PG_PASSWORD_ENV}
            env = {**env, PG_PASSWORD_ENV: u.password or ""}
        (work / "study.yaml").write_text(yaml.safe_dump(study(name, storage, n_trials, workers), sort_keys=False))
        load_before = os.getloadavg()[0]
        wall, out = dse(code, work, env, "run", "study.yaml", "--no-progress")
        load_after = os.getloadavg()[0]
        row: dict[str, Any] = {"storage": backend, "n_trials": n_trials, "workers": workers,
                               "code_commit": git_commit(code), "exit": out.returncode, "wall_s": round(wall, 2),
                               "load_1min": [round(load_before, 2), round(load_after, 2)]}
        if out.returncode != 0:
            row["error"] = (out.stderr.strip().splitlines() or ["?"])[-1]
            print(out.stderr[-3000:], file=sys.stderr)
            return row
        db = in_loop(url, name)
        done = db["states"].get("COMPLETE", 0)
        row.update({"complete": done, "states": db["states"], "in_loop_s": db["span_s"],
                    "wall_trials_per_s": round(done / wall, 2),
                    "in_loop_trials_per_s": round(done / db["span_s"], 2) if db["span_s"] else None})
        if time_views:
            for view in ("status", "pareto"):
                t, o = dse(code, work, env, view, "study.yaml")
                row[f"{view}_s"] = round(t, 2)
                row[f"{view}_exit"] = o.returncode
        if backend == "postgresql":  # the server's database is shared: leave no bench study behind
            import optuna

            optuna.delete_study(study_name=name, storage=url.replace("postgresql://", "postgresql+psycopg2://", 1))
    print(json.dumps(row), file=sys.stderr)
    return row


def render(data: dict[str, Any]) -> str:
    md = header_from_meta("Driver throughput (`tiny` trials)", data["meta"], f"{NAME}.json")
    md += ("\nEach row: a fresh study and database, `dse run` as a subprocess. *wall*: trials / the whole "
           "command's time (Python and Ray start included); *in-loop*: trials / (last trial's end - first "
           "trial's start) from the database. `tiny` trials take milliseconds, so both measure the driver's "
           "own cost per trial. Wall times on a shared, loaded machine (load per row: 1-min average before/"
           "after). Goal: >= 20 trials/s in-loop with 2 workers.\n\n")
    return md + markdown_table(
        ["code", "storage", "trials", "workers", "complete", "wall s", "trials/s (wall)", "trials/s (in-loop)",
         "`dse status` s", "`dse pareto` s", "load"],
        [[f"{r.get('label', '')} {r['code_commit']}", r["storage"], r["n_trials"], r["workers"],
          r.get("complete", r.get("error", "?")), r["wall_s"], r.get("wall_trials_per_s", "–"),
          r.get("in_loop_trials_per_s", "–"), r.get("status_s", "–"), r.get("pareto_s", "–"),
          f"{r['load_1min'][0]}→{r['load_1min'][1]}"] for r in data["rows"]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--postgres", action="store_true", help=f"also on PostgreSQL (needs {PG_ENV})")
    ap.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL (with --postgres)")
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout whose dse runs (default: this one)")
    ap.add_argument("--label", default="", help="a name for this code in the table (e.g. before/after)")
    ap.add_argument("--append", action="store_true", help="add the rows to the existing JSON's")
    args = ap.parse_args(argv)
    if args.postgres and not os.environ.get(PG_ENV):
        print(f"--postgres: {PG_ENV} is not set (as root: eval \"$(CI=true bash .ci/postgres.sh)\")", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if k != "DSE_RUNS_DIR"}
    code = args.code.resolve()
    backends = [*([] if args.no_sqlite else ["sqlite"]), *(["postgresql"] if args.postgres else [])]
    largest = max(args.trials)
    rows = []
    for backend in backends:
        for n in sorted(args.trials):
            for w in args.workers:
                row = measure(code, backend, n, w, env, time_views=(n == largest and w == max(args.workers)))
                rows.append({"label": args.label, **row})
    old = []
    if args.append and (RESULTS / f"{NAME}.json").is_file():
        old = json.loads((RESULTS / f"{NAME}.json").read_text()).get("rows", [])
    meta = run_meta(argv if argv is None else [sys.argv[0], *argv])
    if old:
        meta["command"] = json.loads((RESULTS / f"{NAME}.json").read_text())["meta"]["command"] + " ; " + meta["command"]
    data = {"meta": meta, "rows": old + rows}
    write_json(NAME, data)
    write_result(NAME, render(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

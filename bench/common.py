"""Shared helpers of the benchmark scripts: machine description and result files."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parents[1]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, Python {platform.python_version()}"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def git_rev() -> str:
    """The short commit of this checkout (the repository the bench scripts live in, whatever the cwd)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True, cwd=ROOT).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def git_dirty() -> bool | None:
    """Whether tracked files differ from the commit (then the commit alone does not name the code that ran)."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                             text=True, check=True, cwd=ROOT).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return bool(out.strip())


def command_line(argv: list[str] | None = None) -> str:
    """The exact command that is running, as one would retype it from the repository root."""
    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0]).resolve()
    try:
        argv[0] = str(script.relative_to(ROOT))
    except ValueError:
        argv[0] = str(script)
    return "python " + shlex.join(argv)


def run_meta(argv: list[str] | None = None) -> dict[str, Any]:
    """What a results JSON records about the run that made it: the exact command line, the commit of the code
    that ran (``+dirty`` when tracked files were modified), machine, UTC date and the load average at the
    time of the call (call it at the end of the run)."""
    dirty = git_dirty()
    return {"command": command_line(argv), "commit": git_rev() + ("+dirty" if dirty else ""),
            "machine": machine(), "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average": load_average()}


def header_from_meta(title: str, meta: dict[str, Any], json_name: str) -> str:
    """The section header of a result rendered from its JSON: the run's own command, commit, machine, date and
    load (not those of whoever renders it), and the JSON the numbers were read from."""
    return (f"## {title}\n\n- command: `{meta['command']}`\n- machine: {meta['machine']}\n"
            f"- date: {meta['date']}, commit {meta['commit']}\n"
            f"- load average at the end (1/5/15 min): {meta['load_average']}\n"
            f"- numbers read from: bench/results/{json_name}\n")


def write_json(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"written to {path}", file=sys.stderr)
    return path


def read_json(name: str, rerun: str) -> dict[str, Any]:
    """A results JSON, or one clear line (what is missing, how to make it) and exit 2: a report is rendered
    only from the run that measured it."""
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        print(f"{path}: missing; the report is rendered only from its run's JSON. Run: {rerun}", file=sys.stderr)
        raise SystemExit(2)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        print(f"{path}: not valid JSON ({e})", file=sys.stderr)
        raise SystemExit(2) from None


def header(title: str, command: str) -> str:
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"## {title}\n\n- command: `{command}`\n- machine: {machine()}\n- date: {now}, commit {git_rev()}\n"
            f"- load average at the end (1/5/15 min): {load_average()}\n")


def write_result(name: str, markdown: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown)
    print(markdown)
    print(f"written to {path}", file=sys.stderr)
    return path


#: This checkout's ``dse`` command line (the code a bench measures, whatever is installed).
DSE = [sys.executable, "-m", "dse.cli"]


def dse(*args: str, runs_dir: Path, capture: bool = False) -> str:
    """Run ``dse ARGS`` of this checkout with its runs (artifacts, caches) in ``runs_dir``; stdout when
    ``capture``. A failing command raises ``CalledProcessError``: a bench never reports a half run."""
    env = {**os.environ, "DSE_RUNS_DIR": str(runs_dir), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([*DSE, *args], check=True, env=env, cwd=ROOT, capture_output=capture, text=True)
    return out.stdout if capture else ""


def run_study(study: Path, runs_dir: Path) -> tuple[float, list[dict[str, Any]]]:
    """``dse run`` of ``study`` (wall seconds) and then its front as ``dse pareto --format json`` rows."""
    import time

    t0 = time.perf_counter()
    dse("run", str(study), "--no-progress", runs_dir=runs_dir)
    wall = time.perf_counter() - t0
    return wall, json.loads(dse("pareto", str(study), "--format", "json", runs_dir=runs_dir, capture=True))


def run_study_copy(study_src: Path, keep: Path | None, prefix: str, *status_args: str) -> dict[str, Any]:
    """``study_src`` copied into a new folder (``keep``, or a temporary one removed at the end: its default
    storage, sqlite beside the file, is then a new database; DSE_RUNS_DIR there, so nothing cached by an earlier
    run is reused), run with ``dse run``; returns the commit that ran, the load before, the wall seconds of
    ``dse run``, the front (``dse pareto --format json`` rows) and ``dse status STATUS_ARGS``'s text."""
    import tempfile

    work = keep or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    commit = git_rev() + ("+dirty" if git_dirty() else "")
    try:
        study = work / study_src.name
        shutil.copy(study_src, study)
        load_start = load_average()
        wall, rows = run_study(study, work / "runs")
        status = dse("status", str(study), *status_args, runs_dir=work / "runs", capture=True)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return {"commit": commit, "load_start": load_start, "wall_seconds": wall, "rows": rows, "status": status}


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """A markdown table: ``header`` then one line per row (cells as ``str``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def study_bench_main(doc: str, name: str, run: Any, render: Any) -> None:
    """The command line of a bench that runs studies in a new folder: ``[--keep DIR]`` runs (``run(keep)`` returns
    the JSON to write as bench/results/NAME.json), ``--from-json`` only re-renders NAME.md (``render(json)``)."""
    import argparse

    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--keep", type=Path, default=None, help="run in this new folder and keep it")
    ap.add_argument("--from-json", action="store_true", help=f"only re-render bench/results/{name}.md")
    a = ap.parse_args()
    if a.from_json:
        d = read_json(name, f"python bench/{name}.py")
    else:
        if a.keep is not None and a.keep.exists():
            sys.exit(f"--keep {a.keep}: already exists (a study must start from an empty database)")
        d = run(a.keep)
        write_json(name, d)
    write_result(name, render(d))

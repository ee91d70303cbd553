"""Safety: untrusted YAML, no code execution from user strings, secrets, the dashboard, exports.

- study files are read with ``yaml.safe_load``: a ``!!python/...`` tag is an error and runs nothing;
- dse's own code (the installed packages, not hls4ml or Ray) never evaluates or executes a string
  and never starts a shell (an AST scan, so comments and docstrings do not count);
- a database password comes from the environment and is never stored (every column of every table
  is scanned, and the artifact files) nor printed (``dse run``/``status`` output): with SQLite and
  secret-bearing environment variables always, with PostgreSQL and ``password_env`` when
  ``DSE_TEST_POSTGRES_URL`` is set;
- ``dse dashboard`` listens on 127.0.0.1 only (checked in /proc/net/tcp*) and serves the study;
- ``dse export`` writes only inside its target (symlinks in the cache are not followed, a symlink as
  ``-o`` is refused).
"""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy
from reliability_helpers import (
    REPO,
    cli_env,
    dse,
    end_session,
    link_cache,
    shared_cache,
    study_dict,
    wait_for,
    write_study,
)

from dse.errors import ConfigError
from dse.export import copytree_inside, inside
from dse.study import parse_study

SECRET = "pw-" + uuid.uuid4().hex  # a fresh secret each session: any hit is a leak of this run
PACKAGES = ("dse", "storage", "objectives", "search_spaces")  # what pyproject installs


# ----------------------------------------------------------------------------------------- YAML


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
    "!!python/name:os.system",
    "!!python/module:os",
])
def test_python_yaml_tags_are_rejected_and_nothing_runs(tmp_path, tag):
    marker = tmp_path / "pwned"
    text = f"name: {tag.format(marker=marker)}\nobjectives: [behavior_r2]\nn_trials: 1\n"
    with pytest.raises(ConfigError, match="invalid YAML") as e:
        parse_study(text, where="study.yaml", base_dir=tmp_path)
    assert "could not determine a constructor" in str(e.value)
    (tmp_path / "study.yaml").write_text(text)
    r = dse("run", "study.yaml", cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "invalid YAML" in r.stderr
    assert not marker.exists()


# ------------------------------------------------------------------------------- code execution


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    return {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def _constant_strings(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Tuple | ast.List) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)


def _dynamic_import_is_fixed(call: ast.Call, parents: list[ast.AST], consts: dict[str, ast.expr]) -> bool:
    """``importlib.import_module(x)`` where x is (built from) the loop variable of a ``for`` over a
    module-level tuple of string constants."""
    names = {n.id for n in ast.walk(call.args[0]) if isinstance(n, ast.Name)} if call.args else set()
    for node in reversed(parents):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and node.target.id in names:
            return isinstance(node.iter, ast.Name) and _constant_strings(consts.get(node.iter.id))
    return False


def _dangerous_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    consts = _module_constants(tree)
    found: list[str] = []

    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path

    def where(node: ast.AST, what: str) -> None:
        found.append(f"{shown}:{node.lineno}: {what}")

    def visit(node: ast.AST, parents: list[ast.AST]) -> None:
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else None
            attr = f.attr if isinstance(f, ast.Attribute) else None
            owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else None
            if name in ("eval", "exec", "compile", "__import__", "breakpoint"):
                where(node, f"{name}()")
            if owner == "os" and attr and (attr in ("system", "popen", "startfile")
                                           or attr.startswith(("exec", "spawn", "posix_spawn"))):
                where(node, f"os.{attr}()")
            if owner in ("pickle", "marshal", "dill", "shelve") and attr in ("load", "loads", "open"):
                where(node, f"{owner}.{attr}()")
            if owner == "yaml" and attr in ("load", "load_all", "unsafe_load", "full_load", "unsafe_load_all"):
                where(node, f"yaml.{attr}()")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    where(node, "shell=...")
                if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    where(node, "allow_pickle=...")
            if attr == "import_module" and not _dynamic_import_is_fixed(node, parents, consts):
                where(node, "import_module() of a name that is not a fixed constant")
        for child in ast.iter_child_nodes(node):
            visit(child, [*parents, node])

    visit(tree, [])
    return found


def test_dse_never_evaluates_executes_or_shells_out():
    files = [p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")]
    assert len(files) > 40
    found = [hit for p in files for hit in _dangerous_calls(p)]
    assert not found, "\n".join(found)


def test_the_scan_finds_what_it_forbids(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text("import os, subprocess, yaml, importlib\n"
                   "def f(s):\n"
                   "    eval(s); exec(s); os.system(s); subprocess.run(s, shell=True); yaml.load(s)\n"
                   "    importlib.import_module(s)\n")
    found = _dangerous_calls(bad)
    assert len(found) == 6, found


# ------------------------------------------------------------------------------------ a real study


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """One complete trial of the tiny study (shared cache), run with secrets in the environment."""
    d = tmp_path_factory.mktemp("safety")
    write_study(d, study_dict("safe", n_trials=1, seed=0))
    link_cache(d, "safe", shared_cache(tmp_path_factory))
    r = dse("run", "study.yaml", "--no-progress", cwd=d, env=cli_env(PGPASSWORD=SECRET, DSE_DB_PASSWORD=SECRET))
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    (d / "run.log").write_text(r.stdout + r.stderr)
    return d / "study.yaml"


def _table_text(engine: sqlalchemy.Engine) -> dict[str, str]:
    """Every table's rows as text."""
    out = {}
    with engine.connect() as conn:
        for table in sqlalchemy.inspect(engine).get_table_names():
            rows = conn.execute(sqlalchemy.text(f'SELECT * FROM "{table}"')).fetchall()  # names from the schema
            out[table] = "\n".join(repr(tuple(r)) for r in rows)
    return out


def _files_text(root: Path) -> str:
    return "\n".join(p.read_bytes().decode(errors="replace") for p in root.rglob("*")
                     if p.is_file() and not p.is_symlink() and p.suffix in (".json", ".log", ".txt", ".yaml", ".yml"))


@pytest.mark.slow
def test_secrets_in_the_environment_reach_no_table_file_or_output(study):
    d = study.parent
    engine = sqlalchemy.create_engine(f"sqlite:///{d / 'safe.db'}")
    tables = _table_text(engine)
    engine.dispose()
    assert {"trials", "trial_user_attributes", "dse_trials", "dse_versions"} <= set(tables)
    assert "COMPLETE" in tables["trials"]
    assert not [t for t, text in tables.items() if SECRET in text]
    raw = b"".join(p.read_bytes() for p in d.glob("safe.db*") if p.is_file())
    assert SECRET.encode() not in raw
    assert SECRET not in _files_text(d / "runs" / "safe" / "trials")
    r = dse("status", "study.yaml", cwd=d, env=cli_env(PGPASSWORD=SECRET, DSE_DB_PASSWORD=SECRET))
    assert r.returncode == 0 and "complete 1" in r.stdout
    assert SECRET not in (d / "run.log").read_text() + r.stdout + r.stderr


@pytest.mark.slow
def test_postgres_password_is_never_stored_or_printed(tmp_path, tmp_path_factory):
    url = os.environ.get("DSE_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("DSE_TEST_POSTGRES_URL is not set (as root: eval \"$(CI=true .ci/postgres.sh)\")")
    from sqlalchemy.engine import URL, make_url

    from storage import open_storage

    u = make_url(url)
    assert u.password, "the test URL needs a password"
    name = f"safe-{uuid.uuid4().hex[:8]}"
    plain = URL.create(u.drivername, username=u.username, host=u.host, port=u.port,
                       database=u.database).render_as_string()
    write_study(tmp_path, study_dict(name, n_trials=1, seed=0,
                                     storage={"url": plain, "password_env": "DSE_TEST_PG_PASSWORD"}))
    link_cache(tmp_path, name, shared_cache(tmp_path_factory))
    env = cli_env(DSE_TEST_PG_PASSWORD=u.password)
    try:
        run = dse("run", "study.yaml", "--no-progress", cwd=tmp_path, env=env)
        assert run.returncode == 0, run.stdout + run.stderr[-4000:]
        status = dse("status", "study.yaml", cwd=tmp_path, env=env)
        assert status.returncode == 0 and "complete 1" in status.stdout
        assert "***" in run.stdout  # the URL is shown, redacted
        assert u.password not in run.stdout + run.stderr + status.stdout + status.stderr
        with open_storage(url) as st:
            tables = _table_text(st.project.engine)
        assert f"'{name}'" in tables["studies"]
        assert not [t for t, text in tables.items() if u.password in text]
        assert u.password not in _files_text(tmp_path / "runs")
    finally:
        with open_storage(url) as st:
            st.delete_study(name)


# -------------------------------------------------------------------------------------- dashboard


def _listeners(port: int) -> list[str]:
    """Local addresses listening on TCP ``port`` (IPv4 and IPv6), from /proc/net/tcp*."""
    out = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(addr)
                if width == 8:
                    out.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:  # four little-endian 32-bit words
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    out.append(socket.inet_ntop(socket.AF_INET6, words))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dashboard_listens_on_localhost_only_and_serves_the_study(study):
    port = _free_port()
    p = subprocess.Popen([sys.executable, "-m", "dse.cli", "dashboard", "study.yaml", "--port", str(port)],
                         cwd=study.parent, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    try:
        addrs = wait_for("the dashboard to listen", lambda: _listeners(port), timeout=120, proc=p)
        time.sleep(0.5)
        assert _listeners(port) == ["127.0.0.1"], addrs
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=30) as resp:
            body = json.loads(resp.read())
        assert [s["study_name"] for s in body["study_summaries"]] == ["safe"]
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        finally:
            end_session(p.pid)
    assert "on http://127.0.0.1:" in p.stdout.read()


# ----------------------------------------------------------------------------------------- export


def test_inside_refuses_paths_that_leave_the_target(tmp_path):
    root, outside = tmp_path / "pkg", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    assert inside(root, root / "a" / "b.txt") == root / "a" / "b.txt"
    (root / "link").symlink_to(outside, target_is_directory=True)
    for bad in (root / ".." / "elsewhere" / "x", root / "link" / "x", Path("/etc/passwd")):
        with pytest.raises(ConfigError, match="outside the export directory"):
            inside(root, bad)


def test_copy_does_not_follow_links_out_of_the_cache(tmp_path):
    src, dst, outside = tmp_path / "entry", tmp_path / "pkg", tmp_path / "outside"
    (src / "firmware").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("not for export")
    (src / "firmware" / "myproject.cpp").write_text("// code")
    (src / "firmware" / "lib.so").write_bytes(b"\x7fELF")
    (src / "leak.txt").symlink_to(outside / "secret.txt")
    (src / "leakdir").symlink_to(outside, target_is_directory=True)
    dst.mkdir()
    copytree_inside(src, dst / "hls_project", dst)
    copied = sorted(str(p.relative_to(dst)) for p in dst.rglob("*"))
    assert copied == ["hls_project", "hls_project/firmware", "hls_project/firmware/myproject.cpp"]
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


@pytest.mark.slow
def test_export_refuses_a_symlink_as_target_and_skips_links_in_the_cache(study, tmp_path):
    d = study.parent
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    r = dse("export", "study.yaml", "--trial", "0", "-o", str(link), cwd=d)
    assert r.returncode == 2, r.stderr[-2000:]
    assert r.stderr.strip().splitlines() == [f"dse export: error: {link}: --output: is a symbolic link; "
                                             "give the directory it points to"]
    assert link.is_symlink() and list(target.iterdir()) == []

    # links planted in the cached hls4ml projects (export copies its design's entry) are not followed into it
    projects = [e for e in (d / "runs" / "safe" / "cache" / "hls").iterdir() if (e / "firmware").is_dir()]
    assert projects
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for export")
    planted = [p for project in projects for p in (project / "firmware" / "planted.h", project / "planted_dir")]
    for p in planted:
        p.symlink_to(outside / "secret.txt") if p.suffix == ".h" else p.symlink_to(outside, target_is_directory=True)
    try:
        out = tmp_path / "pkg"
        r = dse("export", "study.yaml", "--trial", "0", "-o", str(out), cwd=d)
        assert r.returncode == 0, r.stderr[-3000:]
    finally:
        for p in planted:
            p.unlink()
    assert not [p for p in out.rglob("*") if p.is_symlink() or "planted" in p.name]
    assert (out / "hls_project" / "firmware" / "myproject.cpp").is_file()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pkg-")], "temporary directory left behind"


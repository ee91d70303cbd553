"""On-disk cache of compiled hls4ml projects: an identical design point is never compiled twice.

Key
    A hash of the *generated project* (every C++ source, header, weight file and build/HLS script
    hls4ml writes, with the random stamp and the output path masked) plus the hls4ml version, the
    g++ version and the machine. Writing a project takes about a second while g++ takes from tens of
    seconds to minutes, and hashing what g++ would compile catches every input that changes it --
    weights, any config field, our workarounds, the hls4ml templates -- without enumerating them.
    The FPGA part and clock are in the hashed ``project.tcl``, so an entry is a complete project that
    can also be synthesised.
Layout
    ``<cache>/<key>/`` a compiled project (read-only by convention), complete once it holds
    ``dse_cache.json``; ``<cache>/tmp/`` projects being written; ``<cache>/locks/`` one lock per key.
Concurrency
    A project is written to a private temp dir and moved to ``<key>`` with one atomic ``rename``, then
    compiled *there*: hls4ml's C simulation reads its weights from ``<project>/firmware/weights`` by an
    absolute path fixed at compile time, so a library cannot be moved after compilation (weights
    embedded in the C++ instead keep g++ busy for over ten minutes on the paper-size model). Rename and
    compilation happen under an exclusive per-key ``flock``; the marker file is written atomically
    (temp file + ``os.replace``) after the library is complete, and readers trust only entries with
    the marker. A process that dies mid-build releases the lock and leaves an entry without the
    marker, which the next builder removes and rebuilds.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import io
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dse.errors import ConfigError
from dse.hls.convert import PROJECT_NAME, convert
from dse.hls.cpus import default_workers
from dse.hls.design import HLSDesign
from dse.locks import key_lock

log = logging.getLogger(__name__)

CACHE_ENV = "DSE_CACHE_DIR"
COMPILE_TIMEOUT_ENV = "DSE_COMPILE_TIMEOUT_S"
DEFAULT_COMPILE_TIMEOUT_S = 3600.0
KEY_VERSION = 1
MARKER = "dse_cache.json"
_SKIP_NAMES = {"hls4ml_config.yml", "keras_model.keras", MARKER}  # config dump (paths, stamp), a Keras copy
_SKIP_DIRS = {"tb_data"}
_SKIP_SUFFIXES = {".so", ".o", ".gz", ".tar", ".log"}
_TMP_MAX_AGE_S = 24 * 3600


class HLSCompileError(RuntimeError):
    """g++ failed on a generated project (the message holds the compiler's error lines)."""


def default_cache_dir() -> Path:
    """``$DSE_CACHE_DIR`` if set, else ``~/.cache/dse/hls``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dse" / "hls"


@functools.cache
def toolchain() -> str:
    """What besides the project decides the compiled library: hls4ml, the compiler, the machine."""
    import hls4ml

    try:
        cxx = subprocess.run(
            ["g++", "--version"], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        cxx = cxx.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        cxx = "g++ unavailable"
    return f"hls4ml {hls4ml.__version__}; {cxx}; {platform.system()} {platform.machine()}"


def project_key(project_dir: str | Path, stamp: str) -> str:
    """Content hash of a written hls4ml project (stamp and location masked)."""
    root = Path(project_dir).resolve()
    h = hashlib.sha256(f"dse-hls-cache v{KEY_VERSION}\n{toolchain()}\n".encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if rel.name in _SKIP_NAMES or path.suffix in _SKIP_SUFFIXES or rel.parts[0] in _SKIP_DIRS:
            continue
        data = path.read_bytes().replace(str(root).encode(), b"@OUTDIR@")
        if stamp:
            data = data.replace(stamp.encode(), b"@STAMP@")
        h.update(rel.as_posix().encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:32]


def library_path(project_dir: str | Path) -> Path | None:
    """The compiled C-simulation library of a project, if there is exactly one."""
    libs = sorted(Path(project_dir, "firmware").glob(f"{PROJECT_NAME}-*.so"))
    return libs[0] if len(libs) == 1 else None


def is_complete(entry: str | Path) -> bool:
    """A finished entry, compiled where it is now (the library reads its weights by absolute path)."""
    entry = Path(entry)
    try:
        meta = json.loads((entry / MARKER).read_text())
    except (OSError, ValueError):
        return False
    return meta.get("built_at") == str(entry.resolve()) and library_path(entry) is not None


def load_library(hls_model: Any, so_path: str | Path) -> None:
    """Attach a compiled library to ``hls_model`` so that ``predict`` uses it (what ``compile`` does last)."""
    hls_model._top_function_lib = ctypes.cdll.LoadLibrary(str(so_path))


def compile_timeout_s() -> float | None:
    """Seconds g++ may spend on one project: ``$DSE_COMPILE_TIMEOUT_S`` (0: no limit), else an hour."""
    text = os.environ.get(COMPILE_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_COMPILE_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(COMPILE_TIMEOUT_ENV, f"must be a number of seconds, got {text!r}") from None
    return value if value > 0 else None


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the build script and the compilers it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.communicate(timeout=10)


def parallel_build_script(script: str) -> str | None:
    """``build_lib.sh`` with its independent ``g++ -c`` steps run at the same time, or None.

    hls4ml's script compiles ``myproject.cpp`` (about 6.5 s at the paper size) and the bridge (about
    2 s) one after the other; on two CPUs the bridge then costs nothing. The rewrite backgrounds each
    ``-c`` line and waits for all of them (``wait PID`` returns the compiler's status, so ``set -e``
    still stops at the first error) before the link. A script of another shape is left alone (None).
    """
    lines = script.splitlines()
    compile_idx = [i for i, ln in enumerate(lines) if ln.startswith("${CC}") and " -c " in ln]
    if len(compile_idx) < 2 or compile_idx != list(range(compile_idx[0], compile_idx[-1] + 1)):
        return None
    if "set -e" not in script:
        return None
    out = lines[: compile_idx[0]]
    for k, i in enumerate(compile_idx):
        out.append(f"{lines[i]} & _dse_pid{k}=$!")
    out.append("; ".join(f"wait $_dse_pid{k}" for k in range(len(compile_idx))))
    out += lines[compile_idx[-1] + 1:]
    return "\n".join(out) + "\n"


def build_library(hls_model: Any, timeout_s: float | None = None, jobs: int = 1) -> Path:
    """Compile an already *written* project with its ``build_lib.sh`` (g++); return the library.

    This is what hls4ml's ``backend.compile`` does, plus a time limit (``timeout_s``, default
    :func:`compile_timeout_s`; ``None`` there means none): the script runs in a process group of its
    own, which is killed when the limit passes (or the caller is interrupted), so no compiler
    outlives the call. With ``jobs`` > 1 the translation units compile in parallel
    (:func:`parallel_build_script`); the script on disk stays hls4ml's.
    """
    out_dir = Path(hls_model.config.get_output_dir())
    limit = compile_timeout_s() if timeout_s is None else timeout_s
    argv = ["./build_lib.sh"]
    if jobs > 1:
        parallel = parallel_build_script((out_dir / "build_lib.sh").read_text())
        if parallel is not None:
            argv = ["bash", "-c", parallel, "build_lib.sh"]  # $0 = build_lib.sh: the script's dirname is "."
    proc = subprocess.Popen(
        argv,
        cwd=out_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise HLSCompileError(
            f"g++ timed out after {limit:g} s compiling {out_dir} ({COMPILE_TIMEOUT_ENV})"
        ) from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        errors = [ln for ln in output.splitlines() if "error" in ln.lower()] or output.splitlines()[-20:]
        raise HLSCompileError(f"g++ failed for {out_dir}:\n" + "\n".join(errors[:20]))
    lib = out_dir / "firmware" / f"{PROJECT_NAME}-{hls_model.config.get_config_value('Stamp')}.so"
    if not lib.is_file():
        raise HLSCompileError(f"g++ succeeded but {lib} is missing")
    return lib


@dataclass
class CompiledModel:
    """A converted design point with its C-simulation library loaded.

    ``project_dir`` is the cache entry (a complete hls4ml project, e.g. for synthesis). Do not call
    ``hls_model.write()``/``compile()``: they would rewrite the shared entry with a new stamp.
    """

    hls_model: Any
    project_dir: Path
    key: str
    cache_hit: bool
    convert_s: float  # convert + write + hash
    compile_s: float  # g++ (0 on a cache hit)

    def predict(self, inputs: Any) -> Any:
        return self.hls_model.predict(inputs)


def _sweep_tmp(tmp_root: Path) -> None:
    """Remove temp dirs that a killed process left behind (older than a day)."""
    now = time.time()
    for d in tmp_root.iterdir():
        with contextlib.suppress(OSError):
            if now - d.stat().st_mtime > _TMP_MAX_AGE_S:
                shutil.rmtree(d, ignore_errors=True)


def _write_marker(entry: Path, key: str, design: HLSDesign, compile_s: float) -> None:
    meta = {
        "key": key,
        "built_at": str(entry.resolve()),
        "toolchain": toolchain(),
        "compile_s": compile_s,
        "created": time.time(),
        "design": design.to_dict(),
    }
    fd, tmp = tempfile.mkstemp(dir=entry, prefix=".marker-")
    with os.fdopen(fd, "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(tmp, entry / MARKER)


def _prepare(model: Any, design: HLSDesign, root: Path) -> tuple[Any, Path, str]:
    """Convert and write the project into a private temp dir; return (model graph, dir, key)."""
    tmp_root = root / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    _sweep_tmp(tmp_root)
    work = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=tmp_root))
    try:
        hls_model = convert(model, design, work)
        with contextlib.redirect_stdout(io.StringIO()):
            hls_model.write()
        key = project_key(work, hls_model.config.get_config_value("Stamp"))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return hls_model, work, key


def lookup(model: Any, design: HLSDesign, cache_dir: str | Path | None = None) -> Path | None:
    """The cache entry of (model, design) if it is compiled already, else None (compiles nothing)."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    _, work, key = _prepare(model, design, root)
    shutil.rmtree(work, ignore_errors=True)
    entry = root / key
    return entry if is_complete(entry) else None


def compile_model(model: Any, design: HLSDesign, cache_dir: str | Path | None = None) -> CompiledModel:
    """Convert ``model`` for ``design`` and load its C-simulation library, compiling only on a cache miss."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    t0 = time.perf_counter()
    hls_model, work, key = _prepare(model, design, root)
    convert_s = time.perf_counter() - t0
    entry = root / key
    compile_s = 0.0
    try:
        hit = is_complete(entry)
        if not hit:
            with key_lock(root, key):
                hit = is_complete(entry)  # another process may have built it while we waited
                if not hit:
                    if entry.exists():  # left by a process that died mid-build (or a moved cache)
                        shutil.rmtree(entry)
                    os.rename(work, entry)
                    hls_model.config.config["OutputDir"] = str(entry)
                    t1 = time.perf_counter()
                    try:
                        build_library(hls_model, jobs=default_workers())
                    except BaseException:
                        shutil.rmtree(entry, ignore_errors=True)
                        raise
                    compile_s = time.perf_counter() - t1
                    _write_marker(entry, key, design, compile_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # gone already after a rename
    hls_model.config.config["OutputDir"] = str(entry)
    so = library_path(entry)
    if so is None:
        raise HLSCompileError(f"no compiled library in cache entry {entry}")
    load_library(hls_model, so)
    log.info(
        "hls cache %s: %s (convert %.1f s, g++ %.1f s)", "hit" if hit else "miss", key, convert_s, compile_s
    )
    return CompiledModel(hls_model, entry, key, hit, convert_s, compile_s)

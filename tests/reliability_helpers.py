"""Shared by test_reliability.py, test_bad_input.py and test_safety.py.

Tiny studies (the e2e study scaled down), the ``dse`` CLI as a real subprocess, a model/HLS cache
shared by the studies of one pytest session, and the processes of a driver's session, found and
ended through ``/proc`` by process id (a driver is started in a session of its own, so everything
it and its local Ray start -- raylet, GCS, workers, g++ -- carries its pid as session id).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import TrialState

REPO = Path(__file__).resolve().parents[1]

#: ``dse.cli.main`` with Python's default SIGINT handler: a process started from a non-interactive
#: shell may inherit SIGINT as ignored, and Ctrl-C must reach the driver as in a terminal.
CLI_WITH_SIGINT = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                   "from dse.cli import main; sys.exit(main(sys.argv[1:]))")


def study_dict(name: str, *, n_trials: int = 3, seed: int = 0, epochs: int = 2, **sections: Any) -> dict:
    """The tiny study: 30 recorded trials x 12 bins x 8 neurons, E=4, Z=4, F=2, three PTQ precisions.

    Only the HLS side is searched, so one training serves every trial of a seed. ``sections``
    replace or extend top-level keys (``execution={...}``, ``hls={...}``, ...).
    """
    d: dict[str, Any] = {
        "name": name,
        "data": {"source": "synthetic", "options": {"n_trials": 30, "n_bins": 12, "n_neurons": 8, "seed": 0}},
        "model": {"encoder_units": 4, "latent_units": 4, "factors": 2},
        "train": {"epochs": epochs, "batch_size": 8, "seed": seed},
        "quantization": {"mode": "ptq", "ptq_integer_bits": 6, "ptq_fractional_bits": {"choices": [6, 8, 10]}},
        "hls": {"reuse_factor": 1, "strategy": "latency"},
        "objectives": ["behavior_r2", "latency_us", "lut"],
        "constraints": {"max_utilisation": 1.0},
        "sampler": {"name": "random", "seed": 1},
        "n_trials": n_trials,
        "execution": {"workers": 1, "cpus_per_trial": 1, "max_retries": 1},
        "hardware": {"backend": "estimate", "part": "xcu55c", "clock_ns": 5.0},
    }
    d.update(sections)
    return d


def tiny_study_dict(name: str, *, n_trials: int = 3, train_seconds: float = 0.0, **sections: Any) -> dict:
    """A study of the numpy ``tiny`` family (no TensorFlow, no g++): trials take ``train_seconds`` at least,
    so that tests of the driver (kills, Ctrl-C, concurrent drivers, resume) run in seconds."""
    d: dict[str, Any] = {
        "name": name,
        "family": "tiny",
        "data": {"source": "synthetic", "options": {"n_trials": 30, "n_bins": 12, "n_neurons": 8, "seed": 0}},
        "model": {"lags": {"choices": [1, 2, 3]}},
        "train": {"seconds": train_seconds},
        "quantization": {"weight_bits": {"choices": [6, 8, 12]}, "frac_bits": 4},
        "hardware_model": {"parallel_macs": {"choices": [1, 2, 4, 8]}},
        "objectives": ["behavior_r2", "latency_us", "lut"],
        "constraints": {"max_utilisation": 1.0},
        "sampler": {"name": "random", "seed": 1},
        "n_trials": n_trials,
        "execution": {"workers": 1, "cpus_per_trial": 1, "max_retries": 1},
    }
    d.update(sections)
    return d


def write_study(directory: Path, study: dict, filename: str = "study.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def shared_cache(tmp_path_factory) -> Path:
    """One model + HLS cache for every study of this pytest session (same data and settings hit)."""
    root = tmp_path_factory.getbasetemp() / "dse-shared-cache"
    root.mkdir(exist_ok=True)
    return root


def link_cache(study_dir: Path, name: str, cache: Path) -> None:
    """Point ``runs/<name>/cache`` of a study at ``cache`` (entries stay valid: HLS entries record
    their resolved location)."""
    runs = study_dir / "runs" / name
    runs.mkdir(parents=True, exist_ok=True)
    (runs / "cache").symlink_to(cache, target_is_directory=True)


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DSE_RUNS_DIR"}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def dse(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run ``python -m dse.cli ARGS`` to completion."""
    return subprocess.run([sys.executable, "-m", "dse.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=env or cli_env(), timeout=timeout)


def start_dse(*args: str, cwd: Path, env: dict[str, str] | None = None, log: str = "driver") -> subprocess.Popen:
    """Start ``dse ARGS`` in a session of its own, output to ``cwd/<log>.out`` / ``.err``."""
    out = open(cwd / f"{log}.out", "w")  # noqa: SIM115 - closed by the OS when the test's process ends
    err = open(cwd / f"{log}.err", "w")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-c", CLI_WITH_SIGINT, *args], cwd=cwd, env=env or cli_env(),
                            stdout=out, stderr=err, start_new_session=True)


# ------------------------------------------------------------------------------ processes (/proc)


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def session_pids(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[0] != "Z" and int(st[3]) == sid:
                out.append(int(entry))
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] != "Z"


def end_session(sid: int, timeout: float = 30) -> list[str]:
    """SIGKILL every process of session ``sid`` (a driver we started and what it started); returns
    the command lines of those that had to be killed."""
    killed = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = session_pids(sid)
        if not pids:
            break
        for pid in pids:
            killed.append(cmdline(pid))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    return killed


def wait_for(what: str, check: Callable[[], Any], timeout: float, proc: subprocess.Popen | None = None,
             interval: float = 0.2) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` s or if ``proc`` ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the driver ended (exit {proc.returncode}) while waiting for {what}")
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def trial_workers(sid: int) -> list[int]:
    """Ray worker processes of session ``sid`` that are running a trial."""
    return [pid for pid in session_pids(sid) if cmdline(pid).startswith("ray::_run_remote")]


# ------------------------------------------------------------------------------------- the study


def load_study(study_dir: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{study_dir / (name + '.db')}")


def is_retry(t: optuna.trial.FrozenTrial) -> bool:
    return "failed_trial" in t.system_attrs or "failed_trial" in t.user_attrs


def design_points(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Trials that are first tries of a design point (not retries, not waiting, not a repeat of an earlier
    trial's point: a resumed sampler with the same seed proposes its first points again)."""
    return [t for t in study.get_trials(deepcopy=False) if not is_retry(t) and t.state != TrialState.WAITING
            and t.user_attrs.get("duplicate_of") is None]


def final_state(study: optuna.Study, number: int) -> TrialState:
    """The state of design point ``number`` after its retries (the last try decides)."""
    trials = study.get_trials(deepcopy=False)
    tries = [t for t in trials if t.number == number
             or (t.system_attrs.get("failed_trial", t.user_attrs.get("failed_trial")) == number)]
    return max(tries, key=lambda t: t.number).state


def check_consistent(study: optuna.Study, n_trials: int) -> None:
    """No trial RUNNING or WAITING, numbers 0..N-1 once each, exactly ``n_trials`` design points."""
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials))), numbers
    assert not [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert len(design_points(study)) == n_trials, [(t.number, t.state.name, t.system_attrs) for t in trials]

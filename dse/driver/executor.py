"""Where trials run: Ray tasks (a local Ray by default, a cluster with an address).

The driver only needs submit / wait / cancel, so another executor (e.g. a batch scheduler) can
replace Ray behind this small interface.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any

from dse.errors import ToolNotFoundError
from dse.trial.result import TrialResult
from dse.trial.spec import TrialSpec


class WorkerDied(Exception):
    """The process running a trial died (killed, crashed, out of memory)."""


@dataclass
class Handle:
    ref: Any
    spec: TrialSpec
    worker: dict[str, Any] | None = None  # where the trial ran (host, Ray node id, pid), once collected


#: Key of the task's return value that carries where it ran (not a TrialResult field).
WORKER_KEY = "_worker"


def _run_remote(spec_dict: dict) -> dict:
    from dse.trial.runner import run_trial

    out = run_trial(TrialSpec(**spec_dict)).to_dict()
    out[WORKER_KEY] = where()
    return out


def where() -> dict[str, Any]:
    """This process's host name, Ray node id (when inside Ray) and pid."""
    import socket

    node = None
    try:
        import ray

        node = ray.get_runtime_context().get_node_id()
    except Exception:
        pass
    return {"host": socket.gethostname(), "ray_node": node, "pid": os.getpid()}


class RayExecutor:
    """Runs each trial as a Ray task with ``cpus_per_trial`` CPUs (and custom resources)."""

    def __init__(self, *, address: str | None, cpus_per_trial: float, resources: dict[str, float] | None = None,
                 num_cpus: int | None = None, offer: tuple[str, ...] = ()) -> None:
        import ray

        self.ray = ray
        threads = str(max(1, int(cpus_per_trial)))
        env = {"DSE_TF_THREADS": threads, "OMP_NUM_THREADS": threads, "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "0")}
        for k in ("DSE_CACHE_DIR", "DSE_COMPILE_TIMEOUT_S", "PYTHONPATH", "PATH"):
            if k in os.environ:
                env[k] = os.environ[k]
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "include_dashboard": False,
                                      "log_to_driver": False, "configure_logging": False}
            if address:
                ray.init(address=address, **kwargs)
            else:
                # Ray starts workers at nice 15 so its own daemons stay responsive; in a DSE the trials
                # are the job, and at nice 15 any other load on the machine starves them.
                os.environ.setdefault("RAY_worker_niceness", "0")
                cpus = num_cpus or os.cpu_count() or 1
                # A local Ray offers a tool's resource (a cost backend's executable) when the tool is on
                # PATH here; otherwise such trials could never be placed, so fail now with the reason.
                # ``offer``: tools of other tasks than trials (a verifying backend's), offered the same way
                tools = {*(resources or {}), *offer}
                missing = sorted(r for r in tools if shutil.which(r) is None)
                if missing:
                    raise ToolNotFoundError(f"{', '.join(missing)} not on PATH; install it, or run on a Ray "
                                            "cluster whose nodes offer it as a resource (--address)")
                ray.init(num_cpus=cpus, resources={r: float(cpus) for r in tools}, **kwargs)
        self._fn = ray.remote(max_retries=0)(_run_remote)
        self.cpus_per_trial = cpus_per_trial
        self.resources = resources or {}

    def capacity(self) -> int:
        cpus = self.ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus // self.cpus_per_trial))

    def submit(self, spec: TrialSpec) -> Handle:
        ref = self._fn.options(num_cpus=self.cpus_per_trial, resources=self.resources).remote(spec.to_dict())
        return Handle(ref, spec)

    def wait(self, handles: list[Handle], timeout: float) -> list[Handle]:
        if not handles:
            return []
        refs = [h.ref for h in handles]
        # Return as soon as one trial is done (num_returns=len(refs) would hold a finished trial until
        # all were done or the timeout passed: ~1 s of idle worker per trial with 2 workers), then
        # collect whatever else is ready already.
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and len(refs) > 1:
            ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        ready_ids = {r.hex() for r in ready}
        return [h for h in handles if h.ref.hex() in ready_ids]

    def result(self, handle: Handle) -> TrialResult:
        from ray.exceptions import RayTaskError, TaskCancelledError, WorkerCrashedError

        try:
            out = dict(self.ray.get(handle.ref))
            handle.worker = out.pop(WORKER_KEY, None)
            return TrialResult.from_dict(out)
        except (WorkerCrashedError, TaskCancelledError) as e:
            raise WorkerDied(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e
        except RayTaskError as e:  # an exception escaped run_trial (it should not): report it
            raise WorkerDied(f"task error: {str(e).splitlines()[-1]}") from e
        except Exception as e:  # e.g. ray.exceptions.OutOfMemoryError / NodeDiedError
            raise WorkerDied(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e

    def cancel(self, handle: Handle) -> None:
        self.ray.cancel(handle.ref, force=True)

    def shutdown(self) -> None:
        if self.ray.is_initialized():
            self.ray.shutdown()

"""The study driver's ask/tell loop (``dse run``): start or resume a study.

The driver asks Optuna for design points, runs each as a Ray task (:mod:`dse.driver.executor`),
stores every result in the project tables and tells Optuna. It keeps ``execution.workers`` trials
in flight and stops when the study holds ``n_trials`` design points or ``timeout_s`` has passed.

Robustness (issue: reliability):
- every in-flight trial gets an Optuna heartbeat; a trial whose driver died is found on the next
  start (same host: its driver's PID is gone; elsewhere: the heartbeat is stale), marked failed and
  re-enqueued with the same parameters by Optuna's retry callback (at most ``max_retries`` times);
- a worker that dies mid-trial gives a failed trial with the reason, re-enqueued the same way;
- Ctrl-C and SIGTERM (what a cluster scheduler sends on preemption) cancel the running tasks, mark
  their trials failed ("interrupted") and re-enqueue them, so the next ``dse run`` picks them up;
- while it runs, and before it exits, a driver fails and re-enqueues the trials of drivers that died
  elsewhere (heartbeat older than ``DSE_HEARTBEAT_GRACE_S``, default 60 s);
- every finished trial gets a note and its artifacts in optuna-dashboard (:mod:`dse.driver.dashboard_notes`);
- the count of design points is checked and the next trial asked under one cross-process lock,
  so two drivers on the same study never exceed ``n_trials``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from dse.driver.executor import Handle, RayExecutor, WorkerDied
from dse.driver.paths import StudyPaths, study_paths
from dse.driver.recovery import driver_alive, driver_id
from dse.locks import study_lock
from dse.study.config import StudyConfig
from dse.trial.result import TrialResult
from dse.trial.spec import DEFAULT_PRUNING, TrialSpec
from objectives.designs import DUPLICATE_ATTR, is_duplicate, point_key
from objectives.pareto import study_pareto

log = logging.getLogger(__name__)



def _grace_period_s() -> int:
    """``DSE_HEARTBEAT_GRACE_S`` (default 60): seconds without a heartbeat after which a RUNNING trial of a
    driver on another host is taken as orphaned (failed and re-queued by the next driver that looks)."""
    raw = os.environ.get("DSE_HEARTBEAT_GRACE_S", "").strip()
    try:
        return max(2, int(float(raw))) if raw else 60
    except ValueError:
        return 60


GRACE_PERIOD_S = _grace_period_s()
#: Optuna's heartbeat interval; the driver beats every half of it, well inside the grace period.
HEARTBEAT_INTERVAL_S = max(1, min(10, GRACE_PERIOD_S // 4))
DRIVER_ATTR = "dse_driver"
RETRY_ATTR = "failed_trial"  # set by Optuna's retry callback on a re-enqueued trial
MAX_DUPLICATE_STREAK = 200  # evaluated points proposed in a row before the driver gives up asking


@dataclass
class RunSummary:
    study_name: str
    storage: str  # redacted
    paths: StudyPaths
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    retried: int = 0
    this_run: int = 0
    pareto_size: int = 0
    interrupted: bool = False
    stop_signal: int = 0  # the signal that stopped the run (SIGINT, SIGTERM), 0 if none
    timed_out: bool = False
    exhausted: bool = False  # the (finite) space has no point left that was not evaluated
    duplicates: int = 0  # trials of this run that repeated an evaluated point (recorded, not run)
    failures: list[str] = field(default_factory=list)


def _is_retry(t: optuna.trial.FrozenTrial) -> bool:
    """A re-run of an earlier trial's design point: Optuna's retry callback marks it in the system
    attrs, an interrupted trial's re-queue (:meth:`Driver._fail`) in the user attrs."""
    return RETRY_ATTR in t.system_attrs or RETRY_ATTR in t.user_attrs


class Driver:
    def __init__(self, cfg: StudyConfig, *, progress: bool = True, ray_address: str | None = None) -> None:
        from dse.study.storage import open_study_storage as open_storage
        from search_spaces import make_sampler
        from storage.project_store import RETRY_CALLBACK

        self.cfg = cfg
        self.space = cfg.search_space()
        self.paths = study_paths(cfg)
        from dse.study.config import storage_url

        url = storage_url(cfg)
        _ensure_sqlite_dir(url)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.retry = RETRY_CALLBACK(max_retry=cfg.execution.max_retries)
            self.st = open_storage(url, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S,
                                   stale_trial_callback=self.retry)
        self.summary = RunSummary(cfg.name, self.st.redacted_url, self.paths)
        self.study = self._create_study(make_sampler(cfg))
        self.progress = progress
        self.ray_address = ray_address or cfg.execution.ray_address
        self.driver_id = driver_id()
        self.inflight: dict[int, tuple[Handle, optuna.trial.Trial, float]] = {}
        #: trials that repeated the point of a trial still running: recorded when that one finishes
        self.deferred: dict[int, list[optuna.trial.Trial]] = {}
        self.dup_streak = 0  # duplicates proposed in a row (a sampler stuck on evaluated points)
        self.space_size = self.space.grid_size() if self.space.is_finite else None
        self.last_beat = 0.0
        self.last_recover = time.monotonic()
        self._watched: dict[int, float] = {}
        self._sigint = False
        from dse.driver.dashboard_notes import DashboardWriter

        self.dashboard = DashboardWriter(self.study, self.paths.root, cfg.objective_names, cfg.directions,
                                         family=self.space.family)
        self.dashboard.describe_study(cfg)

    # -- setup -----------------------------------------------------------------------------------

    def _create_study(self, sampler) -> optuna.Study:
        from dse.errors import ConfigError

        study = optuna.create_study(study_name=self.cfg.name, storage=self.st.optuna, sampler=sampler,
                                    directions=self.cfg.directions, load_if_exists=True)
        want = [optuna.study.StudyDirection.MAXIMIZE if d == "maximize" else optuna.study.StudyDirection.MINIMIZE
                for d in self.cfg.directions]
        if study.directions != want:
            raise ConfigError(self.cfg.source, f"study {self.cfg.name!r} already exists in the storage with "
                              f"{len(study.directions)} other objective directions; use another name", "objectives")
        old = study.user_attrs.get("objectives")
        if old is not None and old != self.cfg.objective_names:
            raise ConfigError(self.cfg.source, f"study {self.cfg.name!r} already exists with objectives {old}; "
                              "use another name", "objectives")
        from dse.driver.dashboard_notes import set_metric_names

        set_metric_names(study, self.cfg.objective_names)  # also on studies made by an older dse
        if old is None:
            study.set_user_attr("objectives", self.cfg.objective_names)
            study.set_user_attr("constraints", self.cfg.constraint_labels)
            study.set_user_attr("hardware", vars(self.cfg.hardware))
        if self.cfg.sampler.name == "grid" and not study.user_attrs.get("grid_enqueued"):
            from search_spaces import enqueue_grid

            with study_lock(self.st.project.engine, self.cfg.name):
                if not optuna.load_study(study_name=self.cfg.name, storage=self.st.optuna).user_attrs.get(
                        "grid_enqueued"):
                    enqueue_grid(study, self.space)
                    study.set_user_attr("grid_enqueued", True)
        return study

    def recover(self) -> int:
        """Fail (and re-enqueue) RUNNING trials whose driver is dead; returns how many.

        Under the quota lock: two drivers resuming at once must not both fail (and retry) a trial.
        """
        n = 0
        with study_lock(self.st.project.engine, self.cfg.name):
            running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            stale = self._stale_trial_ids()
            for t in running:
                owner = t.user_attrs.get(DRIVER_ATTR)
                if owner == self.driver_id:
                    continue
                alive = driver_alive(owner)
                if alive is False:
                    self._fail(t.number, "driver died while the trial was running", retry=True)
                    n += 1
                elif alive is None and stale is not None and t._trial_id in stale:
                    self._fail(t.number, f"driver {owner or '?'} stopped beating (no heartbeat for "
                               f"{GRACE_PERIOD_S} s: it died or lost the database)", retry=True)
                    n += 1
            if stale is None:  # an Optuna without the query: its own call fails them (without a reason)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    optuna.storages.fail_stale_trials(self.study)
        return n

    def _stale_trial_ids(self) -> set[int] | None:
        """Ids of RUNNING trials whose heartbeat is older than the grace period (Optuna's own query, the
        one ``optuna.storages.fail_stale_trials`` uses); None where this Optuna has no such query."""
        get = getattr(self.st.optuna, "_get_stale_trial_ids", None)
        if get is None:
            return None
        try:
            return set(get(self.study._study_id))
        except Exception as e:
            log.warning("could not look for stale trials: %s: %s", type(e).__name__, e)
            return set()

    def _recover_now(self) -> None:
        """Look for orphaned trials every quarter of the grace period while the loop runs."""
        now = time.monotonic()
        if now - self.last_recover < max(1.0, GRACE_PERIOD_S / 4):
            return
        self.last_recover = now
        n = self.recover()
        if n:
            log.warning("marked %d trial(s) of a dead driver failed and re-queued them", n)

    def _wait_for_others(self) -> bool:
        """Nothing left to ask here: True while this driver should wait for other drivers' RUNNING trials,
        so that one whose driver died elsewhere is recovered and re-run here. Each such trial is watched
        for one grace period (plus a few heartbeats) at most: had its driver died, it would be stale by
        then; if it is still beating, its driver is alive and finishes it."""
        if self.summary.timed_out:
            return False
        now = time.monotonic()
        watch = GRACE_PERIOD_S + 4 * HEARTBEAT_INTERVAL_S
        others = [t.number for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                  if t.user_attrs.get(DRIVER_ATTR) not in (None, self.driver_id)]
        self._watched = {n: self._watched.get(n, now) for n in others}  # trial -> since when it is watched
        if not [n for n, since in self._watched.items() if now - since <= watch]:
            return False
        time.sleep(1.0)
        self._recover_now()
        return True

    # -- counting --------------------------------------------------------------------------------

    def _counts(self) -> tuple[int, int, int]:
        """(design points asked so far, retries waiting in the queue, distinct points asked so far).

        A trial that repeated an earlier point (:mod:`objectives.designs`) is no design point: it was not
        evaluated and does not count against ``n_trials``.
        """
        trials = self.study.get_trials(deepcopy=False)
        firsts = [t for t in trials if not _is_retry(t) and t.state != TrialState.WAITING and not is_duplicate(t)]
        waiting_retries = sum(1 for t in trials if _is_retry(t) and t.state == TrialState.WAITING)
        return len(firsts), waiting_retries, len({point_key(t.params) for t in firsts})

    def _may_ask(self) -> bool:
        points, waiting_retries, distinct = self._counts()
        if waiting_retries > 0:
            return True
        if self.space_size is not None and distinct >= self.space_size:
            self.summary.exhausted = True  # every point of a finite space is evaluated or running
            return False
        return self.cfg.n_trials is None or points < self.cfg.n_trials

    # -- the loop --------------------------------------------------------------------------------

    def run(self) -> RunSummary:
        self.paths.trials.mkdir(parents=True, exist_ok=True)
        recovered = self.recover()
        if recovered:
            log.warning("marked %d trial(s) of a dead driver failed and re-queued them", recovered)
        from dse.cost.registry import backend_class

        tool = backend_class(self.cfg.hardware.backend).ray_resource()  # a node with the tool runs the trial
        resources = {tool: 1.0} if tool else None
        from dse.driver.progress import RunProgress

        executor: RayExecutor | None = None
        restore_sigint = self._catch_sigint()
        try:  # Ray's start is inside: Ctrl-C while it starts is a clean stop too
            executor = RayExecutor(address=self.ray_address, cpus_per_trial=self.cfg.execution.cpus_per_trial,
                                   resources=resources)
            self._catch_sigint()  # ray.init installs its own SIGTERM handler (sys.exit): ours again
            workers = min(self.cfg.execution.workers, executor.capacity())
            deadline = time.monotonic() + self.cfg.timeout_s if self.cfg.timeout_s else math.inf
            with RunProgress(self, enabled=self.progress) as bar:
                while True:
                    if self._sigint:  # a Ctrl-C whose KeyboardInterrupt Python dropped (see _catch_sigint)
                        raise KeyboardInterrupt
                    if time.monotonic() >= deadline:
                        self.summary.timed_out = True
                    self.dup_streak = 0
                    while (not self.summary.timed_out and len(self.inflight) < workers
                           and self.dup_streak < MAX_DUPLICATE_STREAK and self._submit_next(executor)):
                        pass
                    self._resolve_deferred()
                    self._recover_now()
                    if not self.inflight and not self.deferred:
                        if self._wait_for_others():
                            continue
                        if self.dup_streak >= MAX_DUPLICATE_STREAK:
                            log.warning("the sampler proposed %d evaluated points in a row; stopping",
                                        MAX_DUPLICATE_STREAK)
                            self.summary.exhausted = True
                        break
                    for h in executor.wait([v[0] for v in self.inflight.values()], timeout=1.0):
                        self._collect(executor, h)
                    self._check_timeouts(executor)
                    self._heartbeat()
                    bar.update()
        except KeyboardInterrupt:
            self.summary.interrupted = True
            self._stop_interrupted(executor)
        finally:
            if executor is not None:
                executor.shutdown()
            else:  # Ctrl-C inside ray.init: stop the processes it had started
                _shutdown_ray()
            restore_sigint()
        self._final_counts()
        return self.summary

    def _catch_sigint(self) -> Callable[[], None]:
        """Ctrl-C (SIGINT) and SIGTERM: remember the signal besides raising KeyboardInterrupt; returns
        what restores the old handlers. Called again after Ray's start, which installs its own SIGTERM
        handler (a plain ``sys.exit``, which left the running trials RUNNING).

        Python drops an exception raised while a finalizer or weakref callback runs (it only prints
        "Exception ignored in ..."), and during Ray's start SQLAlchemy's weakref callbacks run often
        enough that a Ctrl-C was lost and the study ran on to its end. The loop checks the flag too.
        Only Python's default SIGINT handler is replaced (an ignored SIGINT, e.g. under nohup, stays
        ignored); an ignored SIGTERM stays ignored too.
        """
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        if not hasattr(self, "_old_handlers"):
            self._old_handlers: dict[int, Any] = {}

        def on_signal(signum: int, frame: Any) -> None:
            self._sigint = True
            self.summary.stop_signal = self.summary.stop_signal or signum
            raise KeyboardInterrupt

        on_signal.dse_driver = True  # type: ignore[attr-defined]
        for sig in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(sig)
            if getattr(current, "dse_driver", False):  # ours already
                continue
            if sig == signal.SIGINT and current is not signal.default_int_handler:
                continue
            if sig == signal.SIGTERM and current is signal.SIG_IGN:
                continue
            self._old_handlers.setdefault(sig, current)
            signal.signal(sig, on_signal)

        def restore() -> None:
            for sig, old in self._old_handlers.items():
                signal.signal(sig, old if old is not None else signal.SIG_DFL)

        return restore

    def _stop_interrupted(self, executor: RayExecutor | None) -> None:
        """Ctrl-C: cancel the running tasks and fail (and re-queue) every trial this driver left RUNNING.

        Not only those in flight: Ctrl-C may land between ``ask`` and the submission, or between a
        trial's result and its ``tell``, and no trial may stay RUNNING behind a clean stop.
        """
        if executor is not None:
            for h, _, _ in self.inflight.values():
                executor.cancel(h)
        how = "SIGTERM" if self.summary.stop_signal == signal.SIGTERM else "Ctrl-C"
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.number in self.inflight or t.user_attrs.get(DRIVER_ATTR) == self.driver_id:
                self._fail(t.number, f"interrupted ({how}); re-queued for the next run", retry=True,
                           count_retry=False)
        self.inflight.clear()

    def _submit_next(self, executor: RayExecutor) -> bool:
        with study_lock(self.st.project.engine, self.cfg.name):
            if not self._may_ask():
                return False
            propose = getattr(self.study.sampler, "next_point", None)  # a cost-aware sampler's cheap point
            cheap = propose(self.study) if propose is not None else None
            if cheap is not None:
                self.study.enqueue_trial(cheap, skip_if_exists=True)
            with warnings.catch_warnings():  # "heartbeat is supposed to be used with optimize": we beat
                warnings.simplefilter("ignore", UserWarning)
                trial = self.study.ask()
            trial.set_user_attr(DRIVER_ATTR, self.driver_id)
            if trial.user_attrs.get("fail_reason") is not None:  # copied by Optuna from the try it repeats
                trial.set_user_attr("fail_reason", None)
        self.st.optuna.record_heartbeat(trial._trial_id)
        try:
            point = self.space.sample(trial)
            if self._reuse_duplicate(trial):
                return True
            design = self.space.design_point(point)
        except Exception as e:  # a search-space bug must not leave a RUNNING trial behind
            self._fail(trial.number, f"search space: {type(e).__name__}: {e}", retry=False)
            return True
        trial.set_user_attr("design", {**self.space.family.summary(design), "family": design.family})
        spec = TrialSpec(
            study_name=self.cfg.name, trial_number=trial.number, design=design,
            data=self.cfg.data.spec(),
            objectives=self.cfg.objective_names, work_dir=str(self.paths.trials / f"{trial.number:05d}"),
            model_cache_dir=str(self.paths.model_cache), build_cache_dir=str(self.paths.build_cache),
            max_utilisation=self._max_utilisation(),
            pruning={**DEFAULT_PRUNING, "enabled": self.cfg.execution.prune_trainings})
        self.inflight[trial.number] = (executor.submit(spec), trial, time.monotonic())
        self.summary.this_run += 1
        return True

    def _reuse_duplicate(self, trial: optuna.trial.Trial) -> bool:
        """Samplers re-propose points in small discrete spaces; a design point that was evaluated (or is
        running) is not evaluated again: the earlier trial's result is recorded for this trial too, now or
        when the earlier trial finishes (:mod:`objectives.designs`)."""
        key = point_key(trial.params)
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                                TrialState.RUNNING)):
            if t.number == trial.number or is_duplicate(t) or point_key(t.params) != key:
                continue
            if t.state == TrialState.RUNNING:
                trial.set_user_attr(DUPLICATE_ATTR, t.number)
                self.deferred.setdefault(t.number, []).append(trial)
            elif not self._record_duplicate(trial, t):
                continue
            self.dup_streak += 1
            self.summary.duplicates += 1
            return True
        self.dup_streak = 0
        return False

    def _record_duplicate(self, trial: optuna.trial.Trial, original: optuna.trial.FrozenTrial) -> bool:
        """Record ``original``'s stored result for ``trial``; False when there is none to copy."""
        result = self.st.project.load_result(self.cfg.name, original.number)
        if result is None or result.status not in ("complete", "pruned"):
            return False
        if result.status == "pruned":
            result.fail_reason = f"same design point as pruned trial {original.number}: {result.fail_reason}"
        trial.set_user_attr(DUPLICATE_ATTR, original.number)
        if "design" in original.user_attrs:
            trial.set_user_attr("design", original.user_attrs["design"])
        result.timings = {"total": 0.0}
        self._record(trial, result)
        return True

    def _resolve_deferred(self) -> None:
        """Record the trials that waited for a running trial with their point, once it has finished."""
        if not self.deferred:
            return
        states = {t.number: t for t in self.study.get_trials(deepcopy=False)}
        for number in list(self.deferred):
            original = states[number]
            if not original.state.is_finished():
                for trial in self.deferred[number]:
                    self.st.optuna.record_heartbeat(trial._trial_id)
                continue
            for trial in self.deferred.pop(number):
                if not self._record_duplicate(trial, original):
                    self._fail(trial.number, f"same design point as trial {number}, which "
                                             f"{original.state.name.lower()}", retry=False)

    def _max_utilisation(self) -> float | None:
        caps = [c.bound for c in self.cfg.constraints if c.kind == "max" and c.metric.endswith("_util")]
        return min(caps) if caps else None

    def _collect(self, executor: RayExecutor, h: Handle) -> None:
        number = h.spec.trial_number
        _, trial, _ = self.inflight.pop(number)
        try:
            result = executor.result(h)
        except WorkerDied as e:
            self._fail(number, f"worker died: {e}", retry=True)
            return
        if h.worker:  # where it ran: the host and the Ray node
            trial.set_user_attr("worker", h.worker)
        self._record(trial, result, worker=h.worker)

    def _check_timeouts(self, executor: RayExecutor) -> None:
        limit = self.cfg.execution.trial_timeout_s
        if not limit:
            return
        now = time.monotonic()
        for number, (h, _, started) in list(self.inflight.items()):
            if now - started > limit:
                executor.cancel(h)
                self.inflight.pop(number)
                self._fail(number, f"timeout: trial ran longer than {limit:g} s", retry=False)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_beat < HEARTBEAT_INTERVAL_S / 2:
            return
        self.last_beat = now
        for _, trial, _ in self.inflight.values():
            self.st.optuna.record_heartbeat(trial._trial_id)

    # -- recording -------------------------------------------------------------------------------

    def _record(self, trial: optuna.trial.Trial, result: TrialResult, *,
                worker: dict[str, Any] | None = None) -> None:
        from search_spaces import record_constraints
        from storage.project_store import attempt_of, user_attrs_for

        frozen = self.st.optuna.get_trial(trial._trial_id)
        self.st.project.save_result(self.cfg.name, trial._trial_id, trial.number, result,
                                    attempt=attempt_of(frozen))
        for k, v in user_attrs_for(result).items():
            trial.set_user_attr(k, v)
        # the dashboard's note and artifacts (before tell: artifacts are the trial's system attrs); never raises
        self.dashboard.record(trial, result, worker=worker, duplicate_of=trial.user_attrs.get("duplicate_of"))
        if result.status == "complete":
            record_constraints(trial, self.cfg, result.objectives)
            values = [float(result.objectives[o]) for o in self.cfg.objective_names]
            self.study.tell(trial, values)
        elif result.status == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.FAIL)
            self.summary.failures.append(f"trial {trial.number}: {result.fail_reason}")

    def _fail(self, number: int, reason: str, *, retry: bool, count_retry: bool = True) -> None:
        """Mark trial ``number`` failed with ``reason`` (stored) and, if asked, re-enqueue it."""
        from storage.project_store import attempt_of

        frozen = next(t for t in self.study.get_trials(deepcopy=False) if t.number == number)
        result = TrialResult(params=dict(frozen.params), status="failed", fail_reason=reason)
        with contextlib.suppress(Exception):  # the reason is also a user attr; storage must not block this
            self.st.project.save_result(self.cfg.name, frozen._trial_id, number, result, attempt=attempt_of(frozen))
        self.st.optuna.set_trial_user_attr(frozen._trial_id, "fail_reason", reason)
        if frozen.state == TrialState.RUNNING:
            self.study.tell(number, state=TrialState.FAIL)
        self.dashboard.failed(frozen._trial_id, number, result)
        self.summary.failures.append(f"trial {number}: {reason}")
        if retry:
            frozen = self.st.optuna.get_trial(frozen._trial_id)
            if count_retry:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    before = len(self.study.get_trials(deepcopy=False))
                    self.retry(self.study, frozen)
                    self.summary.retried += len(self.study.get_trials(deepcopy=False)) - before
            else:  # an interruption is not the trial's fault: re-queue without using up a retry
                self.study.enqueue_trial(frozen.params, user_attrs={RETRY_ATTR: number, "retry_history":
                                                                    [*frozen.user_attrs.get("retry_history", []),
                                                                     number]},
                                         skip_if_exists=False)
                self.summary.retried += 1

    def _final_counts(self) -> None:
        trials = self.study.get_trials(deepcopy=False)
        s = self.summary
        s.complete = sum(t.state == TrialState.COMPLETE for t in trials)
        s.pruned = sum(t.state == TrialState.PRUNED for t in trials)
        s.failed = sum(t.state == TrialState.FAIL for t in trials)
        s.pareto_size = len(study_pareto(self.study))


def _shutdown_ray() -> None:
    ray = sys.modules.get("ray")
    if ray is not None:
        with contextlib.suppress(Exception):
            ray.shutdown()


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)


def run_study(cfg: StudyConfig, *, progress: bool = True, ray_address: str | None = None) -> RunSummary:
    return Driver(cfg, progress=progress, ray_address=ray_address).run()


__all__: list[Any] = ["RunSummary", "StudyPaths", "run_study", "study_paths"]

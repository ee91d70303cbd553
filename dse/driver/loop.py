"""The study driver's ask/tell loop (``dse run``): start or resume a study.

The driver asks Optuna for design points, runs each as a Ray task (:mod:`dse.driver.executor`),
stores every result in the project tables and tells Optuna. It keeps ``execution.workers`` trials
in flight and stops when the study holds ``n_trials`` design points or ``timeout_s`` has passed.

Robustness (the jobs live in their own modules: asking and repeated points in ``asking``, recording in
``recording``, dead drivers in ``recovery``, stop signals in ``signals``):
- every in-flight trial gets an Optuna heartbeat; a trial whose driver died is found on the next
  start (same host: its driver's PID is gone; elsewhere: the heartbeat is stale), marked failed and
  re-enqueued with the same parameters by Optuna's retry callback (at most ``max_retries`` times);
- a worker that dies mid-trial gives a failed trial with the reason, re-enqueued the same way;
- Ctrl-C and SIGTERM (what a cluster scheduler sends on preemption) cancel the running tasks, mark
  their trials failed ("interrupted") and re-enqueue them, so the next ``dse run`` picks them up;
- while it runs, and before it exits, a driver fails and re-enqueues the trials of drivers that died
  elsewhere (heartbeat older than ``DSE_HEARTBEAT_GRACE_S``, default 60 s);
- every finished trial gets a note and its artifacts in optuna-dashboard (:mod:`dse.driver.dashboard_notes`);
- with ``hardware.verify``, the front's best designs are re-costed by a real backend as Ray tasks beside the
  trials, recorded before and after they run (:mod:`dse.verify.jobs`); the run ends when they are done;
- the count of design points is checked and the next trial asked under one cross-process lock,
  so two drivers on the same study never exceed ``n_trials``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from dse.driver.asking import MAX_DUPLICATE_STREAK, DesignPoints
from dse.driver.executor import Handle, RayExecutor, WorkerDied
from dse.driver.optuna_api import trial_id
from dse.driver.paths import StudyPaths, study_paths
from dse.driver.recording import RunSummary, TrialRecorder
from dse.driver.recovery import DRIVER_ATTR, GRACE_PERIOD_S, HEARTBEAT_INTERVAL_S, Recovery, driver_id
from dse.driver.signals import StopSignals
from dse.locks import study_lock
from dse.study.config import StudyConfig
from dse.trial.spec import DEFAULT_PRUNING, TrialSpec

log = logging.getLogger(__name__)


class Driver:
    """One ``dse run`` of a study: wires the study's storage, sampler and Ray workers to the jobs above and
    runs the loop (ask, submit, collect, time out, beat)."""

    def __init__(self, cfg: StudyConfig, *, progress: bool = True, ray_address: str | None = None) -> None:
        from dse.driver.dashboard_notes import DashboardWriter
        from dse.study.config import storage_url
        from dse.study.storage import open_study_storage
        from search_spaces import make_sampler
        from storage.project_store import RETRY_CALLBACK

        self.cfg = cfg
        self.space = cfg.search_space()
        self.paths = study_paths(cfg)
        url = storage_url(cfg)
        _ensure_sqlite_dir(url)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = RETRY_CALLBACK(max_retry=cfg.execution.max_retries)
            self.st = open_study_storage(url, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S,
                                         stale_trial_callback=retry)
        self.summary = RunSummary(cfg.name, self.st.redacted_url, self.paths)
        self.study = self._create_study(make_sampler(cfg))
        self.progress = progress
        self.ray_address = ray_address or cfg.execution.ray_address
        self.driver_id = driver_id()
        self.inflight: dict[int, tuple[Handle, optuna.trial.Trial, float]] = {}
        self.last_beat = 0.0
        self.signals = StopSignals()
        dashboard = DashboardWriter(self.study, self.paths.root, cfg.objective_names, cfg.directions,
                                    family=self.space.family)
        dashboard.describe_study(cfg)
        self.recorder = TrialRecorder(cfg, self.st, self.study, dashboard, self.summary, retry)
        self.points = DesignPoints(cfg, self.st, self.study, self.space, self.summary, self.recorder, self.driver_id)
        self.recovery = Recovery(self.st, self.study, cfg.name, self.recorder, self.summary, self.driver_id)
        self.trials_left = True  # whether the last attempt to start a trial found one (verifications wait for
        # settled front designs while it does)
        self.verifier = None
        if cfg.verify is not None:  # the front's designs re-costed by a real backend, as tasks beside the trials
            from dse.verify.jobs import VerificationJobs

            self.verifier = VerificationJobs(cfg, self.st, self.study, cfg.verify.backend, self.driver_id,
                                             top_k=cfg.verify.top_k, max_retries=cfg.execution.max_retries,
                                             work_root=self.paths.trials)

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
        if self.verifier is not None:
            self.verifier.recover()
        return self.recovery.recover()

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
        restore_sigint = self.signals.catch()
        try:  # Ray's start is inside: Ctrl-C while it starts is a clean stop too
            verify_tool = self.verifier.resource(self.verifier.backend) if self.verifier is not None else None
            executor = RayExecutor(address=self.ray_address, cpus_per_trial=self.cfg.execution.cpus_per_trial,
                                   resources=resources, offer=(verify_tool,) if verify_tool else ())
            self.signals.catch()  # ray.init installs its own SIGTERM handler (sys.exit): ours again
            workers = min(self.cfg.execution.workers, executor.capacity())
            if self.verifier is not None:
                self.verifier.start(executor.ray, self.cfg.execution.cpus_per_trial)
                self.verifier.queue_front()  # a resumed study's front may have designs left to verify
            deadline = time.monotonic() + self.cfg.timeout_s if self.cfg.timeout_s else math.inf
            with RunProgress(self, enabled=self.progress) as bar:
                while True:
                    if self.signals.requested:  # a Ctrl-C whose KeyboardInterrupt Python dropped (StopSignals)
                        raise KeyboardInterrupt
                    if time.monotonic() >= deadline:
                        self.summary.timed_out = True
                    self.points.dup_streak = 0
                    verifying = self._verifications(workers)
                    while (not self.summary.timed_out and len(self.inflight) + verifying < workers
                           and not self.points.stuck):
                        self.trials_left = self._submit_next(executor)
                        if not self.trials_left:
                            verifying = self._verifications(workers)  # no trial to start: the queued may
                            break
                    self.points.resolve_deferred()
                    self.recovery.recover_now()
                    if not self.inflight and not self.points.deferred and not self._verifying():
                        if self.recovery.wait_for_others():
                            continue
                        if self.points.stuck:
                            log.warning("the sampler proposed %d evaluated points in a row; stopping",
                                        MAX_DUPLICATE_STREAK)
                            self.summary.exhausted = True
                        break
                    done = executor.wait([v[0] for v in self.inflight.values()], timeout=1.0)
                    for h in done:
                        self._collect(executor, h)
                    if self.verifier is not None:
                        self.verifier.completions += len(done)
                    verified = self.verifier.poll(timeout=0.0 if self.inflight else 1.0) if self.verifier else []
                    if self.verifier is not None and (verified or done):
                        self.verifier.queue_front()  # the front changed: designs that entered it
                    self._check_timeouts(executor)
                    self._heartbeat()
                    bar.update()
        except KeyboardInterrupt:
            self.summary.interrupted = True
            if self.verifier is not None:
                self.verifier.stop()
            self.summary.stop_signal = self.summary.stop_signal or self.signals.signum
            self._stop_interrupted(executor)
        finally:
            if executor is not None:
                executor.shutdown()
            else:  # Ctrl-C inside ray.init: stop the processes it had started
                _shutdown_ray()
            restore_sigint()
        self.recorder.final_counts()
        if self.verifier is not None:  # the front `dse pareto` shows: with the real numbers where they exist
            from dse.verify.view import verified_front

            self.summary.pareto_size = len(verified_front(self.cfg, self.st, self.study)[0])
        return self.summary

    def _verifications(self, workers: int) -> int:
        """Start queued verifications in free worker slots (before new trials: they are few and finish the
        front; while trials are still being started, in all slots but one, and only the designs that held
        their place in the front for a round of trials, :mod:`dse.verify.jobs`); returns how many run now.

        A verification costs a real tool's minutes; trials that cost an estimate's seconds are what moves the
        front meanwhile, so they keep a slot: verifications in every slot would freeze the front on designs
        the next trials dominate."""
        if self.verifier is None:
            return 0
        if self.summary.timed_out:
            self.verifier.stopping = True  # finish the running ones, start none
        else:
            slots = workers - len(self.inflight) - len(self.verifier.inflight)
            if self.trials_left:  # trials keep a slot (they move the front) and only settled designs start
                slots = min(slots, workers - 1 - len(self.verifier.inflight))
            self.verifier.submit(slots, settle=workers if self.trials_left else 0)
        return len(self.verifier.inflight)

    def _verifying(self) -> bool:
        return self.verifier is not None and self.verifier.pending

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
                self.recorder.fail(t.number, f"interrupted ({how}); re-queued for the next run", retry=True,
                                   count_retry=False)
        self.inflight.clear()

    def _submit_next(self, executor: RayExecutor) -> bool:
        trial = self.points.ask()
        if trial is None:
            return False
        try:
            point = self.space.sample(trial)
            if self.points.reuse_duplicate(trial):
                return True
            design = self.space.design_point(point)
        except Exception as e:  # a search-space bug must not leave a RUNNING trial behind
            self.recorder.fail(trial.number, f"search space: {type(e).__name__}: {e}", retry=False)
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

    def _max_utilisation(self) -> float | None:
        caps = [c.bound for c in self.cfg.constraints if c.kind == "max" and c.metric.endswith("_util")]
        return min(caps) if caps else None

    def _collect(self, executor: RayExecutor, h: Handle) -> None:
        number = h.spec.trial_number
        _, trial, _ = self.inflight.pop(number)
        try:
            result = executor.result(h)
        except WorkerDied as e:
            self.recorder.fail(number, f"worker died: {e}", retry=True)
            return
        self.recorder.record(trial, result, worker=h.worker)

    def _check_timeouts(self, executor: RayExecutor) -> None:
        limit = self.cfg.execution.trial_timeout_s
        if not limit:
            return
        now = time.monotonic()
        for number, (h, _, started) in list(self.inflight.items()):
            if now - started > limit:
                executor.cancel(h)
                self.inflight.pop(number)
                self.recorder.fail(number, f"timeout: trial ran longer than {limit:g} s", retry=False)

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_beat < HEARTBEAT_INTERVAL_S / 2:
            return
        self.last_beat = now
        for _, trial, _ in self.inflight.values():
            self.st.optuna.record_heartbeat(trial_id(trial))
        if self.verifier is not None:
            self.verifier.beat()


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

"""Recording finished and failed trials: the result in dse's tables, the dashboard's note, Optuna's tell,
and the re-queue of a trial that should run again."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import TrialState

from dse.driver.dashboard_notes import DashboardWriter
from dse.driver.optuna_api import asked_trial, set_user_attrs, trial_id
from dse.driver.paths import StudyPaths
from dse.study.config import StudyConfig
from dse.trial.result import TrialResult
from objectives.pareto import study_pareto

RETRY_ATTR = "failed_trial"  # set by Optuna's retry callback on a re-enqueued trial


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


def is_retry(t: optuna.trial.FrozenTrial) -> bool:
    """A re-run of an earlier trial's design point: Optuna's retry callback marks it in the system
    attrs, an interrupted trial's re-queue (:meth:`TrialRecorder.fail`) in the user attrs."""
    return RETRY_ATTR in t.system_attrs or RETRY_ATTR in t.user_attrs


class TrialRecorder:
    """Stores what a trial ended with, for one study run (its counts go to ``summary``)."""

    def __init__(self, cfg: StudyConfig, st: Any, study: optuna.Study, dashboard: DashboardWriter,
                 summary: RunSummary, retry: Any) -> None:
        self.cfg, self.st, self.study, self.dashboard, self.summary, self.retry = cfg, st, study, dashboard, summary, retry

    def record(self, trial: optuna.trial.Trial, result: TrialResult, *, worker: dict[str, Any] | None = None) -> None:
        """Save ``result``, write the trial's note and artifacts, then tell Optuna."""
        from objectives.constraints import CONSTRAINTS_ATTR
        from objectives.constraints import values as constraint_values
        from storage.project_store import attempt_of, user_attrs_for

        # the retry history is in the system attrs the trial was enqueued with: as Optuna read them at ask
        frozen = asked_trial(trial)
        self.st.project.save_result(self.cfg.name, trial_id(trial), trial.number, result, attempt=attempt_of(frozen))
        attrs = {**({"worker": worker} if worker else {}), **user_attrs_for(result)}
        if result.status == "complete":  # where the sampler's constraints function reads them (before tell)
            attrs[CONSTRAINTS_ATTR] = constraint_values(self.cfg.constraints, result.objectives)
        set_user_attrs(trial, attrs)  # one transaction, not one per attribute
        # the dashboard's note and artifacts (before tell: artifacts are the trial's system attrs); never raises
        self.dashboard.record(trial, result, worker=worker, duplicate_of=trial.user_attrs.get("duplicate_of"))
        if result.status == "complete":
            values = [float(result.objectives[o]) for o in self.cfg.objective_names]
            self.study.tell(trial, values)
        elif result.status == "pruned":
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.FAIL)
            self.summary.failures.append(f"trial {trial.number}: {result.fail_reason}")

    def fail(self, number: int, reason: str, *, retry: bool, count_retry: bool = True) -> None:
        """Mark trial ``number`` failed with ``reason`` (stored) and, if asked, re-enqueue it."""
        from storage.project_store import attempt_of

        frozen = next(t for t in self.study.get_trials(deepcopy=False) if t.number == number)
        result = TrialResult(params=dict(frozen.params), status="failed", fail_reason=reason)
        with contextlib.suppress(Exception):  # the reason is also a user attr; storage must not block this
            self.st.project.save_result(self.cfg.name, trial_id(frozen), number, result, attempt=attempt_of(frozen))
        self.st.optuna.set_trial_user_attr(trial_id(frozen), "fail_reason", reason)
        if frozen.state == TrialState.RUNNING:
            self.study.tell(number, state=TrialState.FAIL)
        self.dashboard.failed(trial_id(frozen), number, result)
        self.summary.failures.append(f"trial {number}: {reason}")
        if retry:
            self._requeue(self.st.optuna.get_trial(trial_id(frozen)), count_retry)

    def _requeue(self, frozen: optuna.trial.FrozenTrial, count_retry: bool) -> None:
        if count_retry:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                before = len(self.study.get_trials(deepcopy=False))
                self.retry(self.study, frozen)
                self.summary.retried += len(self.study.get_trials(deepcopy=False)) - before
        else:  # an interruption is not the trial's fault: re-queue without using up a retry
            history = [*frozen.user_attrs.get("retry_history", []), frozen.number]
            self.study.enqueue_trial(frozen.params, user_attrs={RETRY_ATTR: frozen.number, "retry_history": history},
                                     skip_if_exists=False)
            self.summary.retried += 1

    def final_counts(self) -> None:
        trials = self.study.get_trials(deepcopy=False)
        s = self.summary
        s.complete = sum(t.state == TrialState.COMPLETE for t in trials)
        s.pruned = sum(t.state == TrialState.PRUNED for t in trials)
        s.failed = sum(t.state == TrialState.FAIL for t in trials)
        s.pareto_size = len(study_pareto(self.study))

"""Asking for design points: how many a study still needs, the next trial (under the study's lock), and
the points a sampler proposes again, which are recorded with the earlier trial's result instead of run."""

from __future__ import annotations

import warnings
from typing import Any

import optuna
from optuna.trial import TrialState

from dse.driver.optuna_api import trial_id
from dse.driver.recording import RunSummary, TrialRecorder, is_retry
from dse.driver.recovery import DRIVER_ATTR
from dse.locks import study_lock
from dse.study.config import StudyConfig
from objectives.designs import DUPLICATE_ATTR, is_duplicate, point_key

MAX_DUPLICATE_STREAK = 200  # evaluated points proposed in a row before the driver gives up asking


class DesignPoints:
    """The study's design points as one driver asks for them."""

    def __init__(self, cfg: StudyConfig, st: Any, study: optuna.Study, space: Any, summary: RunSummary,
                 recorder: TrialRecorder, driver: str) -> None:
        self.cfg, self.st, self.study, self.space = cfg, st, study, space
        self.summary, self.recorder, self.driver = summary, recorder, driver
        #: trials that repeated the point of a trial still running: recorded when that one finishes
        self.deferred: dict[int, list[optuna.trial.Trial]] = {}
        self.dup_streak = 0  # duplicates proposed in a row (a sampler stuck on evaluated points)
        self.space_size = space.grid_size() if space.is_finite else None
        #: the study's trials as :meth:`counts` read them under the lock, before the last ask (reused by
        #: :meth:`reuse_duplicate`: one read of every trial per asked trial, not two)
        self._trials: list[optuna.trial.FrozenTrial] = []

    # -- counting --------------------------------------------------------------------------------

    def counts(self) -> tuple[int, int, int]:
        """(design points asked so far, retries waiting in the queue, distinct points asked so far).

        A trial that repeated an earlier point (:mod:`objectives.designs`) is no design point: it was not
        evaluated and does not count against ``n_trials``.
        """
        trials = self._trials = self.study.get_trials(deepcopy=False)
        firsts = [t for t in trials if not is_retry(t) and t.state != TrialState.WAITING and not is_duplicate(t)]
        waiting_retries = sum(1 for t in trials if is_retry(t) and t.state == TrialState.WAITING)
        return len(firsts), waiting_retries, len({point_key(t.params) for t in firsts})

    def may_ask(self) -> bool:
        points, waiting_retries, distinct = self.counts()
        if waiting_retries > 0:
            return True
        if self.space_size is not None and distinct >= self.space_size:
            self.summary.exhausted = True  # every point of a finite space is evaluated or running
            return False
        return self.cfg.n_trials is None or points < self.cfg.n_trials

    @property
    def stuck(self) -> bool:
        """The sampler proposed only evaluated points for a long stretch."""
        return self.dup_streak >= MAX_DUPLICATE_STREAK

    # -- asking ----------------------------------------------------------------------------------

    def ask(self) -> optuna.trial.Trial | None:
        """The next trial, marked as this driver's; None when the study needs none. Counting and asking
        happen under one cross-process lock, so two drivers never exceed ``n_trials``."""
        with study_lock(self.st.project.engine, self.cfg.name):
            if not self.may_ask():
                return None
            propose = getattr(self.study.sampler, "next_point", None)  # a cost-aware sampler's cheap point
            cheap = propose(self.study) if propose is not None else None
            if cheap is not None:
                self.study.enqueue_trial(cheap, skip_if_exists=True)
            with warnings.catch_warnings():  # "heartbeat is supposed to be used with optimize": we beat
                warnings.simplefilter("ignore", UserWarning)
                trial = self.study.ask()
            trial.set_user_attr(DRIVER_ATTR, self.driver)
            if trial.user_attrs.get("fail_reason") is not None:  # copied by Optuna from the try it repeats
                trial.set_user_attr("fail_reason", None)
        self.st.optuna.record_heartbeat(trial_id(trial))
        return trial

    # -- repeated points -------------------------------------------------------------------------

    def reuse_duplicate(self, trial: optuna.trial.Trial) -> bool:
        """Samplers re-propose points in small discrete spaces; a design point that was evaluated (or is
        running) is not evaluated again: the earlier trial's result is recorded for this trial too, now or
        when the earlier trial finishes (:mod:`objectives.designs`)."""
        key = point_key(trial.params)
        # The trials read before this one was asked: one that finished since is taken as running and its
        # result copied once it is read finished (resolve_deferred); one asked since by another driver is
        # missed (its point may then be evaluated twice, as when two drivers ask at once)
        live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        for t in self._trials:
            if t.state not in live or t.number == trial.number or is_duplicate(t) or point_key(t.params) != key:
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
        self.recorder.record(trial, result)
        return True

    def resolve_deferred(self) -> None:
        """Record the trials that waited for a running trial with their point, once it has finished."""
        if not self.deferred:
            return
        states = {t.number: t for t in self.study.get_trials(deepcopy=False)}
        for number in list(self.deferred):
            original = states[number]
            if not original.state.is_finished():
                for trial in self.deferred[number]:
                    self.st.optuna.record_heartbeat(trial_id(trial))
                continue
            for trial in self.deferred.pop(number):
                if not self._record_duplicate(trial, original):
                    self.recorder.fail(trial.number, f"same design point as trial {number}, which "
                                                     f"{original.state.name.lower()}", retry=False)

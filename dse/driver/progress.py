"""The live progress line of ``dse run``: trials done/running/failed, ETA and the Pareto size."""

from __future__ import annotations

import sys
import time
from typing import Any

from optuna.trial import TrialState


class RunProgress:
    def __init__(self, driver: Any, enabled: bool = True) -> None:
        self.driver = driver
        self.enabled = enabled
        self._progress = None
        self._task = None
        self._last = 0.0
        self._t0 = time.monotonic()

    def __enter__(self) -> RunProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[stats]}"), TimeRemainingColumn(),
                console=Console(file=sys.stderr), transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.driver.cfg.name, total=self.driver.cfg.n_trials,
                                                 stats="starting")
            self.update(force=True)
        return self

    def update(self, force: bool = False) -> None:
        if self._progress is None or (not force and time.monotonic() - self._last < 2.0):
            return
        self._last = time.monotonic()
        from objectives.pareto import study_pareto

        study = self.driver.study
        trials = study.get_trials(deepcopy=False)
        done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
        failed = sum(t.state == TrialState.FAIL for t in trials)
        stats = (f"done {done}  running {len(self.driver.inflight)}  failed {failed}  "
                 f"pareto {len(study_pareto(study))}")
        self._progress.update(self._task, completed=done, stats=stats)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self.update(force=True)
            self._progress.__exit__(*exc)

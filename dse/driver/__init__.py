"""The study driver: Optuna ask/tell over trials that run as Ray tasks.

- :mod:`dse.driver.loop` -- the ask/tell loop, retries, Ctrl-C, recording results;
- :mod:`dse.driver.executor` -- trials as Ray tasks;
- :mod:`dse.driver.recovery` -- driver ids, finding trials whose driver died;
- :mod:`dse.driver.paths` -- where a study's artifacts and caches live;
- :mod:`dse.driver.progress` -- the live progress display.
"""

from dse.driver.loop import RunSummary, run_study
from dse.driver.paths import study_paths

__all__ = ["RunSummary", "run_study", "study_paths"]

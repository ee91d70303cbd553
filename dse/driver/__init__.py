"""The study driver: Optuna ask/tell over trials that run as Ray tasks."""

from dse.driver.run import RunSummary, run_study, study_paths

__all__ = ["RunSummary", "run_study", "study_paths"]

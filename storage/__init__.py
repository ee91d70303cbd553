"""One database for a study: Optuna's RDB tables plus dse's own ``dse_*`` tables.

>>> from storage import open_storage
>>> st = open_storage("sqlite:///runs/study.db")
>>> study = optuna.create_study(storage=st.optuna, study_name="s", directions=[...])
>>> st.project.save_result("s", trial._trial_id, trial.number, result)
>>> st.project.results("s")  # pandas DataFrame, one row per trial
"""

from storage.db import DseStorage, open_storage, redact_url, url_with_password
from storage.project_store import ProjectStore, attempt_of, user_attrs_for

__all__ = [
    "DseStorage",
    "ProjectStore",
    "attempt_of",
    "open_storage",
    "redact_url",
    "url_with_password",
    "user_attrs_for",
]

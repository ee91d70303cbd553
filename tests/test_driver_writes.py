"""The driver's batched writes (dse.driver.optuna_api): what they store is what Optuna's and optuna-dashboard's
own one-at-a-time calls store, read back through their public readers."""

from __future__ import annotations

import optuna
import pytest
from optuna_dashboard import get_note, save_note

from dse.driver.optuna_api import save_trial_note, set_user_attrs
from storage import open_storage


@pytest.fixture()
def study(tmp_path):
    st = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    yield optuna.create_study(study_name="s", storage=st.optuna, directions=["minimize"])
    st.close()


def test_user_attrs_in_one_transaction_are_the_trials_user_attrs(study):
    trial = study.ask()
    trial.set_user_attr("status", "old")  # one already there: replaced
    attrs = {"status": "complete", "lut": 120, "latency_us": 0.25, "worker": {"host": "h", "pid": 7}, "none": None}
    set_user_attrs(trial, attrs)
    assert trial.user_attrs == attrs  # what the running trial reports
    study.tell(trial, [1.0])
    assert study.trials[0].user_attrs == attrs  # what a fresh read of the storage gives


def test_user_attrs_of_a_finished_trial_are_refused_like_optunas(study):
    trial = study.ask()
    study.tell(trial, [1.0])
    with pytest.raises(RuntimeError):
        trial.set_user_attr("a", 1)
    with pytest.raises(RuntimeError):
        set_user_attrs(trial, {"a": 1})
    assert "a" not in study.trials[0].user_attrs


def test_a_note_reads_back_through_optuna_dashboard_and_replaces_a_longer_one(study):
    other, trial = study.ask(), study.ask()
    save_note(other, "the other trial's note")
    long = "x" * 5000  # three chunks of optuna-dashboard's 2045 characters
    save_trial_note(trial, long)
    assert get_note(trial) == long
    save_trial_note(trial, "short")  # the two stale chunks must not be read as part of the note
    assert get_note(trial) == "short"
    save_note(trial, "by optuna-dashboard")  # its own writer sees our version and goes on from it
    assert get_note(trial) == "by optuna-dashboard"
    assert get_note(other) == "the other trial's note"


def test_sqlite_connections_sync_at_checkpoints_only(tmp_path):
    st = open_storage(f"sqlite:///{tmp_path / 's.db'}")
    try:
        for engine in (st.project.engine, st.optuna.engine):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    finally:
        st.close()

"""storage against a real PostgreSQL server: set DSE_TEST_POSTGRES_URL (e.g. from .ci/postgres.sh).

Skipped, with the reason, when the variable is unset or the server cannot be reached. Every test
works in its own study names and deletes them afterwards, so a shared database is fine.
"""

from __future__ import annotations

import os
import time
import uuid

import optuna
import pytest
import sqlalchemy
from storage_helpers import (
    DIRECTIONS,
    check_concurrent_study,
    failed_result,
    full_result,
    run_writers,
    table_counts,
)

from storage import open_storage, redact_url
from storage.errors import StorageConfigError as ConfigError

pytestmark = pytest.mark.postgres

ENV = "DSE_TEST_POSTGRES_URL"

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def pg_url() -> str:
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"{ENV} is not set (run `eval \"$(.ci/postgres.sh)\"` as root on Debian CI)")
    try:
        open_storage(url).close()
    except ConfigError as e:
        pytest.skip(f"no PostgreSQL server at {ENV}: {e}")
    return url


@pytest.fixture
def st(pg_url: str):
    s = open_storage(pg_url)
    yield s
    s.close()


@pytest.fixture
def name(st) -> str:
    """A fresh study name; the study (Optuna's and dse's rows) is deleted afterwards."""
    n = f"pytest-{uuid.uuid4().hex[:12]}"
    yield n
    st.delete_study(n)


def test_round_trip_and_upsert(st, name: str) -> None:
    study = optuna.create_study(storage=st.optuna, study_name=name, directions=DIRECTIONS)
    t0, t1 = study.ask(), study.ask()
    r = full_result(seed=5)
    st.project.save_result(name, t0._trial_id, t0.number, r, attempt=1)
    st.project.save_result(name, t1._trial_id, t1.number, failed_result(1))
    assert st.project.load_result(name, t0.number).to_dict() == r.to_dict()
    assert st.project.load_result(name, t1.number).to_dict() == failed_result(1).to_dict()

    r2 = full_result(seed=6)
    r2.timings = {"train": 2.0}
    st.project.save_result(name, t0._trial_id, t0.number, r2)
    assert st.project.load_result(name, t0.number).to_dict() == r2.to_dict()
    counts = table_counts(st.project.engine, name)
    assert counts["dse_trials"] == 2 and counts["dse_timings"] == 1 + 2 and counts["dse_hardware"] == 1

    df = st.project.results(name)
    assert list(df["number"]) == [0, 1] and list(df["status"]) == ["complete", "failed"]
    assert df.loc[0, "hw_dsp"] == r2.hardware["dsp"] and df.loc[0, "t_train"] == 2.0
    assert list(st.project.failures(name)["number"]) == [1]


def test_failed_save_writes_nothing(st, name: str) -> None:
    bad = full_result()
    bad.hardware["details"] = {"x": object()}
    with pytest.raises(TypeError, match="hardware.details"):
        st.project.save_result(name, 1, 0, bad)
    assert table_counts(st.project.engine, name) == dict.fromkeys(table_counts(st.project.engine, name), 0)
    st.project.save_result(name, 1, 0, full_result())
    bad.hardware["details"] = {"x": 1}
    bad.objectives["npll"] = "high"
    with pytest.raises(ValueError, match="objectives"):
        st.project.save_result(name, 1, 0, bad)
    assert st.project.load_result(name, 0).to_dict() == full_result().to_dict()


def test_concurrent_processes(st, name: str, pg_url: str) -> None:
    optuna.create_study(storage=st.optuna, study_name=name, directions=DIRECTIONS)
    numbers = run_writers(pg_url, name, workers=2, n=30)
    check_concurrent_study(st, name, numbers, workers=2, n=30)


def test_tables_coexist_and_password_is_stored_nowhere(st, name: str, pg_url: str) -> None:
    study = optuna.create_study(storage=st.optuna, study_name=name, directions=DIRECTIONS)
    trial = study.ask()
    st.project.save_result(name, trial._trial_id, trial.number, full_result())
    study.tell(trial, [0.5, 1.0])
    open_storage(pg_url).close()  # idempotent
    names = set(sqlalchemy.inspect(st.project.engine).get_table_names())
    assert {"studies", "trials", "dse_trials", "dse_hardware", "dse_schema_version"} <= names

    password = sqlalchemy.make_url(pg_url).password
    if not password:
        pytest.skip("the test URL has no password")
    assert password not in repr(st) and password not in repr(st.project)
    with st.project.engine.connect() as conn:
        for table in sorted(names):
            rows = conn.exec_driver_sql(f'SELECT * FROM "{table}"').all()
            assert password not in repr(rows), table


def test_wrong_password_is_a_redacted_config_error(pg_url: str) -> None:
    wrong = sqlalchemy.make_url(pg_url).set(password="definitely-wrong-pw")
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as e:
        open_storage(wrong.render_as_string(hide_password=False))
    assert time.monotonic() - t0 < 15
    msg = str(e.value)
    assert "definitely-wrong-pw" not in msg and "\n" not in msg and "***" in msg
    assert msg.startswith(redact_url(wrong.render_as_string(hide_password=False)))

"""storage: Optuna's RDB storage plus dse's tables in one SQLite file (real files, real processes)."""

from __future__ import annotations

import json
import math
import pickle
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from sqlalchemy import event
from storage_helpers import (
    DIRECTIONS,
    check_concurrent_study,
    failed_result,
    full_result,
    run_writers,
    table_counts,
)

from dse.trial.result import Artifact, TrialResult
from storage import attempt_of, open_storage, redact_url, url_with_password, user_attrs_for
from storage.errors import StorageConfigError as ConfigError
from storage.project_store import BASE_COLUMNS, HW_COLUMNS, RETRY_CALLBACK

OPTUNA_CLI = Path(sys.executable).with_name("optuna")

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture
def st(url: str):
    s = open_storage(url)
    yield s
    s.close()


def _save(st, study: optuna.Study, result: TrialResult, attempt: int = 0) -> optuna.trial.Trial:
    trial = study.ask()
    st.project.save_result(study.study_name, trial._trial_id, trial.number, result, attempt)
    return trial


# -- round trip ----------------------------------------------------------------------------------


def test_full_result_round_trip(st) -> None:
    study = optuna.create_study(storage=st.optuna, study_name="s", directions=DIRECTIONS)
    r = full_result(seed=3)
    trial = _save(st, study, r, attempt=2)
    back = st.project.load_result("s", trial.number)
    assert back is not None
    for f in ("params", "status", "objectives", "accuracy", "hardware", "timings", "artifacts", "versions",
              "fail_reason", "cache"):
        assert getattr(back, f) == getattr(r, f), f
    assert back.to_dict() == r.to_dict()
    assert isinstance(back.artifacts[0], Artifact)
    assert [a.kind for a in back.artifacts] == ["model", "hls_project", "reports"]  # order kept
    assert st.project.results("s").loc[0, "attempt"] == 2
    assert st.project.load_result("s", 99) is None
    assert st.project.load_result("other", trial.number) is None


def test_failed_result_round_trip(st) -> None:
    r = failed_result(7)
    st.project.save_result("s", 10, 0, r)
    back = st.project.load_result("s", 0)
    assert back.to_dict() == r.to_dict()
    assert back.hardware is None and back.status == "failed"


def test_hardware_dict_of_any_shape_round_trips(st) -> None:
    hw_partial = {"backend": "estimate", "part": "xc7z020", "dsp": 3, "utilisation": {"dsp": 0.01, "ddr": 0.5},
                  "new_metric": [1, 2], "details": None}
    hw_odd_util = {"backend": "yosys", "utilisation": "n/a"}
    for n, hw in enumerate([hw_partial, hw_odd_util, {}]):
        st.project.save_result("s", n, n, TrialResult(params={}, hardware=hw))
        assert st.project.load_result("s", n).hardware == hw


def test_nan_is_stored_as_none_inf_kept(st) -> None:
    r = TrialResult(
        params={"lr": float("nan"), "bound": float("inf")},
        objectives={"npll": float("nan"), "latency_us": float("inf")},
        accuracy={"csim": {"npll": float("nan")}},
        timings={"train": float("-inf")},
    )
    st.project.save_result("s", 1, 0, r)
    back = st.project.load_result("s", 0)
    assert back.params == {"lr": None, "bound": None}  # JSON has neither NaN nor inf
    assert back.objectives == {"npll": None, "latency_us": math.inf}
    assert back.accuracy == {"csim": {"npll": None}}
    assert back.timings == {"train": -math.inf}


def test_numpy_values_are_converted(st) -> None:
    np = pytest.importorskip("numpy")
    hw = full_result().hardware | {"dsp": np.int64(12), "details": {"v": np.float32(0.5), "n": np.int32(3)}}
    r = TrialResult(params={"h": np.int64(4)}, objectives={"dsp": np.float64(12.0)}, hardware=hw)
    st.project.save_result("s", 1, 0, r)
    back = st.project.load_result("s", 0)
    assert back.params == {"h": 4} and back.objectives == {"dsp": 12.0}
    assert back.hardware["dsp"] == 12 and back.hardware["details"] == {"v": 0.5, "n": 3}
    json.dumps(back.to_dict())


# -- upsert and atomicity ----------------------------------------------------------------------


def test_saving_a_trial_again_replaces_it(st) -> None:
    st.project.save_result("s", 5, 0, full_result(seed=1))
    first = st.project.results("s").loc[0]
    time.sleep(0.01)
    second = full_result(seed=2)
    second.artifacts = second.artifacts[:1]
    second.timings = {"train": 1.0}
    second.accuracy = {"float": {"npll": 0.5}}
    st.project.save_result("s", 6, 0, second, attempt=1)
    assert st.project.load_result("s", 0).to_dict() == second.to_dict()
    assert table_counts(st.project.engine) == {
        "dse_trials": 1, "dse_objectives": 5, "dse_accuracy": 1, "dse_hardware": 1,
        "dse_artifacts": 1, "dse_timings": 1, "dse_versions": 4,
    }
    row = st.project.results("s").loc[0]
    assert row["trial_id"] == 6 and row["attempt"] == 1
    assert row["created_at"] == first["created_at"] and row["finished_at"] > first["finished_at"]
    # and a failed trial replacing a complete one drops its hardware
    st.project.save_result("s", 6, 0, failed_result())
    assert st.project.load_result("s", 0).hardware is None
    assert table_counts(st.project.engine)["dse_hardware"] == 0


def test_failed_save_writes_nothing(st) -> None:
    statements: list[str] = []
    event.listen(st.project.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *a: statements.append(sql))
    bad = full_result()
    bad.hardware["details"] = {"handle": object()}  # not JSON: fails after the trial row was written
    with pytest.raises(TypeError, match=r"trial 0 of study 's'.*hardware.details\['handle'\]"):
        st.project.save_result("s", 1, 0, bad)
    assert any(s.startswith("INSERT INTO dse_trials") for s in statements)  # it got that far
    assert table_counts(st.project.engine) == dict.fromkeys(table_counts(st.project.engine), 0)

    good = full_result(seed=1)
    st.project.save_result("s", 1, 0, good)
    before = table_counts(st.project.engine)
    bad2 = full_result(seed=2)
    bad2.timings["cost"] = "slow"  # not a number
    with pytest.raises(ValueError, match=r"timings\['cost'\]"):
        st.project.save_result("s", 1, 0, bad2)
    assert st.project.load_result("s", 0).to_dict() == good.to_dict()  # the earlier record is intact
    assert table_counts(st.project.engine) == before


# -- reading -------------------------------------------------------------------------------------


def test_results_dataframe(st) -> None:
    study = optuna.create_study(storage=st.optuna, study_name="s", directions=DIRECTIONS)
    for seed in range(3):
        _save(st, study, full_result(seed))
    _save(st, study, failed_result(9), attempt=1)
    st.project.save_result("other", 99, 0, full_result())

    df = st.project.results("s")
    assert list(df["number"]) == [0, 1, 2, 3]
    assert list(df["status"]) == ["complete"] * 3 + ["failed"]
    cols = list(df.columns)
    assert cols[: len(BASE_COLUMNS)] == list(BASE_COLUMNS)
    for c in ("param_hidden", "param_precision", "param_reuse", "param_lr", "param_use_csim",
              "behavior_r2", "npll", "latency_us", "dsp", "rate_r2",
              "acc_float_behavior_r2", "acc_csim_npll", "acc_float_bits_per_spike",
              *HW_COLUMNS, "t_data", "t_train", "t_cost", "created_at", "started_at", "finished_at"):
        assert c in cols, c
    r = full_result(1)
    row = df.loc[1]
    assert row["param_hidden"] == r.params["hidden"]
    assert row["behavior_r2"] == r.objectives["behavior_r2"]
    assert row["hw_dsp"] == r.hardware["dsp"] and row["hw_backend"] == "vitis"
    assert row["hw_latency_cycles"] == r.hardware["latency_cycles"]
    assert row["hw_util_lut"] == pytest.approx(r.hardware["utilisation"]["lut"])
    assert row["t_train"] == r.timings["train"]
    assert df.loc[3, "fail_reason"].startswith("CompileError") and math.isnan(df.loc[3, "hw_dsp"])

    fails = st.project.failures("s")
    assert list(fails["number"]) == [3] and list(fails["attempt"]) == [1]
    assert {"fail_reason", "param_hidden", "t_train", "finished_at"} <= set(fails.columns)
    assert not any(c.startswith("hw_") for c in fails.columns)

    empty = st.project.results("nope")
    assert len(empty) == 0 and list(empty.columns[: len(BASE_COLUMNS)]) == list(BASE_COLUMNS)
    assert st.project.study_names() == ["other", "s"]


def test_nested_params_are_flattened(st) -> None:
    st.project.save_result("s", 1, 0, TrialResult(params={"model": {"hidden": 8, "rnn": {"cell": "gru"}}, "lr": 0.1}))
    df = st.project.results("s")
    assert df.loc[0, "param_model.hidden"] == 8 and df.loc[0, "param_model.rnn.cell"] == "gru"


def test_objective_names_never_clobber_other_columns(st) -> None:
    st.project.save_result("s", 1, 0, TrialResult(params={"x": 1}, status="failed", objectives={"status": 1.0, "t_x": 2.0}))
    row = st.project.results("s").loc[0]
    assert row["status"] == "failed" and row["obj_status"] == 1.0 and row["obj_t_x"] == 2.0


def test_threads_share_one_store(st) -> None:
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(8):
                st.project.save_result("s", k * 100 + i, k * 100 + i, full_result(i))
        except BaseException as e:  # reported by the assert below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(st.project.results("s")) == 32


def test_delete_study(st) -> None:
    study = optuna.create_study(storage=st.optuna, study_name="s", directions=DIRECTIONS)
    for seed in range(2):
        _save(st, study, full_result(seed))
    st.project.save_result("keep", 50, 0, full_result())
    st.delete_study("s")
    assert st.project.results("s").empty
    assert "s" not in optuna.get_all_study_names(st.optuna)
    assert table_counts(st.project.engine, "keep")["dse_objectives"] == 5
    assert table_counts(st.project.engine)["dse_objectives"] == 5
    assert st.project.delete_study("absent") == 0


# -- Optuna integration ------------------------------------------------------------------------


def test_user_attrs_show_in_optuna(st) -> None:
    r = full_result(seed=1)
    r.objectives["npll"] = float("nan")
    attrs = user_attrs_for(r)
    assert json.loads(json.dumps(attrs, allow_nan=False)) == attrs
    assert attrs["behavior_r2"] == r.objectives["behavior_r2"] and attrs["npll"] is None
    assert attrs["dsp"] == r.objectives["dsp"] and attrs["lut"] == r.hardware["lut"]
    assert attrs["bram_18k"] == 64 and attrs["backend"] == "vitis" and attrs["part"] == "xcu55c"
    assert "fail_reason" not in attrs

    f = failed_result()
    f.fail_reason = "x" * 5000
    fattrs = user_attrs_for(f)
    assert fattrs["status"] == "failed" and len(fattrs["fail_reason"]) == 500

    study = optuna.create_study(storage=st.optuna, study_name="s", directions=DIRECTIONS)
    trial = study.ask()
    for k, v in attrs.items():
        trial.set_user_attr(k, v)
    study.tell(trial, [0.5, 1.0])
    assert optuna.load_study(study_name="s", storage=st.optuna).trials[0].user_attrs == attrs


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_heartbeat_marks_dead_trial_failed_and_retries(url: str) -> None:
    st = open_storage(url, heartbeat_interval=1, grace_period=1,
                      stale_trial_callback=RETRY_CALLBACK(max_retry=2))
    study = optuna.create_study(storage=st.optuna, study_name="s", directions=DIRECTIONS)
    trial = study.ask({"x": optuna.distributions.IntDistribution(0, 9)})
    st.optuna.record_heartbeat(trial._trial_id)  # then the "worker" dies
    time.sleep(2.2)
    optuna.storages.fail_stale_trials(study)
    states = [t.state for t in study.get_trials()]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.WAITING]
    retry = study.ask()
    frozen = study.get_trials()[retry.number]
    assert attempt_of(frozen) == 1 and retry.params == trial.params
    assert attempt_of(study.get_trials()[0]) == 0
    st.close()


def test_concurrent_processes_share_one_sqlite_file(st, url: str) -> None:
    optuna.create_study(storage=st.optuna, study_name="conc", directions=DIRECTIONS)
    numbers = run_writers(url, "conc", workers=2, n=30)
    check_concurrent_study(st, "conc", numbers, workers=2, n=30)
    with st.project.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"


def test_save_retries_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    st = open_storage(f"sqlite:///{path}", sqlite_timeout=0.05)  # give up waiting at once: retry instead
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock for 0.6 s
    timer = threading.Timer(0.6, holder.rollback)
    timer.start()
    t0 = time.monotonic()
    st.project.save_result("s", 1, 0, full_result())
    assert time.monotonic() - t0 >= 0.5
    timer.join()
    holder.close()
    assert st.project.load_result("s", 0).to_dict() == full_result().to_dict()
    st.close()


def _cli(*args: str) -> str:
    proc = subprocess.run([str(OPTUNA_CLI), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_optuna_cli_reads_the_study(st, url: str) -> None:
    study = optuna.create_study(storage=st.optuna, study_name="cli-study", directions=DIRECTIONS)
    for seed in range(2):
        trial = _save(st, study, full_result(seed))
        for k, v in user_attrs_for(full_result(seed)).items():
            trial.set_user_attr(k, v)
        study.tell(trial, [0.5 + seed, 10.0 - seed])

    studies = json.loads(_cli("studies", "--storage", url, "--format", "json"))
    assert [s["name"] for s in studies] == ["cli-study"] and studies[0]["n_trials"] == 2
    trials = json.loads(_cli("trials", "--study-name", "cli-study", "--storage", url, "--format", "json"))
    assert [t["number"] for t in trials] == [0, 1]
    assert trials[1]["user_attrs"]["dsp"] == full_result(1).hardware["dsp"]

    _cli("storage", "upgrade", "--storage", url)  # Alembic ignores the dse_ tables
    st.close()
    again = open_storage(url)
    assert len(optuna.load_study(study_name="cli-study", storage=again.optuna).trials) == 2
    assert again.project.load_result("cli-study", 1).to_dict() == full_result(1).to_dict()
    again.close()


def test_tables_coexist_and_open_is_idempotent(url: str) -> None:
    st = open_storage(url)
    optuna.create_study(storage=st.optuna, study_name="s", directions=DIRECTIONS)
    st.project.save_result("s", 1, 0, full_result())
    st.close()
    for _ in range(2):
        st = open_storage(url)
        st.close()
    st = open_storage(url)
    names = set(sqlalchemy.inspect(st.project.engine).get_table_names())
    assert {"studies", "trials", "trial_values", "version_info", "alembic_version"} <= names
    assert {"dse_trials", "dse_hardware", "dse_schema_version"} <= names
    assert all(n.startswith("dse_") for n in names - set(optuna.storages._rdb.models.BaseModel.metadata.tables)
               - {"alembic_version"})
    assert st.project.load_result("s", 0).to_dict() == full_result().to_dict()
    assert optuna.get_all_study_names(st.optuna) == ["s"]
    with st.project.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM dse_schema_version").scalar_one() == 1
    st.close()


def test_relative_sqlite_path_is_made_absolute_and_storage_pickles(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    st = open_storage("sqlite:///rel.db")
    assert (tmp_path / "rel.db").exists()
    assert str(tmp_path / "rel.db") in st.optuna.url
    st.project.save_result("s", 1, 0, full_result())
    monkeypatch.chdir("/")
    copy = pickle.loads(pickle.dumps(st))  # what Ray does to send it to a worker
    assert repr(copy) == repr(st)
    assert copy.project.load_result("s", 0).to_dict() == full_result().to_dict()
    copy.close()
    st.close()


# -- errors and secrets --------------------------------------------------------------------------


def test_unreachable_server_is_a_quick_redacted_config_error() -> None:
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as e:
        open_storage("postgresql://u:s3cr3t-pw@127.0.0.1:1/db")
    assert time.monotonic() - t0 < 10
    msg = str(e.value)
    assert "s3cr3t" not in msg and "\n" not in msg
    assert msg.startswith("postgresql://u:***@127.0.0.1:1/db: storage: cannot use the database:")
    assert e.value.field == "storage"


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("foo://x/y", "unknown database scheme 'foo'"),
        ("not a url", "not a database URL"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("mysql+nosuchdriver://u:pw@h/db", "unknown database scheme"),
    ],
)
def test_bad_urls(bad: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as e:
        open_storage(bad)
    assert "pw@" not in str(e.value)


def test_missing_directory_or_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unable to open database file"):
        open_storage(f"sqlite:///{tmp_path}/missing/dir/study.db")
    assert not (tmp_path / "missing").exists()
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="not a database"):
        open_storage(f"sqlite:///{junk}")


def test_redact_url() -> None:
    assert redact_url("postgresql://u:pw@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_url("postgresql://u@h/db?password=pw&sslmode=require") == (
        "postgresql://u@h/db?password=***&sslmode=require"
    )
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert "pw" not in redact_url("weird//u:pw@h")
    full = url_with_password("postgresql://u@h/db", "p@ss:w/rd{}")
    assert "***" in redact_url(full) and "p@ss" not in redact_url(full)
    assert sqlalchemy.make_url(full).password == "p@ss:w/rd{}"
    assert url_with_password("sqlite:///x.db", None) == "sqlite:///x.db"


def test_url_is_not_stored_in_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'secret-name.db'}"
    st = open_storage(url)
    optuna.create_study(storage=st.optuna, study_name="s", directions=DIRECTIONS)
    st.project.save_result("s", 1, 0, full_result())
    st.close()
    con = sqlite3.connect(tmp_path / "secret-name.db")
    tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    dump = "\n".join(repr(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
    con.close()
    assert "secret-name" not in dump

"""Shared by test_storage.py and test_storage_postgres.py (and imported by their spawned workers)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import optuna
import sqlalchemy

from dse.cost.base import HardwareReport
from dse.trial.result import Artifact, TrialResult

DSE_TABLES = (
    "dse_trials",
    "dse_objectives",
    "dse_accuracy",
    "dse_hardware",
    "dse_artifacts",
    "dse_timings",
    "dse_versions",
)
DIRECTIONS = ["maximize", "minimize"]


def full_result(seed: int = 0, params: dict[str, Any] | None = None) -> TrialResult:
    """A TrialResult with every field filled, values depending on ``seed``."""
    hw = HardwareReport(
        backend="vitis",
        part="xcu55c",
        clock_ns=5.0,
        latency_cycles=1234 + seed,
        latency_cycles_best=1000 + seed,
        ii_cycles=1,
        dsp=512 + seed,
        lut=123456,
        ff=234567,
        bram_18k=64,
        uram=2,
        clock_est_ns=4.321,
        tool_version="2023.2",
        details={"layers": [{"name": "encoder_gru", "dsp": 100, "latency": 17}], "note": "ok", "ratio": 0.5},
    ).to_dict()
    return TrialResult(
        params=params
        if params is not None
        else {"hidden": 64 + seed, "precision": "ap_fixed<16,6>", "reuse": 4, "lr": 1e-3 * (seed + 1), "use_csim": True},
        status="complete",
        objectives={
            "behavior_r2": 0.8 - seed * 1e-3,
            "npll": 0.123456789,
            "latency_us": hw["latency_us"],
            "dsp": float(hw["dsp"]),
            "rate_r2": None,
        },
        accuracy={
            "float": {"behavior_r2": 0.81, "npll": 0.12, "bits_per_spike": 0.05},
            "csim": {"behavior_r2": 0.8 - seed * 1e-3, "npll": 0.123456789, "bits_per_spike": None},
        },
        hardware=hw,
        timings={"data": 0.5, "train": 123.25 + seed, "convert": 3.0, "compile": 45.5, "csim": 2.0, "cost": 600.0},
        artifacts=[
            Artifact("model", f"/runs/s/trial_{seed}/model.h5", "ab" * 32),
            Artifact("hls_project", f"/runs/s/trial_{seed}/hls", None),
            Artifact("reports", f"/runs/s/trial_{seed}/reports.json", "cd" * 32),
        ],
        versions={"hls4ml": "1.3.0", "tensorflow": "2.15.1", "qkeras": "0.9.0", "dse": "0.1.0"},
        fail_reason=None,
        cache={"model": True, "hls": False},
    )


def failed_result(seed: int = 0) -> TrialResult:
    return TrialResult(
        params={"hidden": seed, "reuse": 1},
        status="failed",
        timings={"data": 0.25, "train": 10.0},
        versions={"dse": "0.1.0"},
        fail_reason=f"CompileError: g++ exited 1 (trial {seed})\nsecond line",
    )


def table_counts(engine: sqlalchemy.Engine, study_name: str | None = None) -> dict[str, int]:
    """Rows per dse table, all of them or those of one study."""
    counts = {}
    with engine.connect() as conn:
        for t in DSE_TABLES:
            if study_name is None:
                sql, args = f"SELECT COUNT(*) FROM {t}", {}
            elif t == "dse_trials":
                sql, args = "SELECT COUNT(*) FROM dse_trials WHERE study_name = :s", {"s": study_name}
            else:
                sql = f"SELECT COUNT(*) FROM {t} c JOIN dse_trials p ON p.id = c.trial_pk WHERE p.study_name = :s"
                args = {"s": study_name}
            counts[t] = conn.execute(sqlalchemy.text(sql), args).scalar_one()
    return counts


def write_trials(url: str, study_name: str, worker: int, n: int) -> list[int]:
    """Worker process: ``n`` Optuna trials via ask/tell, each with its user attrs and dse record."""
    from storage import open_storage, user_attrs_for

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = open_storage(url)
    study = optuna.load_study(study_name=study_name, storage=st.optuna)
    numbers = []
    for i in range(n):
        trial = study.ask()
        x = trial.suggest_int("x", 0, 10**6)
        result = full_result(seed=worker * 1000 + i, params={"x": x, "worker": worker, "i": i})
        for k, v in user_attrs_for(result).items():
            trial.set_user_attr(k, v)
        st.project.save_result(study_name, trial._trial_id, trial.number, result)
        study.tell(trial, [result.objectives["behavior_r2"], result.objectives["latency_us"]])
        numbers.append(trial.number)
    st.close()
    return numbers


def run_writers(url: str, study_name: str, workers: int = 2, n: int = 30) -> list[list[int]]:
    """Run ``workers`` spawned processes of :func:`write_trials` at once; their trial numbers."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(write_trials, url, study_name, w, n) for w in range(workers)]
        return [f.result(timeout=300) for f in futures]


def check_concurrent_study(st: Any, study_name: str, numbers: list[list[int]], workers: int, n: int) -> None:
    """Both writers' trials are all there, once each, in Optuna's tables and in dse's."""
    total = workers * n
    flat = [x for ns in numbers for x in ns]
    assert sorted(flat) == list(range(total))
    study = optuna.load_study(study_name=study_name, storage=st.optuna)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == total
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    df = st.project.results(study_name)
    assert len(df) == total
    assert sorted(df["number"]) == list(range(total))
    by_number = {t.number: t for t in trials}
    for row in df.itertuples(index=False):
        t = by_number[row.number]
        assert t.params["x"] == row.param_x
        assert t.user_attrs["dsp"] == row.hw_dsp
        assert t.values[0] == row.behavior_r2
        loaded = st.project.load_result(study_name, row.number)
        expected = full_result(seed=row.param_worker * 1000 + row.param_i, params=loaded.params)
        assert loaded.to_dict() == expected.to_dict()
    per_trial = {"dse_trials": 1, "dse_objectives": 5, "dse_accuracy": 6, "dse_hardware": 1, "dse_artifacts": 3,
                 "dse_timings": 6, "dse_versions": 4}
    assert table_counts(st.project.engine, study_name) == {t: k * total for t, k in per_trial.items()}

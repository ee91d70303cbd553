"""Saving and reading dse's per-trial records (the ``dse_*`` tables of :mod:`storage.models`)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import optuna
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from storage.models import (
    CHILD_MODELS,
    HARDWARE_KEYS,
    SCHEMA_VERSION,
    UTILISATION_RESOURCES,
    AccuracyRow,
    ArtifactRow,
    Base,
    HardwareRow,
    ObjectiveRow,
    SchemaVersionRow,
    TimingRow,
    TrialRow,
    VersionRow,
    int_or_none,
    json_safe,
    real_or_none,
    utcnow,
)
from storage.retry import is_transient, run_with_retry
from storage.trial_result import Artifact, TrialResult

if TYPE_CHECKING:  # pandas costs ~0.5 s to import: only the tabular reads load it
    import pandas as pd

__all__ = ["BASE_COLUMNS", "HW_COLUMNS", "ProjectStore", "SchemaVersionError", "attempt_of", "user_attrs_for"]

log = logging.getLogger(__name__)

# Key of the PostgreSQL advisory lock that serialises table creation between processes.
_PG_DDL_LOCK = 0x64_73_65_5F  # "dse_"

_HW_STR = ("backend", "part", "tool_version")
_HW_INT = ("latency_cycles", "latency_cycles_best", "ii_cycles", "dsp", "lut", "ff", "bram_18k", "uram")
_HW_FLOAT = ("clock_ns", "latency_us", "clock_est_ns")

BASE_COLUMNS = ("number", "trial_id", "attempt", "status", "fail_reason")
TIME_COLUMNS = ("created_at", "started_at", "finished_at")
HW_COLUMNS: tuple[str, ...] = (
    "hw_backend",
    "hw_tool_version",
    "hw_part",
    "hw_clock_ns",
    "hw_clock_est_ns",
    "hw_latency_cycles",
    "hw_latency_cycles_best",
    "hw_latency_us",
    "hw_ii_cycles",
    *(f"hw_{r}" for r in UTILISATION_RESOURCES),
    *(f"hw_util_{r}" for r in UTILISATION_RESOURCES),
)


class SchemaVersionError(RuntimeError):
    """The database holds dse tables of a newer schema than this version of dse knows."""


def _is_insert_race(e: BaseException) -> bool:
    """Two writers inserted the same new (study, trial number) at once; the loser retries as an update."""
    if not isinstance(e, IntegrityError):
        return False
    return getattr(e.orig, "pgcode", None) == "23505" or "UNIQUE constraint failed: dse_trials." in str(e.orig)


def _save_retryable(e: BaseException) -> bool:
    return is_transient(e) or _is_insert_race(e)


class ProjectStore:
    """dse's tables on one SQLAlchemy engine (the same database as the Optuna study).

    All writes go through :func:`storage.retry.run_with_retry`; on SQLite the engine set up by
    :func:`storage.db.open_storage` starts write transactions with ``BEGIN IMMEDIATE`` (see there).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # ``dse_write`` tells the SQLite "begin" hook to take the write lock at BEGIN.
        self._write_engine = engine.execution_options(dse_write=True)
        self._write = sessionmaker(bind=self._write_engine, expire_on_commit=False)
        self._read = sessionmaker(bind=engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"ProjectStore({self.engine.url.render_as_string(hide_password=True)})"

    # -- schema ---------------------------------------------------------------------------------

    def create_tables(self) -> None:
        """Create the ``dse_*`` tables that are missing (idempotent, safe from several processes)."""

        def tx() -> None:
            with self._write_engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_DDL_LOCK})")
                Base.metadata.create_all(conn)
                versions = conn.scalars(select(SchemaVersionRow.version)).all()
                if not versions:
                    conn.execute(insert(SchemaVersionRow).values(version=SCHEMA_VERSION, created_at=utcnow()))
                elif max(versions) > SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"dse tables have schema version {max(versions)}, newer than this dse's "
                        f"({SCHEMA_VERSION}); upgrade dse"
                    )

        # A concurrent CREATE TABLE by another process shows up as an integrity/programming error;
        # the next attempt sees the table and skips it.
        run_with_retry(
            tx,
            attempts=5,
            retry_if=lambda e: is_transient(e) or isinstance(e, IntegrityError | ProgrammingError),
            what="creating dse tables",
        )

    # -- writing --------------------------------------------------------------------------------

    def save_result(
        self,
        study_name: str,
        trial_id: int,
        trial_number: int,
        result: TrialResult,
        attempt: int = 0,
        *,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        """Save (or replace) everything about one trial, in one transaction.

        Saving the same (study, trial number) again replaces the earlier record; if anything fails
        (a value that is not a number or not JSON-serialisable, a lost connection), nothing of
        this call is written and an earlier record stays as it was. ``finished_at`` defaults to
        now (naive UTC, like every timestamp here).
        """
        if isinstance(result, dict):
            result = TrialResult.from_dict(result)

        def tx() -> None:
            with self._write.begin() as s:
                self._save(s, study_name, int(trial_id), int(trial_number), result, attempt, started_at, finished_at)

        try:
            run_with_retry(tx, retry_if=_save_retryable, what=f"saving trial {trial_number} of {study_name!r}")
        except (TypeError, ValueError) as e:
            kind = TypeError if isinstance(e, TypeError) else ValueError
            raise kind(f"cannot save trial {trial_number} of study {study_name!r}: {e}") from e

    def _save(
        self,
        s: Session,
        study_name: str,
        trial_id: int,
        trial_number: int,
        r: TrialResult,
        attempt: int,
        started_at: datetime | None,
        finished_at: datetime | None,
    ) -> None:
        now = utcnow()
        row = s.scalars(
            select(TrialRow)
            .where(TrialRow.study_name == study_name, TrialRow.trial_number == trial_number)
            .with_for_update()
        ).one_or_none()
        if row is None:
            row = TrialRow(study_name=study_name, trial_number=trial_number, created_at=now)
            s.add(row)
        else:
            for model in CHILD_MODELS:
                s.execute(
                    delete(model).where(model.trial_pk == row.id),  # type: ignore[attr-defined]
                    execution_options={"synchronize_session": False},
                )
        row.trial_id = trial_id
        row.attempt = int(attempt)
        row.status = str(r.status)
        row.fail_reason = None if r.fail_reason is None else str(r.fail_reason)
        row.params = json_safe(r.params, "params")
        row.cache = json_safe(r.cache, "cache")
        row.updated_at = now
        row.started_at = started_at
        row.finished_at = finished_at or now
        s.flush()  # the trial row must exist (id) before its children
        pk = row.id

        s.add_all(
            ObjectiveRow(trial_pk=pk, metric=str(m), value=real_or_none(v, f"objectives[{m!r}]"))
            for m, v in r.objectives.items()
        )
        for source, metrics in r.accuracy.items():
            s.add_all(
                AccuracyRow(trial_pk=pk, source=str(source), metric=str(m), value=real_or_none(v, f"accuracy.{source}"))
                for m, v in (metrics or {}).items()
            )
        s.add_all(
            TimingRow(trial_pk=pk, phase=str(p), seconds=real_or_none(v, f"timings[{p!r}]"))
            for p, v in r.timings.items()
        )
        s.add_all(
            VersionRow(trial_pk=pk, package=str(p), version=None if v is None else str(v))
            for p, v in r.versions.items()
        )
        for i, a in enumerate(r.artifacts):
            a = Artifact(**a) if isinstance(a, dict) else a
            s.add(ArtifactRow(trial_pk=pk, position=i, kind=str(a.kind), path=str(a.path), sha256=a.sha256))
        if r.hardware is not None:
            hw = r.hardware.to_dict() if hasattr(r.hardware, "to_dict") else r.hardware
            s.add(_hardware_row(hw, pk, study_name, trial_id, trial_number))
        s.flush()

    def delete_study(self, study_name: str) -> int:
        """Delete every dse row of ``study_name`` (not Optuna's); returns the number of trials deleted."""

        def tx() -> int:
            with self._write.begin() as s:
                pks = select(TrialRow.id).where(TrialRow.study_name == study_name).scalar_subquery()
                for model in CHILD_MODELS:
                    s.execute(
                        delete(model).where(model.trial_pk.in_(pks)),  # type: ignore[attr-defined]
                        execution_options={"synchronize_session": False},
                    )
                res = s.execute(
                    delete(TrialRow).where(TrialRow.study_name == study_name),
                    execution_options={"synchronize_session": False},
                )
                return int(res.rowcount or 0)  # type: ignore[attr-defined]

        return run_with_retry(tx, what=f"deleting study {study_name!r}")

    # -- reading --------------------------------------------------------------------------------

    def load_result(self, study_name: str, trial_number: int) -> TrialResult | None:
        """The saved result of one trial, or ``None`` when there is none."""
        return self.load_results(study_name, (trial_number,)).get(int(trial_number))

    def load_results(self, study_name: str, trial_numbers: Iterable[int]) -> dict[int, TrialResult]:
        """The saved results of ``trial_numbers`` (those that have one), by number, in one query."""
        numbers = sorted({int(n) for n in trial_numbers})

        def tx() -> dict[int, TrialResult]:
            out: dict[int, TrialResult] = {}
            with self._read() as s:
                for i in range(0, len(numbers), 500):  # bounded IN lists (SQLite's variable limit)
                    rows = s.scalars(
                        select(TrialRow)
                        .where(TrialRow.study_name == study_name, TrialRow.trial_number.in_(numbers[i:i + 500]))
                        .options(*(selectinload(getattr(TrialRow, rel)) for rel in _RELATIONS))
                    ).all()
                    out.update({row.trial_number: _result_from_row(row) for row in rows})
            return out

        return run_with_retry(tx, what="loading trials")

    def study_names(self) -> list[str]:
        """Names of the studies that have dse rows."""
        with self._read() as s:
            return list(s.scalars(select(TrialRow.study_name).distinct().order_by(TrialRow.study_name)))

    def results(self, study_name: str) -> pd.DataFrame:
        """One row per saved trial of ``study_name``, sorted by trial number.

        Columns: ``number, trial_id, attempt, status, fail_reason``; ``param_<name>`` (nested
        params flattened with ``.``); one column per objective metric under its own name (``obj_<name>``
        for a name that would clash with another column);
        ``acc_<source>_<metric>`` for the accuracy breakdown; ``hw_*`` for the hardware report
        (always present, NaN without one); ``t_<phase>`` seconds; ``created_at, started_at,
        finished_at``.
        """
        return run_with_retry(lambda: self._results(study_name), what="reading results")

    def failures(self, study_name: str) -> pd.DataFrame:
        """The failed trials of ``study_name``: number, attempt, fail_reason, params, timings, times."""
        df = self.results(study_name)
        df = df[df["status"] == "failed"].reset_index(drop=True)
        keep = [
            c
            for c in df.columns
            if c in ("number", "trial_id", "attempt", "fail_reason", *TIME_COLUMNS) or c.startswith(("param_", "t_"))
        ]
        return df[keep]

    def _results(self, study_name: str) -> pd.DataFrame:
        with self._read() as s:
            trials = s.execute(
                select(
                    TrialRow.id,
                    TrialRow.trial_number,
                    TrialRow.trial_id,
                    TrialRow.attempt,
                    TrialRow.status,
                    TrialRow.fail_reason,
                    TrialRow.params,
                    TrialRow.created_at,
                    TrialRow.started_at,
                    TrialRow.finished_at,
                )
                .where(TrialRow.study_name == study_name)
                .order_by(TrialRow.trial_number)
            ).all()
            in_study = TrialRow.study_name == study_name

            def children(*cols: Any, model: type[Base]) -> Iterable[Any]:
                return s.execute(
                    select(*cols).join(TrialRow, TrialRow.id == model.trial_pk).where(in_study).order_by(model.id)  # type: ignore[attr-defined]
                ).all()

            objectives = children(ObjectiveRow.trial_pk, ObjectiveRow.metric, ObjectiveRow.value, model=ObjectiveRow)
            accuracy = children(
                AccuracyRow.trial_pk, AccuracyRow.source, AccuracyRow.metric, AccuracyRow.value, model=AccuracyRow
            )
            timings = children(TimingRow.trial_pk, TimingRow.phase, TimingRow.seconds, model=TimingRow)
            hw_cols = [getattr(HardwareRow, c.removeprefix("hw_")) for c in HW_COLUMNS]
            hardware = children(HardwareRow.trial_pk, *hw_cols, model=HardwareRow)

        records: dict[int, dict[str, Any]] = {}
        params: dict[str, None] = {}  # ordered sets of the dynamic columns
        metrics: dict[str, None] = {}
        acc: dict[str, None] = {}
        phases: dict[str, None] = {}
        for t in trials:
            rec = dict(zip(BASE_COLUMNS, (t.trial_number, t.trial_id, t.attempt, t.status, t.fail_reason), strict=True))
            rec.update(created_at=t.created_at, started_at=t.started_at, finished_at=t.finished_at)
            for k, v in _flatten(t.params or {}, "param_").items():
                rec[k] = v
                params[k] = None
            records[t.id] = rec
        reserved = {*BASE_COLUMNS, *TIME_COLUMNS, *HW_COLUMNS}
        for pk, metric, value in objectives:
            col = f"obj_{metric}" if metric in reserved or metric.startswith(_PREFIXES) else metric
            records[pk][col] = value
            metrics[col] = None
        for pk, source, metric, value in accuracy:
            col = f"acc_{source}_{metric}"
            records[pk][col] = value
            acc[col] = None
        for pk, phase, seconds in timings:
            records[pk][f"t_{phase}"] = seconds
            phases[f"t_{phase}"] = None
        for pk, *values in hardware:
            records[pk].update(zip(HW_COLUMNS, values, strict=True))

        columns = [*BASE_COLUMNS, *sorted(params), *metrics, *acc, *HW_COLUMNS, *phases, *TIME_COLUMNS]
        import pandas as pd

        return pd.DataFrame.from_records(list(records.values()), columns=columns)


_PREFIXES = ("param_", "acc_", "hw_", "t_", "obj_")
_RELATIONS = ("objectives", "accuracy", "hardware", "artifacts", "timings", "versions")


def _flatten(d: dict[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _hardware_row(hw: dict[str, Any], pk: int, study_name: str, trial_id: int, trial_number: int) -> HardwareRow:
    """``HardwareReport.to_dict()`` as a row; anything without a column goes to ``extra``.

    ``extra`` also lists the standard keys that were absent, so that loading gives back exactly
    the dict that was saved (not one padded with ``None``).
    """
    row = HardwareRow(trial_pk=pk, study_name=study_name, trial_id=trial_id, trial_number=trial_number)
    for k in _HW_STR:
        v = hw.get(k)
        setattr(row, k, None if v is None else str(v))
    for k in _HW_INT:
        setattr(row, k, int_or_none(hw.get(k), f"hardware.{k}"))
    for k in _HW_FLOAT:
        setattr(row, k, real_or_none(hw.get(k), f"hardware.{k}"))
    row.details = json_safe(hw.get("details"), "hardware.details")

    extra: dict[str, Any] = {}
    unknown = {k: v for k, v in hw.items() if k not in HARDWARE_KEYS and k != "utilisation"}
    if unknown:
        extra["keys"] = unknown
    absent = [k for k in (*HARDWARE_KEYS, "utilisation") if k not in hw]
    if absent:
        extra["absent"] = absent
    util = hw.get("utilisation")
    if isinstance(util, dict):
        for r in UTILISATION_RESOURCES:
            setattr(row, f"util_{r}", real_or_none(util.get(r), f"hardware.utilisation.{r}"))
        other = {k: v for k, v in util.items() if k not in UTILISATION_RESOURCES}
        if other:
            extra["utilisation"] = other
        util_absent = [r for r in UTILISATION_RESOURCES if r not in util]
        if util_absent:
            extra["utilisation_absent"] = util_absent
    elif util is not None:
        extra.setdefault("keys", {})["utilisation"] = util
    row.extra = json_safe(extra, "hardware")
    return row


def _hardware_dict(row: HardwareRow) -> dict[str, Any]:
    extra = row.extra or {}
    absent = set(extra.get("absent", ()))
    d: dict[str, Any] = {k: getattr(row, k) for k in HARDWARE_KEYS if k not in absent}
    if "utilisation" not in absent and "utilisation" not in extra.get("keys", {}):
        util_absent = set(extra.get("utilisation_absent", ()))
        util = {r: getattr(row, f"util_{r}") for r in UTILISATION_RESOURCES if r not in util_absent}
        util.update(extra.get("utilisation", {}))
        d["utilisation"] = util
    d.update(extra.get("keys", {}))
    return d


def _result_from_row(row: TrialRow) -> TrialResult:
    accuracy: dict[str, dict[str, float | None]] = {}
    for a in row.accuracy:
        accuracy.setdefault(a.source, {})[a.metric] = a.value
    return TrialResult(
        params=row.params or {},
        status=row.status,  # type: ignore[arg-type]
        objectives={o.metric: o.value for o in row.objectives},
        accuracy=accuracy,
        hardware=None if row.hardware is None else _hardware_dict(row.hardware),
        timings={t.phase: t.seconds for t in row.timings},  # type: ignore[misc]
        artifacts=[Artifact(kind=a.kind, path=a.path, sha256=a.sha256) for a in row.artifacts],
        versions={v.package: v.version for v in row.versions},  # type: ignore[misc]
        fail_reason=row.fail_reason,
        cache=row.cache or {},
    )


# -- Optuna helpers ------------------------------------------------------------------------------

_USER_ATTR_HW = ("backend", "part", "clock_ns", "latency_us", "latency_cycles", "latency_per", "dsp", "lut", "ff",
                 "bram_18k", "uram")
FAIL_REASON_MAX = 500


def user_attrs_for(result: TrialResult) -> dict[str, Any]:
    """The few values worth showing in optuna-dashboard's trial table, as Optuna user attributes.

    Every objective metric under its own name, the hardware headline numbers (latency, DSP, LUT,
    FF, BRAM, URAM, backend, part, clock), the status and, for a failed trial, the first
    ``FAIL_REASON_MAX`` characters of ``fail_reason``. Plain JSON values only (NaN -> None), so
    ``trial.set_user_attr`` can store each of them.
    """
    attrs: dict[str, Any] = {"status": str(result.status)}
    for name, value in result.objectives.items():
        attrs[str(name)] = _attr_value(value)
    hw = result.hardware or {}
    for k in _USER_ATTR_HW:
        if k in hw and k not in attrs:
            attrs[k] = _attr_value(hw[k])
    if result.fail_reason:
        reason = str(result.fail_reason)
        attrs["fail_reason"] = reason if len(reason) <= FAIL_REASON_MAX else reason[: FAIL_REASON_MAX - 1] + "…"
    return attrs


def _attr_value(v: Any) -> Any:
    try:
        return json_safe(v)
    except TypeError:
        return str(v)


def attempt_of(trial: optuna.trial.FrozenTrial) -> int:
    """How many earlier tries of the same parameters preceded ``trial`` (0 for a first try).

    Counts the history that Optuna's retry callback (``RetryHeartbeatStaleTrialCallback``, called
    ``RetryFailedTrialCallback`` before Optuna 4.9) keeps when it re-enqueues the trial of a dead
    worker.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return len(RETRY_CALLBACK.retry_history(trial))


#: Optuna's callback that re-enqueues a trial whose worker stopped beating (name depends on version).
RETRY_CALLBACK: Any = (
    getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
)


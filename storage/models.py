"""dse's own tables, kept in the same database as Optuna's.

Every table is prefixed ``dse_`` and lives in its own ``MetaData``, so Optuna's
``create_all``/Alembic migrations never see them and ours never touch Optuna's tables. There is
no foreign key into Optuna's ``trials`` table on purpose: ``optuna delete-study`` and
``optuna storage upgrade`` must keep working on a database that also holds dse's tables.

One :class:`TrialRow` per (study name, trial number) -- the unique key that makes saving a trial
twice an update -- and child rows for the parts of a :class:`storage.trial_result.TrialResult`:

==========================  ====================================================================
``dse_trials``              status, fail_reason, params/cache (JSON), attempt, timestamps
``dse_objectives``          (trial, metric) -> value
``dse_accuracy``            (trial, source ``float``/``csim``, metric) -> value  (long format)
``dse_hardware``            one row per trial: ``HardwareReport.to_dict()`` as columns
``dse_artifacts``           (trial, position) -> kind, path, sha256
``dse_timings``             (trial, phase) -> seconds
``dse_versions``            (trial, package) -> version
``dse_verifications``       (study, trial number, backend) -> status, the real report (JSON), owner
``dse_schema_version``      the version of this schema, for future migrations
==========================  ====================================================================

Values: NaN floats are stored as NULL (SQLite cannot keep NaN in a REAL column, and JSON has no
NaN), so they load back as ``None``; infinities are kept in float columns and become ``None``
inside JSON. Timestamps are naive UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = 1

# Explicit constraint/index names: PostgreSQL index names are per schema, so they must not clash
# with Optuna's (which are derived from its own, unprefixed, table names).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, as naive UTC (what every timestamp column holds)."""
    return datetime.now(UTC).replace(tzinfo=None)


def json_safe(value: Any, where: str = "value") -> Any:
    """``value`` as plain JSON data: NaN/inf -> None, numpy scalars -> Python numbers.

    Raises ``TypeError`` naming ``where`` (e.g. ``hardware.details['x']``) for anything JSON
    cannot hold, instead of silently storing its ``repr``.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: key {k!r} is not a string")
            out[k] = json_safe(v, f"{where}[{k!r}]")
        return out
    if isinstance(value, list | tuple):
        return [json_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # numpy scalar or 0-d array
        item = value.item()
        if not isinstance(item, list | tuple | dict | bytes):
            return json_safe(item, where)
    raise TypeError(f"{where}: {type(value).__name__} is not JSON-serialisable")


def real_or_none(value: Any, where: str = "value") -> float | None:
    """A float column's value: ``None`` for None/NaN; ``ValueError`` naming ``where`` otherwise."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a number") from None
    return None if math.isnan(f) else f


def int_or_none(value: Any, where: str = "value") -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        i = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: {value!r} is not an integer") from None
    if i != value:
        raise ValueError(f"{where}: {value!r} is not an integer")
    return i


class JSONValue(TypeDecorator[Any]):
    """JSON column that stores :func:`json_safe` data (portable between SQLite and PostgreSQL)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return json_safe(value)


class Real(TypeDecorator[float]):
    """Double-precision float column; NaN is stored as NULL the same way on every database."""

    impl = Float(precision=53)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> float | None:
        return real_or_none(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SchemaVersionRow(Base):
    __tablename__ = "dse_schema_version"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


_CHILD = {"cascade": "all, delete-orphan", "passive_deletes": True}


class TrialRow(Base):
    """Summary of one trial; the parent of every other dse row of that trial."""

    __tablename__ = "dse_trials"
    __table_args__ = (UniqueConstraint("study_name", "trial_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_name: Mapped[str] = mapped_column(String(512), index=True)  # Optuna's limit too
    trial_number: Mapped[int] = mapped_column(Integer)
    trial_id: Mapped[int] = mapped_column(Integer, index=True)  # Optuna's trials.trial_id
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # 0 first try, 1.. retries
    status: Mapped[str] = mapped_column(String(16))
    fail_reason: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    cache: Mapped[dict[str, Any]] = mapped_column(JSONValue)
    created_at: Mapped[datetime] = mapped_column(DateTime)  # first save
    updated_at: Mapped[datetime] = mapped_column(DateTime)  # last save
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    objectives: Mapped[list[ObjectiveRow]] = relationship(back_populates="trial", order_by="ObjectiveRow.id", **_CHILD)
    accuracy: Mapped[list[AccuracyRow]] = relationship(back_populates="trial", order_by="AccuracyRow.id", **_CHILD)
    hardware: Mapped[HardwareRow | None] = relationship(back_populates="trial", **_CHILD)
    artifacts: Mapped[list[ArtifactRow]] = relationship(
        back_populates="trial", order_by="ArtifactRow.position", **_CHILD
    )
    timings: Mapped[list[TimingRow]] = relationship(back_populates="trial", order_by="TimingRow.id", **_CHILD)
    versions: Mapped[list[VersionRow]] = relationship(back_populates="trial", order_by="VersionRow.id", **_CHILD)


def _trial_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("dse_trials.id", ondelete="CASCADE"), index=True)


class ObjectiveRow(Base):
    __tablename__ = "dse_objectives"
    __table_args__ = (UniqueConstraint("trial_pk", "metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_pk: Mapped[int] = _trial_fk()
    metric: Mapped[str] = mapped_column(String(128))
    value: Mapped[float | None] = mapped_column(Real)

    trial: Mapped[TrialRow] = relationship(back_populates="objectives")


class AccuracyRow(Base):
    """One accuracy metric from one source (``float``: the Keras model, ``csim``: the C simulation)."""

    __tablename__ = "dse_accuracy"
    __table_args__ = (UniqueConstraint("trial_pk", "source", "metric"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_pk: Mapped[int] = _trial_fk()
    source: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(128))
    value: Mapped[float | None] = mapped_column(Real)

    trial: Mapped[TrialRow] = relationship(back_populates="accuracy")


# HardwareReport.to_dict() keys stored in columns of the same name, in to_dict() order.
HARDWARE_KEYS: tuple[str, ...] = (
    "backend",
    "part",
    "clock_ns",
    "latency_cycles",
    "latency_cycles_best",
    "ii_cycles",
    "dsp",
    "lut",
    "ff",
    "bram_18k",
    "uram",
    "clock_est_ns",
    "tool_version",
    "details",
    "latency_us",
)
UTILISATION_RESOURCES = ("dsp", "lut", "ff", "bram_18k", "uram")


class HardwareRow(Base):
    """A trial's ``HardwareReport``. Study name and trial number are repeated here so that SQL
    queries (or a spreadsheet export) of hardware alone need no join."""

    __tablename__ = "dse_hardware"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_pk: Mapped[int] = mapped_column(ForeignKey("dse_trials.id", ondelete="CASCADE"), unique=True)
    study_name: Mapped[str] = mapped_column(String(512), index=True)
    trial_id: Mapped[int] = mapped_column(Integer)
    trial_number: Mapped[int] = mapped_column(Integer)
    backend: Mapped[str | None] = mapped_column(String(64))
    tool_version: Mapped[str | None] = mapped_column(String(256))
    part: Mapped[str | None] = mapped_column(String(128))
    clock_ns: Mapped[float | None] = mapped_column(Real)
    latency_cycles: Mapped[int | None] = mapped_column(BigInteger)  # worst case
    latency_cycles_best: Mapped[int | None] = mapped_column(BigInteger)
    latency_us: Mapped[float | None] = mapped_column(Real)
    ii_cycles: Mapped[int | None] = mapped_column(BigInteger)
    dsp: Mapped[int | None] = mapped_column(BigInteger)
    lut: Mapped[int | None] = mapped_column(BigInteger)
    ff: Mapped[int | None] = mapped_column(BigInteger)
    bram_18k: Mapped[int | None] = mapped_column(BigInteger)
    uram: Mapped[int | None] = mapped_column(BigInteger)
    util_dsp: Mapped[float | None] = mapped_column(Real)
    util_lut: Mapped[float | None] = mapped_column(Real)
    util_ff: Mapped[float | None] = mapped_column(Real)
    util_bram_18k: Mapped[float | None] = mapped_column(Real)
    util_uram: Mapped[float | None] = mapped_column(Real)
    clock_est_ns: Mapped[float | None] = mapped_column(Real)
    details: Mapped[Any] = mapped_column(JSONValue)
    # Keys of the hardware dict that have no column (a newer backend's extras, other resources'
    # utilisation), so that loading gives back exactly what was saved.
    extra: Mapped[dict[str, Any]] = mapped_column(JSONValue)

    trial: Mapped[TrialRow] = relationship(back_populates="hardware")


class ArtifactRow(Base):
    __tablename__ = "dse_artifacts"
    __table_args__ = (UniqueConstraint("trial_pk", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_pk: Mapped[int] = _trial_fk()
    position: Mapped[int] = mapped_column(Integer)  # order in TrialResult.artifacts
    kind: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))

    trial: Mapped[TrialRow] = relationship(back_populates="artifacts")


class TimingRow(Base):
    __tablename__ = "dse_timings"
    __table_args__ = (UniqueConstraint("trial_pk", "phase"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_pk: Mapped[int] = _trial_fk()
    phase: Mapped[str] = mapped_column(String(64))
    seconds: Mapped[float | None] = mapped_column(Real)

    trial: Mapped[TrialRow] = relationship(back_populates="timings")


class VersionRow(Base):
    __tablename__ = "dse_versions"
    __table_args__ = (UniqueConstraint("trial_pk", "package"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_pk: Mapped[int] = _trial_fk()
    package: Mapped[str] = mapped_column(String(128))
    version: Mapped[str | None] = mapped_column(String(256))

    trial: Mapped[TrialRow] = relationship(back_populates="versions")


class VerificationRow(Base):
    """A trial's design re-costed by a real backend, kept beside its estimate (never replacing it).

    Not a child of :class:`TrialRow`: saving a trial again (a re-queue) must not drop its verification.
    ``status``: ``queued`` (to run), ``running`` (``owner`` is the driver running it, ``beat_at`` its last
    sign of life), ``done`` (``hardware`` holds ``HardwareReport.to_dict()``) or ``failed`` (``error``).
    A table added after schema version 1: ``create_all`` adds it to older databases, which keep opening.
    """

    __tablename__ = "dse_verifications"
    __table_args__ = (UniqueConstraint("study_name", "trial_number", "backend"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_name: Mapped[str] = mapped_column(String(512), index=True)
    trial_number: Mapped[int] = mapped_column(Integer)
    backend: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(256))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # runs that a lost worker or a stop cut short
    hardware: Mapped[Any] = mapped_column(JSONValue, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    beat_at: Mapped[datetime | None] = mapped_column(DateTime)


CHILD_MODELS: tuple[type[Base], ...] = (ObjectiveRow, AccuracyRow, HardwareRow, ArtifactRow, TimingRow, VersionRow)

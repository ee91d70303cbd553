"""Opening the one database that holds an Optuna study and dse's records of its trials.

``open_storage(url)`` gives a :class:`DseStorage` with

* ``.optuna``: an ``optuna.storages.RDBStorage`` on ``url`` (for ``optuna.create_study``,
  optuna-dashboard and the ``optuna`` CLI), with heartbeats when asked for, and
* ``.verifications``: a :class:`storage.verifications.VerificationStore` (front designs re-costed by a real
  backend, beside their estimates), and
* ``.project``: a :class:`storage.project_store.ProjectStore` (the ``dse_*`` tables) on the same
  database, through its own SQLAlchemy engine.

SQLite: a relative path is made absolute (Ray workers may run in another directory); the file is
switched to WAL journal mode (persistent, so readers such as the dashboard never block writers) with
``synchronous=NORMAL`` (a commit is not synced to disk, the WAL is at checkpoints: a commit costs no disk
flush, which a driver making ~10 commits per trial notices; a process that dies loses nothing it committed,
a power loss or OS crash may roll the database back to its last checkpoint, never corrupt it);
every connection waits up to ``sqlite_timeout`` seconds for the write lock; and dse's engine takes
over transaction control from Python's ``sqlite3`` so that write transactions start with
``BEGIN IMMEDIATE``: the lock is taken up front, where the busy timeout applies, instead of on the
first write after some reads, where SQLite answers ``database is locked`` at once. WAL needs a
local file system; use PostgreSQL for studies shared between machines.

Passwords: pass the URL with the password already filled in (see :func:`url_with_password`).
The URL is never written to a table or a log; errors and ``repr`` show :func:`redact_url`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import logging
import os
import re
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import optuna
import sqlalchemy
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from storage.errors import StorageConfigError
from storage.project_store import ProjectStore, SchemaVersionError
from storage.retry import is_transient, run_with_retry
from storage.verifications import VerificationStore

__all__ = ["DseStorage", "open_storage", "redact_url", "url_with_password"]

log = logging.getLogger(__name__)

StaleTrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]

_SECRET_QUERY_KEYS = re.compile(r"pass|pwd|secret|token", re.IGNORECASE)
_URL_EXAMPLES = "e.g. sqlite:///runs/study.db or postgresql://user@host:5432/dbname"


def redact_url(url: str) -> str:
    """``url`` with its password (and password-like query parameters) replaced by ``***``."""
    try:
        u = make_url(url)
    except Exception:
        # Not parseable: blank anything between "scheme://user:" and "@" all the same.
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", str(url))
    hidden = {k: "***" for k in u.query if _SECRET_QUERY_KEYS.search(k)}
    if hidden:
        u = u.update_query_dict(hidden)
    # render_as_string percent-encodes the stars of the query values
    return u.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def url_with_password(url: str, password: str | None) -> str:
    """``url`` with ``password`` set (quoted as URLs need), e.g. from an environment variable."""
    if password is None:
        return url
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def _secrets(url: str, u: URL | None) -> list[str]:
    out = [url]
    if u is not None:
        if u.password:
            pw = str(u.password)
            out += [pw, quote(pw, safe=""), quote_plus(pw)]
        out += [str(v) for k, v in u.query.items() if _SECRET_QUERY_KEYS.search(k)]
    return sorted({s for s in out if s}, key=len, reverse=True)


def _one_line(e: BaseException, secrets: list[str]) -> str:
    """The driver's message of ``e`` on one line, with every secret blanked."""
    orig = getattr(e, "orig", None) or e
    text = " ".join(str(orig).split())
    for s in secrets:
        text = text.replace(s, "***")
    return text or type(orig).__name__


class DseStorage:
    """An Optuna RDB storage (``.optuna``) and dse's own tables (``.project``) on one database.

    Picklable (Ray ships it to workers): it pickles as the URL and options and reopens on the
    other side, without creating tables. The pickle holds the password, as Optuna's own
    ``RDBStorage`` pickle does.
    """

    def __init__(self, url: str, optuna_storage: optuna.storages.RDBStorage, project: ProjectStore,
                 options: dict[str, Any]) -> None:
        self._url = url
        self._options = options
        self.optuna = optuna_storage
        self.project = project
        self.verifications = VerificationStore(project.engine)

    @property
    def redacted_url(self) -> str:
        return redact_url(self._url)

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql``, ..."""
        return self.project.engine.dialect.name

    def __repr__(self) -> str:
        return f"DseStorage({self.redacted_url})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self._url, self._options))

    def read_trials(self, study_name: str, states: Any = None, user_attrs: Any = None,
                    numbers: Any = None) -> list[optuna.trial.FrozenTrial]:
        """The study's trials for reading (views): Optuna's trials without system attributes and intermediate
        values (only the ``user_attrs`` keys and the trials ``numbers``, when given), read in a few queries
        (:mod:`storage.trial_reader`). ``KeyError`` if there is no such study."""
        from storage.trial_reader import read_trials

        return run_with_retry(lambda: read_trials(self.project.engine, study_name, states, user_attrs, numbers),
                              what="reading trials")

    def delete_study(self, study_name: str) -> None:
        """Delete the Optuna study (if there is one) and dse's rows of it."""
        with contextlib.suppress(KeyError):
            optuna.delete_study(study_name=study_name, storage=self.optuna)
        self.project.delete_study(study_name)
        self.verifications.delete_study(study_name)

    def close(self) -> None:
        """Return every pooled connection (both engines)."""
        self.optuna.remove_session()
        self.optuna.engine.dispose()
        self.project.engine.dispose()

    def __enter__(self) -> DseStorage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reopen(url: str, options: dict[str, Any]) -> DseStorage:
    return open_storage(url, **{**options, "create_tables": False})


def _engine_kwargs(u: URL, sqlite_timeout: float, connect_timeout: int, extra: dict[str, Any] | None) -> dict[str, Any]:
    backend = u.get_backend_name()
    kw: dict[str, Any]
    if backend == "sqlite":
        kw = {"connect_args": {"timeout": float(sqlite_timeout)}}
    elif backend in ("postgresql", "mysql", "mariadb"):
        # pre-ping: a long study outlives server-side idle timeouts and restarts.
        kw = {"pool_pre_ping": True, "connect_args": {"connect_timeout": int(connect_timeout)}}
    else:
        kw = {"pool_pre_ping": True}
    for k, v in (extra or {}).items():
        kw[k] = {**kw.get(k, {}), **v} if k == "connect_args" else v
    return kw


def _sqlite_on_connect(wal: bool) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # sqlite3 must not emit BEGIN itself; _sqlite_begin does
        cur = dbapi_conn.cursor()
        try:
            if wal:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
        finally:
            cur.close()

    return on_connect


def _sync_at_checkpoints(engine: Engine) -> None:
    """``PRAGMA synchronous=NORMAL`` on Optuna's own engine too (it makes most of a trial's commits)."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA synchronous=NORMAL")
        finally:
            cur.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # the connections Optuna opened to create its tables: reopened with the pragma


def _sqlite_begin(conn: sqlalchemy.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("dse_write") else "BEGIN")


def _normalise(url: str, redacted: str) -> URL:
    try:
        u = make_url(url)
    except (ArgumentError, ValueError):
        raise StorageConfigError(redacted, f"not a database URL ({_URL_EXAMPLES})", "storage") from None
    if u.get_backend_name() == "sqlite":
        db = u.database or ""
        if db in ("", ":memory:") or u.query.get("mode") == "memory" or "mode=memory" in db:
            raise StorageConfigError(
                redacted,
                "an in-memory SQLite database cannot be shared by the study's processes; "
                "use a file, e.g. sqlite:///runs/study.db",
                "storage",
            )
        if not db.startswith("file:"):
            u = u.set(database=os.path.abspath(os.path.expanduser(db)))
    elif u.drivername == "postgresql" and _has("psycopg2") and not _has("psycopg"):
        # SQLAlchemy 2.1 made psycopg (3) the default driver; dse depends on psycopg2-binary.
        u = u.set(drivername="postgresql+psycopg2")
    return u


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    stale_trial_callback: StaleTrialCallback | None = None,
    sqlite_timeout: float = 60.0,
    sqlite_wal: bool = True,
    connect_timeout: int = 10,
    engine_kwargs: dict[str, Any] | None = None,
    create_tables: bool = True,
) -> DseStorage:
    """Open (and create where missing) the Optuna and dse tables of the database at ``url``.

    ``heartbeat_interval``/``grace_period`` (seconds) are Optuna's: a running trial whose process
    has not beaten for ``grace_period`` (default ``2 * heartbeat_interval``) is marked failed by
    the next ``optimize``/``ask`` and handed to ``stale_trial_callback``, e.g.
    ``storage.project_store.RETRY_CALLBACK(max_retry=2)`` (Optuna's
    ``RetryHeartbeatStaleTrialCallback``, ``RetryFailedTrialCallback`` before 4.9) to run it again.
    Heartbeats are beaten by ``Study.optimize``; a driver using ask/tell must call
    ``storage.optuna.record_heartbeat(trial_id)`` itself while a trial runs.

    A bad URL, an unknown scheme, a missing driver or a database that cannot be reached raises
    ``StorageConfigError`` (one line, password blanked) before anything is created.
    """
    redacted = redact_url(url)
    options = {
        "heartbeat_interval": heartbeat_interval,
        "grace_period": grace_period,
        "stale_trial_callback": stale_trial_callback,
        "sqlite_timeout": sqlite_timeout,
        "sqlite_wal": sqlite_wal,
        "connect_timeout": connect_timeout,
        "engine_kwargs": engine_kwargs,
    }
    u = _normalise(url, redacted)
    secrets = _secrets(url, u)
    full_url = u.render_as_string(hide_password=False)
    kwargs = _engine_kwargs(u, sqlite_timeout, connect_timeout, engine_kwargs)
    is_sqlite = u.get_backend_name() == "sqlite"

    def fail(problem: str) -> StorageConfigError:
        return StorageConfigError(redacted, problem, "storage")

    try:
        engine = sqlalchemy.create_engine(u, **kwargs)
    except NoSuchModuleError:
        raise fail(f"unknown database scheme {u.drivername!r} ({_URL_EXAMPLES})") from None
    except ImportError as e:
        raise fail(f"the database driver for {u.drivername!r} is not installed ({e.name or e})") from None
    except (ArgumentError, TypeError, ValueError) as e:
        raise fail(_one_line(e, secrets)) from None
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_on_connect(sqlite_wal))
        event.listen(engine, "begin", _sqlite_begin)

    project = ProjectStore(engine)
    try:
        # Reach the server before creating anything (for SQLite this creates the empty file).
        run_with_retry(lambda: _ping(engine), attempts=4, what="connecting")
        if create_tables:
            project.create_tables()
        optuna_storage = _rdb_storage(
            full_url, kwargs, heartbeat_interval, grace_period, stale_trial_callback, create_tables
        )
        if is_sqlite and sqlite_wal:
            _sync_at_checkpoints(optuna_storage.engine)
    except SchemaVersionError as e:
        engine.dispose()
        raise fail(str(e)) from None
    except DBAPIError as e:
        engine.dispose()
        raise fail(f"cannot use the database: {_one_line(e, secrets)}") from None
    except (SQLAlchemyError, RuntimeError, ImportError) as e:
        # RuntimeError: Optuna's "table schema is not compatible" (needs ``optuna storage upgrade``).
        engine.dispose()
        raise fail(_one_line(e, secrets)) from None

    log.info("storage: %s (%s)", redacted, engine.dialect.name)
    return DseStorage(full_url, optuna_storage, project, options)


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


_RDB_PARAMS = inspect.signature(optuna.storages.RDBStorage.__init__).parameters
# Optuna 4.9 renamed failed_trial_callback to heartbeat_stale_trial_callback.
_CALLBACK_PARAM = (
    "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in _RDB_PARAMS else "failed_trial_callback"
)


def _rdb_storage(
    url: str,
    engine_kwargs: dict[str, Any],
    heartbeat_interval: int | None,
    grace_period: int | None,
    callback: StaleTrialCallback | None,
    create_tables: bool,
) -> optuna.storages.RDBStorage:
    kwargs: dict[str, Any] = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period}
    if callback is not None:
        kwargs[_CALLBACK_PARAM] = callback
    if not create_tables and "skip_table_creation" in _RDB_PARAMS:
        kwargs["skip_table_creation"] = True
    # RDBStorage formats the URL as a template ({SCHEMA_VERSION}); a brace in a password must survive.
    template = url.replace("{", "{{").replace("}", "}}")

    def make() -> optuna.storages.RDBStorage:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(template, engine_kwargs=dict(engine_kwargs), **kwargs)

    # Two processes creating Optuna's tables at once: the loser sees them on the next attempt.
    return run_with_retry(make, attempts=4, retry_if=lambda e: is_transient(e) or _ddl_race(e), what="opening Optuna")


def _ddl_race(e: BaseException) -> bool:
    """Another process created the tables (or stamped Optuna's schema version) first.

    PostgreSQL says "already exists" / "duplicate key"; SQLite "UNIQUE constraint failed" (two
    processes inserting ``alembic_version`` into a new database).
    """
    text = str(getattr(e, "orig", e)).lower()
    return isinstance(e, DBAPIError) and any(
        s in text for s in ("already exists", "duplicate key", "unique constraint failed"))

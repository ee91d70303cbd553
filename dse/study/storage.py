"""The study's Optuna storage URL: validation, secret resolution and a redacted form for logs.

A study file never holds a literal password. A server URL names its password either through
``password_env: VAR`` beside the URL or as ``${VAR}`` inside it (``postgresql://dse:${PGPASSWORD}@db/dse``);
``${VAR}`` may also stand for the user, host, database or a query value. Only
:func:`resolve_url` reads the environment; :func:`redact_url` never does, so whatever it returns is
safe to log (the password shows as ``***``, other references stay ``${VAR}``).

SQLite paths that are relative are taken relative to the study file's directory, like every other
path in it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from dse.errors import ConfigError

BACKENDS = ("sqlite", "postgresql", "mysql")
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as e:
        raise ValueError(f"not a database URL ({e})") from None


def check_url(url: str, password_env: str | None) -> tuple[str, str] | None:
    """``(key, problem)`` for a storage URL as written in a study file (key: ``url`` or
    ``password_env``), or ``None`` when it is acceptable."""
    try:
        u = _parse(url)
    except ValueError as e:
        return "url", str(e)
    backend = u.get_backend_name()
    if backend not in BACKENDS:
        return "url", f"unsupported database {backend!r}; use one of {', '.join(BACKENDS)}"
    if backend == "sqlite":
        return ("password_env", "is meaningless for SQLite") if password_env else None
    if u.password is not None and not _REF.fullmatch(u.password):
        return "url", ("contains a literal password; put it in an environment variable and write "
                       "${VAR} in its place, or leave it out and set password_env: VAR")
    if u.password is not None and password_env:
        return "password_env", "the URL gives the password already (${VAR}); keep one of the two"
    if password_env is not None and not _ENV_NAME.match(password_env):
        return "password_env", f"must be an environment variable name, got {password_env!r}"
    return None


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def absolute_sqlite(url: str, base_dir: Path) -> str:
    """``url`` with a relative SQLite path made absolute against ``base_dir`` (others unchanged)."""
    u = _parse(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return url
    path = Path(u.database).expanduser()
    return url if path.is_absolute() else sqlite_url((base_dir / path).resolve())


def _substitute(text: str | None, environ: Mapping[str, str], where: str, field: str) -> str | None:
    if text is None:
        return None

    def value(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in environ:
            raise ConfigError(where, f"environment variable {name} is not set", field)
        return environ[name]

    return _REF.sub(value, text)


def resolve_url(url: str, password_env: str | None, *, where: str = "study",
                environ: Mapping[str, str] | None = None) -> str:
    """The URL to connect with: ``${VAR}`` references and ``password_env`` filled from the environment.

    Raises :class:`ConfigError` (``where: storage: ...``) when a referenced variable is not set.
    """
    env = os.environ if environ is None else environ
    if not _REF.search(url) and not password_env:
        return url
    u = _parse(url)
    field = "storage.url"
    password = _substitute(u.password, env, where, field)
    if password_env:
        if password_env not in env:
            raise ConfigError(where, f"environment variable {password_env} is not set", "storage.password_env")
        password = env[password_env]
    u = u.set(
        username=_substitute(u.username, env, where, field),
        password=password,
        host=_substitute(u.host, env, where, field),
        database=_substitute(u.database, env, where, field),
        query={k: _substitute(v, env, where, field) if isinstance(v, str) else v for k, v in u.query.items()},
    )
    return u.render_as_string(hide_password=False)


def open_study_storage(url: str, **options: Any) -> Any:
    """:func:`storage.open_storage` with its bad-input error as dse's :class:`ConfigError` (one line)."""
    from storage import open_storage
    from storage.errors import StorageConfigError

    try:
        return open_storage(url, **options)
    except StorageConfigError as e:
        raise ConfigError(e.where, e.problem, e.field) from None


def redact_url(url: str, password_env: str | None) -> str:
    """``url`` with any password shown as ``***`` (one from ``password_env`` too); reads no environment
    variable. The redaction itself is :func:`storage.db.redact_url`'s, the one used for every log line."""
    from storage.db import redact_url as redact

    u = _parse(url)
    if u.get_backend_name() == "sqlite":
        return url
    if password_env:
        u = u.set(password="***")
    return redact(u.render_as_string(hide_password=False))

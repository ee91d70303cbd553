"""Plug-ins from installed packages: entry points of a group, loaded one by one with one-line errors.

dse's registries (model families, cost backends) list their built-in modules and then what installed
distributions declare under the registry's entry-point group (:func:`importlib.metadata.entry_points`), so
a package outside dse adds a plug-in by installing it, like pytest's and Optuna's plug-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any, TypeVar

from dse.errors import PluginError

T = TypeVar("T")

Loader = Callable[[], Any]


def installed_plugins(group: str) -> list[tuple[str, Loader]]:
    """``(where, load)`` for every entry point of ``group``, ``where`` naming it and its distribution."""
    out = []
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        dist = f" of {ep.dist.name} {ep.dist.version}" if ep.dist is not None else ""
        out.append((f"entry point {ep.name} = {ep.value} (group {group}{dist})", ep.load))
    return out


def load_class(where: str, load: Loader, base: type[T], what: str) -> type[T]:
    """The class a plug-in names, checked to be a subclass of ``base``; a :class:`PluginError` otherwise."""
    try:
        obj = load()
    except Exception as e:  # an import error, a missing attribute: the package is broken, say which
        raise PluginError(where, f"cannot be loaded: {type(e).__name__}: {e}") from None
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise PluginError(where, f"names {obj!r}, not {what}")
    return obj


def instantiate(where: str, load: Loader, base: type[T], what: str) -> T:
    """An instance of the class a plug-in names (see :func:`load_class`)."""
    cls = load_class(where, load, base, what)
    try:
        return cls()
    except Exception as e:  # e.g. a family whose parameters are declared inconsistently
        raise PluginError(where, f"{cls.__name__}() failed: {type(e).__name__}: {e}") from None

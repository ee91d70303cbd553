"""The one registry of cost backends: the built-in ones by module, and those installed packages declare,
loaded on first use.

Built-in modules are listed here, never taken from user input (like hls4ml's backend registry); each
registers its classes with :func:`dse.cost.base.register_backend`. None of them imports an HLS library or
TensorFlow at import time, so asking what a backend costs is cheap. A package outside dse adds a backend
with an entry point in the group :data:`ENTRY_POINT_GROUP` (``dse.cost_backends``) naming a
:class:`~dse.cost.base.CostBackend` subclass; a name that is taken is refused in one line.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from dse.cost.base import CostBackend, register_backend, registered
from dse.errors import PluginError
from dse.plugins import installed_plugins, load_class

#: Modules whose import registers the built-in backends.
BUILT_IN = ("dse.cost.estimator", "dse.cost.synthesis", "dse.cost.analytic", "dse.cost.hdl")


#: The entry-point group of cost backends installed from outside dse.
ENTRY_POINT_GROUP = "dse.cost_backends"


def _load() -> dict[str, type[CostBackend]]:
    for module in BUILT_IN:
        importlib.import_module(module)
    _installed()
    return registered()


@cache
def _installed() -> None:
    """Register the installed packages' backends (once per process), refusing a name that is taken."""
    backends = registered()
    for where, load in installed_plugins(ENTRY_POINT_GROUP):
        cls = load_class(where, load, CostBackend, "a dse.cost.base.CostBackend subclass")
        if backends.get(cls.name, cls) is not cls:
            raise PluginError(where, f"cost backend name {cls.name!r} is taken by {backends[cls.name].__module__}")
        backends[cls.name] = register_backend(cls)


def backend_class(name: str) -> type[CostBackend]:
    """The backend class called ``name``; ``KeyError`` naming the known ones otherwise."""
    backends = _load()
    try:
        return backends[name]
    except KeyError:
        raise KeyError(f"unknown cost backend {name!r}; known: {', '.join(sorted(backends))}") from None


def get_backend(name: str, **kwargs: Any) -> CostBackend:
    """An instance of the backend called ``name``."""
    return backend_class(name)(**kwargs)


def backend_names(costs: str | None = None) -> list[str]:
    """Names of the registered backends (only those that cost ``costs`` designs, when given)."""
    return sorted(n for n, c in _load().items() if costs is None or c.costs == costs)


def source_keys() -> set[str]:
    """The report keys :func:`hardware_source` may read, over every registered backend."""
    return {"backend"}.union(*(c.source_keys for c in _load().values()))


def hardware_source(hardware: dict[str, Any]) -> str:
    """Where a report's numbers come from (``HardwareReport.to_dict()``, or a trial's user attributes), as its
    cost backend describes them; the backend's name for one this installation does not have."""
    backend = str(hardware.get("backend", "?"))
    try:
        return backend_class(backend).source_of(hardware)
    except KeyError:
        return backend

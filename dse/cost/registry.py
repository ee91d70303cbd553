"""The one registry of cost backends: the built-in ones by module, loaded on first use.

Modules are listed here, not discovered and never taken from user input (like hls4ml's backend
registry); each registers its classes with :func:`dse.cost.base.register_backend`. None of them imports
an HLS library or TensorFlow at import time, so asking what a backend costs is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from dse.cost.base import CostBackend, registered

#: Modules whose import registers the built-in backends.
BUILT_IN = ("dse.cost.estimator", "dse.cost.synthesis", "dse.cost.analytic", "dse.cost.hdl")


def _load() -> dict[str, type[CostBackend]]:
    for module in BUILT_IN:
        importlib.import_module(module)
    return registered()


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

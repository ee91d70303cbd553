"""The registry of model families: the built-in ones (one line per family in :data:`BUILT_IN`) and those
installed packages declare.

Each built-in entry names a family folder's package (``dse/families/<name>/``), which defines ``FAMILY``,
its :class:`~dse.families.base.Family` subclass. A package outside dse adds a family by declaring an entry
point in the group :data:`ENTRY_POINT_GROUP` (``dse.families``) that names such a class (e.g.
``tiny2 = "dse_tiny2:FAMILY"`` under ``[project.entry-points."dse.families"]``); it is then found like a
built-in family everywhere (``dse params --family``, ``family:`` in study.yaml, Ray workers), with no
edit of dse. A name taken twice is refused in one line (:class:`dse.errors.PluginError`). Modules are
imported on first use, from this list and the installed entry points, never from user input (like hls4ml's
backends). ``study.yaml``'s ``family:`` selects one (default :data:`DEFAULT_FAMILY`, so study files written
before families existed run unchanged).
"""

from __future__ import annotations

import importlib
from functools import cache

from dse.errors import PluginError
from dse.families.base import Family
from dse.plugins import installed_plugins, instantiate
from objectives.registry import ObjectiveRegistry, hardware_registry

#: Adding a family is one folder plus one line here.
BUILT_IN = (
    "dse.families.lfads",
    "dse.families.snn.family",
    "dse.families.tiny",
)

#: The family of a study file that names none.
DEFAULT_FAMILY = "lfads"


#: The entry-point group of families installed from outside dse.
ENTRY_POINT_GROUP = "dse.families"


@cache
def _families() -> dict[str, Family]:
    out: dict[str, Family] = {}
    origin: dict[str, str] = {}
    found = []
    for module in BUILT_IN:  # imported here, from the constant list (never from user input)
        family_class = importlib.import_module(module).FAMILY
        found.append((f"built-in module {module}", lambda c=family_class: c))
    found += installed_plugins(ENTRY_POINT_GROUP)
    for where, load in found:
        family = instantiate(where, load, Family, "a dse.families.base.Family subclass")
        if family.name in out:
            raise PluginError(where, f"family name {family.name!r} is taken by the {origin[family.name]}")
        out[family.name], origin[family.name] = family, where
    return out


def get_family(name: str) -> Family:
    """The family called ``name`` (one shared instance); ``KeyError`` naming the known ones otherwise."""
    families = _families()
    try:
        return families[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown model family {name!r}; known: {', '.join(sorted(families))}") from None


def family_names() -> list[str]:
    return sorted(_families())


@cache
def objective_registry() -> ObjectiveRegistry:
    """Every objective a study may name: the cost backends' hardware objectives and each family's own."""
    registry = hardware_registry()
    for name, family in sorted(_families().items()):
        registry.add(f"family {name!r}", family.objectives)
    return registry


def reload() -> None:
    """Forget the loaded families (after :data:`BUILT_IN` changed, e.g. in a test)."""
    _families.cache_clear()
    objective_registry.cache_clear()


__all__ = ["BUILT_IN", "DEFAULT_FAMILY", "ENTRY_POINT_GROUP", "Family", "family_names", "get_family", "objective_registry", "reload"]

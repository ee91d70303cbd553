"""The registry of model families: one line per family in :data:`BUILT_IN`.

Each entry names a family folder's package (``dse/families/<name>/``), which defines ``FAMILY``, its
:class:`~dse.families.base.Family` subclass. The packages are imported on first use from this constant
list, never from user input (like hls4ml's backends). ``study.yaml``'s ``family:`` selects one
(default :data:`DEFAULT_FAMILY`, so study files written before families existed run unchanged).
"""

from __future__ import annotations

import importlib
from functools import cache

from dse.families.base import Family

#: Adding a family is one folder plus one line here.
BUILT_IN = (
    "dse.families.lfads",
    "dse.families.snn.family",
    "dse.families.tiny",
)

#: The family of a study file that names none.
DEFAULT_FAMILY = "lfads"


@cache
def _families() -> dict[str, Family]:
    out: dict[str, Family] = {}
    for module in BUILT_IN:
        family = importlib.import_module(module).FAMILY()
        if family.name in out:
            raise RuntimeError(f"{module}: family name {family.name!r} is taken")
        out[family.name] = family
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


def reload() -> None:
    """Forget the loaded families (after :data:`BUILT_IN` changed, e.g. in a test)."""
    _families.cache_clear()


__all__ = ["BUILT_IN", "DEFAULT_FAMILY", "Family", "family_names", "get_family", "reload"]

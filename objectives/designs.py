"""Distinct design points: a trial that repeated an earlier point is recorded as its duplicate.

Samplers re-propose points in small discrete spaces. The driver never evaluates such a point again: it
records the earlier trial's result for the new trial and marks it with :data:`DUPLICATE_ATTR` (the
number of the trial that evaluated the point). A duplicate does not count against the study's
``n_trials`` and is listed with its original, not beside it, in Pareto tables and plots.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: User attribute of a trial that repeated the design point of an earlier one: that trial's number.
DUPLICATE_ATTR = "duplicate_of"


def is_duplicate(trial: Any) -> bool:
    return trial.user_attrs.get(DUPLICATE_ATTR) is not None


def shared_by(trials: Iterable[Any]) -> dict[int, list[int]]:
    """``{original trial number: [numbers of the trials that repeated its point]}``."""
    out: dict[int, list[int]] = {}
    for t in trials:
        original = t.user_attrs.get(DUPLICATE_ATTR)
        if original is not None:
            out.setdefault(int(original), []).append(t.number)
    return out


def point_key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A hashable identity of a design point (its searched parameters)."""
    return tuple(sorted(params.items()))

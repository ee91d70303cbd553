"""The feasible Pareto front of a study (constraints respected whatever the sampler)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from objectives.constraints import feasible, n_constraints
from objectives.designs import is_duplicate


def nondominated(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``values`` (to be minimised) that no other row dominates (equal rows do not
    dominate each other: both are kept).

    Rows are visited in lexicographic order, so every row that dominates a row comes before it, and so does
    a non-dominated one that dominates it (dominance is transitive): each row is compared with the front found
    so far only, not with every row, which keeps a 10,000-trial study's front to a fraction of a second."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    order = np.lexsort(values.T[::-1])  # by the first column, then the second, ...
    front = np.empty_like(values)
    size = 0
    for i in order:
        v = values[i]
        f = front[:size]
        if size and (np.all(f <= v, axis=1) & np.any(f < v, axis=1)).any():
            continue
        front[size] = v
        size += 1
        keep[i] = True
    return keep


def pareto_front(trials: Sequence[FrozenTrial], directions: Sequence[optuna.study.StudyDirection],
                 n_constraints: int = 0, *, values: Mapping[int, Sequence[float]] | None = None,
                 feasibility: Mapping[int, bool] | None = None) -> list[FrozenTrial]:
    """Complete, feasible (:func:`objectives.constraints.feasible`), non-dominated trials, by number;
    each distinct design once (a duplicate of an earlier trial's point is left out, see
    :mod:`objectives.designs`). ``values`` and ``feasibility`` replace, by trial number, Optuna's stored
    values and constraint verdict (numbers a real tool measured after the trial)."""
    values, feasibility = values or {}, feasibility or {}
    done = [t for t in trials if t.state == TrialState.COMPLETE and not is_duplicate(t)
            and (feasibility[t.number] if t.number in feasibility else feasible(t, n_constraints))]
    if not done:
        return []
    sign = np.array([-1.0 if d == optuna.study.StudyDirection.MAXIMIZE else 1.0 for d in directions])
    vals = np.array([values.get(t.number, t.values) for t in done], dtype=float) * sign
    mask = nondominated(vals)
    return sorted((t for t, k in zip(done, mask, strict=True) if k), key=lambda t: t.number)


def study_pareto(study: optuna.Study) -> list[FrozenTrial]:
    return pareto_front(study.get_trials(deepcopy=False), study.directions, n_constraints(study.user_attrs))

"""The constraints convention, in one place: where a trial's values live and what "missing" means.

A study's constraints are bounds on registry metrics (``lut_util <= 1``, ``behavior_r2 >= 0.5``). Each
gives one value per trial in Optuna's convention: ``<= 0`` when satisfied, the size of the violation
otherwise. The driver stores the list in the trial's user attribute :data:`CONSTRAINTS_ATTR` before
telling Optuna; the samplers (:class:`UserAttrConstraints`), the Pareto front and the plots all read
it through :func:`trial_values`, so they agree on every trial.

The one policy for missing values: a metric that is missing, ``None`` or NaN, or a trial that has no
stored list of the right length (a failed or pruned trial, a database edited by hand), counts as
violated by :data:`MISSING_VIOLATION` for every constraint: such a trial is never feasible. A study
without constraints has no values to miss: every complete trial is feasible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

#: The user attribute a trial's constraint values are stored under (by the driver).
CONSTRAINTS_ATTR = "constraints"

#: The value of a constraint whose metric is missing: a large finite violation. Finite because Optuna
#: stores constraint values as JSON and ``Infinity`` is not valid JSON for other readers (optuna-dashboard).
MISSING_VIOLATION = 1e9


def _missing(v: Any) -> bool:
    return v is None or isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v)


@dataclass(frozen=True)
class Constraint:
    """``metric <= bound`` (``kind="max"``) or ``metric >= bound`` (``kind="min"``)."""

    metric: str
    kind: Literal["max", "min"]
    bound: float

    @property
    def label(self) -> str:
        return f"{self.metric} {'<=' if self.kind == 'max' else '>='} {self.bound:g}"

    def value(self, metrics: Mapping[str, Any]) -> float:
        """<= 0 when satisfied, the size of the violation otherwise; :data:`MISSING_VIOLATION` if missing."""
        v = metrics.get(self.metric)
        if _missing(v):
            return MISSING_VIOLATION
        return float(v) - self.bound if self.kind == "max" else self.bound - float(v)


def values(constraints: Sequence[Constraint], metrics: Mapping[str, Any]) -> list[float]:
    """One value per constraint, in order, from a trial's metrics by name."""
    return [c.value(metrics) for c in constraints]


def trial_values(trial: FrozenTrial, n_constraints: int) -> list[float]:
    """The stored values of ``trial`` under the missing-value policy (see the module docstring)."""
    stored = trial.user_attrs.get(CONSTRAINTS_ATTR)
    if not isinstance(stored, list | tuple) or len(stored) != n_constraints:
        return [MISSING_VIOLATION] * n_constraints
    return [MISSING_VIOLATION if _missing(v) else float(v) for v in stored]


def feasible(trial: FrozenTrial, n_constraints: int) -> bool:
    """Whether every constraint of ``trial`` is satisfied (always, for a study without constraints)."""
    return all(v <= 0 for v in trial_values(trial, n_constraints))


@dataclass(frozen=True)
class UserAttrConstraints:
    """``constraints_func`` for Optuna's samplers: :func:`trial_values` of the trial.

    A class rather than a closure so that a sampler stays picklable (Ray, multiprocessing).
    """

    n_constraints: int

    def __call__(self, trial: FrozenTrial) -> Sequence[float]:
        return trial_values(trial, self.n_constraints)


def n_constraints(study_user_attrs: Mapping[str, Any]) -> int:
    """How many constraints a stored study has (the driver stores their labels on the study)."""
    labels = study_user_attrs.get(CONSTRAINTS_ATTR)
    return len(labels) if isinstance(labels, list | tuple) else 0

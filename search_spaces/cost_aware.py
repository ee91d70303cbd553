"""A sampler that knows what a design point costs: cheap points first, new trainings only when needed.

In a study most of the cost is training: every point of one trained model (another precision, reuse
factor, scan architecture, part) costs a conversion and a cost evaluation -- seconds -- while a point
that needs a new training costs minutes. :class:`CostAwareSampler` wraps one of Optuna's samplers (TPE by
default) and adds the policy that is dse's own:

- a point whose training a finished trial already did is *cheap*; a point that needs a new training is
  *expensive* (the family says which parameters decide a training: :meth:`Family.training_key`);
- while a trained model has unevaluated cheap neighbours (the points of a finite space with its training
  key), the next trial is one of them (at most ``cheap_per_model`` per model, spread over the
  neighbourhood: first the extremes of each cheap parameter, then the rest in grid order), so the
  hardware side of every model is explored before another training is paid;
- otherwise the wrapped sampler proposes the next point as usual -- it learns from all finished trials,
  cheap ones included, so expensive trainings go where they can extend the front.

The policy works through Optuna's own queue (``study.enqueue_trial``): the driver asks
:meth:`CostAwareSampler.next_point` before each ``ask``; everything else is the wrapped sampler's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import optuna
from optuna.samplers import BaseSampler
from optuna.trial import TrialState

from objectives.designs import point_key

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial

    from search_spaces.space import SearchSpace


class CostAwareSampler(BaseSampler):
    """``base`` with dse's cheap-points-first policy (see the module docstring)."""

    def __init__(self, base: BaseSampler, space: SearchSpace, cheap_per_model: int | None = None) -> None:
        self.base = base
        self.space = space
        self.cheap_per_model = cheap_per_model
        self._neighbourhoods: dict[str, list[dict[str, Any]]] | None = None

    # -- the policy ------------------------------------------------------------------------------

    def training_key(self, params: dict[str, Any]) -> str:
        return self.space.family.training_key(self.space.resolve(params))

    def _by_training(self) -> dict[str, list[dict[str, Any]]]:
        """Every point of the (finite) space, grouped by the training it needs, cheap order inside."""
        if self._neighbourhoods is None:
            groups: dict[str, list[dict[str, Any]]] = {}
            if self.space.is_finite:
                for p in self.space.iter_grid_points():
                    groups.setdefault(self.training_key(p), []).append(p)
            self._neighbourhoods = {k: _spread(v) for k, v in groups.items()}
        return self._neighbourhoods

    def next_point(self, study: optuna.Study) -> dict[str, Any] | None:
        """A cheap unevaluated point of a model that a finished trial trained, or None."""
        trials = study.get_trials(deepcopy=False)
        taken = {point_key(t.params) for t in trials if t.state != TrialState.FAIL or t.params}
        taken |= {point_key(t.system_attrs.get("fixed_params", {})) for t in trials if t.state == TrialState.WAITING}
        trained: list[str] = []
        for t in sorted(trials, key=lambda t: t.number):
            if t.state == TrialState.COMPLETE:
                key = self.training_key(t.params)
                if key not in trained:
                    trained.append(key)
        groups = self._by_training()
        for key in trained:
            done = sum(1 for t in trials if t.params and self.training_key(t.params) == key)
            if self.cheap_per_model is not None and done >= self.cheap_per_model:
                continue
            for p in groups.get(key, []):
                if point_key(p) not in taken:
                    return p
        return None

    # -- BaseSampler: the wrapped sampler's -----------------------------------------------------------

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self.base.sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


def _spread(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points of one neighbourhood in an order that covers it early: each point that holds an extreme
    (smallest or largest value) of some parameter first, then the rest in grid order."""
    if len(points) <= 2:
        return points
    first: list[dict[str, Any]] = []
    names = sorted({k for p in points for k in p})
    for name in names:
        values = [p[name] for p in points if name in p and isinstance(p[name], int | float)
                  and not isinstance(p[name], bool)]
        for target in ((min(values), max(values)) if values else ()):
            for p in points:
                if p.get(name) == target and p not in first:
                    first.append(p)
                    break
    return first + [p for p in points if p not in first]

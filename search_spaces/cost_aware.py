"""A sampler that knows what a design point costs: free points first, then cheap ones, new trainings last.

In a study most of the cost is training, then simulation. The family says which parameters decide a
training (:meth:`Family.training_key`) and which change no simulated output bit, only the hardware cost
(:attr:`Family.free_params`, e.g. reuse factors: :meth:`Family.simulation_key`). So a point is

- *free* when a finished or running trial already simulated its numbers (another reuse factor of an
  evaluated precision): it costs a cost evaluation, about a second with the estimator;
- *cheap* when a finished trial trained its model (itself, or as the base of a fine-tuning:
  :meth:`Family.training_keys`) but nobody simulated its numbers (another PTQ precision): a conversion,
  a g++ build and a C simulation, tens of seconds;
- *expensive* when it needs a new training or fine-tuning: minutes.

:class:`CostAwareSampler` wraps one of Optuna's samplers (TPE by default) and adds the policy that is
dse's own:

1. while a finished simulation has unevaluated free variants, the next trial is one of them (every
   hardware variant of every simulated design is on the front's candidate list at once);
2. else, while a trained model (or one a running trial is training) has fewer than ``cheap_per_model`` simulations (default 3), the next trial
   is a cheap point of it, in a space-filling order over its neighbourhood (the centre first, then each
   time the point farthest from those before);
3. otherwise the wrapped sampler proposes as usual -- it learns from every finished trial, free and cheap
   ones included, so the expensive trainings and the remaining simulations go where they can extend the
   front. (``cheap_per_model: all`` runs every cheap point of a model before the wrapped sampler.)

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

#: How many simulations of one trained model the policy runs before the wrapped sampler proposes again.
DEFAULT_CHEAP_PER_MODEL = 3
#: The largest space whose points the policy lists (it groups every point by training and simulation);
#: a larger or continuous space gets the wrapped sampler alone (paper.yaml's independent per-layer reuse
#: factors make 53 million points: listing them would take hours and gigabytes).
MAX_LISTED_POINTS = 100_000


def enumerable(space: SearchSpace) -> bool:
    """Whether the policy can list the space's points (finite, at most :data:`MAX_LISTED_POINTS`)."""
    return space.is_finite and space.grid_size() <= MAX_LISTED_POINTS

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial

    from search_spaces.space import SearchSpace


class CostAwareSampler(BaseSampler):
    """``base`` with dse's cheap-points-first policy (see the module docstring)."""

    def __init__(self, base: BaseSampler, space: SearchSpace, cheap_per_model: int | None = DEFAULT_CHEAP_PER_MODEL
                 ) -> None:
        self.base = base
        self.space = space
        self.cheap_per_model = cheap_per_model
        self._groups: tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]] | None = None

    # -- the policy ------------------------------------------------------------------------------

    def training_key(self, params: dict[str, Any]) -> str:
        return self.space.family.training_key(self.space.resolve(params))

    def simulation_key(self, params: dict[str, Any]) -> str:
        return self.space.family.simulation_key(self.space.resolve(params))

    def _by_key(self) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]:
        """Every point of the (finite) space grouped by its training and by its simulation, spread order."""
        if self._groups is None:
            training: dict[str, list[dict[str, Any]]] = {}
            simulation: dict[str, list[dict[str, Any]]] = {}
            if enumerable(self.space):
                for p in self.space.iter_grid_points():
                    training.setdefault(self.training_key(p), []).append(p)
                    simulation.setdefault(self.simulation_key(p), []).append(p)
            free = set(self.space.family.free_params)
            self._groups = ({k: _spread(v, ignore=free) for k, v in training.items()},
                            {k: _spread(v) for k, v in simulation.items()})
        return self._groups

    def next_point(self, study: optuna.Study) -> dict[str, Any] | None:
        """A free, else a cheap unevaluated point (see the module docstring), or None."""
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        taken = {point_key(t.params) for t in trials if t.state != TrialState.FAIL or t.params}
        taken |= {point_key(t.system_attrs.get("fixed_params", {})) for t in trials if t.state == TrialState.WAITING}
        by_training, by_simulation = self._by_key()
        # each trial's keys once per call (resolving a point and keying it is the costly part)
        keyed = [(t, self.space.resolve(t.params)) for t in trials if t.params]
        family = self.space.family
        keys = [(t, family.training_keys(p), family.simulation_key(p)) for t, p in keyed]
        # 1. free: the other hardware variants of a simulation that a finished trial did (not of a running
        # one: its variants would only wait for its simulation, leaving a worker idle)
        for t, _, sim in keys:
            if t.state == TrialState.COMPLETE:
                for p in by_simulation.get(sim, []):
                    if point_key(p) not in taken:
                        return p
        # 2. cheap: another simulation of a model a finished trial trained, up to cheap_per_model of them
        # every training a finished or running trial did, reused or is doing (a fine-tuning's base too): a point
        # of a model being trained waits for it (the model cache's lock) and then only simulates
        trained: list[str] = []
        simulated: dict[str, set[str]] = {}  # own training key -> the simulations its trials did or tried
        for t, chain, sim in keys:
            simulated.setdefault(chain[-1], set()).add(sim)
            if t.state in (TrialState.COMPLETE, TrialState.RUNNING):
                trained += [k for k in chain if k not in trained]
        for key in trained:
            done = simulated.get(key, set())
            if self.cheap_per_model is not None and len(done) >= self.cheap_per_model:
                continue
            for p in by_training.get(key, []):
                if self.simulation_key(p) not in done and point_key(p) not in taken:
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


def _spread(points: list[dict[str, Any]], ignore: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Points of one neighbourhood in a space-filling order: the one nearest its centre first, then each
    next one the farthest from all before it (numeric parameters scaled to [0, 1], a differing category
    counts 1; parameters in ``ignore`` do not count); ties keep grid order. The first few cheap points then
    cover the neighbourhood instead of one corner of it."""
    if len(points) <= 2:
        return points
    names = sorted({k for p in points for k in p} - set(ignore))
    spans: dict[str, tuple[float, float]] = {}
    for name in names:
        values = [p[name] for p in points if name in p]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            spans[name] = (min(values), max(values))

    def coord(p: dict[str, Any], name: str) -> Any:
        v = p.get(name)
        if name in spans and v is not None:
            lo, hi = spans[name]
            return (v - lo) / (hi - lo) if hi > lo else 0.0
        return v

    coords = [{n: coord(p, n) for n in names} for p in points]

    def dist(a: dict[str, Any], b: dict[str, Any]) -> float:
        return sum((a[n] - b[n]) ** 2 if n in spans and a[n] is not None and b[n] is not None else float(a[n] != b[n])
                   for n in names)

    centre = min(range(len(points)), key=lambda i: sum((coords[i][n] - 0.5) ** 2 for n in spans
                                                       if coords[i][n] is not None))
    order, nearest = [centre], [dist(c, coords[centre]) for c in coords]
    while len(order) < len(points):
        nxt = max((i for i in range(len(points)) if i not in order), key=lambda i: nearest[i])
        order.append(nxt)
        nearest = [min(d, dist(coords[i], coords[nxt])) for i, d in enumerate(nearest)]
    return [points[i] for i in order]

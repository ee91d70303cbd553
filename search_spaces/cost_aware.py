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

The candidates are never listed from the whole space: a finished trial's *free neighbourhood* is the set of
points that change only its free parameters, and a trained model's *cheap neighbourhood* the points that
change only its cheap (not free) parameters -- each enumerated when it has at most :data:`MAX_NEIGHBOURS`
points, else drawn from it (:data:`DRAWN_NEIGHBOURS` draws, seeded by the neighbourhood, so every call sees
the same ones), continuous parameters included. A space of 53 million points (paper.yaml's independent
per-layer reuse factors) thus costs the policy a few hundred key computations per trial, not a listing.

The policy works through Optuna's own queue (``study.enqueue_trial``): the driver asks
:meth:`CostAwareSampler.next_point` before each ``ask``; everything else is the wrapped sampler's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.samplers import BaseSampler
from optuna.trial import TrialState

from objectives.designs import point_key

#: How many simulations of one trained model the policy runs before the wrapped sampler proposes again.
DEFAULT_CHEAP_PER_MODEL = 3
#: A neighbourhood with at most this many points is enumerated; a larger (or continuous) one is drawn from.
MAX_NEIGHBOURS = 512
#: Draws from a neighbourhood too large to enumerate (duplicates dropped): the free variants of one
#: simulation that the policy offers, or the cheap points of one model it chooses among.
DRAWN_NEIGHBOURS = 32

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
        self._free: dict[str, list[dict[str, Any]]] = {}  # simulation key -> its free variants, spread order
        self._cheap: dict[str, list[dict[str, Any]]] = {}  # training key -> its cheap points, spread order

    # -- the policy ------------------------------------------------------------------------------

    def training_key(self, params: dict[str, Any]) -> str:
        return self.space.family.training_key(self.space.resolve(params))

    def simulation_key(self, params: dict[str, Any]) -> str:
        return self.space.family.simulation_key(self.space.resolve(params))

    def neighbours(self, anchor: Mapping[str, Any], vary: frozenset[str] | set[str]) -> list[dict[str, Any]]:
        """The points (searched parameters only, like ``SearchSpace.iter_grid_points``) that keep ``anchor``'s
        value of every parameter but those in ``vary`` (and those the anchor lacks, e.g. ones its changes make
        active): all of them when at most :data:`MAX_NEIGHBOURS`, else :data:`DRAWN_NEIGHBOURS` draws seeded by
        the anchor, in a space-filling order (:func:`_spread`)."""
        held = {k: v for k, v in anchor.items() if k not in vary}
        points: list[dict[str, Any]] = []
        try:
            for p in self.space.iter_grid_points(held):
                points.append(p)
                if len(points) > MAX_NEIGHBOURS:
                    raise _TooMany
        except (_TooMany, ValueError):  # too many points, or a continuous range (no grid)
            seed = int(hashlib.sha256(repr((point_key(dict(anchor)), sorted(vary))).encode()).hexdigest()[:8],
                       16)
            rng = np.random.default_rng(seed)
            seen: dict[str, dict[str, Any]] = {}
            for _ in range(DRAWN_NEIGHBOURS):
                p = self.space.draw(rng, held)
                seen.setdefault(point_key(p), p)
            points = list(seen.values())
        return _spread(points)  # the held parameters are equal in all: the varied ones decide the order

    @property
    def _free_names(self) -> frozenset[str]:
        return frozenset(self.space.family.free_params)

    def free_variants(self, params: Mapping[str, Any], sim: str | None = None) -> list[dict[str, Any]]:
        """The points that share the simulation of ``params`` (a finished trial's; ``sim``, its simulation key,
        when the caller has it): only free parameters differ."""
        sim = sim or self.simulation_key(params)
        if sim not in self._free:
            self._free[sim] = [p for p in self.neighbours(params, self._free_names)
                               if self.simulation_key(p) == sim]
        return self._free[sim]

    def cheap_points(self, key: str, anchor: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Points of the model trained under ``key`` (found around ``anchor``, a point that trains it): only
        cheap, not free, parameters differ (each new simulation's free variants come from :meth:`free_variants`)."""
        if key not in self._cheap:
            family = self.space.family
            vary = frozenset(family.cheap_params) - self._free_names
            self._cheap[key] = [p for p in self.neighbours(anchor, vary) if self.training_key(p) == key]
        return self._cheap[key]

    def next_point(self, study: optuna.Study) -> dict[str, Any] | None:
        """A free, else a cheap unevaluated point (see the module docstring), or None."""
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        taken = {point_key(t.params) for t in trials if t.state != TrialState.FAIL or t.params}
        taken |= {point_key(t.system_attrs.get("fixed_params", {})) for t in trials if t.state == TrialState.WAITING}
        # each trial's keys once per call (resolving a point and keying it is the costly part)
        keyed = [(t, self.space.resolve(t.params)) for t in trials if t.params]
        family = self.space.family
        keys = [(t, family.training_keys(p), family.simulation_key(p)) for t, p in keyed]
        # 1. free: the other hardware variants of a simulation that a finished trial did (not of a running
        # one: its variants would only wait for its simulation, leaving a worker idle)
        for t, _, sim in keys:
            if t.state == TrialState.COMPLETE:
                for p in self.free_variants(t.params, sim):
                    if point_key(p) not in taken:
                        return p
        # 2. cheap: another simulation of a model a finished trial trained, up to cheap_per_model of them
        # every training a finished or running trial did, reused or is doing (a fine-tuning's base too): a point
        # of a model being trained waits for it (the model cache's lock) and then only simulates
        trained: dict[str, Mapping[str, Any]] = {}  # training key -> a point that trains it
        simulated: dict[str, set[str]] = {}  # own training key -> the simulations its trials did or tried
        for (t, chain, sim), (_, point) in zip(keys, keyed, strict=True):
            simulated.setdefault(chain[-1], set()).add(sim)
            if t.state in (TrialState.COMPLETE, TrialState.RUNNING):
                for key, anchor in zip(chain, family.training_anchors(point), strict=True):
                    trained.setdefault(key, anchor)
        for key, anchor in trained.items():
            done = simulated.get(key, set())
            if self.cheap_per_model is not None and len(done) >= self.cheap_per_model:
                continue
            for p in self.cheap_points(key, anchor):
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


class _TooMany(Exception):
    """A neighbourhood has more than MAX_NEIGHBOURS points."""


def _spread(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Points of one neighbourhood in a space-filling order: the one nearest its centre first, then each
    next one the farthest from all before it (numeric parameters scaled to [0, 1], a differing category
    counts 1); ties keep grid order. The first few cheap points then
    cover the neighbourhood instead of one corner of it."""
    if len(points) <= 2:
        return points
    names = sorted({k for p in points for k in p})
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

"""Optuna samplers by name, with the options a study file may set for each.

:data:`SAMPLERS` maps ``sampler.name`` in study.yaml to a :class:`SamplerDef`: its options (name ->
type, validated by the study loader) and a ``build`` function. :func:`make_sampler` builds the one a
study names. Constraints reach the samplers that support them (NSGA-II, TPE) through
:class:`objectives.constraints.UserAttrConstraints`, which reads what :func:`record_constraints` stored
for each finished trial (the convention and its missing-value policy: :mod:`objectives.constraints`).

Optuna 5 deprecates ``constraints_func`` (removal planned for v7) in favour of
``trial.set_constraint``, which 4.x lacks; ``pyproject.toml`` allows both, so the hook stays (its
FutureWarning silenced) and :func:`record_constraints` is the one place the driver writes
constraints, which keeps a later switch to ``set_constraint`` local to this module.

``grid`` builds a :class:`~optuna.samplers.RandomSampler`: the grid itself is enqueued with
:func:`enqueue_grid` (see :meth:`SearchSpace.iter_grid_points` for why not ``GridSampler``), and the
random sampler only covers what an enqueued trial does not fix (nothing, for a valid grid point)
and any trials beyond the grid.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import optuna
from optuna.samplers import BaseSampler
from pydantic import Field

from objectives.constraints import CONSTRAINTS_ATTR, UserAttrConstraints
from search_spaces.space import SearchSpace

if TYPE_CHECKING:
    from search_spaces.protocols import SamplingSettings

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


@dataclass(frozen=True)
class BuildContext:
    """What a sampler builder may use besides its options."""

    seed: int | None
    constraints_func: UserAttrConstraints | None
    space: SearchSpace
    workers: int


@dataclass(frozen=True)
class SamplerDef:
    """A sampler a study can name: its options (name -> pydantic type) and how to build it."""

    name: str
    doc: str
    options: dict[str, Any]
    build: Callable[[dict[str, Any], BuildContext], BaseSampler]
    supports_constraints: bool = False
    needs_finite_space: bool = False


def _has_conditionals(space: SearchSpace) -> bool:
    return any(p.when for p in space.family.params if p.name in space.specs)


def _nsga2(opts: dict[str, Any], ctx: BuildContext) -> BaseSampler:
    return optuna.samplers.NSGAIISampler(seed=ctx.seed, constraints_func=ctx.constraints_func, **opts)


def _tpe(opts: dict[str, Any], ctx: BuildContext) -> BaseSampler:
    opts = dict(opts)
    # group=True lets multivariate TPE model each conditional branch (PTQ bits / QAT bits) jointly
    # instead of falling back to independent sampling for parameters not in every trial.
    opts.setdefault("group", _has_conditionals(ctx.space))
    # several workers ask before earlier trials finish: the constant liar spreads their suggestions
    opts.setdefault("constant_liar", ctx.workers > 1)
    return optuna.samplers.TPESampler(multivariate=True, seed=ctx.seed, constraints_func=ctx.constraints_func,
                                      **opts)


def _random(opts: dict[str, Any], ctx: BuildContext) -> BaseSampler:
    return optuna.samplers.RandomSampler(seed=ctx.seed)


def _cost_aware(opts: dict[str, Any], ctx: BuildContext) -> BaseSampler:
    from search_spaces.cost_aware import DEFAULT_CHEAP_PER_MODEL, CostAwareSampler

    cap = opts.get("cheap_per_model", DEFAULT_CHEAP_PER_MODEL)
    return CostAwareSampler(SAMPLERS[opts.get("base", "tpe")].build({}, ctx), ctx.space, None if cap == "all" else cap)


def _qmc(opts: dict[str, Any], ctx: BuildContext) -> BaseSampler:
    return optuna.samplers.QMCSampler(seed=ctx.seed, warn_independent_sampling=False, **opts)


SAMPLERS: dict[str, SamplerDef] = {
    s.name: s
    for s in (
        SamplerDef(
            "nsga2", "NSGA-II (genetic, multi-objective)",
            {"population_size": Annotated[int, Field(ge=2)], "mutation_prob": Probability | None,
             "crossover_prob": Probability, "swapping_prob": Probability},
            _nsga2, supports_constraints=True,
        ),
        SamplerDef(
            "tpe", "multivariate (multi-objective) TPE",
            {"n_startup_trials": Annotated[int, Field(ge=0)], "n_ei_candidates": Annotated[int, Field(ge=1)],
             "consider_endpoints": bool, "prior_weight": Annotated[float, Field(gt=0.0)], "group": bool,
             "constant_liar": bool},
            _tpe, supports_constraints=True,
        ),
        SamplerDef("random", "independent uniform sampling", {}, _random),
        SamplerDef("grid", "every point of a finite space once (enqueued), then random", {}, _random,
                   needs_finite_space=True),
        SamplerDef(
            "cost-aware", "the default: free, then cheap points of trained models first, then the base sampler (TPE; search_spaces.cost_aware)",
            {"base": Literal["tpe", "nsga2", "random"], "cheap_per_model": Annotated[int, Field(ge=1)] | Literal["all"]},
            _cost_aware, supports_constraints=True,
        ),
        SamplerDef(
            "qmc", "quasi-Monte Carlo (Sobol/Halton) for numeric parameters, random for the rest",
            {"qmc_type": Literal["sobol", "halton"], "scramble": bool},
            _qmc,
        ),
    )
}


def make_sampler(config: SamplingSettings, *, worker: int = 0) -> BaseSampler:
    """The Optuna sampler ``config.sampler`` names, with its options and seed.

    ``worker`` offsets the seed: processes that each build a sampler with the same seed would
    otherwise propose identical points. Constraints are passed as a ``constraints_func`` reading
    ``trial.user_attrs["constraints"]`` to samplers that support them, when the study has any.
    """
    sdef = SAMPLERS[config.sampler.name]
    seed = None if config.sampler.seed is None else config.sampler.seed + worker
    n = len(config.constraints)
    ctx = BuildContext(
        seed=seed,
        constraints_func=UserAttrConstraints(n) if n and sdef.supports_constraints else None,
        space=config.search_space(),
        workers=config.execution.workers,
    )
    with warnings.catch_warnings():
        # multivariate/group TPE are experimental and constraints_func deprecated in optuna 5 (see the
        # module docstring); both are used knowingly
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message=".*constraints_func.*", category=FutureWarning)
        return sdef.build(dict(config.sampler.options), ctx)


def record_constraints(trial: optuna.trial.BaseTrial, config: SamplingSettings, metrics: dict[str, Any]) -> list[float]:
    """Store ``config.constraint_values(metrics)`` where :class:`UserAttrConstraints` reads them.

    Call before ``study.tell``; returns the values (also for trials whose metrics are incomplete:
    missing ones count as violated).
    """
    from objectives.constraints import values as constraint_values

    values = constraint_values(config.constraints, metrics)
    trial.set_user_attr(CONSTRAINTS_ATTR, values)
    return values


def enqueue_grid(study: optuna.Study, space: SearchSpace) -> int:
    """Enqueue every grid point of ``space`` on ``study`` (skipping ones already there); return the count.

    Safe to call again when a study is resumed: ``skip_if_exists`` leaves points that were already
    enqueued or run alone.
    """
    n = 0
    for params in space.iter_grid_points():
        study.enqueue_trial(params, skip_if_exists=True)
        n += 1
    return n

"""Optuna search spaces built from a study configuration.

- :class:`SearchSpace` (``SearchSpace.from_config(config)``): ``sample(trial)``, ``grid_points()``,
  ``design_point(params)``.
- :func:`make_sampler`: the sampler the study names (nsga2, tpe, random, grid, qmc);
  :func:`enqueue_grid` for the grid sampler; :func:`record_constraints` stores a trial's
  constraint values where the samplers read them.
- Parameters are registered per model family (:mod:`search_spaces.params`, :mod:`search_spaces.lfads`);
  parameter shapes (fixed, ranges, choices) in :mod:`search_spaces.specs`.

Nothing here imports :mod:`dse.study` at run time, so the study loader can use these registries.
"""

from search_spaces.params import Family, ParamDef, family_names, get_family, register_family
from search_spaces.samplers import (
    SAMPLERS,
    UserAttrConstraints,
    enqueue_grid,
    make_sampler,
    record_constraints,
    sampler_names,
)
from search_spaces.space import SearchSpace
from search_spaces.specs import KINDS, Choices, Fixed, FloatRange, IntRange, Spec

__all__ = [
    "KINDS",
    "SAMPLERS",
    "Choices",
    "Family",
    "Fixed",
    "FloatRange",
    "IntRange",
    "ParamDef",
    "SearchSpace",
    "Spec",
    "UserAttrConstraints",
    "enqueue_grid",
    "family_names",
    "get_family",
    "make_sampler",
    "record_constraints",
    "register_family",
    "sampler_names",
]

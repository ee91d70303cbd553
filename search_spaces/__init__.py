"""Optuna search spaces built from a study configuration.

- :class:`SearchSpace` (``StudyConfig.search_space()``): ``sample(trial)``, ``grid_points()``,
  ``design_point(params)``.
- :func:`make_sampler`: the sampler the study names (nsga2, tpe, random, grid, qmc);
  :func:`enqueue_grid` for the grid sampler; :func:`record_constraints` stores a trial's
  constraint values where the samplers read them.
- Parameters are declared by each model family (:class:`search_spaces.params.ParamDef`, families in
  :mod:`dse.families`); parameter shapes (fixed, ranges, choices) in :mod:`search_spaces.specs`.

Nothing here imports :mod:`dse.study` at run time, so the study loader can use these registries.
"""

from search_spaces.params import ParamDef
from search_spaces.samplers import SAMPLERS, enqueue_grid, make_sampler, record_constraints
from search_spaces.space import SearchSpace
from search_spaces.specs import KINDS, Choices, Fixed, FloatRange, IntRange, Spec

__all__ = [
    "KINDS",
    "SAMPLERS",
    "Choices",
    "Fixed",
    "FloatRange",
    "IntRange",
    "ParamDef",
    "SearchSpace",
    "Spec",
    "enqueue_grid",
    "make_sampler",
    "record_constraints",
]

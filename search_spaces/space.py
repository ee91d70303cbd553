"""A study's search space: define-by-run sampling, the exhaustive grid, and design points.

Points are flat dicts keyed by the parameters' Optuna names (``"model.latent_units"``,
``"quantization.ptq_fractional_bits"``, ...). Only *searched* parameters (a range or several
choices) become Optuna parameters; fixed ones never reach Optuna, so ``trial.params`` holds just the
searched ones. :meth:`SearchSpace.sample` returns the full point (fixed values included), and
:meth:`SearchSpace.design_point` accepts either form (it fills the fixed values back in), so a
stored trial's ``params`` can always be turned back into its settings.

Conditional parameters are inactive, hence absent from points and never suggested, unless their
``when`` condition holds: a QAT point has no PTQ bits and vice versa; with the mode fixed, the other
mode's parameters never appear at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from search_spaces.params import ParamDef
from search_spaces.specs import Fixed, Spec, describe, kind_of

if TYPE_CHECKING:
    import numpy as np
    from optuna.trial import BaseTrial

    from search_spaces.protocols import ModelFamily


class SearchSpace:
    """The parameters of a study, as declared in its YAML (defaults filled in), for one family."""

    def __init__(self, family: ModelFamily, specs: Mapping[str, Spec], hardware: Any = None) -> None:
        self.family = family
        unknown = set(specs) - {p.name for p in self.family.params}
        if unknown:
            raise KeyError(f"parameters {sorted(unknown)} are not in family {self.family.name!r}")
        self.specs = dict(specs)
        self.hardware = hardware

    # ------------------------------------------------------------------------------------ queries

    def _declared(self) -> Iterator[tuple[ParamDef, Spec]]:
        for p in self.family.params:
            spec = self.specs.get(p.name)
            if spec is not None:
                yield p, spec

    @property
    def searched(self) -> list[str]:
        """Names of the parameters that can become Optuna parameters (some only conditionally)."""
        return [p.name for p, s in self._declared() if kind_of(s).searched]

    @property
    def is_finite(self) -> bool:
        """Whether every searched parameter has finitely many values (what a grid needs)."""
        return all(kind_of(s).values(s) is not None for _, s in self._declared())

    # ----------------------------------------------------------------------------------- sampling

    def sample(self, trial: BaseTrial) -> dict[str, Any]:
        """Suggest every active searched parameter on ``trial``; return the full flat point.

        Define-by-run: parameters are visited in the family's order, so a condition's parent is
        already decided when its children are reached and inactive ones are never suggested.
        """
        point: dict[str, Any] = {}
        for p, spec in self._declared():
            if p.active(point):
                point[p.name] = kind_of(spec).suggest(trial, p.name, spec)
        return point

    def iter_grid_points(self, held: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every valid combination of the searched parameters (fixed ones left out), depth first; with
        ``held``, only those with its values (a sub-grid around a point; its inactive entries are ignored).

        For ``study.enqueue_trial``: Optuna's ``GridSampler`` takes the Cartesian product of *all*
        parameters in its search space, active or not (its docs: "the trials suggest all
        combinations of parameters in the given search space", and "all parameters must be
        specified when using GridSampler with enqueue_trial";
        https://optuna.readthedocs.io/en/stable/reference/samplers/generated/optuna.samplers.GridSampler.html).
        A QAT point would then be repeated once per PTQ-bit combination it does not use (checked
        with optuna 5.0: mode {a, b} with two conditional 2-value parameters ran 8 trials for
        4 distinct points). Enumerating the conditional tree here gives each point exactly once.
        """
        declared = list(self._declared())
        held = held or {}

        def walk(i: int, full: dict[str, Any], searched: dict[str, Any]) -> Iterator[dict[str, Any]]:
            if i == len(declared):
                yield dict(searched)
                return
            p, spec = declared[i]
            if not p.active(full):
                yield from walk(i + 1, full, searched)
                return
            values = [held[p.name]] if p.name in held else kind_of(spec).values(spec)
            if values is None:
                raise ValueError(f"{p.name}: a continuous range ({describe(spec)}) has no grid; "
                                 "give choices or a step")
            for v in values:
                full[p.name] = v
                if kind_of(spec).searched:
                    searched[p.name] = v
                yield from walk(i + 1, full, searched)
                searched.pop(p.name, None)
            del full[p.name]

        yield from walk(0, {}, {})

    def draw(self, rng: np.random.Generator, held: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One random point (searched parameters, like :meth:`iter_grid_points`) with ``held``'s values, every
        other active parameter drawn from its spec (``SpecKind.draw``), in the family's order."""
        held = held or {}
        full: dict[str, Any] = {}
        searched: dict[str, Any] = {}
        for p, spec in self._declared():
            if not p.active(full):
                continue
            v = held[p.name] if p.name in held else kind_of(spec).draw(spec, rng)
            full[p.name] = v
            if kind_of(spec).searched:
                searched[p.name] = v
        return searched

    def grid_size(self) -> int:
        """``len(grid_points())`` without listing them: only condition parents are branched on."""
        declared = list(self._declared())
        parents = {parent for p, _ in declared for parent, _ in p.when}

        def count(i: int, full: dict[str, Any]) -> int:
            if i == len(declared):
                return 1
            p, spec = declared[i]
            if not p.active(full):
                return count(i + 1, full)
            values = kind_of(spec).values(spec)
            if values is None:
                raise ValueError(f"{p.name}: a continuous range ({describe(spec)}) has no grid")
            if p.name not in parents:
                return len(values) * count(i + 1, full)
            total = 0
            for v in values:
                full[p.name] = v
                total += count(i + 1, full)
            del full[p.name]
            return total

        return count(0, {})

    def grid_points(self) -> list[dict[str, Any]]:
        """:meth:`iter_grid_points` as a list (mind the size: it is the product of the choices)."""
        return list(self.iter_grid_points())

    # ------------------------------------------------------------------------------ design points

    def resolve(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The full flat point for ``params`` (searched values, optionally with the fixed ones).

        Raises ``ValueError`` for an unknown or inactive parameter, a missing searched one, or a
        value its spec cannot produce (e.g. a stale trial from an edited study file).
        """
        known = {p.name for p, _ in self._declared()}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; this space has {sorted(known)}")
        point: dict[str, Any] = {}
        for p, spec in self._declared():
            if not p.active(point):
                if p.name in params:
                    raise ValueError(f"{p.name}: given, but inactive for this point ({dict(p.when)})")
                continue
            if p.name in params:
                value = params[p.name]
                if not kind_of(spec).contains(spec, value):
                    raise ValueError(f"{p.name}: {value!r} is not in the space ({describe(spec)})")
            elif isinstance(spec, Fixed):
                value = spec.value
            else:
                raise ValueError(f"{p.name}: missing (it is searched: {describe(spec)})")
            point[p.name] = value
        return point

    def design_point(self, params: Mapping[str, Any]) -> Any:
        """The design a trial runs for a point (a :class:`dse.families.records.Design`): the family's settings
        (its ``build``) for the full point and the study's hardware target."""
        if self.hardware is None:
            raise ValueError("this search space was made without hardware settings (StudyConfig.search_space)")
        return self.family.design(self.resolve(params), self.hardware)

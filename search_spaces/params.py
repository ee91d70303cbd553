"""Study parameters: how a model family declares what a study file may set and search.

A family (:class:`dse.families.base.Family`) declares its parameters as a tuple of
:class:`ParamDef`: where each lives in study.yaml (``section`` and ``key``), its value type, default,
the checks every value must pass, and the condition under which it is active at all (``when``). The
study-config loader validates against these definitions and the search space samples from them, so
adding a parameter is one entry in the family's tuple plus its use in the family's ``build``; no
loader or sampler code changes.

A parameter's Optuna name is its dotted YAML path, ``"<section>.<key>"`` (e.g.
``"model.latent_units"``): unique, and the same string error messages use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from search_spaces.specs import Spec, kind_of

if TYPE_CHECKING:
    from search_spaces.protocols import ModelFamily

Check = Callable[[Any], "str | None"]  # a value -> the problem with it, or None when it is fine


@dataclass(frozen=True)
class ParamDef:
    """One study parameter.

    ``type`` is ``int``, ``float``, ``bool`` or ``str``; ``allowed`` lists the values of a ``str``
    parameter. ``default`` applies when the YAML leaves the parameter out; ``None`` means the
    parameter is then absent from design points (its consumer's own default applies, e.g. a
    per-layer reuse factor falls back to the model-wide one). ``checks`` run on every value a spec
    can produce: a fixed value, each choice, and both ends of a range (so a check must be monotone
    in the value, like a bound). ``ranges=False`` forbids ``{low, high}`` for parameters whose valid
    values are sparse (a power of two). ``when`` maps another parameter's name to the values for
    which this one is active; that parameter must come earlier in the family's tuple.
    """

    section: str
    key: str
    type: type
    default: Any
    doc: str
    checks: tuple[Check, ...] = ()
    allowed: tuple[str, ...] | None = None
    ranges: bool = True
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    def problem(self, value: Any) -> str | None:
        """The first problem ``value`` has for this parameter, or ``None``."""
        if self.allowed is not None and value not in self.allowed:
            return f"must be one of {', '.join(self.allowed)}, got {value!r}"
        for check in self.checks:
            p = check(value)
            if p:
                return p
        return None

    def active(self, point: Mapping[str, Any]) -> bool:
        """Whether this parameter exists in a design point whose earlier parameters are ``point``."""
        return all(parent in point and point[parent] in values for parent, values in self.when)


# ------------------------------------------------------------------------------------ value checks


def at_least(low: float) -> Check:
    return lambda v: None if v >= low else f"must be >= {low}, got {v!r}"


def at_most(high: float) -> Check:
    return lambda v: None if v <= high else f"must be <= {high}, got {v!r}"


def above(low: float) -> Check:
    return lambda v: None if v > low else f"must be > {low}, got {v!r}"


def below(high: float) -> Check:
    return lambda v: None if v < high else f"must be < {high}, got {v!r}"


def power_of_two(v: int) -> str | None:
    return None if v >= 2 and not v & (v - 1) else f"must be a power of two >= 2, got {v!r}"


def possibly_active(family: ModelFamily, specs: Mapping[str, Spec], name: str) -> bool:
    """Whether parameter ``name`` is active for at least one point of the declared space."""
    p = family.param(name)
    for parent, values in p.when:
        spec = specs.get(parent)
        if spec is None or not possibly_active(family, specs, parent):
            return False
        options = kind_of(spec).values(spec)
        if options is not None and not any(v in values for v in options):
            return False
    return True

"""The shapes a study parameter can take, and how each is sampled and enumerated.

A parameter is FIXED (one value), an INT or FLOAT RANGE (``low..high``, optional ``log`` or
``step``) or CHOICES (a list). Each shape is a frozen dataclass with a ``kind``; :data:`KINDS` maps
the kind to its behaviour (how Optuna suggests it, its finite values for a grid, membership), so a
new shape is one more entry rather than another branch in every caller.

Ranges are closed (``high`` can be sampled), like Optuna's ``suggest_int``/``suggest_float``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from optuna.trial import BaseTrial

Scalar = int | float | str | bool

#: Tolerance used to decide whether a float lies on a ``step`` grid.
_STEP_TOL = 1e-9


@dataclass(frozen=True)
class Fixed:
    """One value, never an Optuna parameter."""

    value: Scalar
    kind: ClassVar[str] = "fixed"


@dataclass(frozen=True)
class IntRange:
    """Integers ``low..high`` (inclusive), every ``step``-th, or log-uniformly sampled."""

    low: int
    high: int
    log: bool = False
    step: int = 1
    kind: ClassVar[str] = "int_range"


@dataclass(frozen=True)
class FloatRange:
    """Reals in ``[low, high]``: continuous, on a ``step`` grid, or log-uniformly sampled."""

    low: float
    high: float
    log: bool = False
    step: float | None = None
    kind: ClassVar[str] = "float_range"


@dataclass(frozen=True)
class Choices:
    """One of a list of values (categorical: no order is assumed)."""

    values: tuple[Scalar, ...]
    kind: ClassVar[str] = "choices"


Spec = Fixed | IntRange | FloatRange | Choices


@dataclass(frozen=True)
class SpecKind:
    """Behaviour of one parameter shape.

    ``suggest(trial, name, spec)`` asks Optuna for a value; ``values(spec)`` lists every value
    (``None`` when there are infinitely many); ``contains(spec, value)`` says whether ``value`` is
    one the spec can produce; ``draw(spec, rng)`` draws one at random (uniform over choices and integer
    steps, uniform or log-uniform over a range, snapped to its step) without Optuna.
    """

    searched: bool
    suggest: Callable[[BaseTrial, str, Any], Any]
    values: Callable[[Any], list[Any] | None]
    contains: Callable[[Any, Any], bool]
    draw: Callable[[Any, np.random.Generator], Any]


def _same(a: Any, b: Any) -> bool:
    """Equal, and not a bool standing in for a number (``True == 1`` in Python)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _int_values(s: IntRange) -> list[int]:
    return list(range(s.low, s.high + 1, s.step))


def _float_values(s: FloatRange) -> list[float] | None:
    if s.step is None:
        return None
    n = int(math.floor((s.high - s.low) / s.step + _STEP_TOL))
    # round away the binary noise of low + i*step so that the values print and compare cleanly
    return [round(s.low + i * s.step, 12) for i in range(n + 1)]


def _float_contains(s: FloatRange, v: Any) -> bool:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    if not s.low - _STEP_TOL <= v <= s.high + _STEP_TOL:
        return False
    return s.step is None or abs((v - s.low) / s.step - round((v - s.low) / s.step)) < 1e-6


def _int_draw(s: IntRange, rng: np.random.Generator) -> int:
    if s.log:
        v = int(round(math.exp(rng.uniform(math.log(s.low), math.log(s.high)))))
        return min(s.high, max(s.low, s.low + round((v - s.low) / s.step) * s.step))
    return s.low + s.step * int(rng.integers((s.high - s.low) // s.step + 1))


def _float_draw(s: FloatRange, rng: np.random.Generator) -> float:
    x = math.exp(rng.uniform(math.log(s.low), math.log(s.high))) if s.log else float(rng.uniform(s.low, s.high))
    if s.step is not None:
        x = round(s.low + round((x - s.low) / s.step) * s.step, 12)
        x = min(x, s.low + math.floor((s.high - s.low) / s.step + 1e-9) * s.step)
    return x


def _int_contains(s: IntRange, v: Any) -> bool:
    return (not isinstance(v, bool) and isinstance(v, int) and s.low <= v <= s.high
            and (v - s.low) % s.step == 0)


KINDS: dict[str, SpecKind] = {
    "fixed": SpecKind(
        searched=False,
        suggest=lambda trial, name, s: s.value,
        values=lambda s: [s.value],
        contains=lambda s, v: _same(v, s.value),
        draw=lambda s, rng: s.value,
    ),
    "int_range": SpecKind(
        searched=True,
        suggest=lambda trial, name, s: trial.suggest_int(name, s.low, s.high, step=s.step, log=s.log),
        values=_int_values,
        contains=_int_contains,
        draw=_int_draw,
    ),
    "float_range": SpecKind(
        searched=True,
        suggest=lambda trial, name, s: trial.suggest_float(name, s.low, s.high, step=s.step, log=s.log),
        values=_float_values,
        contains=_float_contains,
        draw=_float_draw,
    ),
    "choices": SpecKind(
        searched=True,
        suggest=lambda trial, name, s: trial.suggest_categorical(name, list(s.values)),
        values=lambda s: list(s.values),
        contains=lambda s, v: any(_same(v, c) for c in s.values),
        draw=lambda s, rng: s.values[int(rng.integers(len(s.values)))],
    ),
}


def kind_of(spec: Spec) -> SpecKind:
    return KINDS[spec.kind]


def values_or_ends(spec: Spec) -> list[Any]:
    """Every value ``spec`` can take, or the two ends of a continuous range: what a check across
    parameters must hold for (checks are monotone in each value, see ``ParamDef``)."""
    values = kind_of(spec).values(spec)
    return list(values) if values is not None else [spec.low, spec.high]  # type: ignore[union-attr]


def describe(spec: Spec) -> str:
    """A short human-readable form: ``8``, ``4..16``, ``1e-4..1e-2 (log)``, ``{ptq, qat}``."""
    if isinstance(spec, Fixed):
        return repr(spec.value)
    if isinstance(spec, Choices):
        return "{" + ", ".join(str(v) for v in spec.values) + "}"
    extra = " (log)" if spec.log else (f" step {spec.step}" if spec.step not in (None, 1) else "")
    return f"{spec.low}..{spec.high}{extra}"

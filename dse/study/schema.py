"""The pydantic (v2) schema of study.yaml: structure and types, before the semantic checks.

Every model forbids unknown keys; :class:`Strict` reports them itself (with the closest known key)
so that one misspelt key gives one clear error instead of pydantic's "extra inputs" plus a
"field required" for the key that was meant. Parameter sections, constraints and sampler options
depend on the model family and sampler, so their models are built from those registries
(:func:`section_model`, :func:`constraints_model`, :func:`options_model`).

Union members are tagged ``<value>``, ``<range>``, ``<choices>``, ``<mapping>``; the loader drops
those tags from error locations.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from search_spaces.params import ParamDef

if TYPE_CHECKING:
    from dse.families.base import Family

V = TypeVar("V")

StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]
NonNegInt = Annotated[int, Strict(), Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]



def suggest(name: str, known: list[str] | tuple[str, ...] | set[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``known``, or ``""``."""
    close = difflib.get_close_matches(str(name), sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _not_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise PydanticCustomError("number_type", "expected a number, got a boolean")
    return v


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


#: Numbers may be written as ints or floats; PyYAML reads ``1e-3`` (no dot) as a string, which the
#: lax float conversion still accepts.
Float = Annotated[float, BeforeValidator(_not_bool)]


class Schema(BaseModel):
    """Base of every schema model: no unknown keys (reported with a suggestion), frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    #: how to list the known keys in an error, when the list itself would be too long
    known_hint: ClassVar[str | None] = None

    @model_validator(mode="before")
    @classmethod
    def _unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = list(cls.model_fields)
            unknown = [str(k) for k in data if k not in cls.model_fields]
            if unknown:
                raise PydanticCustomError(
                    "unknown_key",
                    "unknown key(s) {keys}",
                    {"keys": unknown, "known": known, "known_text": cls.known_hint or ", ".join(known)},
                )
        return data


class Range(Schema, Generic[V]):
    low: V
    high: V
    log: StrictBool = False
    step: V | None = None


class ChoiceList(Schema, Generic[V]):
    choices: list[V]


def _shape(v: Any) -> str | None:
    if isinstance(v, dict | Range):
        return "<choices>" if isinstance(v, dict) and "choices" in v else "<range>"
    if isinstance(v, ChoiceList):
        return "<choices>"
    if isinstance(v, list):
        return None  # a bare list: tell the user to write {choices: [...]}
    return "<value>"


def _value_type(p: ParamDef) -> Any:
    return {
        int: StrictInt,
        float: Float,
        bool: StrictBool,
        str: Annotated[str, BeforeValidator(_lower)],
    }[p.type]


def param_annotation(p: ParamDef) -> Any:
    """FIXED | RANGE | CHOICES of the parameter's value type (no RANGE for bool/str parameters)."""
    t = _value_type(p)
    members: list[Any] = [Annotated[t, Tag("<value>")], Annotated[ChoiceList[t], Tag("<choices>")]]
    shapes = "a value or {choices: [...]}"
    if p.type in (int, float):
        members.append(Annotated[Range[t], Tag("<range>")])
        shapes = "a value, {low: ..., high: ...[, log: true][, step: ...]} or {choices: [...]}"
    return Annotated[
        Union[tuple(members)],  # noqa: UP007 - a runtime-built union
        Discriminator(_shape, custom_error_type="invalid_spec", custom_error_message=f"expected {shapes}"),
    ]


@cache
def section_model(family: Family, section: str) -> type[BaseModel]:
    fields = {key: (param_annotation(p) | None, None) for key, p in family.section(section).items()}
    return create_model(f"{family.name}_{section}", __base__=Schema, **fields)


# ------------------------------------------------------------------------------------ constraints


class Utilisation(Schema):
    dsp: PositiveFloat | None = None
    lut: PositiveFloat | None = None
    ff: PositiveFloat | None = None
    bram_18k: PositiveFloat | None = None
    uram: PositiveFloat | None = None


def _util_shape(v: Any) -> str:
    return "<mapping>" if isinstance(v, dict | Utilisation) else "<value>"


UtilisationSpec = Annotated[
    Union[Annotated[PositiveFloat, Tag("<value>")], Annotated[Utilisation, Tag("<mapping>")]],  # noqa: UP007
    Discriminator(_util_shape),
]


class _ConstraintsBase(Schema):
    known_hint: ClassVar[str | None] = "max_utilisation, or max_<metric> / min_<metric> for a metric of " \
        "the objective registry (dse params)"


@cache
def constraints_model() -> type[BaseModel]:
    """``max_utilisation`` plus ``max_<metric>`` / ``min_<metric>`` for every registry metric."""
    fields: dict[str, Any] = {"max_utilisation": (UtilisationSpec | None, None)}
    from dse.families import objective_registry

    for m in objective_registry().names():
        fields[f"max_{m}"] = (Float | None, None)
        fields[f"min_{m}"] = (Float | None, None)
    return create_model("constraints", __base__=_ConstraintsBase, **fields)


def options_model(sampler: str, options: dict[str, Any]) -> type[BaseModel]:
    return _options_model(sampler, tuple(options.items()))


@cache
def _options_model(sampler: str, options: tuple[tuple[str, Any], ...]) -> type[BaseModel]:
    return create_model(f"{sampler}_options", __base__=Schema, **{k: (t | None, None) for k, t in options})


# -------------------------------------------------------------------------------------- the study


def _as_mapping(key: str):
    """A before-validator turning the short form ``x: value`` into ``x: {key: value}``."""

    def convert(v: Any) -> Any:
        return {key: v} if isinstance(v, str) else v

    return BeforeValidator(convert)


class Storage(Schema):
    url: str
    password_env: str | None = None


class Data(Schema):
    source: str = "synthetic"
    options: dict[str, Any] = {}
    split_seed: NonNegInt = 0


class Objective(Schema):
    name: str
    direction: Literal["maximize", "minimize"] | None = None


class Sampler(Schema):
    name: Annotated[str, BeforeValidator(_lower)] = "cost-aware"
    seed: NonNegInt | None = None
    options: dict[str, Any] = {}


class Execution(Schema):
    workers: Annotated[int, Strict(), Field(ge=1)] = 1
    cpus_per_trial: PositiveFloat = 1.0
    ray_address: str | None = None
    max_retries: NonNegInt = 1
    trial_timeout_s: PositiveFloat | None = None
    prune_trainings: Annotated[bool, Strict()] = True


class Verify(Schema):
    """``hardware.verify``: re-cost the designs that enter the Pareto front with a real tool."""

    backend: Annotated[str, BeforeValidator(_lower)]
    top_k: Annotated[int, Strict(), Field(ge=1)] = 3
    calibrate: StrictBool = True


class Hardware(Schema):
    """Left out: the family's defaults (``Family.default_backend`` / ``default_part`` / ``default_clock_ns``)."""

    backend: Annotated[str, BeforeValidator(_lower)] | None = None
    part: str | None = None
    clock_ns: PositiveFloat | None = None
    verify: Verify | None = None


Section = dict[str, Any]


class Study(Schema):
    """The top level, less the family's parameter sections (:func:`study_model` adds them)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
    family: str | None = None
    storage: Annotated[Storage | None, _as_mapping("url")] = None
    data: Data = Data()
    objectives: Annotated[list[Annotated[Objective, _as_mapping("name")]], Field(min_length=1)]
    constraints: Section = {}
    sampler: Annotated[Sampler, _as_mapping("name")] = Sampler()
    n_trials: Annotated[int, Strict(), Field(ge=1)] | None = None
    timeout_s: PositiveFloat | None = None
    execution: Execution = Execution()
    hardware: Hardware = Hardware()

    @field_validator("constraints", mode="before")
    @classmethod
    def _none_is_empty(cls, v: Any) -> Any:
        return {} if v is None else v

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """``model:`` with nothing under it (YAML null) is an empty section."""
        if isinstance(data, dict):
            return {k: ({} if v is None and cls.model_fields.get(k) is not None and k in cls.sections else v)
                    for k, v in data.items()}
        return data

    sections: ClassVar[tuple[str, ...]] = ()


@cache
def study_model(sections: tuple[str, ...]) -> type[Study]:
    """The top-level schema of a study whose family keeps its parameters in ``sections``."""
    model = create_model("Study", __base__=Study, **{sec: (Section, {}) for sec in sections})
    model.sections = sections
    return model

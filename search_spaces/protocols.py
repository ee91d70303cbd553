"""What the search-space package needs of the layers above it, as structural types.

``search_spaces`` sits below dse's families and study configuration (they import it, never the other way
round), so it names what it uses of them here: a model family (its parameters, how a point becomes a
design, which parameters change no training or no simulation) and a study's sampler settings. dse's
:class:`~dse.families.base.Family` and :class:`~dse.study.config.StudyConfig` satisfy them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from search_spaces.params import ParamDef
    from search_spaces.space import SearchSpace


class ModelFamily(Protocol):
    """A family as the search space sees it."""

    name: str
    params: tuple[ParamDef, ...]
    free_params: tuple[str, ...]
    cheap_params: tuple[str, ...]

    def param(self, name: str) -> ParamDef: ...

    def design(self, params: Mapping[str, Any], hardware: Any) -> Mapping[str, Any]: ...

    def training_key(self, point: Mapping[str, Any]) -> str: ...

    def training_keys(self, point: Mapping[str, Any]) -> tuple[str, ...]: ...

    def training_anchors(self, point: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]: ...

    def simulation_key(self, point: Mapping[str, Any]) -> str: ...


class SamplerChoice(Protocol):
    name: str
    seed: int | None
    options: Mapping[str, Any]


class Workers(Protocol):
    workers: int


class SamplingSettings(Protocol):
    """The parts of a study's configuration a sampler is built from."""

    sampler: SamplerChoice
    constraints: Sequence[Any]
    execution: Workers

    def search_space(self) -> SearchSpace: ...

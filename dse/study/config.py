"""The validated study configuration: plain frozen dataclasses the rest of dse uses.

Built only by :func:`dse.study.load.load_study` (which validates everything first), so code that
receives a :class:`StudyConfig` can trust it. Mappings inside are ordinary dicts for the sake of
pickling (Ray); treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dse.families import DEFAULT_FAMILY
from dse.families.records import HardwareTarget
from dse.study.storage import redact_url, resolve_url
from objectives.constraints import Constraint
from objectives.constraints import values as constraint_values
from search_spaces.specs import Spec

if TYPE_CHECKING:
    from dse.data.base import NeuralData
    from search_spaces.space import SearchSpace

Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class StorageConfig:
    """Where Optuna keeps the study. ``url`` is as written (``${VAR}`` references unresolved)."""

    url: str
    password_env: str | None = None
    source: str = "study"  # the study file, for error messages

    def resolved_url(self, environ: Mapping[str, str] | None = None) -> str:
        """The URL with its secret filled in from the environment; never log it."""
        return resolve_url(self.url, self.password_env, where=self.source, environ=environ)

    def redacted_url(self) -> str:
        """The URL with the password as ``***``; safe to log or store."""
        return redact_url(self.url, self.password_env)


@dataclass(frozen=True)
class DataConfig:
    """``source`` is ``"synthetic"`` (or another registered generator) or an absolute file path."""

    source: str
    options: dict[str, Any] = field(default_factory=dict)
    split_seed: int = 0

    def spec(self) -> dict[str, Any]:
        """The plain form a trial receives (``dse.trial.runner.load_split`` takes it)."""
        return {"source": self.source, "options": dict(self.options), "split_seed": self.split_seed}

    def load(self) -> NeuralData:
        from dse.data.loader import load_data

        return load_data(self.source, **self.options)


@dataclass(frozen=True)
class ObjectiveConfig:
    name: str
    direction: Direction


@dataclass(frozen=True)
class SamplerConfig:
    name: str = "cost-aware"
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # only those the file set


@dataclass(frozen=True)
class ExecutionConfig:
    workers: int = 1
    cpus_per_trial: float = 1.0
    ray_address: str | None = None  # None: start a local Ray
    max_retries: int = 1
    trial_timeout_s: float | None = None
    # stop a training whose validation NLL is clearly worse than earlier ones' (dse.trial.pruning); off: every
    # trial trains to the end (e.g. to compare runs trial for trial)
    prune_trainings: bool = True


#: The study's ``hardware`` section: the record every design point carries (a family's defaults fill it in).
HardwareConfig = HardwareTarget


@dataclass(frozen=True)
class VerifyConfig:
    """``hardware.verify``: the real cost backend that re-costs front designs, how many of the front's best
    (by the first objective) it keeps verified, and whether the study's verified reports calibrate its
    estimates. Kept apart from :class:`HardwareTarget`, which every stored design carries."""

    backend: str
    top_k: int = 3
    calibrate: bool = True


@dataclass(frozen=True)
class StudyConfig:
    """One study: what to search, how, where to store it and on what hardware.

    ``params`` maps every declared-or-defaulted parameter's Optuna name (``"model.latent_units"``)
    to its :class:`~search_spaces.specs.Spec`; parameters without a default that the file leaves
    out are absent. ``warnings`` are "file: field: problem" lines about settings that are legal
    but have no effect.
    """

    source: str
    name: str
    storage: StorageConfig
    data: DataConfig
    params: dict[str, Spec]
    objectives: tuple[ObjectiveConfig, ...]
    constraints: tuple[Constraint, ...] = ()
    sampler: SamplerConfig = SamplerConfig()
    n_trials: int | None = None
    timeout_s: float | None = None
    execution: ExecutionConfig = ExecutionConfig()
    hardware: HardwareTarget = HardwareTarget("estimate", "xcu55c", 5.0)
    family: str = DEFAULT_FAMILY
    verify: VerifyConfig | None = None
    warnings: tuple[str, ...] = ()

    @property
    def directions(self) -> list[Direction]:
        """For ``optuna.create_study(directions=...)``, in objective order."""
        return [o.direction for o in self.objectives]

    @property
    def objective_names(self) -> list[str]:
        return [o.name for o in self.objectives]

    @property
    def constraint_labels(self) -> list[str]:
        """``["dsp_util <= 1", ...]``, in the order of :meth:`constraint_values`."""
        return [c.label for c in self.constraints]

    def constraint_values(self, metrics: Mapping[str, Any]) -> list[float]:
        """One value per constraint for Optuna (<= 0 feasible) from a trial's metrics by name."""
        return constraint_values(self.constraints, metrics)

    def search_space(self) -> SearchSpace:
        from dse.families import get_family
        from search_spaces.space import SearchSpace

        return SearchSpace(get_family(self.family), self.params, self.hardware)


def storage_url(config: StudyConfig, environ: Mapping[str, str] | None = None) -> str:
    """The storage URL with its secret resolved from the environment (for Optuna; never log it)."""
    return config.storage.resolved_url(environ)


def redacted_storage_url(config: StudyConfig) -> str:
    """The storage URL with the password replaced by ``***`` (for logs, reports and the database)."""
    return config.storage.redacted_url()

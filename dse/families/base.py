"""The model-family interface: everything dse knows about one kind of model, behind one small class.

The service's core (study loading, the driver, storage, the generic commands) sees a family only
through :class:`Family`, in the spirit of Optuna's ``BaseSampler`` and hls4ml's backends. A family owns

- its study parameters (``params``, in the YAML ``sections`` it declares) with their defaults and
  checks, plus checks across parameters (:meth:`cross_checks`) and against the data (:meth:`data_checks`);
- how a sampled point becomes a design (:meth:`build`): the family's own settings its trial pipeline
  consumes (the core adds the point and its hardware target: :class:`~dse.families.records.Design`);
- its trial pipeline (:meth:`run`): train -> lower to hardware -> simulate bit-accurately -> cost,
  reporting through a :class:`~dse.trial.context.TrialContext`;
- the accuracy objectives it measures (``objectives``, :class:`objectives.registry.Objective`) and what its
  designs lower to (``lowering``: the kind a cost backend must be able to cost, see
  :class:`dse.cost.base.CostBackend`), with a default backend and part;
- its export payload (:meth:`export`) and its ``dse train`` options (:meth:`add_train_arguments`, :meth:`train`).

Every method takes and returns the small frozen records of :mod:`dse.families.records`.

A family module must be importable without TensorFlow, torch or hls4ml: the heavy libraries are
imported inside :meth:`run`, :meth:`export` and :meth:`train`. Register a new family with one line in
:data:`dse.families.BUILT_IN`.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dse.families.records import Design, DesignPoint, HardwareTarget
from objectives.registry import Objective
from search_spaces.params import ParamDef
from search_spaces.specs import Spec

if TYPE_CHECKING:
    from dse.data.base import NeuralData
    from dse.families.records import ExportRequest, FamilyCommand, TrainReport, TrainRequest
    from dse.trial.context import TrialContext
    from dse.trial.result import TrialResult

Problems = list[tuple[str, str]]  # (parameter name, problem)


class Family(ABC):
    """A model family (see the module docstring). Subclasses set the class attributes and implement
    :meth:`build` and :meth:`run`."""

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: YAML sections that hold this family's parameters, in the order they appear in a study file.
    sections: ClassVar[tuple[str, ...]]
    #: The parameters, in sampling order (a condition's parent before its children).
    params: ClassVar[tuple[ParamDef, ...]]
    #: The accuracy objectives its trials measure: name, direction, unit, meaning (merged with every other
    #: family's and the cost backends' into one registry, which refuses two definitions of one name).
    objectives: ClassVar[tuple[Objective, ...]]
    #: The training-history series the training median rule reads (lower is better), if it prunes trainings.
    pruning_signal: ClassVar[str | None] = None
    #: What its trials lower a design to; only cost backends whose ``costs`` equals it can cost them.
    lowering: ClassVar[str]
    default_backend: ClassVar[str]
    #: The real backend (and how many front designs) that verifies ``default_backend``'s numbers when a study
    #: names no backend: a fast estimate in the loop and real synthesis only for the front is the quicker
    #: way to the same verified front when the real tool is slow. ``None``: the default backend's numbers
    #: stand as they are. A study that names its backend gets exactly that backend (and its own ``verify``).
    default_verify: ClassVar[tuple[str, int] | None] = None
    default_part: ClassVar[str] = "xcu55c"
    default_clock_ns: ClassVar[float] = 5.0
    #: Whether the model decodes causally (bin t from inputs up to t only), as a closed loop needs; for a
    #: family with both kinds, whether its default design does (:meth:`is_causal` says per design point).
    causal: ClassVar[bool] = False
    #: Parameters that change no training (precisions of PTQ, reuse factors, scan architecture, ...): the
    #: points that differ only in them share one trained model (the cost-aware sampler's cheap points).
    cheap_params: ClassVar[tuple[str, ...]] = ()
    #: Of those, the ones that change no simulated output bit either, only the hardware cost (reuse factors,
    #: strategy): points that differ only in them share one simulation and cost only a cost evaluation.
    free_params: ClassVar[tuple[str, ...]] = ()
    #: Python packages whose versions every trial records (its libraries and tool wrappers).
    packages: ClassVar[tuple[str, ...]] = ()
    #: ``dse`` sub-commands of its own (their names may not clash with dse's or another family's).
    commands: ClassVar[tuple[FamilyCommand, ...]] = ()

    def __init__(self) -> None:
        seen: set[str] = set()
        for p in self.params:
            if p.section not in self.sections:
                raise ValueError(f"{p.name}: section must be one of {self.sections}")
            if p.name in seen:
                raise ValueError(f"{p.name}: declared twice in family {self.name!r}")
            for parent, _ in p.when:
                if parent not in seen:
                    raise ValueError(f"{p.name}: condition on {parent!r}, which must be declared before it")
            seen.add(p.name)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The names of :attr:`objectives`."""
        return tuple(o.name for o in self.objectives)

    # ------------------------------------------------------------------------------- parameters

    def param(self, name: str) -> ParamDef:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def section(self, section: str) -> dict[str, ParamDef]:
        """The parameters of one YAML section, by key."""
        return {p.key: p for p in self.params if p.section == section}

    def cross_checks(self, specs: Mapping[str, Spec]) -> Problems:
        """Problems of parameter combinations, found when the study file is loaded (nothing written)."""
        return []

    def data_checks(self, specs: Mapping[str, Spec], data: NeuralData, hardware: HardwareTarget) -> Problems:
        """Problems that depend on the data too (e.g. a product size set by the neuron count); run by
        ``dse run`` once the data is loaded, before anything is written."""
        return []

    # ---------------------------------------------------------------------------------- designs

    @abstractmethod
    def build(self, point: DesignPoint) -> dict[str, Any]:
        """A complete design point (every active parameter by Optuna name, and the hardware target) -> the
        family's own plain, picklable settings that :meth:`run` consumes (``trial.design["model"]``, ...).
        The core adds ``family``, ``params`` and ``hardware`` itself (:class:`Design`)."""

    def design(self, params: Mapping[str, Any], hardware: HardwareTarget) -> Design:
        """The design a trial runs: the complete point ``params`` on ``hardware`` with the family's own
        settings (:meth:`build`)."""
        point = DesignPoint(self.name, dict(params), HardwareTarget.of(hardware))
        return Design(point, self.build(point))

    def training_key(self, point: Mapping[str, Any]) -> str:
        """What decides the training a point needs: equal keys share one trained model."""
        return _key_without(point, self.cheap_params)

    def training_keys(self, point: Mapping[str, Any]) -> tuple[str, ...]:
        """Every training a point's trial does or reuses, its own (:meth:`training_key`) last: a family whose
        points fine-tune a shared model lists that model's key first (once it exists, its points are cheap):
        the keys of :meth:`training_anchors`."""
        return tuple(self.training_key(a) for a in self.training_anchors(point))

    def training_anchors(self, point: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
        """One (partial) point per training the point does or reuses, its own last: a point that trains that
        model, where the cost-aware sampler looks for the model's cheap points (parameters an anchor lacks are
        varied). A family whose points fine-tune a shared model overrides this."""
        return (point,)

    def simulation_key(self, point: Mapping[str, Any]) -> str:
        """What decides a point's simulated outputs: equal keys share one simulation (and one training)."""
        return _key_without(point, self.free_params)

    def is_causal(self, params: Mapping[str, Any]) -> bool:
        """Whether the design point ``params`` decodes causally (default: the family's ``causal``)."""
        return self.causal

    def summary(self, design: Design) -> dict[str, Any]:
        """What the driver stores with the trial to describe its design besides the family's name and the
        point (default: the family's own settings)."""
        return dict(design.own)

    # ----------------------------------------------------------------------------------- trials

    @abstractmethod
    def run(self, trial: TrialContext) -> None:
        """Evaluate ``trial.design``: train (or reuse), lower, simulate, cost; report through ``trial``.

        Raise :class:`dse.trial.context.Pruned` to prune; any other exception inside a
        ``trial.phase(...)`` fails the trial with the phase's name. Finish with ``trial.finish(...)``.
        """

    def note_sections(self, result: TrialResult) -> list[str]:
        """Markdown lines of the family's own that a finished trial's dashboard note shows (after the
        generic design point, objectives, hardware and accuracy sections; ``dse.markdown`` has the pieces)."""
        return []

    # --------------------------------------------------------------------------------- export

    def export(self, request: ExportRequest, out: Path) -> list[str]:
        """Write the family's deployable payload of a finished trial into ``out`` (its hardware project,
        model, testbench and a README); return the names written. :mod:`dse.export` writes design.json and
        reports/ itself."""
        return []

    def lowered_design(self, request: ExportRequest) -> Any:
        """A finished trial's lowered design (of the kind ``lowering`` names, what its cost step handed the
        backend), rebuilt from its stored record and artifacts, so that another backend of the same kind can
        cost the same design (``hardware.verify``, ``dse verify``). Default: this family cannot."""
        from dse.errors import UserInputError

        raise UserInputError(request.source, f"family {self.name!r} cannot rebuild a finished trial's design "
                                             "for another cost backend", "hardware.verify")

    # ------------------------------------------------------------------------------------- CLI

    def add_train_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Options of ``dse train --family <name>`` beyond the common ones (none by default)."""
        return None

    def train(self, request: TrainRequest) -> TrainReport:
        """``dse train --family <name>``: train one model with the default recipe; the report's metrics are
        printed by the command (as JSON with ``--json``, else the report's lines)."""
        from dse.errors import UserInputError

        raise UserInputError("command line", f"family {self.name!r} has no train command", "--family")


def _key_without(point: Mapping[str, Any], left_out: tuple[str, ...]) -> str:
    """The point without ``left_out`` as a canonical string (equal points, equal keys)."""
    import json

    return json.dumps({k: v for k, v in point.items() if k not in left_out}, sort_keys=True, default=str)

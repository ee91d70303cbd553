"""The LFADS family: an LFADS autoencoder lowered to hardware with hls4ml.

What it is, in one folder:

- ``params.py``   its study parameters (sections model, train, quantization, hls), checks, ``build``
- ``config.py``   LFADSConfig / TrainConfig / QuantSpec
- ``model.py``    the Keras/QKeras graph; ``qkeras_compat.py`` the QKeras recurrent-layer shim
- ``causal.py``   the causal variant's graph (``model.causal``); ``step.py`` its one-bin step with explicit states
- ``training.py`` the training recipe; ``evaluate.py`` scoring of a trained model
- ``pipeline.py`` the trial: train -> hls4ml convert -> compile -> C simulation -> cost
- ``export.py``   the deployable package of a trial (hls4ml project, model, testbench data)
- ``cli.py``      ``dse train`` (the default family's options)
- ``estimate_command.py`` ``dse estimate``: the cost of a saved Keras/QKeras model (the family's command)
- ``metrics.py``  its accuracy metrics and objectives
- ``testing.py``  small models and wide designs for tests and benchmarks

Nothing here imports TensorFlow or hls4ml at module level.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dse.families.base import Family, Problems
from dse.families.lfads import metrics as _metrics
from dse.families.lfads import params as _params
from dse.families.records import FamilyCommand
from search_spaces.specs import Spec

if TYPE_CHECKING:
    from dse.families.records import DesignPoint, ExportRequest, HardwareTarget, TrainReport, TrainRequest
    from dse.trial.context import TrialContext


def _estimate_parser(sub: Any) -> None:
    from dse.families.lfads.estimate_command import add_parser

    add_parser(sub)


class LFADSFamily(Family):
    name = "lfads"
    description = "LFADS autoencoder (bidirectional GRU encoder, GRU generator) via hls4ml"
    sections = _params.SECTIONS
    params = _params.PARAMS
    objectives = _metrics.OBJECTIVES
    pruning_signal = _metrics.PRUNING_SIGNAL
    lowering = "hls4ml"
    causal = False  # the bidirectional encoder reads the whole trial before the generator starts
    default_backend = "estimate"
    default_part = "xcu55c"
    default_clock_ns = 5.0
    packages = ("hls4ml", "tensorflow-cpu", "qkeras")
    commands = (FamilyCommand("estimate", _estimate_parser),)
    # PTQ precisions and every hls4ml setting reuse the trained model (and reuse factors even the C-sim)
    cheap_params = ("quantization.ptq_integer_bits", "quantization.ptq_fractional_bits",
                    *(p.name for p in _params.PARAMS if p.section == "hls"))
    # reuse factors and strategy change how the design is scheduled, not one output bit (dse.hls.csim_cache)
    free_params = tuple(p.name for p in _params.PARAMS if p.section == "hls" and "reuse_factor" in p.name
                        or p.name in ("hls.parallelism", "hls.strategy"))

    def training_anchors(self, point: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
        """A fine-tuned QAT point trains (or reuses) the float model its PTQ siblings use, then fine-tunes: that
        model is found among PTQ points (their bits left open)."""
        if point.get(_params.MODE) != "qat" or point.get("quantization.qat_init") != "float":
            return (point,)
        float_point = {k: v for k, v in point.items() if not k.startswith("quantization.")}
        return ({**float_point, _params.MODE: "ptq"}, point)

    def is_causal(self, params: Mapping[str, Any]) -> bool:
        return bool(params.get("model.causal", False))  # the causal variant streams bin by bin

    def cross_checks(self, specs: Mapping[str, Spec]) -> Problems:
        return _params.check_qat_bits(specs) + _params.check_parallelism(specs) + _params.check_causal(specs)

    def data_checks(self, specs: Mapping[str, Spec], data: Any, hardware: HardwareTarget) -> Problems:
        from dse.hls.cache import compile_timeout_s

        compile_timeout_s()  # $DSE_COMPILE_TIMEOUT_S that is not a number: ConfigError
        return _params.check_reuse_factors(specs, data.n_neurons) + _params.check_ic_window(specs, data.n_bins)

    def build(self, point: DesignPoint) -> dict[str, Any]:
        return _params.build(point)

    def run(self, trial: TrialContext) -> None:
        from dse.families.lfads.pipeline import run

        run(trial)

    def export(self, request: ExportRequest, out: Path) -> list[str]:
        from dse.families.lfads.export import export

        return export(request, out)

    def lowered_design(self, request: ExportRequest) -> Any:
        from dse.families.lfads.pipeline import lowered_design

        return lowered_design(request)

    def add_train_arguments(self, parser: argparse.ArgumentParser) -> None:
        from dse.families.lfads.cli import add_arguments

        add_arguments(parser)

    def train(self, request: TrainRequest) -> TrainReport:
        from dse.families.lfads.cli import run

        return run(request)


FAMILY = LFADSFamily

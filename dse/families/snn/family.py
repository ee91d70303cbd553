"""The ``snn`` family: spiking networks trained with snnTorch, quantized, lowered to VHDL that dse
generates, accuracy measured on the bit-exact integer reference, cost from GHDL + Yosys (+ nextpnr).

The trial: task data (behaviour decoding on the study's neural data, or digits) -> float training
(cached: every bit-width and scan point of one network shares it) -> PTQ or QAT fine-tuning -> the
integer network scored on the reference model (the counterpart of C simulation) -> the cost backend
(``yosys``: checked synthesis; ``hdl-estimate``: the calibrated analytic model). By default a study costs
every trial with ``hdl-estimate`` and verifies the front's designs with checked Yosys synthesis
(``hardware.verify``); ``hardware.backend: yosys`` synthesizes every trial instead.

Objectives follow the registry's definitions: ``behavior_r2`` is the per-trial form and
``behavior_r2_bin`` the causal per-bin form (the one a closed-loop decoder delivers); ``accuracy`` is the
classification accuracy of the digits tasks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dse.families.base import Family, Problems
from dse.families.records import FamilyCommand
from dse.families.snn.activity import OBJECTIVES as ACTIVITY
from dse.families.snn.study_checks import (
    check_layer_reuse,
    check_leak_shifts,
    layer_reuse_problem,
    output_size,
    parse_layer_reuse,
)
from objectives.decoding import BEHAVIOR_R2, BEHAVIOR_R2_BIN
from objectives.registry import Objective
from search_spaces.params import ParamDef, above, at_least, at_most, below
from search_spaces.specs import Spec

if TYPE_CHECKING:
    from dse.families.records import DesignPoint, ExportRequest, HardwareTarget, TrainReport, TrainRequest
    from dse.trial.context import TrialContext

TASKS = ("decode", "digits", "digits16", "digits28")
NEURONS = ("if", "lif", "lif2")  # study files are case-insensitive; the model names are IF, LIF, LIF2
ENCODINGS = ("binary", "current", "substeps", "rate", "latency")
LEAKY = (("model.neuron", ("lif", "lif2")),)
QAT = (("quantization.mode", ("qat",)),)

PARAMS: tuple[ParamDef, ...] = (
    ParamDef("model", "task", str, "decode", "decode (behaviour from the study's data) | digits | digits16 | digits28",
             allowed=TASKS),
    ParamDef("model", "nir", str, None, "a NIR graph file (snnTorch, Norse, ... export): the network is taken "
             "from it instead of trained (the model.* network settings other than task/encoding are unused)"),
    ParamDef("model", "nir_dt", float, None, "the NIR exporter's time step in s (default 1e-4, snnTorch's)",
             (above(0.0),)),
    ParamDef("model", "hidden_layers", int, 1, "spiking hidden layers", (at_least(1), at_most(4))),
    ParamDef("model", "hidden_units", int, 128, "neurons per hidden layer", (at_least(1),)),
    ParamDef("model", "recurrent", bool, True, "hidden layers feed their own spikes back"),
    ParamDef("model", "neuron", str, "lif", "if (no leak) | lif (1st order) | lif2 (synaptic current + membrane)",
             allowed=NEURONS),
    ParamDef("model", "k_beta", int, 2, "membrane leak shift k: beta = 1 - 2^-k", (at_least(1), at_most(16)),
             when=LEAKY),
    ParamDef("model", "k_alpha", int, 3, "LIF2 synaptic-current leak shift", (at_least(1), at_most(16)),
             when=(("model.neuron", ("lif2",)),)),
    ParamDef("model", "reset", str, "subtract", "after a spike: subtract the threshold | zero | none",
             allowed=("subtract", "zero", "none")),
    ParamDef("model", "threshold", float, 1.0, "firing threshold (float units)", (above(0.0),)),
    ParamDef("model", "readout_k", int, 3, "leak shift of the non-spiking readout layer", (at_least(1), at_most(16))),
    ParamDef("model", "encoding", str, "current",
             "spike counts: binary | current (integer input) | substeps; dense features: rate | latency",
             allowed=ENCODINGS),
    ParamDef("model", "input_bits", int, 2, "bits of the integer input current", (at_least(2), at_most(8)),
             when=(("model.encoding", ("current",)),)),
    ParamDef("model", "substeps", int, 2, "time steps per bin of the substeps encoding", (at_least(2), at_most(16)),
             when=(("model.encoding", ("substeps",)),)),
    ParamDef("model", "time_steps", int, 25, "time steps of the dense encodings", (at_least(1),),
             when=(("model.encoding", ("rate", "latency")),)),
    ParamDef("train", "epochs", int, 100, "float training epochs", (at_least(1),)),
    ParamDef("train", "batch_size", int, 16, "mini-batch size", (at_least(1),)),
    ParamDef("train", "lr", float, 5e-3, "Adam learning rate", (above(0.0),)),
    ParamDef("train", "weight_decay", float, 1e-4, "Adam weight decay", (at_least(0.0),)),
    ParamDef("train", "grad_clip", float, 1.0, "gradient-norm clipping (0: none)", (at_least(0.0),)),
    ParamDef("train", "init_gain", float, 3.0, "initial weight scale", (above(0.0),)),
    ParamDef("train", "input_dropout", float, 0.0, "training-only input dropout", (at_least(0.0), below(1.0))),
    ParamDef("train", "seed", int, 0, "training seed", (at_least(0),)),
    ParamDef("quantization", "mode", str, "ptq", "ptq: quantize the float model | qat: fine-tune quantized",
             allowed=("ptq", "qat")),
    ParamDef("quantization", "weight_bits", int, 6, "signed weight bits", (at_least(2), at_most(16))),
    ParamDef("quantization", "membrane_bits", int, None, "signed membrane bits (default: calibrated)",
             (at_least(2), at_most(32))),
    ParamDef("quantization", "frac_bits", int, None, "fractional bits (default: the most the weights allow)",
             (at_least(0), at_most(30))),
    ParamDef("quantization", "qat_epochs", int, 20, "QAT fine-tuning epochs", (at_least(1),), when=QAT),
    ParamDef("hdl", "scan", str, "full", "input scan: full (every input a cycle, Spiker+) | event (only spikes)",
             allowed=("full", "event")),
    ParamDef("hdl", "reuse_factor", int, 1, "neurons per shared datapath R: a layer has ceil(n/R) datapaths "
             "(1: one per neuron; a layer smaller than R gets one)", (at_least(1),)),
    ParamDef("hdl", "rom_style", str, "auto", "weight ROMs: auto (Yosys' choice: below ~80 Kbit in LUTs) | block "
             "(block RAM) | distributed (LUTs)", allowed=("auto", "block", "distributed")),
    ParamDef("hdl", "layer_reuse_factors", str, "", "one R per layer, hidden layers then the output layer, "
             "e.g. '16 10'; overrides hdl.reuse_factor; '' sets none", (layer_reuse_problem,)),
)


def _network(p: Mapping[str, Any]) -> dict[str, Any]:
    """The float description (without n_inputs and the output size, which the task decides)."""
    neuron = p["model.neuron"].upper()
    hidden = {"size": p["model.hidden_units"], "neuron": neuron, "reset": p["model.reset"],
              "threshold": p["model.threshold"], "recurrent": p["model.recurrent"]}
    if neuron != "IF":
        hidden["k_beta"] = p["model.k_beta"]
    if neuron == "LIF2":
        hidden["k_alpha"] = p["model.k_alpha"]
    enc: dict[str, Any] = {"kind": p["model.encoding"]}
    if "model.input_bits" in p:
        enc["input_bits"] = p["model.input_bits"]
    if "model.substeps" in p:
        enc["substeps"] = p["model.substeps"]
    if "model.time_steps" in p:
        enc["steps"] = p["model.time_steps"]
    return {"hidden": [hidden] * p["model.hidden_layers"], "readout_k": p["model.readout_k"], "encoding": enc}


def _reuse_factor(p: Mapping[str, Any]) -> int | list[int]:
    """The per-layer list when hdl.layer_reuse_factors sets one, else the one R of hdl.reuse_factor."""
    per_layer = parse_layer_reuse(p.get("hdl.layer_reuse_factors", ""))
    return per_layer or int(p.get("hdl.reuse_factor", 1))


def _hdl_parser(sub: Any) -> None:
    from dse.families.snn.hdl_command import add_parser

    add_parser(sub)


class SNNFamily(Family):
    name = "snn"
    description = "spiking networks (IF/LIF/LIF2, Spiker+-style) as VHDL generated by dse"
    sections = ("model", "train", "quantization", "hdl")
    params = PARAMS
    objectives = (BEHAVIOR_R2, BEHAVIOR_R2_BIN,
                  Objective("accuracy", "maximize", "", "classification accuracy on held-out samples (bit-exact model)"),
                  *ACTIVITY)
    lowering = "hdl"
    causal = True
    # The calibrated estimate costs every trial in milliseconds; checked Yosys synthesis (seconds to minutes
    # per design, mostly its gate-level check) runs only for the designs that reach the front.
    # ``hardware.backend: yosys`` keeps synthesis in every trial.
    default_backend = "hdl-estimate"
    default_verify = ("yosys", 3)
    default_part = "xc7a35t"
    default_clock_ns = 10.0
    packages = ("torch", "snntorch")
    commands = (FamilyCommand("hdl", _hdl_parser),)
    cheap_params = ("quantization.weight_bits", "quantization.membrane_bits", "quantization.frac_bits", "hdl.scan",
                    "hdl.reuse_factor", "hdl.layer_reuse_factors", "hdl.rom_style")
    # the reuse factor changes neither a trained weight nor a simulated output bit: only the hardware cost
    free_params = ("hdl.reuse_factor", "hdl.layer_reuse_factors", "hdl.rom_style")

    def training_key(self, point: Mapping[str, Any]) -> str:
        """PTQ points of one network share its float training; a QAT point fine-tunes for its own bits."""
        if point.get("quantization.mode") == "qat":
            return json.dumps(dict(point), sort_keys=True, default=str)
        return super().training_key(point)

    def cross_checks(self, specs: Mapping[str, Spec]) -> Problems:
        from search_spaces.specs import values_or_ends

        def values(name: str) -> list[Any]:
            return values_or_ends(specs[name]) if name in specs else []

        out: Problems = []
        for mb in values("quantization.membrane_bits"):
            for fb in values("quantization.frac_bits"):
                for th in values("model.threshold"):
                    if round(th * 2**fb) > 2 ** (mb - 1) - 1 or round(th * 2**fb) < 1:
                        out.append(("model.threshold", f"bits cannot hold the threshold: round({th} * 2^{fb}) "
                                                       f"does not fit {mb} signed membrane bits"))
                        return out
        out += check_leak_shifts(specs)
        if out:
            return out
        out += check_layer_reuse(specs, None)
        if out:
            return out
        encodings = set(values("model.encoding"))
        tasks = set(values("model.task"))
        if "decode" in tasks and encodings & {"rate", "latency"}:
            out.append(("model.encoding", "rate/latency encode dense features (digits); the decode task's inputs "
                                          "are spike counts: use binary, current or substeps"))
        if tasks & {"digits", "digits16", "digits28"} and encodings & {"binary", "current", "substeps"}:
            out.append(("model.encoding", "the digits tasks have dense pixel features: use rate or latency"))
        return out

    def data_checks(self, specs: Mapping[str, Spec], data: Any, hardware: HardwareTarget) -> Problems:
        from dse.families.snn.synth import parse_part

        try:
            parse_part(hardware.part)
        except ValueError as e:
            return [("hardware.part", str(e).removeprefix("part: "))]
        if "model.nir" in specs:
            from dse.families.snn.pipeline import nir_problems
            from search_spaces.specs import values_or_ends

            tasks = values_or_ends(specs["model.task"]) if "model.task" in specs else ["decode"]
            dts = values_or_ends(specs["model.nir_dt"]) if "model.nir_dt" in specs else [None]
            for path in values_or_ends(specs["model.nir"]):
                problem = nir_problems(path, dts, tasks, data)
                if problem:
                    return [("model.nir", problem)]
        return check_layer_reuse(specs, output_size(specs, data))

    def build(self, point: DesignPoint) -> dict[str, Any]:
        p = point.params
        quant = {"mode": p["quantization.mode"], "weight_bits": p["quantization.weight_bits"],
                 "membrane_bits": p.get("quantization.membrane_bits"), "frac_bits": p.get("quantization.frac_bits"),
                 "qat_epochs": p.get("quantization.qat_epochs")}
        train = {k.split(".", 1)[1]: v for k, v in p.items() if k.startswith("train.")}
        nir = {"nir": str(Path(p["model.nir"]).resolve()), "nir_dt": p.get("model.nir_dt")} \
            if p.get("model.nir") else {}
        return {"task": p["model.task"], "network": _network(p), **nir, "train": train, "quantization": quant,
                "scan": p["hdl.scan"], "reuse_factor": _reuse_factor(p), "rom_style": p.get("hdl.rom_style", "auto")}

    def run(self, trial: TrialContext) -> None:
        from dse.families.snn.pipeline import run

        run(trial)

    def export(self, request: ExportRequest, out: Path) -> list[str]:
        from dse.families.snn.pipeline import export

        return export(request, out)

    def lowered_design(self, request: ExportRequest) -> Any:
        from dse.families.snn.pipeline import lowered_design

        return lowered_design(request)

    def add_train_arguments(self, parser: argparse.ArgumentParser) -> None:
        from dse.families.snn.cli import add_arguments

        add_arguments(parser)

    def train(self, request: TrainRequest) -> TrainReport:
        from dse.families.snn.cli import run

        return run(request)


def design_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


FAMILY = SNNFamily

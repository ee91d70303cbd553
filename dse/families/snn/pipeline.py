"""The SNN trial: task data -> float training (cached) -> PTQ or QAT -> integer reference -> cost.

Every point of one network (bit widths, PTQ/QAT, scan architecture, part) shares its float training
through the trained-model cache; QAT fine-tunes from it. Accuracy is always the integer reference
model's, which computes exactly what the generated VHDL computes (GHDL co-simulation tests).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from dse.errors import UserInputError
from dse.families.records import Design, ExportRequest
from dse.trial.context import TrialContext

MODEL_FILE = "model.pt"
NETWORK_FILE = "network.json"


def load_task(design: dict[str, Any], data: dict[str, Any]):
    from dse.families.snn.tasks import decode_task, load_task

    if design["task"] == "decode":
        return decode_task(data["source"], seed=data.get("split_seed", 0), data_options=data.get("options", {}))
    return load_task(design["task"], seed=data.get("split_seed", 0))


def latency_per(task, desc, net) -> str | None:
    """What a design's latency is per: "bin" for a decoder that answers each bin as it comes (one time step
    per bin and at most two layers: reference.step_latency), "trial" for one that answers when a run over the
    trial ends, None (one inference: an image) for classification."""
    if task.kind != "regression":
        return None
    return "bin" if desc.encoding.substeps == 1 and len(net.layers) <= 2 else "trial"


def description(design: dict[str, Any], task) -> Any:
    from dse.families.snn.model import SNNDescription

    net = design["network"]
    layers = [*net["hidden"], {"size": task.n_outputs, "neuron": "readout", "k_beta": net["readout_k"]}]
    return SNNDescription.from_dict({"n_inputs": task.n_inputs, "layers": layers, "encoding": net["encoding"]})


def nir_problems(path: str, dts: list, tasks: list, data: Any) -> str | None:
    """Why the study's ``model.nir`` graph cannot serve its tasks (checked before anything runs), or None."""
    from dse.families.snn.nir_import import import_file

    try:
        nets = [import_file(path, dt=dt) for dt in dts]
    except UserInputError as e:
        return str(e)
    sizes = {"digits": (64, 10), "digits28": (784, 10)}
    for net in nets:
        for task in tasks:
            n_in, n_out = sizes.get(task, (getattr(data, "n_neurons", None), None))
            if n_in is not None and net.n_inputs != n_in:
                return f"{path}: the network takes {net.n_inputs} inputs, task {task!r} has {n_in}"
            if n_out is not None and net.layers[-1].weights.shape[1] != n_out:
                return f"{path}: the network has {net.layers[-1].weights.shape[1]} outputs for {n_out} classes"
            if task == "decode" and net.layers[-1].neuron != "readout":
                return f"{path}: decoding reads readout membranes: the last population must be an LI or I node"
    return None


def imported_network(design: dict[str, Any], task, encoding: dict[str, Any]):
    """(description, float model) of the study's NIR graph, with the study's input encoding."""
    from dse.families.snn.encoding import EncodingSpec
    from dse.families.snn.nir_import import import_file

    imported = import_file(design["nir"], dt=design.get("nir_dt"))
    enc = EncodingSpec(**encoding)
    return imported.description(enc), imported.model(enc)


def task_fingerprint(task) -> str:
    h = hashlib.sha256(f"{task.name}|{task.kind}|{task.seed}".encode())
    for part in (task.train, task.valid, task.test):
        for a in (part.x, part.y):
            a = np.ascontiguousarray(a)
            h.update(str((a.shape, a.dtype.str)).encode())
            h.update(a.tobytes())
    return h.hexdigest()


def _accuracy(metrics: dict[str, Any], kind: str) -> dict[str, Any]:
    """The registry's names: behavior_r2 = per-trial form, behavior_r2_bin = causal per-bin form."""
    if kind == "regression":
        return {"behavior_r2": metrics["behavior_r2_trial"], "behavior_r2_bin": metrics["behavior_r2"]}
    return {"accuracy": metrics["accuracy"]}


def _load_model(path: Path, desc, cfg):
    import torch

    from dse.families.snn.model import SNN

    model = SNN(desc, surrogate=cfg.surrogate, slope=cfg.slope, init_gain=cfg.init_gain,
                recurrent_gain=cfg.recurrent_gain)
    model.load_state_dict(torch.load(path, weights_only=True))
    return model


def _preflight(trial: TrialContext, desc, cfg, d: Design) -> None:
    """Estimate the untrained network (resources depend on sizes and bits, not on weight values); prune
    a design that cannot fit the part before training. Only where the estimate is calibrated (Xilinx)."""
    from dse.cost.parts import get_part
    from dse.families.snn.lowering import estimate_counts
    from dse.families.snn.model import SNN, QuantSpec
    from dse.families.snn.quantize import choose_frac_bits, frac_bits_cap, to_quantized
    from dse.families.snn.synth import parse_part
    from dse.trial.context import Pruned

    limit, part = trial.spec.max_utilisation, d.hardware.part
    if limit is None or parse_part(part)["family"] != "xilinx":
        return
    q = d["quantization"]
    model = SNN(desc)
    frac = q["frac_bits"] if q["frac_bits"] is not None else choose_frac_bits(model, q["weight_bits"])
    if q["membrane_bits"] and q["frac_bits"] is None:  # as the quantizer does: fractional bits that hold theta
        frac = min(frac, frac_bits_cap(model, q["membrane_bits"]))
    quant = QuantSpec(q["weight_bits"], q["membrane_bits"] or 16, frac)  # 16: wider than calibration picks
    steps = desc.encoding.time_steps(1)  # cycles do not matter here, only resources
    net = to_quantized(model, quant, steps, d["scan"]).with_reuse(d.get("reuse_factor", 1))
    counts = estimate_counts(net, part, d.get("rom_style", "auto"))
    totals = get_part(part).resources
    util = {r: counts[r] / totals[r] for r in ("lut", "ff", "bram_18k") if totals[r]}
    worst = max(util, key=util.get)
    if util[worst] > limit:
        raise Pruned(f"estimate: the network needs {util[worst]:.0%} of the {part} {worst} (limit {limit:.0%}); "
                     "not trained")


def run(trial: TrialContext) -> None:
    from dse.families.snn.scoring import score_float
    from dse.families.snn.train import TrainConfig, train_snn
    from dse.trial import model_cache

    d, spec, result = trial.design, trial.spec, trial.result
    with trial.phase("data"):
        task = load_task(d, spec.data)
        desc = description(d, task)
        cfg = TrainConfig(**d["train"])
        key = model_cache.model_key(task_fingerprint(task), desc.to_dict(), cfg.to_dict())
    if d.get("nir"):  # the network comes from a NIR graph: nothing to train
        with trial.phase("import"):
            desc, model = imported_network(d, task, d["network"]["encoding"])
            if task.kind == "classification" and not desc.has_readout:
                cfg = replace(cfg, classify_by="count")  # QAT of a spiking output layer
            result.cache["model"] = False
            result.accuracy["float"] = _accuracy(score_float(model, task, cfg.classify_by), task.kind)
        _quantize_and_cost(trial, d, task, desc, cfg, model)
        return

    def train(out_dir: Path) -> dict[str, Any]:
        import torch

        r = train_snn(desc, task, cfg)
        if r.stopped_reason == "non_finite_loss":
            raise FloatingPointError(f"loss became NaN/inf in epoch {r.epochs}")
        torch.save(r.model.state_dict(), out_dir / MODEL_FILE)
        return {"description": desc.to_dict(), "train": cfg.to_dict(), "history": r.history, "epochs": r.epochs,
                "best_epoch": r.best_epoch, "train_seconds": r.train_seconds, "stopped_reason": r.stopped_reason,
                "float_metrics": _accuracy(score_float(r.model, task, cfg.classify_by), task.kind)}

    if model_cache.lookup(Path(spec.model_cache_dir), key, MODEL_FILE) is None:
        with trial.phase("preflight"):
            _preflight(trial, desc, cfg, d)
    with trial.phase("train"):
        cached = model_cache.get_or_train(Path(spec.model_cache_dir), key, train, MODEL_FILE)
        model = _load_model(cached.model_file, desc, cfg)
    result.cache["model"] = cached.hit
    result.accuracy["float"] = dict(cached.info["float_metrics"])
    trial.artifact("model", cached.model_file)
    _quantize_and_cost(trial, d, task, desc, cfg, model)


def _quantize_and_cost(trial: TrialContext, d: dict[str, Any], task, desc, cfg, model) -> None:
    from dse.cost.registry import get_backend
    from dse.families.snn.activity import OBJECTIVE_NAMES as ACTIVITY
    from dse.families.snn.activity import activity
    from dse.families.snn.lowering import SNNHardware
    from dse.families.snn.quantize import ptq, qat, resolve_quant
    from dse.families.snn.reference import simulate
    from dse.families.snn.train import TrainResult, encode_inputs, set_determinism

    spec, result = trial.spec, trial.result
    q = d["quantization"]
    with trial.phase("quantize"):
        set_determinism(cfg.seed)
        quant = resolve_quant(model, task, q["weight_bits"], q["membrane_bits"], q["frac_bits"])
        if q["mode"] == "qat":
            r = qat(TrainResult(model=model, desc=desc, config=cfg), task, quant, q["qat_epochs"], scan=d["scan"])
        else:
            r = ptq(model, task, quant, cfg.classify_by, scan=d["scan"])
    trial.timings["integer_model"] = r.integer_seconds
    # the reuse factor changes no output bit (SEMANTICS.md), only the cycles and the hardware
    net = r.net.with_reuse(d.get("reuse_factor", 1))
    inputs = encode_inputs(desc.encoding, task.test)
    with trial.phase("activity"):
        ref = simulate(net, inputs)
        act = activity(net, inputs, ref)
    result.accuracy["integer"] = {**_accuracy(r.metrics, task.kind), "mean_cycles": float(ref.cycles[d["scan"]].mean())}
    result.accuracy["activity"] = {**{k: act[k] for k in ACTIVITY},
                                   **{f"spikes_layer{li}": s for li, s in enumerate(act["spikes_per_layer"])
                                      if s is not None}}
    result.accuracy["quantization"] = dict(r.quant.to_dict())
    trial.write_json(NETWORK_FILE, net.to_dict(), kind="integer_network")

    with trial.phase("lower"):
        per = latency_per(task, desc, net)
        hw = SNNHardware(net, inputs, cache_dir=str(Path(spec.build_cache_dir) / "synthesis"),
                         rom_style=d.get("rom_style", "auto"), per_bin=per == "bin")
        hw.write(trial.work / "hdl")
        trial.artifact("hdl_project", trial.work / "hdl")
    target = d.hardware
    with trial.phase("cost"):
        report = get_backend(target.backend).cost(hw, part=target.part, clock_ns=target.clock_ns,
                                                  output_dir=str(trial.work / "synthesis"))
    result.cache["synthesis"] = bool(report.details.get("cached"))
    trial.finish({**_accuracy(r.metrics, task.kind), **{k: act[k] for k in ACTIVITY}}, report, latency_per=per)


def export(req: ExportRequest, out: Path) -> list[str]:
    """The VHDL project of a trial: sources, weight memories, testbench with input and expected-output
    files, a Yosys script, a Vivado TCL, the trained model, the integer network as NIR (network.nir) and
    a README (dse.families.snn.hdl_project)."""
    import shutil

    from dse.errors import ConfigError
    from dse.families.snn.hdl_project import build_project
    from dse.families.snn.network import QuantizedSNN
    from dse.families.snn.train import encode_inputs

    art = {a.kind: a for a in req.result.artifacts}
    if "integer_network" not in art or not Path(art["integer_network"].path).is_file():
        raise ConfigError(req.source, f"trial {req.number}: its integer network is gone", "--trial")
    net = QuantizedSNN.from_dict(json.loads(Path(art["integer_network"].path).read_text()))
    task = load_task(req.design, req.data)
    inputs = encode_inputs(description(req.design, task).encoding, task.test)[:4]
    build_project(net, inputs, out, part=(req.result.hardware or {}).get("part", "xc7a35t"), run_ghdl=False)
    from dse.families.snn.nir_export import write_nir

    write_nir(net, out / "network.nir")  # the network for snnTorch, Norse, ... (NIR, float parameters)
    written = [p.name for p in out.iterdir()]
    if "model" in art and Path(art["model"].path).is_file():
        (out / "model").mkdir(exist_ok=True)
        shutil.copy2(art["model"].path, out / "model" / MODEL_FILE)
        written.append("model/" + MODEL_FILE)
    return written


def lowered_design(req: ExportRequest) -> Any:
    """A finished trial's HDL design rebuilt from its stored integer network, with the test inputs the trial's
    synthesis checks simulate, so that another ``hdl`` backend (Yosys after an estimate) costs the same design."""
    from dse.errors import ConfigError
    from dse.families.snn.lowering import SNNHardware
    from dse.families.snn.network import QuantizedSNN
    from dse.families.snn.train import encode_inputs

    art = {a.kind: a for a in req.result.artifacts}
    if "integer_network" not in art or not Path(art["integer_network"].path).is_file():
        raise ConfigError(req.source, f"trial {req.number}: its integer network is gone", "--trial")
    net = QuantizedSNN.from_dict(json.loads(Path(art["integer_network"].path).read_text()))
    task = load_task(req.design, req.data)
    desc = description(req.design, task)
    inputs = encode_inputs(desc.encoding, task.test)
    return SNNHardware(net, inputs, cache_dir=str(Path(req.build_cache_dir) / "synthesis"),
                       per_bin=latency_per(task, desc, net) == "bin")

"""The LFADS trial pipeline: data -> train (or fetch) -> convert -> compile -> C-simulate -> cost.

The accuracy objectives are computed on the bit-accurate C-simulation outputs of the hls4ml design
(log-rates and factors), for training trials too: the behaviour decoder is fit on the factors the
circuit produces. A design that the estimator shows too big is pruned before any training.

A causal design (``model.causal``) is one bin's step (:mod:`dse.families.lfads.step`): hls4ml converts the
step, the C simulation calls it once per bin carrying the states it returns, and the cost is per bin (the
hardware record says ``latency_per: bin``; a bidirectional design's latency is per finished trial).
"""

from __future__ import annotations

import dataclasses
import io
import math
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np

from dse.trial.context import Pruned, TrialContext, sha256_file
from dse.trial.runner import load_split

LOGRATES, FACTORS = "logrates", "factors"  # output layers of the deploy model (dse.families.lfads.model)


def model_configs(design: dict[str, Any], split) -> tuple[Any, Any]:
    from dse.families.lfads.config import LFADSConfig, TrainConfig

    model_cfg = LFADSConfig.from_dict({**design["model"], "n_neurons": split.train.n_neurons,
                                       "n_bins": split.train.n_bins})
    return model_cfg, TrainConfig(**design["train"])


def hardware_model(model_cfg, deploy) -> tuple[Any, Any]:
    """``(the Keras model hls4ml converts, its step model or None)``: the deploy model itself, or for a causal
    design the one-bin step built from it."""
    if not model_cfg.causal:
        return deploy, None
    from dse.families.lfads.step import build_step

    step = build_step(model_cfg, deploy)
    return step.model, step


def _preflight(trial: TrialContext, model_cfg, hls_design) -> None:
    """Estimate the untrained architecture; raise Pruned if it cannot fit (before any training)."""
    if trial.spec.max_utilisation is None:
        return
    from dse.cost.registry import get_backend
    from dse.families.lfads.model import build_lfads
    from dse.hls.convert import convert

    hls_model = convert(hardware_model(model_cfg, build_lfads(model_cfg).deploy)[0], hls_design,
                        trial.work / "preflight")
    report = get_backend("estimate").cost(hls_model, part=hls_design.part, clock_ns=hls_design.clock_period)
    util = report.utilisation()
    worst = max(util, key=util.get)
    if util[worst] > trial.spec.max_utilisation:
        raise Pruned(f"estimator: design needs {util[worst]:.0%} of the {report.part} {worst} "
                     f"(limit {trial.spec.max_utilisation:.0%}); not trained")


def _train(trial: TrialContext, split, model_cfg, train_cfg, data_fp: str, cache_root: Path):
    from dse.families.lfads.evaluate import keras_predictor, score
    from dse.families.lfads.metrics import PRUNING_SIGNAL as SIGNAL
    from dse.families.lfads.training import train_lfads
    from dse.trial import model_cache
    from dse.trial.pruning import MedianRule, TrainingPruned, earlier_curves

    p = trial.spec.pruning or {}

    def trainer(cfg, init_from: Path | None = None, extra: dict | None = None):
        hook = None
        if p.get("enabled"):
            # QKeras models converge more slowly than float ones: compared with float curves, 12- and 16-bit QAT
            # trainings of the paper-size model were pruned at epoch 46 although they would have ended close to
            # the float model, so a curve only counts against trainings with identical quantizers (or none)
            same = {"data_fingerprint": data_fp, "model.quant": cfg.to_dict()["quant"]}
            rule = MedianRule(earlier_curves(cache_root, SIGNAL, same), p.get("warmup_epochs", 15),
                              p.get("min_curves", 4), p.get("margin", 0.01), signal="validation NLL")
            hook = lambda e, logs: rule.check(e, float(logs.get(SIGNAL, math.nan)))  # noqa: E731

        def train(out_dir: Path) -> dict[str, Any]:
            try:
                r = train_lfads(cfg, split, train_cfg, epoch_hook=hook,
                                init_from=None if init_from is None else load_model(init_from))
            except TrainingPruned as e:
                raise Pruned(f"training: {e}") from None
            if r.stopped_reason == "non_finite_loss":
                raise FloatingPointError(f"loss became NaN/inf in epoch {r.epochs}")
            r.models.deploy.save(out_dir / "model.h5")
            # the Keras-side metrics score the reference: for QAT what the hardware computes (state-quantized
            # GRU outputs, see QuantSpec.state_outputs); the plain QKeras deploy model's are kept beside them
            metrics = score(split, keras_predictor(r.models.reference))
            info = {"data_fingerprint": data_fp, "model": cfg.to_dict(), "train": train_cfg.to_dict(),
                    "history": r.history, "epochs": r.epochs, "best_epoch": r.best_epoch,
                    "train_seconds": r.train_seconds, "stopped_reason": r.stopped_reason, "float_metrics": metrics,
                    **(extra or {})}
            if r.models.reference is not r.models.deploy:
                info["deploy_metrics"] = score(split, keras_predictor(r.models.deploy))
            return info

        return train

    if model_cfg.quant is not None and model_cfg.quant.init == "float":
        # QAT fine-tuned from the float model PTQ designs share (same data, architecture, training settings):
        # trained first if missing, under its own key's lock, so concurrent trials train it once
        float_cfg = dataclasses.replace(model_cfg, quant=None)
        float_key = model_cache.model_key(data_fp, float_cfg.to_dict(), train_cfg.to_dict())
        base = model_cache.get_or_train(cache_root, float_key, trainer(float_cfg))
        extra = {"init_from": float_key, "float_model_trained_here": not base.hit,
                 "float_train_seconds": base.info.get("train_seconds")}
        key = model_cache.model_key(data_fp, model_cfg.to_dict(), train_cfg.to_dict())
        return model_cache.get_or_train(cache_root, key, trainer(model_cfg, base.model_file, extra))
    key = model_cache.model_key(data_fp, model_cfg.to_dict(), train_cfg.to_dict())
    return model_cache.get_or_train(cache_root, key, trainer(model_cfg))


def load_model(path: Path):
    """A saved deploy model (QKeras layers and dse's custom objects included)."""
    from tensorflow import keras

    from dse.families.lfads.model import custom_objects

    return keras.models.load_model(path, custom_objects=custom_objects(), compile=False)


def stored_hardware_model(model_settings: dict[str, Any], model_file: Path) -> tuple[Any, Any]:
    """:func:`hardware_model` of a finished trial: its stored deploy model and its design's ``model`` settings
    (the data's sizes read off the model's spikes input)."""
    from dse.families.lfads.config import LFADSConfig

    deploy = load_model(model_file)
    _, n_bins, n_neurons = deploy.inputs[0].shape  # the spikes: (trials, bins, neurons)
    return hardware_model(LFADSConfig.from_dict({**model_settings, "n_neurons": n_neurons, "n_bins": n_bins}), deploy)


def lowered_design(req: Any) -> Any:
    """A finished trial's hls4ml model rebuilt from its stored deploy model and design, for the backend its
    request names (hls4ml's Vitis or Vivado flavour), so that a real tool costs the design the estimate costed.

    The project is written (not compiled: no tool needs the C-simulation library) under the build cache, one
    folder per study, trial and HLS flavour."""
    from dse.errors import ConfigError
    from dse.families.lfads.params import hls_backend
    from dse.hls.convert import convert
    from dse.hls.design import HLSDesign

    model_art = next((a for a in req.result.artifacts if a.kind == "model"), None)
    if model_art is None or not Path(model_art.path).is_file():
        raise ConfigError(req.source, f"trial {req.number}: its trained model is gone from the cache "
                          f"({model_art.path if model_art else 'no artifact'})", "--trial")
    hls = dict(req.design["hls"])
    hls["backend"] = hls_backend(req.design.hardware.backend, hls.get("backend", "Vitis"))
    design = HLSDesign.from_dict(hls)
    out = Path(req.build_cache_dir) / "lowered" / req.study / str(req.number) / design.backend / "hls_project"
    out.parent.mkdir(parents=True, exist_ok=True)
    hls_model = convert(stored_hardware_model(req.design["model"], Path(model_art.path))[0], design, out)
    with redirect_stdout(io.StringIO()):
        hls_model.write()
    return hls_model


def run(trial: TrialContext) -> None:
    from dse.hls.design import HLSDesign
    from dse.trial import model_cache

    spec, result = trial.spec, trial.result
    with trial.phase("data"):
        split = load_split(spec.data)
        data_fp = model_cache.data_fingerprint(split)
        model_cfg, train_cfg = model_configs(trial.design, split)
        hls_design = HLSDesign.from_dict(trial.design["hls"])
    cache_root = Path(spec.model_cache_dir)
    key = model_cache.model_key(data_fp, model_cfg.to_dict(), train_cfg.to_dict())
    if model_cache.lookup(cache_root, key) is None:
        with trial.phase("preflight"):
            _preflight(trial, model_cfg, hls_design)
    with trial.phase("train"):
        cached = _train(trial, split, model_cfg, train_cfg, data_fp, cache_root)
    result.cache["model"] = cached.hit
    result.accuracy["float"] = dict(cached.info["float_metrics"])
    model_sha = sha256_file(cached.model_file)
    trial.artifact("model", cached.model_file)
    with trial.phase("load_model"):
        model, step = hardware_model(model_cfg, load_model(cached.model_file))

    from dse.cost.registry import get_backend
    from dse.families.lfads.step import run_csim_stream
    from dse.hls import csim_cache
    from dse.hls.cache import compile_model
    from dse.hls.convert import convert
    from dse.hls.csim import CSimOutput, run_csim

    backend = get_backend(trial.design.hardware.backend)
    n_train = split.train.spikes.shape[0]
    spikes = np.concatenate([split.train.spikes, split.test.spikes])
    sim: CSimOutput | None = None
    if spec.reuse_csim:
        with trial.phase("csim"):
            csim_key = csim_cache.numeric_key(model_sha, hls_design, spikes)
            sim = csim_cache.load(spec.build_cache_dir, csim_key)
    result.cache["csim"] = sim is not None
    if sim is not None and not backend.needs_project:
        # Same numbers already simulated for another reuse factor/strategy: the cost needs only the graph.
        with trial.phase("convert"):
            hls_model = convert(model, hls_design, trial.work / "hls_project")
            with redirect_stdout(io.StringIO()):
                hls_model.write()  # the trial's complete hls4ml project (for synthesis), just not compiled
        trial.timings["gxx"] = 0.0
        result.cache["hls"] = False
        trial.artifact("hls_project", trial.work / "hls_project")
    else:
        with trial.phase("compile"):
            compiled = compile_model(model, hls_design, spec.build_cache_dir)
        trial.timings["convert"] = compiled.convert_s
        trial.timings["gxx"] = compiled.compile_s
        result.cache["hls"] = compiled.cache_hit
        trial.artifact("hls_project", compiled.project_dir)
        hls_model = compiled.hls_model
        if sim is None:
            with trial.phase("csim"):
                # training trials too: the decoder is fit on them
                sim = run_csim(hls_model, spikes) if step is None else run_csim_stream(hls_model, step, spikes)
                if spec.reuse_csim:
                    csim_cache.store(spec.build_cache_dir, csim_key, sim)
    train, test = sim.rows(slice(None, n_train)), sim.rows(slice(n_train, None))
    with trial.phase("csim_metrics"):
        from dse.families.lfads.metrics import evaluate

        result.accuracy["csim"] = evaluate(
            split.test.spikes, test[LOGRATES], test[FACTORS], split.test.behavior, split.test.bin_width_s,
            train[FACTORS], split.train.behavior, true_rates=split.test.rates,
            null_rates=split.train.spikes.mean(axis=(0, 1)))

    with trial.phase("cost"):
        report = backend.cost(hls_model, part=hls_design.part, clock_ns=hls_design.clock_period,
                              output_dir=str(trial.work / "synthesis"))
    trial.finish(result.accuracy["csim"], report, latency_per="trial" if step is None else "bin")

"""Run one trial: data -> train (or fetch) -> convert -> compile -> C-simulate -> cost.

Everything a trial measures goes into a :class:`~dse.trial_result.TrialResult`; a failure in any
phase becomes ``status="failed"`` with ``"<phase>: <error>"`` as the reason, a design the estimator
shows infeasible (before any training) or a hopeless training becomes ``status="pruned"`` -- a trial
never raises into the driver.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import math
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout, suppress
from pathlib import Path
from typing import Any

import numpy as np

from dse.trial.spec import TrialSpec
from dse.trial_result import Artifact, TrialResult

log = logging.getLogger(__name__)

HARDWARE_METRICS = ("latency_us", "latency_cycles", "ii_cycles", "dsp", "lut", "ff", "bram_18k", "uram")
UTIL_NAMES = {"dsp": "dsp_util", "lut": "lut_util", "ff": "ff_util", "bram_18k": "bram_util", "uram": "uram_util"}


class PhaseError(Exception):
    def __init__(self, phase: str, error: BaseException) -> None:
        self.phase = phase
        self.error = error
        super().__init__(f"{phase}: {type(error).__name__}: {error}")


class Pruned(Exception):
    """The trial is pruned (not failed): infeasible by estimate, or a hopeless training."""


@contextmanager
def _phase(name: str, timings: dict[str, float]) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    except (Pruned, PhaseError):
        raise
    except Exception as e:
        raise PhaseError(name, e) from e
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0


@functools.lru_cache(maxsize=4)
def _load_split(data_json: str):
    from dse.data import load_data, split_data

    d = json.loads(data_json)
    data = load_data(d["source"], **d.get("options", {}))
    return split_data(data, seed=d.get("split_seed", 0))


def load_split(data: dict[str, Any]):
    """The study's data split, loaded once per worker process."""
    return _load_split(json.dumps(data, sort_keys=True))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("dse", "hls4ml", "tensorflow-cpu", "qkeras", "optuna", "numpy", "ray"):
        with suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out


def hardware_metrics(report) -> dict[str, float]:
    m = {k: float(getattr(report, k)) for k in HARDWARE_METRICS if k != "latency_us"}
    m["latency_us"] = float(report.latency_us)
    for res, frac in report.utilisation().items():
        m[UTIL_NAMES[res]] = float(frac)
    return m


def _model_configs(spec: TrialSpec, split) -> tuple[Any, Any]:
    from dse.models.lfads.config import LFADSConfig, TrainConfig

    model_cfg = LFADSConfig.from_dict({**spec.design["model"], "n_neurons": split.train.n_neurons,
                                       "n_bins": split.train.n_bins})
    train_cfg = TrainConfig(**spec.design["train"])
    return model_cfg, train_cfg


def _preflight(spec: TrialSpec, model_cfg, design, work: Path) -> dict[str, Any] | None:
    """Estimate the untrained architecture; raise Pruned if it cannot fit (before any training)."""
    if spec.max_utilisation is None:
        return None
    from dse.cost.base import get_backend
    from dse.hls.convert import convert
    from dse.models.lfads.model import build_lfads

    hls_model = convert(build_lfads(model_cfg).deploy, design, work / "preflight")
    report = get_backend("estimate").cost(hls_model, part=design.part, clock_ns=design.clock_period)
    util = report.utilisation()
    worst = max(util, key=util.get)
    if util[worst] > spec.max_utilisation:
        raise Pruned(f"estimator: design needs {util[worst]:.0%} of the {report.part} {worst} "
                     f"(limit {spec.max_utilisation:.0%}); not trained")
    return report.to_dict()


def _train(spec: TrialSpec, split, model_cfg, train_cfg, data_fp: str, cache_root: Path):
    from dse.models.lfads.evaluate import keras_predictor, score
    from dse.models.lfads.training import train_lfads
    from dse.trial.pruning import MedianRule, TrainingPruned, earlier_curves

    hook = None
    p = spec.pruning or {}
    if p.get("enabled"):
        rule = MedianRule(earlier_curves(cache_root, data_fp, model_cfg.to_dict()["quant"]), p.get("warmup_epochs", 15),
                          p.get("min_curves", 4), p.get("margin", 0.01))
        hook = lambda e, logs: rule.check(e, float(logs.get("val_nll", math.nan)))  # noqa: E731

    def train(out_dir: Path) -> dict[str, Any]:
        try:
            r = train_lfads(model_cfg, split, train_cfg, epoch_hook=hook)
        except TrainingPruned as e:
            raise Pruned(f"training: {e}") from None
        if r.stopped_reason == "non_finite_loss":
            raise FloatingPointError(f"loss became NaN/inf in epoch {r.epochs}")
        r.models.deploy.save(out_dir / "model.h5")
        metrics = score(split, keras_predictor(r.models.deploy))
        return {"data_fingerprint": data_fp, "model": model_cfg.to_dict(), "train": train_cfg.to_dict(),
                "history": r.history, "epochs": r.epochs, "best_epoch": r.best_epoch,
                "train_seconds": r.train_seconds, "stopped_reason": r.stopped_reason, "float_metrics": metrics}

    from dse.trial import model_cache

    key = model_cache.model_key(data_fp, model_cfg.to_dict(), train_cfg.to_dict())
    return model_cache.get_or_train(cache_root, key, train)


def load_model(path: Path):
    """A saved deploy model (QKeras layers and dse's custom objects included)."""
    from tensorflow import keras

    from dse.models.lfads.model import custom_objects

    return keras.models.load_model(path, custom_objects=custom_objects(), compile=False)


def run_trial(spec: TrialSpec) -> TrialResult:
    """Evaluate one design point; never raises (failures and prunes are in the result)."""
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    result = TrialResult(params=dict(spec.design.get("params", {})), versions=versions())
    work = Path(spec.work_dir)
    try:
        work.mkdir(parents=True, exist_ok=True)
        _run(spec, result, timings, work)
    except Pruned as e:
        result.status, result.fail_reason = "pruned", str(e)
    except PhaseError as e:
        result.status, result.fail_reason = "failed", str(e)
        log.debug("trial %s failed:\n%s", spec.trial_number, "".join(traceback.format_exception(e.error)))
    except Exception as e:  # anything outside a phase (a bug): still a failed trial, not a dead study
        result.status, result.fail_reason = "failed", f"internal: {type(e).__name__}: {e}"
    timings["total"] = time.perf_counter() - t_start
    result.timings = {k: round(v, 4) for k, v in timings.items()}
    with suppress(OSError):
        (work / "result.json").write_text(json.dumps(result.to_dict(), indent=1, default=str))
    return result


def _run(spec: TrialSpec, result: TrialResult, timings: dict[str, float], work: Path) -> None:
    from dse.hls.design import HLSDesign
    from dse.trial import model_cache

    with _phase("data", timings):
        split = load_split(spec.data)
        data_fp = model_cache.data_fingerprint(split)
        model_cfg, train_cfg = _model_configs(spec, split)
        design = HLSDesign.from_dict(spec.design["hls"])
    cache_root = Path(spec.model_cache_dir)
    key = model_cache.model_key(data_fp, model_cfg.to_dict(), train_cfg.to_dict())
    if model_cache.lookup(cache_root, key) is None:
        with _phase("preflight", timings):
            _preflight(spec, model_cfg, design, work)
    with _phase("train", timings):
        cached = _train(spec, split, model_cfg, train_cfg, data_fp, cache_root)
    result.cache["model"] = cached.hit
    result.accuracy["float"] = dict(cached.info["float_metrics"])
    model_sha = sha256_file(cached.model_file)
    result.artifacts.append(Artifact("model", str(cached.model_file), model_sha))
    with _phase("load_model", timings):
        model = load_model(cached.model_file)

    from dse.cost.base import get_backend
    from dse.hls import csim_cache
    from dse.hls.cache import compile_model
    from dse.hls.convert import convert
    from dse.hls.csim import CSimOutput, run_csim

    hw = spec.design["hardware"]
    backend = get_backend(hw["backend"])
    n_train = split.train.spikes.shape[0]
    spikes = np.concatenate([split.train.spikes, split.test.spikes])
    sim: CSimOutput | None = None
    if spec.reuse_csim:
        with _phase("csim", timings):
            csim_key = csim_cache.numeric_key(model_sha, design, spikes)
            sim = csim_cache.load(spec.hls_cache_dir, csim_key)
    result.cache["csim"] = sim is not None
    if sim is not None and not backend.needs_project:
        # Same numbers already simulated for another reuse factor/strategy: the cost needs only the graph.
        with _phase("convert", timings):
            hls_model = convert(model, design, work / "hls_project")
            with redirect_stdout(io.StringIO()):
                hls_model.write()  # the trial's complete hls4ml project (for synthesis), just not compiled
        timings["gxx"] = 0.0
        result.cache["hls"] = False
        result.artifacts.append(Artifact("hls_project", str(work / "hls_project")))
    else:
        with _phase("compile", timings):
            compiled = compile_model(model, design, spec.hls_cache_dir)
        timings["convert"] = compiled.convert_s
        timings["gxx"] = compiled.compile_s
        result.cache["hls"] = compiled.cache_hit
        result.artifacts.append(Artifact("hls_project", str(compiled.project_dir)))
        hls_model = compiled.hls_model
        if sim is None:
            with _phase("csim", timings):
                sim = run_csim(hls_model, spikes)  # training trials too: the decoder is fit on them
                if spec.reuse_csim:
                    csim_cache.store(spec.hls_cache_dir, csim_key, sim)
    train = CSimOutput(sim.logrates[:n_train], sim.factors[:n_train], sim.seconds)
    test = CSimOutput(sim.logrates[n_train:], sim.factors[n_train:], sim.seconds)
    with _phase("csim_metrics", timings):
        from objectives import evaluate

        result.accuracy["csim"] = evaluate(
            split.test.spikes, test.logrates, test.factors, split.test.behavior, split.test.bin_width_s,
            train.factors, split.train.behavior, true_rates=split.test.rates,
            null_rates=split.train.spikes.mean(axis=(0, 1)))

    with _phase("cost", timings):
        report = backend.cost(hls_model, part=design.part, clock_ns=design.clock_period,
                              output_dir=str(work / "synthesis"))
        result.hardware = report.to_dict()
        (work / "hardware.json").write_text(json.dumps(result.hardware, indent=1, default=str))
    result.artifacts.append(Artifact("hardware_report", str(work / "hardware.json"),
                                     sha256_file(work / "hardware.json")))

    metrics: dict[str, float | None] = {**result.accuracy["csim"], **hardware_metrics(report)}
    result.objectives = {k: (None if v is None or (isinstance(v, float) and not np.isfinite(v)) else v)
                         for k, v in metrics.items()}
    missing = [o for o in spec.objectives if result.objectives.get(o) is None]
    if missing:
        raise PhaseError("objectives", ValueError(f"not measured for this trial: {missing}"))

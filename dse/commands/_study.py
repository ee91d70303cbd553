"""Helpers shared by the study commands: load the config, open the storage and the study."""

from __future__ import annotations

from typing import Any

from dse.errors import ConfigError


def load(path: str):
    from dse.study import load_study

    return load_study(path)


def open_study(cfg) -> tuple[Any, Any]:
    """(DseStorage, optuna.Study) of an existing study; ConfigError if it does not exist yet."""
    import optuna

    from dse.study.config import storage_url
    from dse.study.storage import open_study_storage as open_storage

    url = storage_url(cfg)
    if url.startswith("sqlite:///"):
        from pathlib import Path

        if not Path(url[len("sqlite:///"):]).exists():
            raise ConfigError(cfg.source, f"no results yet: {cfg.storage.redacted_url()} does not exist "
                              f"(run `dse run {cfg.source}` first)", "storage")
    st = open_storage(url)
    try:
        study = optuna.load_study(study_name=cfg.name, storage=st.optuna)
    except KeyError:
        raise ConfigError(cfg.source, f"study {cfg.name!r} not found in {st.redacted_url} "
                          f"(run `dse run {cfg.source}` first)", "name") from None
    return st, study


#: The estimator's uncertainty keys (``HardwareReport.details["uncertainty"]``) -> the metrics they qualify.
UNCERTAINTY_METRICS = {"latency": ("latency_us", "latency_cycles"), "dsp": ("dsp",), "lut": ("lut",), "ff": ("ff",),
                       "bram": ("bram_18k",)}


def uncertainty_columns(hardware: dict[str, Any] | None) -> dict[str, float]:
    """``{metric}_err``: the relative error (a fraction, e.g. 0.24 for +-24 %) the cost backend states for
    each hardware metric (the estimator's cross-validated error of the design's layer mix); empty when
    the stored report has none (a synthesis report, or a trial stored before the estimator reported its uncertainty)."""
    unc = ((hardware or {}).get("details") or {}).get("uncertainty")
    if not isinstance(unc, dict):
        return {}
    out = {}
    for key, value in unc.items():
        if value is None:
            continue
        for metric in UNCERTAINTY_METRICS.get(key, (key,)):
            out[f"{metric}_err"] = float(value)
    return out


def trial_rows(cfg, st, trials, every, hardware=None) -> list[dict[str, Any]]:
    """One plain dict per trial: number, state, params, every metric by name, the estimator's relative
    uncertainty of each hardware metric (``{metric}_err``, where the stored report has one), where its
    hardware numbers come from (``hardware_source``, as the cost backend describes them) and the trials that
    repeated its design point (``same_design``).

    With ``hardware`` (:class:`dse.verify.view.StudyHardware`), a verified or calibrated trial shows those
    numbers and keeps each estimate it replaced as ``estimate_<metric>``; a calibrated metric's ``_err`` is the
    calibration's. ``every``: all the study's trials (with their ``duplicate_of`` attribute), where the trials
    that repeated a design point are found."""
    from dse.cost.registry import hardware_source
    from objectives.designs import shared_by

    sharing = shared_by(every)
    results = st.project.load_results(cfg.name, [t.number for t in trials])
    rows = []
    for t in trials:
        result = results.get(t.number)
        metrics: dict[str, Any] = {}
        if result is not None:
            metrics.update({k: v for k, v in result.objectives.items()})
            metrics.update(uncertainty_columns(result.hardware))
            if result.hardware:
                metrics["hardware_source"] = hardware_source(result.hardware)
                if "latency_per" in result.hardware:  # a family whose designs' latencies differ in kind
                    metrics["latency_per"] = result.hardware["latency_per"]
            shown = hardware.trials.get(t.number) if hardware is not None else None
            if shown is not None and shown.estimate:
                metrics = _shown(metrics, shown, hardware.calibration)
            for src, vals in result.accuracy.items():
                for k, v in (vals or {}).items():
                    metrics[f"{src}_{k}"] = v
        rows.append({"number": t.number, "state": t.state.name, "params": dict(t.params),
                     **{k: v for k, v in metrics.items()},
                     "values": list(t.values) if t.values else None,
                     "same_design": sharing.get(t.number, []),
                     "fail_reason": t.user_attrs.get("fail_reason")})
    return rows


def _shown(metrics: dict[str, Any], shown: Any, calibration: Any) -> dict[str, Any]:
    """``metrics`` with the shown hardware numbers (verified or calibrated), each estimate kept beside."""
    out = {k: v for k, v in metrics.items() if not k.endswith("_err")}
    for k in list(out):
        if k in shown.metrics and k in shown.estimate:
            out[f"estimate_{k}"] = shown.estimate[k]
            out[k] = shown.metrics[k]
            if shown.how == "calibrated" and k in calibration.ratios:
                out[f"{k}_err"] = calibration.ratios[k].error
    out["hardware_source"] = shown.source
    return out

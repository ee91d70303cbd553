"""``dse train [--family lfads]``: train one LFADS model with the default recipe and report its test metrics."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dse.errors import ConfigError
from dse.families.records import TrainReport, TrainRequest


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="synthetic", help="'synthetic' (default) or a .npz/.h5/.nwb file")
    p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default: the recipe's)")
    p.add_argument("--seed", type=int, default=0, help="training seed (weights, dropout, shuffling)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the 80/10/10 trial split")
    p.add_argument("--qat-bits", type=int, default=None, metavar="W", help="train with QKeras, W total bits")
    p.add_argument("--qat-integer-bits", type=int, default=None, metavar="I",
                   help="QKeras integer bits excluding the sign (default 5, i.e. ap_fixed<W,6>)")
    p.add_argument("--variational", action="store_true", help="the VAE variant (KL term, sampled IC)")
    p.add_argument("--latent", type=int, default=64, help="IC / generator units Z (default 64)")
    p.add_argument("--encoder", type=int, default=64, help="encoder units per direction E (default 64)")
    p.add_argument("--factors", type=int, default=4, help="factors F (default 4)")
    p.add_argument("--causal", action="store_true",
                   help="the causal variant: forward encoder, controller inputs bin by bin (streams per bin)")
    p.add_argument("--ic-window", type=int, default=None, metavar="K",
                   help="causal: infer the generator's initial state from the first K bins (default 0: learned)")
    p.add_argument("--controller", type=int, default=None, metavar="C", help="causal: controller units (default 32)")
    p.add_argument("--controller-inputs", type=int, default=None, metavar="U",
                   help="causal: inferred generator inputs per bin (default 4)")
    p.add_argument("--controller-lag", type=int, default=None, choices=(0, 1),
                   help="causal: 1 = the controller reads the encoder's state after the previous bin (default), "
                        "0 = after this bin (a bin's spikes can pass through to its own rates)")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="directory to save the deploy model (model.h5) and metrics.json")


def _configs(args: TrainRequest, n_neurons: int, n_bins: int):
    from dse.families.lfads.config import LFADSConfig, QuantSpec, TrainConfig

    if args.qat_integer_bits is not None and args.qat_bits is None:
        raise ConfigError("command line", "needs --qat-bits as well", "--qat-integer-bits")
    quant = None
    if args.qat_bits is not None:
        try:
            quant = QuantSpec(bits=args.qat_bits, integer=5 if args.qat_integer_bits is None else args.qat_integer_bits)
        except ValueError as e:
            raise ConfigError("command line", str(e), "--qat-bits/--qat-integer-bits") from None
    causal = {k: v for k, v in (("ic_window", args.ic_window), ("controller_units", args.controller),
                                    ("controller_inputs", args.controller_inputs),
                                    ("controller_lag", args.controller_lag)) if v is not None}
    if causal and not args.causal:
        raise ConfigError("command line", "needs --causal as well", "--ic-window/--controller/--controller-inputs/--controller-lag")
    if args.causal:
        causal["causal"] = True
    try:
        model_cfg = LFADSConfig(n_neurons=n_neurons, n_bins=n_bins, encoder_units=args.encoder,
                                latent_units=args.latent, factors=args.factors,
                                variational=args.variational, quant=quant, **causal)
        train_cfg = TrainConfig(seed=args.seed) if args.epochs is None else TrainConfig(epochs=args.epochs,
                                                                                     seed=args.seed)
    except ValueError as e:
        raise ConfigError("command line", str(e)) from None
    return model_cfg, train_cfg


def run(args: TrainRequest) -> TrainReport:
    from dse.data import load_data, split_data

    if args.output is not None:
        _check_writable(args.output)
    data = load_data(args.data)
    split = split_data(data, seed=args.split_seed)
    model_cfg, train_cfg = _configs(args, data.n_neurons, data.n_bins)

    from dse.families.lfads.evaluate import keras_predictor, score
    from dse.families.lfads.training import train_lfads

    result = train_lfads(model_cfg, split, train_cfg, progress=True)
    metrics = score(split, keras_predictor(result.models.deploy))
    report = {
        **metrics,
        "epochs": result.epochs,
        "best_epoch": result.best_epoch,
        "stopped_reason": result.stopped_reason,
        "train_seconds": round(result.train_seconds, 3),
        "seconds_per_epoch": round(result.seconds_per_epoch, 4),
        "data": str(args.data),
        "qat_bits": args.qat_bits,
    }
    if model_cfg.causal:  # only then: a bidirectional run's report is what it was
        report.update(causal=True, ic_window=model_cfg.ic_window, controller_lag=model_cfg.controller_lag)
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        result.models.deploy.save(args.output / "model.h5")
        (args.output / "metrics.json").write_text(json.dumps(report, indent=2))
        (args.output / "config.json").write_text(json.dumps(
            {"model": model_cfg.to_dict(), "train": train_cfg.to_dict()}, indent=2))
    return TrainReport(report, _lines(report, args.output))


def _check_writable(out: Path) -> None:
    parent = out if out.exists() else out.parent
    if out.exists() and not out.is_dir():
        raise ConfigError(str(out), "exists and is not a directory", "--output")
    import os

    if not os.access(parent if parent != Path("") else Path("."), os.W_OK):
        raise ConfigError(str(out), "directory is not writable", "--output")


def _lines(report: dict, output: Path | None) -> tuple[str, ...]:
    def fmt(v: object) -> str:
        return "n/a" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))

    keys = ("behavior_r2", "behavior_r2_bin", "rate_r2", "npll", "bits_per_spike", "epochs", "train_seconds")
    lines = ["LFADS test metrics", *(f"  {k:<16} {fmt(report.get(k)):>10}" for k in keys)]
    if output is not None:
        lines.append(f"model and metrics written to {output}")
    return tuple(lines)

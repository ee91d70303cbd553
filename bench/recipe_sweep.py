"""Training-recipe variants at the paper size: the measurements behind the recipe's defaults.

Each variant trains the LFADS model on the default synthetic data (split seed 0) and prints its test
metrics (Keras, float or QKeras). The dropout sweep chose ``input_dropout=0.5``; the VAE variants chose
``kl_weight=0.01``; ``qat16`` compares 16-bit QAT with the float model (what training quantized costs).

Usage: python bench/recipe_sweep.py VARIANT [VARIANT ...]   (names: see VARIANTS)
"""

from __future__ import annotations

import json
import sys

VARIANTS: dict[str, tuple[dict, dict]] = {
    # (LFADSConfig overrides, TrainConfig overrides); lr 5e-3 and patience 50 are the current defaults
    "drop0.05_lr1e-2_pat30": ({"input_dropout": 0.05}, {"learning_rate": 1e-2, "early_stopping_patience": 30}),
    "drop0.2": ({"input_dropout": 0.2}, {}),
    "drop0.3": ({"input_dropout": 0.3}, {}),
    "drop0.4": ({"input_dropout": 0.4}, {}),
    "default": ({}, {}),  # input_dropout 0.5
    "drop0.6": ({"input_dropout": 0.6}, {}),
    "qat16": ({"quant": {"bits": 16, "integer": 5, "activations": "real"}}, {}),
    "vae_kl1": ({"variational": True, "kl_weight": 1.0}, {}),
    "vae_kl0.1": ({"variational": True, "kl_weight": 0.1}, {}),
    "vae_kl0.01": ({"variational": True, "kl_weight": 0.01}, {}),
    "vae_kl0": ({"variational": True, "kl_weight": 0.0}, {}),
}


def main(names: list[str]) -> None:
    from dse.data import load_data, split_data
    from dse.families.lfads.config import LFADSConfig, QuantSpec, TrainConfig
    from dse.families.lfads.evaluate import keras_predictor, score
    from dse.families.lfads.training import train_lfads

    split = split_data(load_data("synthetic"), 0)
    for name in names:
        model_kw, train_kw = VARIANTS[name]
        model_kw = dict(model_kw)
        if model_kw.get("quant"):
            model_kw["quant"] = QuantSpec(**model_kw["quant"])
        r = train_lfads(LFADSConfig(70, 73, **model_kw), split, TrainConfig(**train_kw))
        m = score(split, keras_predictor(r.models.deploy))
        print(json.dumps({"variant": name, **{k: v for k, v in m.items()}, "epochs": r.epochs,
                          "best_epoch": r.best_epoch, "train_seconds": round(r.train_seconds, 1)}), flush=True)


if __name__ == "__main__":
    if not sys.argv[1:] or any(n not in VARIANTS for n in sys.argv[1:]):
        raise SystemExit(f"usage: python bench/recipe_sweep.py VARIANT ...; variants: {', '.join(VARIANTS)}")
    main(sys.argv[1:])

"""dse.hls.reuse, the one home of hls4ml's reuse-factor rule, against hls4ml 1.3.0 itself: its
``get_valid_reuse_factors`` / ``_validate_reuse_factor`` / ``get_closest_reuse_factor`` on a range of
product shapes, and the reuse factors its converter writes into the graph under each strategy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dse.hls.reuse import (  # noqa: E402
    closest_reuse_factor,
    is_valid_reuse_factor,
    used_reuse_factor,
    valid_reuse_factors,
)

REPO = Path(__file__).resolve().parents[1]

#: Every shape up to 24 x 24, and the products of the paper-size LFADS model and of the calibration rows
#: (prime, power-of-two and 1-wide sides included).
SHAPES = [(i, o) for i in range(1, 25) for o in range(1, 25)] + [
    (70, 192), (64, 192), (128, 64), (1, 192), (64, 4), (4, 70), (70, 96), (32, 96), (97, 3), (3, 97),
    (120, 360), (100, 96), (256, 128), (1, 1),
]


@pytest.fixture(scope="module", params=["Vivado", "Vitis"])
def backend(request: pytest.FixtureRequest) -> Any:
    from hls4ml.backends import get_backend

    return get_backend(request.param)


def test_valid_reuse_factors_are_hls4mls(backend: Any) -> None:
    for n_in, n_out in SHAPES:
        assert list(valid_reuse_factors(n_in, n_out)) == backend.get_valid_reuse_factors(n_in, n_out), (n_in, n_out)


def test_each_value_is_judged_as_hls4ml_judges_it(backend: Any) -> None:
    """Every value from 1 to past the product's size, also the ones that are not divisors."""
    for n_in, n_out in SHAPES[:24 * 24:7]:
        for rf in range(1, n_in * n_out + 3):
            assert is_valid_reuse_factor(n_in, n_out, rf) == backend._validate_reuse_factor(n_in, n_out, rf), \
                (n_in, n_out, rf)


def test_closest_valid_value_is_hls4mls(backend: Any) -> None:
    for n_in, n_out in SHAPES[::5]:
        valid = backend.get_valid_reuse_factors(n_in, n_out)
        for requested in range(1, n_in * n_out + 4):
            assert closest_reuse_factor(valid_reuse_factors(n_in, n_out), requested) == \
                backend.get_closest_reuse_factor(valid, requested), (n_in, n_out, requested)


def test_known_values() -> None:
    """Read off hls4ml's conditions by hand: rf divides n_in, or is n_in times a divisor of n_out."""
    assert valid_reuse_factors(10, 24) == (1, 2, 5, 10, 20, 30, 40, 60, 80, 120, 240)
    assert used_reuse_factor(10, 24, 7, resource=True) == 5  # between 5 and 10: closer to 5
    assert used_reuse_factor(10, 24, 15, resource=True) == 10  # a tie goes to the smaller value
    assert used_reuse_factor(10, 24, 1000, resource=True) == 240  # beyond the largest: the largest
    assert used_reuse_factor(10, 24, 7, resource=False) == 7  # Latency: kept
    assert valid_reuse_factors(0, 5) == () and used_reuse_factor(0, 5, 3, resource=True) == 3


def _model() -> Any:
    from tensorflow import keras

    x = keras.Input((4, 10))
    h = keras.layers.GRU(8, name="gru")(x)
    return keras.Model(x, keras.layers.Dense(12, name="dense")(h))


@pytest.mark.parametrize("strategy", ["Latency", "Resource"])
def test_the_converter_uses_what_used_reuse_factor_says(strategy: str, tmp_path: Path) -> None:
    """hls4ml converts a GRU (input 10x24, recurrent 8x24) and a Dense (8x12) with reuse factors valid and
    invalid for them; each product gets the value :func:`used_reuse_factor` predicts for the strategy."""
    import hls4ml

    model = _model()
    resource = strategy == "Resource"
    for rf in (1, 3, 7, 8, 16, 50):
        cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis",
                                                   default_precision="ap_fixed<16,6>", default_reuse_factor=rf)
        cfg["Model"]["Strategy"] = strategy
        for layer in cfg["LayerName"].values():
            layer["Strategy"] = strategy
        hm = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis",
                                                        io_type="io_parallel", output_dir=str(tmp_path / "prj"))
        nodes = {n.name: n for n in hm.get_layers()}
        got = {"gru input": nodes["gru"].get_attr("reuse_factor"),
               "gru recurrent": nodes["gru"].get_attr("recurrent_reuse_factor"),
               "dense": nodes["dense"].get_attr("reuse_factor")}
        want = {"gru input": used_reuse_factor(10, 24, rf, resource=resource),
                "gru recurrent": used_reuse_factor(8, 24, rf, resource=resource),
                "dense": used_reuse_factor(8, 12, rf, resource=resource)}
        assert got == want, (strategy, rf)


def test_importable_without_hls4ml_or_tensorflow() -> None:
    """The load-time checks of a study use the rule without hls4ml or TensorFlow installed or imported."""
    code = ("import sys, dse.hls.reuse, dse.families.lfads.params, dse.cost.estimator_rf\n"
            "heavy = [m for m in ('hls4ml', 'tensorflow', 'keras') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr[-2000:]

"""``dse estimate MODEL``: any saved Keras 2 / QKeras model, JSON on the last line, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tensorflow import keras


def _dse(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dse.cli", "estimate", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def gru_model(tmp_path_factory) -> Path:
    """A non-LFADS architecture: GRU -> TimeDistributed(Dense)."""
    x = keras.Input((5, 10))
    h = keras.layers.GRU(8, return_sequences=True, name="gru")(x)
    y = keras.layers.TimeDistributed(keras.layers.Dense(3), name="td")(h)
    path = tmp_path_factory.mktemp("m") / "gru.h5"
    keras.Model(x, y).save(path)
    return path


@pytest.fixture(scope="module")
def qkeras_model(tmp_path_factory) -> Path:
    from qkeras import QActivation, QDense, quantized_bits

    x = keras.Input((16,))
    h = QDense(8, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1),
               name="d1")(x)
    h = QActivation("quantized_relu(8, 3)", name="a1")(h)
    y = QDense(4, kernel_quantizer=quantized_bits(8, 0, alpha=1), bias_quantizer=quantized_bits(8, 0, alpha=1),
               name="d2")(h)
    path = tmp_path_factory.mktemp("q") / "q.h5"
    keras.Model(x, y).save(path)
    return path


def test_estimate_json(gru_model):
    r = _dse(str(gru_model), "--precision", "ap_fixed<16,6>", "--reuse-factor", "1", "--strategy", "latency",
             "--part", "xcu55c", "--clock-ns", "5", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("latency_cycles", "latency_us", "ii_cycles", "dsp", "lut", "ff", "bram_18k", "uram", "utilisation"):
        assert key in out
    assert out["latency_us"] == pytest.approx(out["latency_cycles"] * 5 / 1000)
    assert out["latency_cycles"] >= 5  # a static GRU costs at least one cycle per time step


def test_estimate_reuse_factor_trades_dsp_for_latency(gru_model):
    def est(rf: int) -> dict:
        r = _dse(str(gru_model), "--reuse-factor", str(rf), "--strategy", "resource", "--json")
        assert r.returncode == 0, r.stderr[-3000:]
        return json.loads(r.stdout.strip().splitlines()[-1])

    a, b = est(1), est(2)  # 2 is a valid Resource reuse factor of every product here (it divides n_in)
    assert b["dsp"] < a["dsp"] and b["latency_cycles"] > a["latency_cycles"]


def test_estimate_qkeras_model(qkeras_model):
    r = _dse(str(qkeras_model), "--qat", "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["dsp"] == 0  # 8-bit weights: products go to LUTs
    assert out["lut"] > 0


@pytest.mark.parametrize(("args", "needle"), [
    (["/nonexistent.h5"], "/nonexistent.h5: file not found"),
    (["{bad}", "--part", "xc9999"], "--part"),
    (["{bad}"], "cannot load as a Keras 2 model"),
])
def test_estimate_bad_input(args, needle, tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    r = _dse(*[a.replace("{bad}", str(bad)) for a in args])
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if "error:" in ln]
    assert len(lines) == 1 and needle in lines[0]


@pytest.fixture(scope="module")
def rnn_model(tmp_path_factory) -> Path:
    """Bidirectional GRU -> GRU -> Dense: products whose valid Resource reuse factors do not include 7."""
    x = keras.Input((6, 10))
    h = keras.layers.Bidirectional(keras.layers.GRU(8, return_sequences=True), name="bi")(x)
    h = keras.layers.GRU(12, name="gru")(h)
    y = keras.layers.Dense(5, name="dense")(h)
    path = tmp_path_factory.mktemp("r") / "rnn.h5"
    keras.Model(x, y).save(path)
    return path


def test_estimate_accepts_reuse_factors_hls4ml_substitutes(rnn_model):
    """Reuse factor 7 (recurrent 7) is in no valid list of the Bidirectional, GRU and Dense products; hls4ml
    1.3.0 builds each with its closest valid value, and so does dse estimate, reporting every substitution."""
    from dse.hls.reuse import used_reuse_factor

    r = _dse(str(rnn_model), "--strategy", "resource", "--reuse-factor", "7", "--recurrent-reuse-factor", "7",
             "--json")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    subs = {(s["layer"], s["product"]): s for s in out["reuse_factor_substitutions"]}
    sizes = {("bi", "input"): (10, 24), ("bi", "recurrent"): (8, 24), ("gru", "input"): (16, 36),
             ("gru", "recurrent"): (12, 36), ("dense", "input"): (12, 5)}
    for key, (n_in, n_out) in sizes.items():
        used = used_reuse_factor(n_in, n_out, 7, resource=True)
        assert used != 7 and subs[key]["requested"] == 7 and subs[key]["used"] == used, key
    assert set(out["uncertainty"]) >= {"latency", "dsp", "lut"} and out["fallback_layers"] == []
    # the text output names them too, with the uncertainty next to the numbers
    t = _dse(str(rnn_model), "--strategy", "resource", "--reuse-factor", "7", "--recurrent-reuse-factor", "7")
    assert t.returncode == 0, t.stderr[-3000:]
    lines = [ln for ln in t.stdout.splitlines() if "reuse factor:" in ln]
    assert len(lines) == len(subs) and any("bi (recurrent): 7 -> " in ln for ln in lines)
    assert any(ln.strip().startswith("dsp:") and "±" in ln for ln in t.stdout.splitlines())

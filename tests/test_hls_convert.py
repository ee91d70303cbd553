"""Conversion + bit-accurate C simulation of LFADS against the Keras/QKeras model.

Tolerances
    WIDE_PTQ (ap_fixed<40,16>, 2^20-entry tables): ``atol = 5e-5`` against the float Keras model. The
    C simulation truncates to 24 fractional bits (6e-8) and hls4ml's sigmoid/tanh tables index the
    input on a grid of 16/2^20 resp. 8/2^20 (truncating), i.e. an error of up to 3.8e-6 resp. 7.6e-6
    per activation, compounded over T=10 steps; observed ~1e-5.
    WIDE_QAT (16-bit QKeras quantizers, real activations): max error ``8 LSB`` and mean error ``1 LSB``
    of the state (LSB = 2^-10) against the QKeras model. Not exact because (a) QKeras' QGRU outputs
    the unquantized state h_t (it quantizes h_{t-1} only when reading it) while hls4ml's GRU outputs
    its state register, so encoder outputs and generator outputs differ by up to 1/2 LSB; (b) the
    real sigmoid/tanh are table lookups, not QKeras' exact functions; and (c) such sub-LSB differences
    flip the rounding of a state now and then, which the recurrence carries on. With *hard*
    activations (no table) and the outputs quantized like the hardware does, the C simulation is
    exact (test_hls_workarounds.test_hard_activations).
"""

from __future__ import annotations

import numpy as np
import pytest

from dse.families.lfads.testing import PAPER, TINY, WIDE_PTQ, WIDE_QAT, lfads_deploy, poisson_spikes
from dse.hls import HLSDesign, compile_model, run_csim
from dse.hls import workarounds as wa

T, N, F = TINY["n_bins"], TINY["n_neurons"], TINY["factors"]
WIDE_ATOL = 5e-5
LSB_16_5 = 2.0**-10


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "dse-hls-cache"  # shared by the test modules of a session


@pytest.fixture(scope="module")
def spikes() -> np.ndarray:
    return poisson_spikes(6, T, N, rate=1.0, seed=1)


@pytest.fixture(scope="module")
def float_model():
    return lfads_deploy(0)


@pytest.fixture(scope="module")
def wide(float_model, cache_dir):
    return compile_model(float_model, WIDE_PTQ, cache_dir)


def _keras(model, spikes):
    return model.predict([spikes, np.zeros((len(spikes), T, 1))], verbose=0)


def test_wide_ptq_matches_keras(wide, float_model, spikes) -> None:
    out = run_csim(wide.hls_model, spikes)
    lr, f = _keras(float_model, spikes)
    assert out["logrates"].shape == lr.shape == (6, T, N) and out["factors"].shape == f.shape == (6, T, F)
    np.testing.assert_allclose(out["logrates"], lr, rtol=0, atol=WIDE_ATOL)
    np.testing.assert_allclose(out["factors"], f, rtol=0, atol=WIDE_ATOL)


def test_initial_state_workaround_disabled_differs(float_model, cache_dir, spikes) -> None:
    """Without gru_initial_state the generator ignores `ic` (defect 1); see test_hls_workarounds."""
    with wa.enabled(gru_initial_state=False):
        out = run_csim(compile_model(float_model, WIDE_PTQ, cache_dir).hls_model, spikes)
    lr, _ = _keras(float_model, spikes)
    assert np.abs(out["logrates"] - lr).max() > 100 * WIDE_ATOL


def test_qat_matches_qkeras(cache_dir, spikes) -> None:
    from dse.families.lfads.config import QuantSpec

    model = lfads_deploy(0, quant=QuantSpec(16, 5, "real"))
    compiled = compile_model(model, WIDE_QAT, cache_dir)
    out = run_csim(compiled.hls_model, spikes)
    lr, f = _keras(model, spikes)
    for got, want in ((out["logrates"], lr), (out["factors"], f)):
        err = np.abs(got - want)
        assert err.max() <= 8 * LSB_16_5 and err.mean() <= LSB_16_5, (err.max(), err.mean())
    gen = compiled.hls_model.graph["generator"]
    assert str(gen.get_output_variable().type.precision) == "fixed<16,6,RND_CONV,SAT,0>"
    assert str(gen.types["weight_t"].precision).startswith("fixed<16,6,")


def test_csim_metrics(wide, float_model, spikes) -> None:
    out = run_csim(wide.hls_model, spikes)
    lr, f = _keras(float_model, spikes)
    from dse.families.lfads.metrics import evaluate

    got = evaluate(spikes, out["logrates"], out["factors"], None, 0.01, None, None)
    want = evaluate(spikes, lr, f, None, 0.01, None, None)
    assert got["npll"] == pytest.approx(want["npll"], abs=1e-4)
    assert got["bits_per_spike"] == pytest.approx(want["bits_per_spike"], abs=1e-3)


def test_run_csim_checks_inputs(wide) -> None:
    with pytest.raises(ValueError, match="expected shape"):
        run_csim(wide.hls_model, np.zeros((2, T, N + 1)))
    with pytest.raises(ValueError, match="exceed the input type"):
        run_csim(wide.hls_model, np.full((1, T, N), 256.0))
    with pytest.raises(ValueError, match="not representable"):
        run_csim(wide.hls_model, np.full((1, T, N), 0.5))
    one = run_csim(wide.hls_model, np.ones((1, T, N)))
    assert one["logrates"].shape == (1, T, N) and one["factors"].shape == (1, T, F)


@pytest.mark.slow
def test_paper_size(cache_dir) -> None:
    """Paper-size model (T=73, N=70, E=64, Z=64, F=4) at ap_fixed<16,6>: compiles, simulates, is close."""
    model = lfads_deploy(0, **PAPER)
    x = poisson_spikes(20, PAPER["n_bins"], PAPER["n_neurons"], rate=0.5, seed=3)
    compiled = compile_model(model, HLSDesign(precision="ap_fixed<16,6>"), cache_dir)
    out = run_csim(compiled.hls_model, x)
    print(
        f"\npaper size: hit={compiled.cache_hit} convert {compiled.convert_s:.1f}s "
        f"g++ {compiled.compile_s:.1f}s "
        f"csim {out.seconds / len(x) * 1e3:.1f} ms/trial"
    )
    lr, f = model.predict([x, np.zeros((len(x), PAPER["n_bins"], 1))], verbose=0)
    assert np.abs(out["logrates"] - lr).mean() < 0.05

"""Each registered workaround of dse.hls.workarounds: the defect shows with it disabled, not with it.

Compiled models go through the on-disk cache in the session's temp dir, so a design compiled by
another test module (e.g. WIDE_PTQ in test_hls_convert) is not compiled again.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dse.families.lfads.testing import (
    TINY,
    WIDE_PTQ,
    WIDE_QAT,
    lfads_deploy,
    poisson_spikes,
    state_quantized_reference,
)
from dse.hls import HLSCompileError, HLSDesign, UnsupportedModelError, compile_model, convert, run_csim
from dse.hls import workarounds as wa
from dse.hls.cache import is_complete
from dse.hls.design import DesignError

T, N = TINY["n_bins"], TINY["n_neurons"]
LSB_16_5 = 2.0**-10  # quantized_bits(16, 5): the QAT models' state resolution
WIDE_ATOL = 5e-5  # see test_hls_convert.test_wide_ptq_matches_keras


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "dse-hls-cache"


@pytest.fixture(scope="module")
def spikes() -> np.ndarray:
    return poisson_spikes(6, T, N, rate=1.0, seed=1)


def _keras(model, spikes):
    lr, f = model.predict([spikes, np.zeros((len(spikes), T, 1))], verbose=0)
    return lr, f


def _qat(activations: str):
    from dse.families.lfads.config import QuantSpec

    return lfads_deploy(0, quant=QuantSpec(16, 5, activations))


def test_flags() -> None:
    assert all(wa.is_enabled(n) for n in wa.WORKAROUNDS)
    with wa.enabled(gru_initial_state=False):
        assert not wa.is_enabled("gru_initial_state") and wa.is_enabled("initial_state_type")
    assert wa.is_enabled("gru_initial_state")
    with pytest.raises(KeyError):
        wa.enabled(no_such_workaround=False).__enter__()


# ------------------------------------------------------------------------------ 1. gru_initial_state


def test_gru_initial_state(cache_dir, spikes) -> None:
    """Disabled: the generator silently starts from zeros -- the C simulation equals a Keras model whose
    generator gets no initial state. Enabled: it equals the Keras model."""
    from tensorflow import keras

    model = lfads_deploy(0)
    with wa.enabled(gru_initial_state=False):
        broken = run_csim(compile_model(model, WIDE_PTQ, cache_dir).hls_model, spikes)
    fixed = run_csim(compile_model(model, WIDE_PTQ, cache_dir).hls_model, spikes)

    ref = lfads_deploy(0)  # same weights; its generator is called again, without initial_state
    s, g = ref.inputs
    h = ref.get_layer("generator")(g)
    f = ref.get_layer("factors")(h)
    zero_state = keras.Model([s, g], [ref.get_layer("logrates")(f), f])
    lr0, f0 = _keras(zero_state, spikes)
    lr, f = _keras(model, spikes)
    np.testing.assert_allclose(broken["logrates"], lr0, atol=WIDE_ATOL)
    np.testing.assert_allclose(broken["factors"], f0, atol=WIDE_ATOL)
    assert np.abs(broken["logrates"] - lr).max() > 100 * WIDE_ATOL
    np.testing.assert_allclose(fixed["logrates"], lr, atol=WIDE_ATOL)
    np.testing.assert_allclose(fixed["factors"], f, atol=WIDE_ATOL)


# ----------------------------------------------------------------------------- 2. initial_state_type


def test_initial_state_type(cache_dir, tmp_path) -> None:
    """Disabled: `ic` produces the design's intermediate type, the generator's state is the QKeras state
    quantizer's type, and g++ fails. Enabled: `ic` produces the state type directly (which is what
    QGRU's state quantizer does to h_0)."""
    model = _qat("real")
    with wa.enabled(initial_state_type=False), pytest.raises(HLSCompileError, match="cannot convert"):
        compile_model(model, WIDE_QAT, cache_dir)
    assert not list((cache_dir / "tmp").iterdir()) and not [
        d for d in cache_dir.iterdir() if d.name not in ("tmp", "locks") and not is_complete(d)
    ]

    gen = convert(model, WIDE_QAT, tmp_path).graph["generator"]
    assert str(gen.get_input_variable(gen.inputs[1]).type.precision) == "fixed<16,6,RND_CONV,SAT,0>"
    assert str(gen.get_output_variable().type.precision) == "fixed<16,6,RND_CONV,SAT,0>"

    model = lfads_deploy(0)
    # nnet::gru_stack with an initial state declares the recurrent weights with the input weights' type
    bad = HLSDesign(layer_precision={"generator.recurrent_weight": "ap_fixed<12,4>"})
    with pytest.raises(DesignError, match="recurrent_weight precision == weight precision"):
        convert(model, bad, tmp_path)


# -------------------------------------------------------------- 3. bidirectional_qgru, qgru_weights


def test_bidirectional_qgru(tmp_path) -> None:
    """Disabled: hls4ml crashes looking for weights under `qgru_cell`. Enabled: the encoder converts with
    C++ class GRU, real activations and the quantized weights of both directions."""
    model = _qat("real")
    design = HLSDesign(quantization="qat")
    with wa.enabled(bidirectional_qgru=False), pytest.raises(TypeError, match="not subscriptable"):
        convert(model, design, tmp_path)

    enc = convert(model, design, tmp_path).graph["encoder"]
    keras_enc = model.get_layer("encoder")
    for d, layer in (("forward", keras_enc.forward_layer), ("backward", keras_enc.backward_layer)):
        assert enc.get_attr(f"{d}_class_name") == "GRU"
        assert (enc.get_attr(f"{d}_activation"), enc.get_attr(f"{d}_recurrent_activation")) == (
            "tanh",
            "sigmoid",
        )
        cell = layer.cell
        np.testing.assert_array_equal(
            enc.weights[f"{d}_weight"].data, cell.kernel_quantizer_internal(cell.kernel).numpy()
        )
        np.testing.assert_array_equal(
            enc.weights[f"{d}_recurrent_weight"].data,
            cell.recurrent_quantizer_internal(cell.recurrent_kernel).numpy(),
        )


def test_qgru_weights(tmp_path) -> None:
    """Disabled: the QGRU's float shadow weights are written and the C++ type (AP_TRN) floors them.
    Enabled: the written values are QKeras' quantized weights."""
    model = _qat("real")
    design = HLSDesign(quantization="qat")
    cell = model.get_layer("generator").cell
    quantized = cell.recurrent_quantizer_internal(cell.recurrent_kernel).numpy()
    with wa.enabled(qgru_weights=False):
        raw = convert(model, design, tmp_path).graph["generator"].weights["recurrent_weight"]
    assert not np.array_equal(raw.data, quantized)
    np.testing.assert_array_equal(raw.data, cell.recurrent_kernel.numpy())
    assert str(raw.type.precision).endswith("TRN,WRAP,0>")
    fixed = convert(model, design, tmp_path).graph["generator"].weights["recurrent_weight"]
    np.testing.assert_array_equal(fixed.data, quantized)


def test_qgru_state_precision(tmp_path) -> None:
    """Disabled: the generator's state (result) gets the tanh quantizer's ap_fixed<16,1> and would clip at
    +-1. Enabled: it is the state quantizer's type, rounding and saturating like quantized_bits."""
    model = _qat("real")
    design = HLSDesign(quantization="qat")
    with wa.enabled(qgru_state_precision=False):
        gen = convert(model, design, tmp_path).graph["generator"]
        assert str(gen.get_output_variable().type.precision) == "fixed<16,1,RND_CONV,SAT,0>"
    gen = convert(model, design, tmp_path).graph["generator"]
    assert str(gen.get_output_variable().type.precision) == "fixed<16,6,RND_CONV,SAT,0>"
    assert str(gen.types["recurrent_bias_t"].precision) == str(gen.types["bias_t"].precision)


# ------------------------------------------------------------------------------- 4. hard_activations


def test_hard_activations(cache_dir, spikes, tmp_path) -> None:
    """Disabled: hls4ml asserts 'Hard activation not supported'. Enabled: the C simulation equals the
    QKeras model with state-quantized GRU outputs bit for bit (the tolerance is the float32 rounding
    of the Keras reference)."""
    model = _qat("hard")
    design = HLSDesign(quantization="qat", precision="ap_fixed<40,16>")
    with (
        wa.enabled(hard_activations=False),
        pytest.raises(AssertionError, match="Hard activation not supported"),
    ):
        convert(model, design, tmp_path)

    out = run_csim(compile_model(model, design, cache_dir).hls_model, spikes)
    lr_ref, f_ref = _keras(state_quantized_reference(model), spikes)
    np.testing.assert_allclose(out["logrates"], lr_ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out["factors"], f_ref, rtol=0, atol=1e-6)
    lr, f = _keras(model, spikes)  # the QKeras model itself: see test_hls_convert.test_qat_matches_qkeras
    assert np.abs(out["logrates"] - lr).max() < 8 * LSB_16_5


# ------------------------------------------------------------------------------ TimeDistributed


def test_time_distributed_output(tmp_path) -> None:
    """Disabled: output `factors` is the loop-start buffer -- one time step of the generator (Z values)
    instead of (T, F). Enabled: the outputs are the loop-end markers."""
    model = lfads_deploy(0)
    with wa.enabled(time_distributed_output=False):
        hls = convert(model, HLSDesign(), tmp_path)
    assert hls.outputs == ["logrates_end", "factors"]
    assert [v.shape for v in hls.get_output_variables()] == [[T, N], [TINY["latent_units"]]]
    hls = convert(model, HLSDesign(), tmp_path)
    assert hls.outputs == ["logrates_end", "factors_end"]
    assert [v.shape for v in hls.get_output_variables()] == [[T, N], [T, TINY["factors"]]]


def test_time_distributed_types(tmp_path) -> None:
    """Disabled: a loop marker's type differs from the array it copies (nnet::read_time_step_2d takes both
    as one data_T, so g++ would fail, see the slow test). Enabled: markers carry their input's type."""
    model = _qat("real")
    design = HLSDesign(quantization="qat", precision="ap_fixed<24,8>")
    for enabled in (False, True):
        with wa.enabled(time_distributed_types=enabled):
            hls = convert(model, design, tmp_path)
        same = [
            str(n.get_input_variable().type.precision) == str(n.get_output_variable().type.precision)
            for n in hls.get_layers()
            if n.class_name == "TimeDistributed"
        ]
        assert all(same) == enabled


@pytest.mark.slow
def test_time_distributed_types_gxx(tmp_path) -> None:
    model = _qat("real")
    design = HLSDesign(quantization="qat", precision="ap_fixed<24,8>")
    with wa.enabled(time_distributed_types=False), pytest.raises(HLSCompileError, match="cannot convert"):
        compile_model(model, design, tmp_path)


# ---------------------------------------------------------------------- recurrent_reuse_factor, tables


def test_recurrent_reuse_factor(tmp_path) -> None:
    """Disabled: init_gru/init_bidirectional overwrite the configured recurrent reuse factors with the
    layer's. Enabled: they reach the generated config."""
    from dse.hls import effective_reuse_factors

    model = lfads_deploy(0)
    design = HLSDesign(reuse_factor=2, recurrent_reuse_factor={"generator": 4, "encoder": 8})
    with wa.enabled(recurrent_reuse_factor=False):
        rf = effective_reuse_factors(convert(model, design, tmp_path))
    assert rf[("generator", "recurrent")] == 2 and rf[("encoder", "forward recurrent")] == 2
    hls = convert(model, design, tmp_path)
    rf = effective_reuse_factors(hls)
    assert rf[("generator", "recurrent")] == 4 and rf[("generator", "input")] == 2
    assert rf[("encoder", "forward recurrent")] == 8 == rf[("encoder", "backward recurrent")]
    hls.write()
    params = (tmp_path / "firmware" / "parameters.h").read_text()
    gen = hls.graph["generator"].index
    assert f"struct config{gen}_2 : nnet::dense_config" in params
    block = params.split(f"struct config{gen}_2 : nnet::dense_config")[1].split("};")[0]
    assert "reuse_factor = 4;" in block


RESOURCE = dataclasses.replace(
    WIDE_PTQ, strategy="Resource", reuse_factor=2, recurrent_reuse_factor={"generator": 16, "encoder": 16}
)  # n_state = 8


def _recurrent_kernels(hls) -> list[str]:
    kernels = []
    for name, blocks in (("generator", ["_2"]), ("encoder", ["_2_f", "_2_b"])):
        node = hls.graph[name]
        text = node.get_attr("config_cpp")
        for b in blocks:
            block = text.split(f"struct config{node.index}{b} : nnet::dense_config")[1].split("};")[0]
            kernels.append(block.split("using kernel = nnet::")[1].split("<")[0])
    return kernels


def test_recurrent_resource_kernel(tmp_path) -> None:
    """Disabled: the recurrent products (reuse 16 > n_state 8) get the RF <= N_IN kernel, chosen from the
    input reuse factor 2, whose assert aborts the C simulation (see the slow test). Enabled: the right one."""
    model = lfads_deploy(0)
    with wa.enabled(recurrent_resource_kernel=False):
        assert _recurrent_kernels(convert(model, RESOURCE, tmp_path)) == ["DenseResource_rf_leq_nin"] * 3
    assert _recurrent_kernels(convert(model, RESOURCE, tmp_path)) == ["DenseResource_rf_gt_nin_rem0"] * 3


_ABORT_SCRIPT = """
import sys, dataclasses
import numpy as np
from dse.hls import compile_model, run_csim
from dse.hls import workarounds as wa
from dse.families.lfads.testing import lfads_deploy, WIDE_PTQ
design = dataclasses.replace(WIDE_PTQ, strategy="Resource", reuse_factor=2,
                             recurrent_reuse_factor={"generator": 16, "encoder": 16})
with wa.enabled(recurrent_resource_kernel=False):
    compiled = compile_model(lfads_deploy(0), design, sys.argv[1])
run_csim(compiled.hls_model, np.ones((1, 10, 8)))
print("survived")
"""


@pytest.mark.slow
def test_recurrent_resource_kernel_csim(cache_dir, spikes) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _ABORT_SCRIPT, str(cache_dir)], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode != 0 and "survived" not in proc.stdout
    assert "This function is correct only for RF <= N_IN" in proc.stderr
    model = lfads_deploy(0)
    out = run_csim(compile_model(model, RESOURCE, cache_dir).hls_model, spikes)
    lr, f = _keras(model, spikes)
    np.testing.assert_allclose(out["logrates"], lr, atol=WIDE_ATOL)
    np.testing.assert_allclose(out["factors"], f, atol=WIDE_ATOL)


def test_table_precision(tmp_path) -> None:
    """Disabled: the configured table type is ignored (ap_fixed<18,8>). Enabled: it is used."""
    model = lfads_deploy(0)
    design = HLSDesign(table_precision="ap_fixed<24,3>")
    with wa.enabled(table_precision=False):
        assert (
            str(convert(model, design, tmp_path).graph["generator"].get_attr("table_t").precision)
            == "fixed<18,8,TRN,WRAP,0>"
        )
    for name in ("generator", "encoder"):
        assert (
            str(convert(model, design, tmp_path).graph[name].get_attr("table_t").precision)
            == "fixed<24,3,TRN,WRAP,0>"
        )


# ------------------------------------------------------------------------------------------ guards


def _small_gru_model(**gru_kw):
    from tensorflow import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((T, N), name="x")
    y = keras.layers.GRU(4, return_sequences=True, name="gru", **gru_kw)(x)
    return keras.Model(x, keras.layers.Dense(2, name="out")(y))


def _small_bidir_model(merge_mode: str):
    from tensorflow import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((T, N), name="x")
    y = keras.layers.Bidirectional(keras.layers.GRU(4), merge_mode=merge_mode, name="enc")(x)
    return keras.Model(x, keras.layers.Dense(2, name="out")(y))


def test_rnn_guards(tmp_path) -> None:
    """Disabled: these models convert without a word (and would simulate wrong). Enabled: clear errors."""
    cases = [
        (_small_gru_model(reset_after=False), "reset_after=False"),
        (_small_gru_model(go_backwards=True), "go_backwards"),
        (_small_gru_model(recurrent_activation="hard_sigmoid"), "hard_sigmoid"),
        (_small_bidir_model("sum"), "merge_mode='sum'"),
    ]
    for model, message in cases:
        with pytest.raises(UnsupportedModelError, match=message):
            convert(model, HLSDesign(), tmp_path)
        with wa.enabled(rnn_guards=False):
            convert(model, HLSDesign(), tmp_path)


@pytest.mark.slow
def test_reset_before_is_wrong_without_guard(tmp_path) -> None:
    """hls4ml computes reset_after=True semantics for a reset_after=False GRU: a silently wrong output."""
    model = _small_gru_model(reset_after=False)
    x = poisson_spikes(4, T, N, rate=1.0, seed=2)
    with wa.enabled(rnn_guards=False):
        hls = compile_model(model, WIDE_PTQ, tmp_path).hls_model
    y = hls.predict(x).reshape(4, T, 2)
    assert np.abs(y - model.predict(x, verbose=0)).max() > 100 * WIDE_ATOL

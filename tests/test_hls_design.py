"""HLSDesign validation and the hls4ml configuration it produces (no compilation)."""

from __future__ import annotations

import dataclasses

import pytest

from dse.hls import DesignError, HLSDesign, parse_precision
from dse.hls.design import FixedType


def test_parse_precision() -> None:
    assert parse_precision("ap_fixed<16,6>") == FixedType(16, 6)
    assert parse_precision("ap_ufixed<8,8,AP_TRN,AP_SAT>") == FixedType(8, 8, False, "AP_TRN", "AP_SAT")
    assert parse_precision("ap_int<4>") == FixedType(4, 4)
    assert str(parse_precision("ap_fixed<17,1,AP_RND_CONV,AP_SAT>")) == "ap_fixed<17,1,AP_RND_CONV,AP_SAT>"
    for bad in ("float", "ap_fixed<16>", "ap_fixed<0,0>", "ap_fixed<16,6,AP_FOO,AP_SAT>"):
        with pytest.raises(DesignError):
            parse_precision(bad)


def test_design_validation_and_normalisation() -> None:
    d = HLSDesign(
        layer_precision={"ic": "ap_fixed<12,4>", "generator.accum": "ap_fixed<24,8>"},
        layer_reuse_factor={"encoder": 4},
        recurrent_reuse_factor=[("generator", 2)],
        clock_period=4,
    )
    assert d.layer_precision == (("generator.accum", "ap_fixed<24,8>"), ("ic", "ap_fixed<12,4>"))
    assert d.layer_rf("encoder") == 4 and d.layer_rf("ic") == 1
    assert d.recurrent_rf("generator") == 2 and d.recurrent_rf("encoder") == 4
    assert d.clock_period == 4.0 and hash(d) == hash(HLSDesign.from_dict(d.to_dict()))
    assert HLSDesign.from_dict(d.to_dict()) == d
    bad = [
        {"quantization": "int8"},
        {"precision": "float"},
        {"reuse_factor": 0},
        {"reuse_factor": True},
        {"layer_reuse_factor": {"ic": 1.5}},
        {"strategy": "latency"},
        {"io_type": "stream"},
        {"table_size": 1000},
        {"clock_period": 0},
        {"backend": "Quartus"},
        {"part": ""},
        {"layer_precision": {"ic.table": "ap_fixed<8,2>"}},
    ]
    for kw in bad:
        with pytest.raises(DesignError):
            HLSDesign(**kw)
    with pytest.raises(DesignError, match="unknown field"):
        HLSDesign.from_dict({"precison": "ap_fixed<16,6>"})


@pytest.fixture(scope="module")
def tiny():
    from dse.families.lfads.testing import lfads_deploy

    return lfads_deploy(0)


def test_ptq_config_sets_every_type(tiny) -> None:
    from dse.hls import to_hls_config

    d = HLSDesign(
        precision="ap_fixed<14,5>",
        zero_inputs=("gen_input",),
        table_size=2048,
        table_precision="ap_fixed<20,4>",
        layer_precision={"generator": "ap_fixed<18,6>", "factors.result": "ap_fixed<20,8>"},
        reuse_factor=2,
        layer_reuse_factor={"logrates": 4},
        recurrent_reuse_factor={"encoder": 8},
    )
    cfg = to_hls_config(tiny, d)
    names = cfg["LayerName"]
    assert cfg["Flows"] == ["dse_vitis_ip"]
    assert cfg["Model"]["Precision"] == {"default": "ap_fixed<14,5>"}
    assert set(names["generator"]["Precision"].values()) == {"ap_fixed<18,6>", "ap_fixed<20,4>"}
    assert names["generator"]["TableSize"] == 2048 and names["encoder"]["TableSize"] == 2048
    assert names["encoder"]["Precision"]["forward_recurrent_weight"] == "ap_fixed<14,5>"
    assert names["factors_dense"]["Precision"]["result"] == "ap_fixed<20,8>"  # wrapped layer of `factors`
    assert names["factors_dense"]["Precision"]["weight"] == "ap_fixed<14,5>"
    assert names["spikes"]["Precision"]["result"] == d.input_precision
    assert names["gen_input"]["Precision"]["result"] == "ap_fixed<2,2>"
    assert names["logrates_dense"]["ReuseFactor"] == 4 and names["ic"]["ReuseFactor"] == 2
    assert (
        names["encoder"]["ForwardRecurrentReuseFactor"]
        == 8
        == names["encoder"]["BackwardRecurrentReuseFactor"]
    )
    assert names["generator"]["RecurrentReuseFactor"] == 2
    ic = to_hls_config(tiny, HLSDesign(layer_precision={"ic": "ap_fixed<20,8>"}))["LayerName"]
    assert ic["ic"]["Precision"]["result"] == ic["ic_linear"]["Precision"]["result"] == "ap_fixed<20,8>"


def test_design_refers_to_model_layers(tiny) -> None:
    from dse.hls import to_hls_config

    with pytest.raises(DesignError, match="unknown layer"):
        to_hls_config(tiny, HLSDesign(layer_reuse_factor={"decoder": 2}))
    with pytest.raises(DesignError, match="not recurrent"):
        to_hls_config(tiny, HLSDesign(recurrent_reuse_factor={"ic": 2}))
    # a carried state: a model input and the GRU whose state type it takes
    with pytest.raises(DesignError, match="unknown layer"):
        to_hls_config(tiny, HLSDesign(state_inputs={"state": "generator"}))
    with pytest.raises(DesignError, match="expected a model input and a GRU layer"):
        to_hls_config(tiny, HLSDesign(state_inputs={"spikes": "ic"}))
    assert to_hls_config(tiny, HLSDesign(state_inputs={"spikes": "generator"}))["LayerName"]["spikes"]["DseStateOf"] \
        == "generator"
    with pytest.raises(DesignError, match="needs a QKeras model"):
        to_hls_config(tiny, HLSDesign(quantization="qat"))
    from dse.families.lfads.config import QuantSpec
    from dse.families.lfads.testing import lfads_deploy

    with pytest.raises(DesignError, match="needs a float model"):
        to_hls_config(lfads_deploy(0, quant=QuantSpec()), HLSDesign())


def test_io_stream_is_rejected(tiny) -> None:
    """hls4ml 1.3.0 has no streaming Bidirectional nor streaming GRU-with-initial-state."""
    from dse.hls import to_hls_config

    with pytest.raises(DesignError, match="io_stream is not supported") as e:
        to_hls_config(tiny, HLSDesign(io_type="io_stream"))
    assert "encoder" in str(e.value) and "generator" in str(e.value)


def test_resource_reuse_factor_rejected_or_used(tiny, tmp_path) -> None:
    """hls4ml silently replaces an invalid Resource reuse factor by the closest valid one; dse rejects it,
    and a valid one is used exactly as requested (checked on the converted graph)."""
    from dse.hls import convert, effective_reuse_factors, valid_reuse_factors

    valid = valid_reuse_factors(tiny)
    assert valid[("generator", "recurrent")] == [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 192]  # 8 x 24 product
    with pytest.raises(DesignError, match=r"recurrent reuse factor 5 is invalid .* valid: \[1, 2, 4, 8"):
        convert(tiny, HLSDesign(strategy="Resource", recurrent_reuse_factor={"generator": 5}), tmp_path)
    with pytest.raises(DesignError, match="layer 'ic': input reuse factor 3"):
        convert(tiny, HLSDesign(strategy="Resource", layer_reuse_factor={"ic": 3}), tmp_path)
    d = HLSDesign(
        strategy="Resource",
        reuse_factor=2,
        layer_reuse_factor={"encoder": 4},
        recurrent_reuse_factor={"generator": 8, "encoder": 16},
    )
    rf = effective_reuse_factors(convert(tiny, d, tmp_path))
    assert rf[("encoder", "input")] == 4
    assert rf[("encoder", "forward recurrent")] == 16 == rf[("encoder", "backward recurrent")]
    assert rf[("generator", "input")] == 2 and rf[("generator", "recurrent")] == 8
    assert rf[("ic", "input")] == 2 and rf[("factors_dense", "input")] == 2


def test_design_is_plain_frozen_data() -> None:
    d = HLSDesign()
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.precision = "ap_fixed<8,3>"  # type: ignore[misc]
    assert d.backend == "Vitis" and d.strategy == "Latency" and d.io_type == "io_parallel"


def test_vivado_backend_converts(tiny, tmp_path) -> None:
    from dse.hls import convert, to_hls_config

    d = HLSDesign(
        backend="Vivado",
        part="xc7z020clg400-1",
        clock_period=10,
        layer_precision={"encoder.weight": "ap_fixed<12,3>"},
    )
    cfg = to_hls_config(tiny, d)
    assert cfg["Flows"] == ["dse_vivado_ip"]
    prec = cfg["LayerName"]["encoder"]["Precision"]
    assert prec["forward_weight"] == prec["backward_weight"] == "ap_fixed<12,3>"
    assert prec["forward_recurrent_weight"] == d.precision
    hls = convert(tiny, d, tmp_path)
    assert hls.config.get_config_value("Part") == "xc7z020clg400-1"
    assert hls.config.get_config_value("ClockPeriod") == 10.0
    assert hls.outputs == ["logrates_end", "factors_end"]
    assert hls.graph["generator"].get_attr("pass_initial_states")

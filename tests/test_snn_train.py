"""SNN training (BPTT with snnTorch surrogates), QAT, scoring and the ``dse train --family snn`` entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dse.errors import UserInputError
from dse.families.snn import cli
from dse.families.snn.encoding import EncodingSpec, SNNConfigError
from dse.families.snn.model import SNN, LayerSpec, QuantSpec, SNNDescription
from dse.families.snn.network import QuantizedSNN
from dse.families.snn.quantize import ptq, qat, resolve_quant, to_quantized
from dse.families.snn.scoring import float_outputs, integer_outputs, score_float
from dse.families.snn.tasks import decode_task, digits_task
from dse.families.snn.train import TrainConfig, encode_inputs, train_snn


@pytest.fixture(scope="module")
def digits():
    return digits_task(seed=0, limit=300)


def _digits_desc(steps: int = 8) -> SNNDescription:
    return SNNDescription(64, (LayerSpec(24, "LIF", k_beta=2), LayerSpec(10, "readout", k_beta=3)),
                          EncodingSpec("rate", steps=steps))


@pytest.fixture(scope="module")
def trained(digits):
    return train_snn(_digits_desc(), digits, TrainConfig(epochs=6, batch_size=32, lr=1e-2))


def test_training_learns_digits(trained, digits):
    hist = trained.history
    assert len(hist) == 6 and trained.epochs == 6 and trained.train_seconds > 0
    assert hist[-1]["loss"] < hist[0]["loss"]
    acc = score_float(trained.model, digits)["accuracy"]
    assert acc > 0.5  # 10 classes: chance is 0.1


def test_training_is_deterministic(digits):
    cfg = TrainConfig(epochs=2, batch_size=64, seed=5)
    a = train_snn(_digits_desc(4), digits, cfg)
    b = train_snn(_digits_desc(4), digits, cfg)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)
    c = train_snn(_digits_desc(4), digits, TrainConfig(epochs=2, batch_size=64, seed=6))
    assert not torch.equal(a.model.weights[0], c.model.weights[0])


def test_surrogate_gradient_reaches_the_first_layer():
    torch.manual_seed(0)
    model = SNN(SNNDescription(4, (LayerSpec(5, "LIF2", k_beta=2, k_alpha=1, recurrent=True),
                                   LayerSpec(2, "readout", k_beta=2)), EncodingSpec("binary")))
    x = (torch.rand(3, 6, 4) < 0.5).float()
    for quant in (None, QuantSpec(6, 12, 4)):
        model.zero_grad()
        model(x, quant).membrane.pow(2).sum().backward()
        assert model.weights[0].grad.abs().sum() > 0 and model.recurrent[0].grad.abs().sum() > 0


def test_ptq_integer_accuracy_is_the_exact_quantized_forward(trained, digits):
    q = resolve_quant(trained.model, digits, 6)
    res = ptq(trained.model, digits, q)
    exact = score_float(trained.model, digits, quant=q, exact=True)
    assert res.metrics["accuracy"] == exact["accuracy"]
    assert res.metrics["cycles"]["event"] < res.metrics["cycles"]["full"]
    assert res.net.weight_bits == 6 and res.net.frac_bits == q.frac_bits


def test_fixed_membrane_width_selects_frac_bits_on_validation(trained, digits):
    from dse.families.snn.quantize import choose_frac_bits, frac_bits_cap

    q = resolve_quant(trained.model, digits, 6, membrane_bits=8)
    hi = min(frac_bits_cap(trained.model, 8), choose_frac_bits(trained.model, 6))
    assert q.membrane_bits == 8 and q.frac_bits <= hi
    valid = {f: ptq(trained.model, digits, QuantSpec(6, 8, f), on="valid").metrics["accuracy"]
             for f in range(max(0, q.frac_bits - 2), hi + 1)}
    assert valid[q.frac_bits] == max(valid.values())


def test_qat_model_forward_equals_the_integer_reference(trained, digits):
    q = QuantSpec(weight_bits=4, membrane_bits=16, frac_bits=3)
    res = qat(trained, digits, q, epochs=1)
    assert res.mode == "qat" and res.train is not None and res.train.config.qat == q
    assert res.train.best_epoch in (0, 1)  # epoch 0 = the float weights, a candidate of fine-tuning
    model = res.train.model
    x = encode_inputs(model.desc.encoding, digits.test)
    mem_f, _ = float_outputs(model, x, q)  # vectorised QAT forward, integer-valued float arithmetic
    mem_i, _, _ = integer_outputs(res.net, x)
    assert np.array_equal(mem_f * 2**3, mem_i * 2**3)
    assert res.metrics["accuracy"] == score_float(model, digits, quant=q)["accuracy"]


def test_decode_training_and_integer_scoring_on_small_synthetic():
    task = decode_task("synthetic", 0, n_trials=40, n_bins=15, n_neurons=10)
    desc = SNNDescription(10, (LayerSpec(12, "LIF", k_beta=2, recurrent=True), LayerSpec(3, "readout", k_beta=2)),
                          EncodingSpec("current", input_bits=2))
    res = train_snn(desc, task, TrainConfig(epochs=3, batch_size=8))
    assert res.history[-1]["loss"] < res.history[0]["loss"] and res.head is not None
    f = score_float(res.model, task)
    assert set(f) >= {"behavior_r2", "behavior_r2_trial"} and np.isfinite(f["behavior_r2"])
    i = ptq(res.model, task, resolve_quant(res.model, task, 8)).metrics
    assert np.isfinite(i["behavior_r2"]) and i["cycles"]["full"] > 0


def test_task_and_description_must_fit(digits):
    bad = SNNDescription(64, (LayerSpec(10, "readout"),), EncodingSpec("binary"))
    with pytest.raises(SNNConfigError, match="snn.encoding.kind: 'binary' does not fit task 'digits'"):
        train_snn(bad, digits, TrainConfig(epochs=1))
    spiking_out = SNNDescription(64, (LayerSpec(10, "LIF", k_beta=2),), EncodingSpec("rate", steps=3))
    with pytest.raises(SNNConfigError, match="train.classify_by"):
        train_snn(spiking_out, digits, TrainConfig(epochs=1, classify_by="max"))
    with pytest.raises(SNNConfigError, match=r"train.epochs: expected a positive integer"):
        TrainConfig(epochs=0)


def test_threshold_that_bits_cannot_hold_is_refused(trained):
    with pytest.raises(SNNConfigError, match="bits cannot hold the threshold"):
        to_quantized(trained.model, QuantSpec(weight_bits=6, membrane_bits=4, frac_bits=6), time_steps=8)


def test_cli_json_last_line(capsys, tmp_path):
    assert cli.main(["--task", "digits", "--epochs", "1", "--weight-bits", "4", "8", "--json",
                     "-o", str(tmp_path / "out")]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    assert set(report) >= {"accuracy", "integer_accuracy", "epochs", "train_seconds", "integer"}
    assert report["epochs"] == 1 and [r["weight_bits"] for r in report["integer"]] == [4, 8]
    assert report["integer_bits"]["weight_bits"] == 4 and 0 <= report["integer_accuracy"] <= 1
    assert (tmp_path / "out" / "model.pt").is_file()
    saved = QuantizedSNN.load(tmp_path / "out" / "integer_ptq_w8.npz")
    assert saved.weight_bits == 8 and saved.sizes[0] == 64


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "mnist"], "--task: unknown task 'mnist'"),
        (["--weight-bits", "1"], "--weight-bits: weight widths must be in [2, 16]"),
        (["--epochs", "0"], "--epochs: must be a positive integer"),
        (["--task", "digits", "--baseline"], "--baseline: the linear baseline is for the decode task"),
        (["--colour", "red"], "unrecognized arguments: --colour red"),
        (["--data", "/nonexistent/file.npz"], "/nonexistent/file.npz"),
    ],
)
def test_cli_bad_input_is_one_line_user_error(argv, message):
    with pytest.raises(UserInputError) as e:
        cli.main(argv)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_default_recipes_fit_their_tasks(digits):
    from dse.families.snn.recipe import default_recipe

    r = default_recipe(digits, epochs=4)
    assert r.description.n_inputs == 64 and r.description.n_outputs == 10 and r.train.epochs == 4
    assert 1 <= r.qat_epochs <= 4
    task28 = digits_task(0, 28, limit=50)
    assert default_recipe(task28).description.sizes == [784, 128, 10]
    dec = decode_task("synthetic", 0, n_trials=20, n_bins=8, n_neurons=6)
    rd = default_recipe(dec)
    assert rd.description.n_inputs == 6 and rd.description.has_readout and rd.description.layers[0].recurrent
    with pytest.raises(SNNConfigError, match="--epochs"):
        default_recipe(digits, epochs=0)
    with pytest.raises(SNNConfigError, match="train.input_dropout"):
        TrainConfig(input_dropout=1.0)


@pytest.mark.slow
@pytest.mark.hdl
def test_cli_builds_the_trained_network_into_a_checked_vhdl_project(tmp_path):
    """``dse train --family snn --hdl-part PART -o DIR``: the trained integer network's VHDL project with the
    GHDL check against the integer model and the checked Yosys report."""
    import json

    from dse.cli import main
    from dse.families.snn.ghdl import require_tools_for_tests

    require_tools_for_tests(("ghdl", "iverilog"))
    out = tmp_path / "run"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["train", "--family", "snn", "--task", "digits", "--epochs", "1", "--hdl-part", "xc7a35t",
                     "-o", str(out), "--json"]) == 0
    report = json.loads(buf.getvalue().strip().splitlines()[-1])
    hdl = report["hdl"]
    assert hdl["ghdl_equal_reference"] is True and hdl["latches"] == 0 and hdl["lut"] > 0
    assert hdl["checks"]["netlist_sim_equal_reference"] is True
    assert (out / "hdl" / "run_ghdl.sh").is_file() and (out / "hdl" / "README.md").is_file()

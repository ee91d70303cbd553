"""NIR import/export of SNNs: node mapping, the dt conversion, refusals, and the dse -> NIR -> dse round trip.

Expected values are worked out by hand from NIR's ODEs with forward Euler (beta = 1 - dt/tau, input gain
dt r / tau), not from the importer.
"""

from __future__ import annotations

import nir
import numpy as np
import pytest

from dse.families.snn.model import QuantSpec
from dse.families.snn.network import QuantizedSNN, SNNLayer
from dse.families.snn.nir_export import to_nir, write_nir
from dse.families.snn.nir_import import NIRImportError, import_file, import_graph, nearest_shift
from dse.families.snn.quantize import to_quantized

DT = 1e-4


def _lif(n: int, beta: float = 0.875, theta=1.0, **kw) -> nir.LIF:
    tau = DT / (1 - beta)
    ones = np.ones(n)
    th = np.asarray(theta, dtype=float) * ones
    return nir.LIF(tau=tau * ones, r=tau / DT * ones, v_leak=kw.get("v_leak", 0 * ones), v_threshold=th,
                   v_reset=kw.get("v_reset", 0 * ones))


def _chain(*nodes, n_in: int) -> nir.NIRGraph:
    names = ["input"] + [f"n{i}" for i in range(len(nodes))] + ["output"]
    out_n = nodes[-1].output_type["output"] if hasattr(nodes[-1], "output_type") else None
    allnodes = {"input": nir.Input(input_type=np.array([n_in])), **{f"n{i}": nd for i, nd in enumerate(nodes)},
                "output": nir.Output(output_type=np.array(out_n if out_n is not None else [1]))}
    return nir.NIRGraph(nodes=allnodes, edges=list(zip(names[:-1], names[1:], strict=True)), type_check=False)


def test_feed_forward_lif_weights_beta_and_threshold():
    rng = np.random.default_rng(0)
    w1, w2 = rng.normal(size=(4, 6)), rng.normal(size=(3, 4))
    g = _chain(nir.Linear(weight=w1), _lif(4, 0.9, 2.0), nir.Linear(weight=w2), _lif(3, 0.75, 2.0), n_in=6)
    imp = import_graph(g, dt=DT)
    assert [lay.neuron for lay in imp.layers] == ["LIF", "LIF"]
    np.testing.assert_allclose(imp.layers[0].weights, w1.T, rtol=1e-12)
    np.testing.assert_allclose(imp.layers[1].weights, w2.T, rtol=1e-12)
    # beta 0.9: 1 - 2**-3 = 0.875 is nearest (0.9375 is further); relative error 0.025 / 0.9.
    assert imp.layers[0].k_beta == 3 and imp.layers[0].beta_error == pytest.approx(0.025 / 0.9)
    assert imp.layers[1].k_beta == 2 and imp.layers[1].beta_error == pytest.approx(0.0, abs=1e-12)
    assert imp.layers[0].threshold == 2.0 and imp.layers[0].reset == "zero"
    assert imp.n_inputs == 6


def test_gain_other_dt_and_affine_zero_bias_scale():
    # Norse-style parameters: tau = 10 ms, r = 1, exported for dt = 1 ms: beta = 0.9, gain dt*r/tau = 0.1.
    w = np.arange(6.0).reshape(2, 3)
    lif = nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2),
                  v_reset=np.zeros(2))
    g = _chain(nir.Affine(weight=w, bias=np.zeros(2)), nir.Scale(scale=np.array([1.0, 2.0])), lif, n_in=3)
    imp = import_graph(g, dt=1e-3)
    np.testing.assert_allclose(imp.layers[0].weights, (w.T * np.array([1.0, 2.0])) * 0.1, rtol=1e-12)
    assert imp.layers[0].beta == pytest.approx(0.9)


def test_cubalif_li_integrator_and_threshold():
    n = 3
    ones = np.ones(n)
    cuba = nir.CubaLIF(tau_syn=ones * DT / 0.5, tau_mem=ones * DT / 0.25, r=ones * 4.0, v_leak=0 * ones,
                       v_threshold=ones, v_reset=0 * ones, w_in=ones * 2.0)
    li = nir.LI(tau=np.full(2, DT / 0.125), r=np.full(2, 8.0), v_leak=np.zeros(2))
    w1, w2 = np.ones((n, 2)), np.ones((2, n))
    imp = import_graph(_chain(nir.Linear(weight=w1), cuba, nir.Linear(weight=w2), li, n_in=2), dt=DT)
    a, b = imp.layers
    assert (a.neuron, a.k_alpha, a.k_beta) == ("LIF2", 1, 2)
    # gains: dt*w_in/tau_syn = 1e-4*2/2e-4 = 1; dt*r/tau_mem = 1e-4*4/4e-4 = 1.
    np.testing.assert_allclose(a.weights, w1.T)
    assert (b.neuron, b.k_beta) == ("readout", 3)
    np.testing.assert_allclose(b.weights, w2.T)  # dt*r/tau = 1e-4*8/8e-4
    integ = _chain(nir.Linear(weight=np.ones((2, 2))), nir.I(r=np.full(2, 1 / DT)), n_in=2)
    assert import_graph(integ, dt=DT).layers[0].k_beta is None
    spiking = _chain(nir.Linear(weight=np.ones((2, 2))), nir.I(r=np.full(2, 1 / DT)),
                     nir.Threshold(threshold=np.full(2, 0.5)), n_in=2)
    lay = import_graph(spiking, dt=DT).layers[0]
    assert (lay.neuron, lay.reset, lay.threshold, lay.k_beta) == ("IF", "none", 0.5, None)


def test_per_neuron_thresholds_fold_into_weights():
    g = _chain(nir.Linear(weight=np.ones((2, 2))), _lif(2, 0.875, [1.0, 2.0]), n_in=2)
    imp = import_graph(g, dt=DT)
    assert imp.layers[0].threshold == 2.0
    np.testing.assert_allclose(imp.layers[0].weights, [[2.0, 1.0], [2.0, 1.0]])
    assert imp.notes


def test_recurrent_subgraph_as_rleaky_exports_it():
    n = 3
    w_rec = np.arange(9.0).reshape(3, 3) / 10
    sub = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([n])), "lif": _lif(n),
                              "w_rec": nir.Affine(weight=w_rec, bias=np.zeros(n)),
                              "output": nir.Output(output_type=np.array([n]))},
                       edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                       type_check=False)
    g = _chain(nir.Linear(weight=np.ones((n, 2))), sub, n_in=2)
    lay = import_graph(g, dt=DT).layers[0]
    np.testing.assert_allclose(lay.recurrent_weights, w_rec.T)


def test_nearest_shift():
    assert nearest_shift(0.95) == 4 and nearest_shift(0.3) == 1 and nearest_shift(0.999) == 10


@pytest.mark.parametrize("neurons,recurrent", [(["LIF", "LIF2", "readout"], [True, False, False]),
                                               (["IF", "LIF"], [False, True])])
def test_round_trip_gives_the_same_integer_network(tmp_path, neurons, recurrent):
    rng = np.random.default_rng(3)
    sizes = [5, 4, 3, 2][: len(neurons) + 1]
    layers = []
    for i, nm in enumerate(neurons):
        layers.append(SNNLayer(
            weights=rng.integers(-31, 32, (sizes[i], sizes[i + 1])), neuron=nm,
            reset="none" if nm == "readout" else ["subtract", "zero"][i % 2],
            k_beta=None if nm == "IF" else 2 + i, k_alpha=1 if nm == "LIF2" else None,
            theta_int=1 if nm == "readout" else 40 + i,
            recurrent_weights=rng.integers(-31, 32, (sizes[i + 1],) * 2) if recurrent[i] else None))
    net = QuantizedSNN(layers=layers, weight_bits=6, membrane_bits=10, frac_bits=3, time_steps=7)
    path = write_nir(net, tmp_path / "network.nir")
    imp = import_file(path)
    back = to_quantized(imp.model(), QuantSpec(6, 10, 3), 7)
    for a, b in zip(net.layers, back.layers, strict=True):
        assert (a.neuron, a.reset, a.k_beta, a.k_alpha) == (b.neuron, b.reset, b.k_beta, b.k_alpha)
        np.testing.assert_array_equal(a.weights, b.weights)
        assert (a.recurrent_weights is None) == (b.recurrent_weights is None)
        if a.recurrent_weights is not None:
            np.testing.assert_array_equal(a.recurrent_weights, b.recurrent_weights)
        if a.spiking:
            assert a.theta_int == b.theta_int
    assert nir.read(str(path)).metadata["dse_frac_bits"] == 3
    assert to_nir(net).nodes["output"].output_type["output"].tolist() == [sizes[-1]]


def _refused(g, match: str, dt: float = DT) -> str:
    with pytest.raises(NIRImportError, match=match) as e:
        import_graph(g, dt=dt, source="g.nir")
    assert "\n" not in str(e.value) and str(e.value).startswith("g.nir: ")
    return str(e.value)


def test_refusals_one_line():
    lin = nir.Linear(weight=np.ones((2, 2)))
    _refused(_chain(nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 3, 3)), stride=1, padding=0, dilation=1,
                               groups=1, bias=np.zeros(1)), _lif(2), n_in=2), r"'n0' \(Conv2d\).*convolution")
    _refused(_chain(nir.Affine(weight=np.ones((2, 2)), bias=np.array([0.5, 0.0])), _lif(2), n_in=2),
             r"non-zero bias")
    _refused(_chain(lin, _lif(2, v_leak=np.full(2, 0.1)), n_in=2), r"non-zero v_leak")
    _refused(_chain(lin, _lif(2, v_reset=np.full(2, -1.0)), n_in=2), r"non-zero v_reset")
    beta_diff = nir.LIF(tau=np.array([1e-3, 2e-3]), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2),
                        v_reset=np.zeros(2))
    _refused(_chain(lin, beta_diff, n_in=2), r"per-neuron decays")
    _refused(_chain(lin, _lif(2), nir.Linear(weight=np.ones((2, 2))), n_in=2), r"feed no neuron")
    _refused(_chain(lin, nir.Threshold(threshold=np.ones(2)), n_in=2), r"Threshold must directly follow")
    _refused(_chain(lin, _lif(2), n_in=2), r"not in \(0, 1\)", dt=1.0)
    _refused(_chain(lin, nir.Delay(delay=np.ones(2)), _lif(2), n_in=2), r"Delay.*delays")
    _refused(_chain(lin, nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2)), nir.Linear(weight=np.ones((2, 2))),
                    _lif(2), n_in=2), r"must be the last layer", dt=1e-3)


def test_reset_override(tmp_path):
    path = tmp_path / "g.nir"
    nir.write(str(path), _chain(nir.Linear(weight=np.ones((2, 2))), _lif(2), n_in=2))
    assert import_file(path).layers[0].reset == "zero"
    assert import_file(path, reset="subtract").layers[0].reset == "subtract"


def test_unreadable_files(tmp_path):
    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    with pytest.raises(NIRImportError, match="not a readable NIR graph"):
        import_file(bad)
    with pytest.raises(NIRImportError, match="no such file"):
        import_file(tmp_path / "missing.nir")

"""dse's integer SNN → a NIR graph with the equivalent float parameters (``network.nir``).

The inverse of :mod:`dse.families.snn.nir_import` at the same time step ``dt``: weights and thresholds
are the integers scaled by ``2**-frac_bits``; a shift leak k is ``beta = 1 - 2**-k``, written as
snnTorch writes it (``tau = dt / (1 - beta)``, ``r = tau / dt``, so the input gain ``dt r / tau`` is 1);
LIF2 is a ``CubaLIF`` (``w_in = tau_syn / dt``), IF an ``IF`` (``r = 1 / dt``), the readout an ``LI`` (or an
``I`` without leak). A recurrent layer is a subgraph Input → LIF ⇄ Linear → Output, as snnTorch's
``RLeaky`` exports it. NIR resets to ``v_reset`` = 0; dse's subtract/none resets are kept in each node's
metadata (``dse_reset``), which the importer reads back (other readers see a reset to zero).
The graph's metadata records the integer format (bits), so the file documents the hardware it came from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dse.families.snn.network import QuantizedSNN, SNNLayer

DEFAULT_DT = 1e-4


def _neuron_node(layer: SNNLayer, theta: float, dt: float):
    import nir

    n = layer.n_out
    ones = np.ones(n, dtype=np.float64)
    meta = {"dse_reset": layer.reset, "dse_neuron": layer.neuron}
    if layer.neuron == "readout":
        if layer.k_beta is None:
            return nir.I(r=ones / dt, metadata=meta)
        tau = dt / 2.0 ** -layer.k_beta
        return nir.LI(tau=ones * tau, r=ones * tau / dt, v_leak=0 * ones, metadata=meta)
    vthr = ones * theta
    if layer.neuron == "IF":
        return nir.IF(r=ones / dt, v_threshold=vthr, v_reset=0 * ones, metadata=meta)
    tau_mem = dt / 2.0 ** -layer.k_beta
    if layer.neuron == "LIF":
        return nir.LIF(tau=ones * tau_mem, r=ones * tau_mem / dt, v_leak=0 * ones, v_threshold=vthr,
                       v_reset=0 * ones, metadata=meta)
    tau_syn = dt / 2.0 ** -layer.k_alpha
    return nir.CubaLIF(tau_syn=ones * tau_syn, tau_mem=ones * tau_mem, r=ones * tau_mem / dt, v_leak=0 * ones,
                       v_threshold=vthr, v_reset=0 * ones, w_in=ones * tau_syn / dt, metadata=meta)


def to_nir(net: QuantizedSNN, dt: float = DEFAULT_DT):
    """The NIR graph of ``net`` (float parameters equivalent to the integer network at ``dt``)."""
    import nir

    scale = 2.0 ** -net.frac_bits
    nodes: dict = {"input": nir.Input(input_type=np.array([net.n_in]))}
    edges: list[tuple[str, str]] = []
    prev = "input"
    for i, lay in enumerate(net.layers):
        fc, pop = f"fc{i}", f"lif{i}"
        nodes[fc] = nir.Linear(weight=lay.weights.T.astype(np.float64) * scale)
        neuron = _neuron_node(lay, float(lay.theta_int) * scale, dt)
        if lay.recurrent_weights is not None:
            n = lay.n_out
            nodes[pop] = nir.NIRGraph(
                nodes={"input": nir.Input(input_type=np.array([n])), "lif": neuron,
                       "w_rec": nir.Linear(weight=lay.recurrent_weights.T.astype(np.float64) * scale),
                       "output": nir.Output(output_type=np.array([n]))},
                edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                type_check=False)
        else:
            nodes[pop] = neuron
        edges += [(prev, fc), (fc, pop)]
        prev = pop
    nodes["output"] = nir.Output(output_type=np.array([net.n_out]))
    edges.append((prev, "output"))
    meta = {"dse_weight_bits": net.weight_bits, "dse_membrane_bits": net.membrane_bits,
            "dse_frac_bits": net.frac_bits, "dse_time_steps": net.time_steps, "dse_dt": dt}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False)


def write_nir(net: QuantizedSNN, path: str | Path, dt: float = DEFAULT_DT) -> Path:
    """Write ``net`` as a NIR file (HDF5, ``nir.write``); returns the path."""
    import nir

    p = Path(path)
    nir.write(str(p), to_nir(net, dt))
    return p

"""A NIR graph (the Neuromorphic Intermediate Representation, ``nir`` on PyPI) → dse's float SNN.

NIR describes neurons by continuous-time ODEs; the exporting framework simulated them with a time step
``dt`` (snnTorch writes ``tau = dt / (1 - beta)`` and ``r = tau / dt`` with dt = 1e-4). Forward Euler with
that ``dt`` turns each node into dse's discrete semantics (SEMANTICS.md):

* ``LIF(tau, r, v_leak, v_threshold, v_reset)``: ``v <- beta v + g I`` with ``beta = 1 - dt/tau`` and input
  gain ``g = dt r / tau`` → dse ``LIF``; beta becomes the nearest ``1 - 2**-k`` (the hardware leaks by a
  shift; the relative error is reported), the gain is folded into the incoming weights.
* ``CubaLIF``: synaptic current ``alpha = 1 - dt/tau_syn`` with gain ``dt w_in / tau_syn``, membrane as
  LIF → dse ``LIF2`` (both gains folded into the weights: the current feeds only the membrane).
* ``IF(r, v_threshold)``: ``v <- v + dt r I`` → dse ``IF``.
* ``LI`` / ``I`` (Integrator): non-spiking → dse's readout (last layer only); followed by a ``Threshold``
  they are a LIF / IF without reset.
* ``Affine`` / ``Linear`` / ``Scale`` / ``Flatten`` (of a 1-D shape) between two neuron populations are
  composed into one weight matrix; a bias must be zero (dse's neurons have no bias input).
* A path of weights from a population back into itself (snnTorch's ``RLeaky``: LIF → Linear → LIF) is
  the layer's recurrent weight matrix. Nested subgraphs are flattened first.

NIR resets to ``v_reset`` (must be 0: dse's "zero" reset); a node whose metadata carries
``dse_reset: subtract`` (dse's own export) keeps dse's subtract reset. Per-neuron thresholds that
differ are represented exactly by scaling each neuron's input weights (and membrane) by
``theta / theta_j``; per-neuron leaks must agree.

Anything else is refused with :class:`NIRImportError`, one line naming the node, its type and why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dse.errors import UserInputError

DEFAULT_DT = 1e-4  # snnTorch's export_to_nir
MAX_SHIFT = 30
PASS_THROUGH = ("Input", "Output", "Flatten", "Identity")  # inside subgraphs; Flatten only of 1-D shapes
WEIGHT_NODES = ("Affine", "Linear", "Scale")
NEURON_NODES = ("LIF", "CubaLIF", "IF", "LI", "I")
SPIKING_NIR = ("LIF", "CubaLIF", "IF")
WHY_NOT = {
    "Conv1d": "dse's generator builds fully connected layers only (no convolutions)",
    "Conv2d": "dse's generator builds fully connected layers only (no convolutions)",
    "SumPool2d": "pooling needs spatial layers; dse's generator builds fully connected layers only",
    "AvgPool2d": "pooling needs spatial layers; dse's generator builds fully connected layers only",
    "Delay": "synaptic delays are not part of dse's neuron semantics",
    "CubaLI": "a non-spiking readout with a synaptic current has no dse counterpart (use LI)",
}


class NIRImportError(UserInputError):
    """A NIR graph dse cannot represent: one line naming the file, the node and the reason."""


@dataclass
class ImportedLayer:
    """One neuron population with its incoming weights (float, (n_in, n_out)), as dse will see it."""

    node: str
    nir_type: str
    neuron: str  # IF | LIF | LIF2 | readout
    reset: str
    threshold: float
    weights: np.ndarray
    recurrent_weights: np.ndarray | None = None
    k_beta: int | None = None
    k_alpha: int | None = None
    beta: float | None = None  # the graph's (before rounding to 1 - 2**-k)
    alpha: float | None = None

    @property
    def beta_error(self) -> float | None:
        """Relative error |beta_k - beta| / beta of the shift leak that replaces the graph's beta."""
        return _rel_error(self.beta, self.k_beta)

    @property
    def alpha_error(self) -> float | None:
        return _rel_error(self.alpha, self.k_alpha)

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"node": self.node, "nir_type": self.nir_type, "neuron": self.neuron,
                               "size": int(self.weights.shape[1]), "reset": self.reset,
                               "recurrent": self.recurrent_weights is not None}
        if self.beta is not None:
            out.update(beta=self.beta, k_beta=self.k_beta, beta_rel_error=self.beta_error)
        if self.alpha is not None:
            out.update(alpha=self.alpha, k_alpha=self.k_alpha, alpha_rel_error=self.alpha_error)
        if self.neuron != "readout":
            out["threshold"] = self.threshold
        return out


@dataclass
class ImportedNetwork:
    """The graph as dse layers (float), with the time step used and notes on what was folded."""

    source: str
    n_inputs: int
    layers: list[ImportedLayer]
    dt: float
    notes: list[str] = field(default_factory=list)

    def description(self, encoding: Any = None):
        """dse's :class:`~dse.families.snn.model.SNNDescription` of the network."""
        from dse.families.snn.encoding import EncodingSpec
        from dse.families.snn.model import LayerSpec, SNNDescription

        enc = encoding if encoding is not None else EncodingSpec(kind="rate", steps=25)
        specs = tuple(LayerSpec(size=int(lay.weights.shape[1]), neuron=lay.neuron, reset=lay.reset,
                                threshold=float(lay.threshold) if lay.neuron != "readout" else 1.0,
                                k_beta=lay.k_beta, k_alpha=lay.k_alpha,
                                recurrent=lay.recurrent_weights is not None) for lay in self.layers)
        return SNNDescription(n_inputs=self.n_inputs, layers=specs, encoding=enc)

    def model(self, encoding: Any = None):
        """The float :class:`~dse.families.snn.model.SNN` with the graph's weights (what dse quantizes)."""
        import torch

        from dse.families.snn.model import SNN

        model = SNN(self.description(encoding))
        with torch.no_grad():
            for i, lay in enumerate(self.layers):
                w, v = model.layer_weights(i)
                w.copy_(torch.as_tensor(lay.weights, dtype=w.dtype))
                if v is not None:
                    v.copy_(torch.as_tensor(lay.recurrent_weights, dtype=v.dtype))
        return model

    def report(self) -> list[dict[str, Any]]:
        return [lay.report() for lay in self.layers]


def _rel_error(value: float | None, k: int | None) -> float | None:
    if value is None or k is None:
        return None
    return abs((1.0 - 2.0**-k) - value) / abs(value)


def nearest_shift(decay: float) -> int:
    """The k >= 1 whose 1 - 2**-k is nearest to ``decay`` (a per-step decay in (0, 1))."""
    return min(range(1, MAX_SHIFT + 1), key=lambda k: abs((1.0 - 2.0**-k) - decay))


# ---- reading ---------------------------------------------------------------------------------------
def read_graph(path: str | Path):
    """``nir.read`` with every failure turned into one line naming the file."""
    import nir

    p = Path(path)
    if not p.is_file():
        raise NIRImportError(str(p), "no such file" if not p.exists() else "is not a file")
    try:
        # nir's own type check refuses graphs whose Input keeps a batch dimension (Norse writes [1, n]);
        # the import checks every shape itself.
        return nir.read(str(p), type_check=False)
    except (OSError, ValueError, KeyError, AssertionError, TypeError, AttributeError) as e:
        text = " ".join(str(e).split()) or type(e).__name__
        raise NIRImportError(str(p), f"not a readable NIR graph (HDF5 written by nir.write): {text[:200]}") from None


def import_file(path: str | Path, dt: float | None = None, reset: str | None = None) -> ImportedNetwork:
    """Read ``path`` and convert it (see the module docstring). ``dt`` None: the time step a graph written
    by dse records (``dse_dt`` in its metadata), else snnTorch's 1e-4. ``reset`` ("zero"/"subtract")
    overrides the spiking layers' reset: snnTorch's default ``Leaky`` subtracts the threshold, but its
    exporter writes NIR's reset to zero."""
    graph = read_graph(path)
    if dt is None:
        meta = getattr(graph, "metadata", None) or {}
        try:
            dt = float(meta.get("dse_dt", DEFAULT_DT))
        except (TypeError, ValueError):
            dt = DEFAULT_DT
    net = import_graph(graph, dt=dt, source=str(path))
    if reset is not None:
        if reset not in ("zero", "subtract"):
            raise NIRImportError(str(path), f"reset must be zero or subtract, got {reset!r}")
        for lay in net.layers:
            if lay.neuron != "readout" and lay.reset != "none":
                lay.reset = reset
    return net


# ---- graph -> layers -------------------------------------------------------------------------------
class _Graph:
    """A flat view of a (possibly nested) NIRGraph: nodes by dotted name, edges as successor lists."""

    def __init__(self, graph: Any, source: str) -> None:
        self.source = source
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self._flatten(graph, "")
        self.succ: dict[str, list[str]] = {n: [] for n in self.nodes}
        self.pred: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b in self.edges:
            for end in (a, b):
                if end not in self.nodes:
                    raise NIRImportError(source, f"an edge names the node {end!r}, which the graph does not have")
            self.succ[a].append(b)
            self.pred[b].append(a)

    def fail(self, name: str, why: str) -> NIRImportError:
        return NIRImportError(self.source, f"node {name!r} ({self.type(name)}): {why}")

    def type(self, name: str) -> str:
        return type(self.nodes[name]).__name__

    def _flatten(self, graph: Any, prefix: str) -> None:
        import nir

        nodes = getattr(graph, "nodes", None)
        edges = getattr(graph, "edges", None)
        if not isinstance(nodes, Mapping) or edges is None:
            raise NIRImportError(self.source, "the file does not hold a NIR graph (no nodes/edges)")
        inner: dict[str, tuple[str, str]] = {}  # subgraph name -> (its input node, its output node)
        for name, node in nodes.items():
            full = f"{prefix}{name}"
            if isinstance(node, nir.NIRGraph):
                ins = [k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
                outs = [k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
                if len(ins) != 1 or len(outs) != 1:
                    raise NIRImportError(self.source, f"node {full!r} (NIRGraph): a subgraph needs exactly one "
                                         f"Input and one Output, has {len(ins)} and {len(outs)}")
                self._flatten(node, f"{full}.")
                inner[name] = (f"{full}.{ins[0]}", f"{full}.{outs[0]}")
            else:
                self.nodes[full] = node
        for a, b in edges:
            src = inner[a][1] if a in inner else f"{prefix}{a}"
            dst = inner[b][0] if b in inner else f"{prefix}{b}"
            self.edges.append((src, dst))


def _vec(node: Any, attr: str, g: _Graph, name: str) -> np.ndarray:
    value = getattr(node, attr, None)
    if value is None:
        raise g.fail(name, f"has no {attr}")
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
    if not np.all(np.isfinite(arr)):
        raise g.fail(name, f"{attr} holds NaN or infinite values")
    return arr


def _uniform(arr: np.ndarray, what: str, g: _Graph, name: str, rtol: float = 1e-5) -> float:
    ref = float(arr[0])
    if not np.allclose(arr, ref, rtol=rtol, atol=0.0):
        raise g.fail(name, f"per-neuron {what} differ ({float(arr.min()):.6g} .. {float(arr.max()):.6g}); "
                           f"dse's layers share one {what.rstrip('s')}")
    return ref


def _decay(tau: np.ndarray, dt: float, what: str, g: _Graph, name: str) -> float:
    if np.any(tau <= 0):
        raise g.fail(name, f"{what} must be positive, got {float(tau.min()):.6g}")
    d = 1.0 - dt / tau
    value = _uniform(d, f"decays 1 - dt/{what}", g, name)
    if not 0.0 < value < 1.0:
        raise g.fail(name, f"decay 1 - dt/{what} = {value:.6g} with dt = {dt:g} is not in (0, 1): "
                           f"{what} is not longer than the time step (wrong --dt?)")
    return value


def _zero(arr: np.ndarray, what: str, g: _Graph, name: str) -> None:
    if np.any(np.abs(arr) > 1e-12):
        raise g.fail(name, f"non-zero {what} (max |{what}| = {float(np.abs(arr).max()):.6g}); dse's neurons "
                           f"{'rest at 0' if what == 'v_leak' else 'reset to 0 (or subtract the threshold)'}")


def _reset_of(node: Any) -> str:
    meta = getattr(node, "metadata", None) or {}
    value = meta.get("dse_reset", "zero")
    if isinstance(value, bytes):
        value = value.decode()
    return str(value) if str(value) in ("zero", "subtract", "none") else "zero"


def _weight_path(g: _Graph, start: str, target: str) -> tuple[str, np.ndarray]:
    """Walk back from the edge ``start -> target`` through weight nodes to the population (or Input)
    feeding it; returns (that node, the composed (n_in, n_out) matrix, n_out = target's size or None)."""
    chain: list[str] = []
    cur = start
    while g.type(cur) in WEIGHT_NODES or g.type(cur) in PASS_THROUGH and g.pred[cur]:
        if cur in chain:
            raise g.fail(cur, "is part of a cycle that passes through no neuron")
        chain.append(cur)
        if len(g.pred[cur]) != 1:
            raise g.fail(cur, f"has {len(g.pred[cur])} inputs; dse's layers take one input population")
        if len(g.succ[cur]) != 1:
            raise g.fail(cur, f"feeds {len(g.succ[cur])} nodes; dse's layers form a chain (no branches)")
        cur = g.pred[cur][0]
    chain.reverse()
    matrix: np.ndarray | None = None
    bias: np.ndarray | None = None
    for name in chain:
        node, kind = g.nodes[name], g.type(name)
        if kind in PASS_THROUGH:
            if kind == "Flatten":
                _check_flatten(g, name)
            continue
        if kind == "Scale":
            s = _vec(node, "scale", g, name)
            if matrix is None:
                matrix = np.diag(s)
            elif matrix.shape[1] != s.size:
                raise g.fail(name, f"scales {s.size} values, but its input has {matrix.shape[1]}")
            else:
                matrix = matrix * s[None, :]
            bias = None if bias is None else bias * s
            continue
        w = np.asarray(getattr(node, "weight", None), dtype=np.float64)
        if w.ndim != 2:
            raise g.fail(name, f"weight must be a 2-D matrix (out, in), got shape {w.shape}")
        if not np.all(np.isfinite(w)):
            raise g.fail(name, "weight holds NaN or infinite values")
        wt = w.T  # (in, out)
        if matrix is not None and matrix.shape[1] != wt.shape[0]:
            raise g.fail(name, f"takes {wt.shape[0]} inputs, but its input has {matrix.shape[1]}")
        matrix = wt if matrix is None else matrix @ wt
        bias = None if bias is None else bias @ wt
        if kind == "Affine":
            b = _vec(node, "bias", g, name)
            if b.size != wt.shape[1]:
                raise g.fail(name, f"bias has {b.size} values for {wt.shape[1]} outputs")
            bias = b if bias is None else bias + b
    if bias is not None and np.any(np.abs(bias) > 1e-12):
        where = next(n for n in chain if g.type(n) == "Affine")
        raise g.fail(where, f"non-zero bias (max |b| = {float(np.abs(bias).max()):.4g}): dse's neurons have no "
                            "bias input (train the layer with bias=False)")
    if matrix is None:
        raise g.fail(target, f"is fed by {cur!r} ({g.type(cur)}) without a weight matrix between them; "
                             "dse's layers are fully connected (put a Linear in between)")
    return cur, matrix


def _check_flatten(g: _Graph, name: str) -> None:
    shape = (g.nodes[name].input_type or {}).get("input")
    if shape is not None and np.asarray(shape).size > 1 and np.count_nonzero(np.asarray(shape) > 1) > 1:
        raise g.fail(name, f"flattens a {len(np.asarray(shape))}-D shape {tuple(int(s) for s in shape)}; "
                           "dse takes 1-D inputs only")


def _input_size(g: _Graph, name: str) -> int | None:
    shape = (getattr(g.nodes[name], "input_type", None) or {}).get("input")
    if shape is None:
        return None
    arr = np.asarray(shape).ravel()
    if arr.size > 1 and np.count_nonzero(arr > 1) > 1:
        raise g.fail(name, f"input shape {tuple(int(s) for s in arr)} is not 1-D; dse takes 1-D inputs only")
    return int(np.prod(arr)) if arr.size else None


def import_graph(graph: Any, dt: float = DEFAULT_DT, source: str = "graph") -> ImportedNetwork:
    """Convert a NIR graph to dse layers (see the module docstring)."""
    if not (isinstance(dt, (int, float)) and math.isfinite(dt) and dt > 0):
        raise NIRImportError(source, f"--dt must be a positive time step in seconds, got {dt!r}")
    g = _Graph(graph, source)
    for name in g.nodes:
        kind = g.type(name)
        if kind in WHY_NOT:
            raise g.fail(name, f"not supported: {WHY_NOT[kind]}")
        if kind not in PASS_THROUGH + WEIGHT_NODES + NEURON_NODES + ("Threshold",):
            raise g.fail(name, "unknown node type; dse imports Input, Output, Affine, Linear, Scale, Flatten, "
                               "LIF, CubaLIF, IF, LI, I, Threshold and subgraphs of them")
    top_inputs = [n for n in g.nodes if g.type(n) == "Input" and not g.pred[n] and "." not in n]
    top_outputs = [n for n in g.nodes if g.type(n) == "Output" and not g.succ[n] and "." not in n]
    if len(top_inputs) != 1 or len(top_outputs) != 1:
        raise NIRImportError(source, f"a graph needs exactly one Input and one Output node, has "
                                     f"{len(top_inputs)} and {len(top_outputs)}")
    populations = [n for n in g.nodes if g.type(n) in NEURON_NODES]
    thresholds = [n for n in g.nodes if g.type(n) == "Threshold"]
    merged: dict[str, str] = {}  # LI/I node -> the Threshold that makes it spiking
    for t in thresholds:
        preds = g.pred[t]
        if len(preds) != 1 or g.type(preds[0]) not in ("LI", "I") or len(g.succ[preds[0]]) != 1:
            raise g.fail(t, "a Threshold must directly follow an LI or I (Integrator) node (as its spike "
                            "output); a Threshold on weights alone is a stateless neuron dse does not have")
        merged[preds[0]] = t
    if not populations:
        raise NIRImportError(source, "the graph has no neuron node (LIF, CubaLIF, IF, LI, I)")

    # Incoming weights of each population: feed-forward from one source, optionally recurrent from itself.
    feeds: dict[str, tuple[str, np.ndarray]] = {}
    recurrent: dict[str, np.ndarray] = {}
    for pop in populations:
        preds = g.pred[pop]
        if not preds:
            raise g.fail(pop, "has no input")
        for p in preds:
            src, mat = _weight_path(g, p, pop)
            if src == pop:
                if pop in recurrent:
                    raise g.fail(pop, "has two recurrent weight paths; dse's layers have one")
                recurrent[pop] = mat
            elif g.type(src) == "Threshold" or src in merged or g.type(src) in NEURON_NODES or src in top_inputs:
                src = next((k for k, t in merged.items() if t == src), src)  # spikes of LI/I + Threshold
                if pop in feeds:
                    raise g.fail(pop, f"takes inputs from both {feeds[pop][0]!r} and {src!r}; dse's layers take "
                                      "one input population (plus their own recurrent spikes)")
                feeds[pop] = (src, mat)
            else:
                raise g.fail(pop, f"is fed by {src!r} ({g.type(src)}), which is neither the input nor a neuron")
        if pop not in feeds:
            raise g.fail(pop, "has only recurrent inputs; it needs weights from the input or a previous layer")

    # Order: follow the chain from the Input.
    order: list[str] = []
    cur = top_inputs[0]
    while True:
        nxt = [p for p, (s, _) in feeds.items() if s == cur]
        if len(nxt) > 1:
            raise g.fail(cur, f"feeds {len(nxt)} neuron populations; dse's layers form a chain (no branches)")
        if not nxt:
            break
        cur = nxt[0]
        order.append(cur)
    missing = [p for p in populations if p not in order]
    if missing:
        raise g.fail(missing[0], "is not on the chain of layers from the Input")
    last = merged.get(order[-1], order[-1])
    out_pred = g.pred[top_outputs[0]]
    while len(out_pred) == 1 and g.type(out_pred[0]) in PASS_THROUGH and len(g.succ[out_pred[0]]) == 1:
        out_pred = g.pred[out_pred[0]]  # a subgraph's Output node, a Flatten
    if out_pred != [last]:
        culprit = out_pred[0] if out_pred else top_outputs[0]
        if out_pred and g.type(out_pred[0]) in WEIGHT_NODES:
            raise g.fail(culprit, "weights that feed no neuron (they lead to the Output); dse's outputs are the "
                                  "last layer's spikes or readout membranes")
        raise g.fail(culprit, f"the Output must be fed by the last neuron population {last!r} alone")
    for name in g.nodes:
        kind = g.type(name)
        if kind in WEIGHT_NODES and not g.succ[name]:
            raise g.fail(name, "weights that feed no neuron")
    n_in = feeds[order[0]][1].shape[0]
    declared = _input_size(g, top_inputs[0])
    if declared is not None and declared != n_in:
        raise g.fail(top_inputs[0], f"declares {declared} inputs, but the first weights take {n_in}")

    layers: list[ImportedLayer] = []
    notes: list[str] = []
    prev = n_in
    for i, pop in enumerate(order):
        w = feeds[pop][1]
        if w.shape[0] != prev:
            raise g.fail(pop, f"its weights take {w.shape[0]} inputs, the previous layer has {prev}")
        lay = _population(g, pop, merged.get(pop), w, recurrent.get(pop), dt, notes)
        if lay.neuron == "readout" and i != len(order) - 1:
            raise g.fail(pop, "a non-spiking population (LI, I) must be the last layer")
        layers.append(lay)
        prev = w.shape[1]
    return ImportedNetwork(source=source, n_inputs=int(n_in), layers=layers, dt=float(dt), notes=notes)


def _population(g: _Graph, name: str, threshold_node: str | None, w: np.ndarray, v: np.ndarray | None,
                dt: float, notes: list[str]) -> ImportedLayer:
    node, kind = g.nodes[name], g.type(name)
    n = w.shape[1]
    if v is not None and v.shape != (n, n):
        raise g.fail(name, f"recurrent weights of shape {v.shape} for {n} neurons")
    gain = np.ones(n)
    beta = alpha = None
    k_beta = k_alpha = None
    reset = _reset_of(node)
    if kind in ("LIF", "LI"):
        tau = _vec(node, "tau", g, name)
        _zero(_vec(node, "v_leak", g, name), "v_leak", g, name)
        beta = _decay(tau, dt, "tau", g, name)
        gain = dt * _vec(node, "r", g, name) / tau
        k_beta = nearest_shift(beta)
    elif kind == "CubaLIF":
        tau_syn, tau_mem = _vec(node, "tau_syn", g, name), _vec(node, "tau_mem", g, name)
        _zero(_vec(node, "v_leak", g, name), "v_leak", g, name)
        alpha = _decay(tau_syn, dt, "tau_syn", g, name)
        beta = _decay(tau_mem, dt, "tau_mem", g, name)
        gain = (dt * _vec(node, "w_in", g, name) / tau_syn) * (dt * _vec(node, "r", g, name) / tau_mem)
        k_alpha, k_beta = nearest_shift(alpha), nearest_shift(beta)
    else:  # IF, I
        gain = dt * _vec(node, "r", g, name)
    if gain.size not in (1, n):
        raise g.fail(name, f"has {gain.size} parameter values for {n} neurons")
    if kind in SPIKING_NIR:
        neuron = {"LIF": "LIF", "CubaLIF": "LIF2", "IF": "IF"}[kind]
        _zero(_vec(node, "v_reset", g, name), "v_reset", g, name)
        theta = _vec(node, "v_threshold", g, name)
    elif threshold_node is not None:
        neuron, reset = ("LIF" if kind == "LI" else "IF"), "none"
        theta = _vec(g.nodes[threshold_node], "threshold", g, threshold_node)
    else:
        neuron, reset, theta = "readout", "none", None
    if np.any(np.abs(gain) <= 0):
        raise g.fail(name, "an input gain (r, w_in) of zero disconnects the neurons")
    scale = np.broadcast_to(gain, (n,)).astype(np.float64)
    threshold = 1.0
    if theta is not None:
        if theta.size not in (1, n):
            raise g.fail(name, f"has {theta.size} thresholds for {n} neurons")
        theta = np.broadcast_to(theta, (n,)).astype(np.float64)
        if np.any(theta <= 0):
            raise g.fail(name, f"thresholds must be positive, got {float(theta.min()):.6g}")
        threshold = float(np.max(theta))
        if not np.allclose(theta, threshold, rtol=1e-6, atol=0.0):
            scale = scale * threshold / theta  # neuron j's membrane in units of theta/theta_j: same spikes
            notes.append(f"{name}: per-neuron thresholds {float(theta.min()):.4g}..{threshold:.4g} folded into "
                         f"its weights (one threshold {threshold:.4g})")
    w = w * scale[None, :]
    if v is not None:
        v = v * scale[None, :]
    if neuron == "IF":
        k_beta = None
        beta = None
    if neuron == "readout" and kind == "I":
        k_beta = None
    return ImportedLayer(node=name, nir_type=kind, neuron=neuron, reset=reset if neuron != "readout" else "none",
                         threshold=threshold, weights=w, recurrent_weights=v, k_beta=k_beta, k_alpha=k_alpha,
                         beta=beta, alpha=alpha)

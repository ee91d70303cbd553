"""Integer reference model of a QuantizedSNN: exactly what the generated hardware computes (SEMANTICS.md).

`simulate(net, x)` runs samples x (samples, T, n_in) of non-negative integers and returns every
spiking layer's spikes, the readout membranes v(t) and the cycles the hardware takes with each scan
architecture.

Bit-exactness with the hardware's one-input-per-clock saturating adds, vectorised: for one layer and
step, every prefix sum of the scan lies between acc + (sum of the negative contributions) and
acc + (sum of the positive ones) because inputs are >= 0. When that interval is inside the membrane
range no add can saturate, so the whole step is one matrix product. Only (sample) rows where the
interval leaves the range are replayed input by input in scan order, with saturation at every add.
`simulate_sequential` is the plain loop (for tests).

Cycle model of the generated hardware (dse.families.snn.hdl), exact, not an approximation:
the layers form a pipeline of T + L - 1 stages; in stage s, layer l (if 0 <= s - l < T) processes its
step t = s - l. A stage costs STAGE_OVERHEAD cycles (start pulse, weight-memory read latency, the
fire/reset/leak update, the hand-over of spikes to the next layer) plus the longest scan of its active
layers; a run costs RUN_OVERHEAD more (leaving idle, raising done). Scan lengths:
  full : fan_in = n_in (+ n_out when recurrent) every step;
  event: layer 0: max(nonzero inputs, 1) (+ the layer's own spikes of the previous step when recurrent);
         layers > 0: max(input spikes + own previous spikes if recurrent, 1).
With a reuse factor, layer l's datapaths serve G_l = net.groups[l] neurons each in turn: every scanned
input costs G_l cycles (one per group) and the fire/reset/leak update G_l cycles instead of one, so the
layer's busy time at a step is scan_l * G_l + (G_l - 1) (G_l = 1: the fully parallel design).
So full-scan cycles = sum over stages s of (max over active l of busy_l + STAGE_OVERHEAD) + RUN_OVERHEAD

Closed loop (a bin's inputs arrive long after the previous bin's output, as every 10 ms): the output of step
t is valid (``out_valid``, raised as soon as the last layer has finished its step) STEP_OUT_OVERHEAD cycles
after busy_0(t) + sum over l >= 1 of (busy_l(t) + STAGE_OVERHEAD), counted from the step's first input beat
(plus RUN_START_OVERHEAD at step 0, when the run starts with it): :func:`step_latency`. Only for networks of
one or two layers: with three or more, stage t + L - 1, which computes step t's output, starts only when
layer 0 has read step t + 1's inputs, i.e. one bin later.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dse.families.snn.network import QuantizedSNN, SNNLayer, signed_range

STAGE_OVERHEAD = 4
RUN_OVERHEAD = 1
STEP_OUT_OVERHEAD = 3
RUN_START_OVERHEAD = 2


@dataclass
class ReferenceResult:
    """spikes[l]: (samples, T, n_out_l) uint8 for every spiking layer l (None for a readout layer);
    readout: (samples, T, n_out) int64 readout membranes v(t) after integration (None without readout);
    cycles: {"full": (samples,), "event": (samples,)} hardware cycles per sample for each scan."""

    spikes: list[np.ndarray | None]
    readout: np.ndarray | None
    cycles: dict[str, np.ndarray] = field(default_factory=dict)
    #: per layer, (samples,): how many (step, neuron) membranes ended the step with another value
    membrane_changes: list[np.ndarray] = field(default_factory=list)

    @property
    def out_spikes(self) -> np.ndarray | None:
        """The last layer's spikes (None when the last layer is a readout)."""
        return self.spikes[-1]

    def counts(self) -> np.ndarray | None:
        """Spike counts of the output layer per sample (samples, n_out)."""
        s = self.out_spikes
        return None if s is None else s.sum(axis=1)


def _leak(v: np.ndarray, k: int | None) -> np.ndarray:
    # v - (v >> k) never leaves the signed range (proof in SEMANTICS.md terms: for v < 0, v >> k >= v).
    return v if k is None else v - (v >> k)


def _sat_accumulate(acc: np.ndarray, u: np.ndarray, w: np.ndarray, bits: int) -> np.ndarray:
    """acc (S, N) + sum_i u[:, i] * w[i, :] with a saturating add per input i in order 0..F-1."""
    lo, hi = signed_range(bits)
    if not u.any():
        return acc
    uf = u.astype(np.float64)  # exact: |sums| << 2**53
    pos = uf @ np.maximum(w, 0).astype(np.float64)
    neg = uf @ np.minimum(w, 0).astype(np.float64)
    total = (uf @ w.astype(np.float64)).astype(np.int64)
    safe = (acc + pos <= hi) & (acc + neg >= lo)
    out = acc + total
    bad = ~safe.all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        a = acc[rows].copy()
        ub = u[rows]
        for i in np.flatnonzero(ub.any(axis=0)):
            a = np.clip(a + ub[:, i : i + 1] * w[i], lo, hi)
        out[rows] = a
    return out


def _layer_step(
    layer: SNNLayer, state: dict, u: np.ndarray, bits: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One time step of one layer on input u (S, n_in). Returns (spikes, readout membrane)."""
    lo, hi = signed_range(bits)
    if layer.recurrent:
        u = np.concatenate([u, state["s"]], axis=1)
    w = layer.all_weights()
    if layer.neuron == "LIF2":
        cur = _leak(state["i"], layer.k_alpha)
        cur = _sat_accumulate(cur, u, w, bits)
        state["i"] = cur
        v = np.clip(_leak(state["v"], layer.k_beta) + cur, lo, hi)
    else:
        v = _leak(state["v"], layer.k_beta)  # IF has k_beta None: no leak
        v = _sat_accumulate(v, u, w, bits)
    if layer.neuron == "readout":
        state["v"] = v
        return None, v.copy()
    s = v >= layer.theta_int
    if layer.reset == "zero":
        v = np.where(s, 0, v)
    elif layer.reset == "subtract":
        v = np.where(s, np.maximum(v - layer.theta_int, lo), v)
    state["v"] = v
    s8 = s.astype(np.uint8)
    state["s"] = s8.astype(np.int64)
    return s8, None


def _init_state(net: QuantizedSNN, samples: int) -> list[dict]:
    return [
        {"v": np.zeros((samples, lay.n_out), np.int64), "i": np.zeros((samples, lay.n_out), np.int64),
         "s": np.zeros((samples, lay.n_out), np.int64)}
        for lay in net.layers
    ]


def simulate(net: QuantizedSNN, x: np.ndarray) -> ReferenceResult:
    """Run the integer network on x (samples, T, n_in) (or (T, n_in) for one sample)."""
    x = net.check_inputs(x)
    n_s, n_t, _ = x.shape
    states = _init_state(net, n_s)
    spikes = [np.zeros((n_s, n_t, lay.n_out), np.uint8) if lay.spiking else None for lay in net.layers]
    readout = np.zeros((n_s, n_t, net.n_out), np.int64) if net.has_readout else None
    changes = [np.zeros(n_s, np.int64) for _ in net.layers]
    for t in range(n_t):
        u = x[:, t, :]
        for li, layer in enumerate(net.layers):
            before = states[li]["v"]
            s, v = _layer_step(layer, states[li], u, net.membrane_bits)
            changes[li] += (states[li]["v"] != before).sum(axis=1)
            if s is not None:
                spikes[li][:, t, :] = s
                u = s.astype(np.int64)
            else:
                readout[:, t, :] = v
    res = ReferenceResult(spikes=spikes, readout=readout, membrane_changes=changes)
    res.cycles = {scan: cycle_counts(net, x, spikes, scan) for scan in ("full", "event")}
    return res


def simulate_sequential(net: QuantizedSNN, x: np.ndarray) -> ReferenceResult:
    """The same model as `simulate` as a plain per-sample, per-input loop (slow; the specification)."""
    x = net.check_inputs(x)
    n_s, n_t, _ = x.shape
    lo, hi = signed_range(net.membrane_bits)
    spikes = [np.zeros((n_s, n_t, lay.n_out), np.uint8) if lay.spiking else None for lay in net.layers]
    readout = np.zeros((n_s, n_t, net.n_out), np.int64) if net.has_readout else None

    def leak(val: int, k: int | None) -> int:
        return val if k is None else val - (val >> k)

    changes = [np.zeros(n_s, np.int64) for _ in net.layers]
    for smp in range(n_s):
        st = [{"v": [0] * lay.n_out, "i": [0] * lay.n_out, "s": [0] * lay.n_out} for lay in net.layers]
        for t in range(n_t):
            u = [int(c) for c in x[smp, t]]
            for li, lay in enumerate(net.layers):
                rows = lay.all_weights().tolist()
                scan = u + (st[li]["s"] if lay.recurrent else [])
                new_s = [0] * lay.n_out
                for j in range(lay.n_out):
                    if lay.neuron == "LIF2":
                        acc = leak(st[li]["i"][j], lay.k_alpha)
                    else:
                        acc = leak(st[li]["v"][j], lay.k_beta)
                    for i, c in enumerate(scan):
                        acc = min(max(acc + c * rows[i][j], lo), hi)
                    if lay.neuron == "LIF2":
                        st[li]["i"][j] = acc
                        v = min(max(leak(st[li]["v"][j], lay.k_beta) + acc, lo), hi)
                    else:
                        v = acc
                    if lay.neuron == "readout":
                        changes[li][smp] += v != st[li]["v"][j]
                        st[li]["v"][j] = v
                        readout[smp, t, j] = v
                        continue
                    fire = 1 if v >= lay.theta_int else 0
                    if fire and lay.reset == "zero":
                        v = 0
                    elif fire and lay.reset == "subtract":
                        v = max(v - lay.theta_int, lo)
                    changes[li][smp] += v != st[li]["v"][j]
                    st[li]["v"][j] = v
                    new_s[j] = fire
                if lay.spiking:
                    st[li]["s"] = new_s
                    spikes[li][smp, t] = new_s
                    u = new_s
    res = ReferenceResult(spikes=spikes, readout=readout, membrane_changes=changes)
    res.cycles = {scan: cycle_counts(net, x, spikes, scan) for scan in ("full", "event")}
    return res


def scan_lengths(net: QuantizedSNN, x: np.ndarray, spikes: list[np.ndarray | None], scan: str) -> np.ndarray:
    """(samples, T, L): the scan cycles of layer l at its step t (see the module docstring)."""
    x = np.asarray(x)
    n_s, n_t = x.shape[0], x.shape[1]
    n_l = len(net.layers)
    out = np.zeros((n_s, n_t, n_l), np.int64)
    for li, lay in enumerate(net.layers):
        if scan == "full":
            out[:, :, li] = lay.fan_in
            continue
        if scan != "event":
            raise ValueError(f"scan: unknown scan architecture {scan!r}")
        if li == 0:
            events = np.maximum((x != 0).sum(axis=2), 1)
        else:
            events = spikes[li - 1].sum(axis=2).astype(np.int64)
        rec = np.zeros((n_s, n_t), np.int64)
        if lay.recurrent:
            own = spikes[li].sum(axis=2).astype(np.int64)
            rec[:, 1:] = own[:, :-1]
        if li == 0:
            out[:, :, li] = events + rec
        else:
            out[:, :, li] = np.maximum(events + rec, 1)
    return out


def busy_cycles(net: QuantizedSNN, lengths: np.ndarray) -> np.ndarray:
    """Layer busy cycles per step from scan lengths (..., L): scan * G + (G - 1) with G the layer's groups."""
    g = np.asarray(net.groups, np.int64)
    return lengths * g + (g - 1)


def cycle_counts(net: QuantizedSNN, x: np.ndarray, spikes: list[np.ndarray | None], scan: str) -> np.ndarray:
    """Hardware cycles per sample (start to done) for a scan architecture; exact for the generated VHDL."""
    lengths = busy_cycles(net, scan_lengths(net, x, spikes, scan))
    n_s, n_t, n_l = lengths.shape
    total = np.full(n_s, RUN_OVERHEAD, np.int64)
    for stage in range(n_t + n_l - 1):
        active = [li for li in range(n_l) if 0 <= stage - li < n_t]
        longest = np.max(np.stack([lengths[:, stage - li, li] for li in active], axis=1), axis=1)
        total += longest + STAGE_OVERHEAD
    return total


def step_latency(net: QuantizedSNN, x: np.ndarray, spikes: list[np.ndarray | None], scan: str) -> np.ndarray:
    """(samples, T): closed-loop cycles from each step's first input beat to its output (module docstring);
    exact for the generated VHDL. ValueError for networks of more than two layers."""
    if len(net.layers) > 2:
        raise ValueError(f"a {len(net.layers)}-layer network answers a step only after the next step's inputs: "
                         "no closed-loop step latency (one or two layers have one)")
    busy = busy_cycles(net, scan_lengths(net, x, spikes, scan))
    lat = busy[:, :, 0] + (busy[:, :, 1:] + STAGE_OVERHEAD).sum(axis=2) + STEP_OUT_OVERHEAD
    lat[:, 0] += RUN_START_OVERHEAD
    return lat


def full_scan_cycles(net: QuantizedSNN, time_steps: int | None = None) -> int:
    """Closed form of the full-scan cycles (input-independent)."""
    t = net.time_steps if time_steps is None else time_steps
    n_l = len(net.layers)
    fan = [lay.fan_in * g + g - 1 for lay, g in zip(net.layers, net.groups, strict=True)]
    total = RUN_OVERHEAD
    for stage in range(t + n_l - 1):
        total += max(fan[li] for li in range(n_l) if 0 <= stage - li < t) + STAGE_OVERHEAD
    return total

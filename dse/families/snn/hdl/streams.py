"""The testbenches' input and output files: writing inputs, parsing outputs, expected outputs."""

from __future__ import annotations

import numpy as np

from dse.families.snn.network import QuantizedSNN


def format_inputs(net: QuantizedSNN, x: np.ndarray) -> str:
    """The input stream file both testbenches read: all beats of every step of every sample."""
    x = net.check_inputs(x)
    if x.shape[1] != net.time_steps:
        raise ValueError(f"inputs: {x.shape[1]} time steps, the design has time_steps={net.time_steps}")
    out = [str(x.shape[0])]
    for smp in range(x.shape[0]):
        for t in range(x.shape[1]):
            row = x[smp, t]
            idx = np.arange(net.n_in) if net.scan == "full" else np.flatnonzero(row)
            if idx.size == 0:
                out.append("0 0 1")
                continue
            for k, i in enumerate(idx):
                out.append(f"{int(i)} {int(row[i])} {1 if k == idx.size - 1 else 0}")
    return "\n".join(out) + "\n"


def parse_outputs(text: str, net: QuantizedSNN, samples: int) -> tuple[np.ndarray | None, np.ndarray | None,
                                                                         np.ndarray]:
    """Parse a testbench's output file: (spikes (S,T,n) | None, readout (S,T,n) | None, cycles (S,))."""
    last = net.layers[-1]
    n_t, n_o = net.time_steps, last.n_out
    spikes = np.zeros((samples, n_t, n_o), np.uint8) if last.spiking else None
    mem = None if last.spiking else np.zeros((samples, n_t, n_o), np.int64)
    cycles = np.zeros(samples, np.int64)
    smp, t = 0, 0
    for ln in text.splitlines():
        parts = ln.split()
        if not parts:
            continue
        if smp >= samples:
            raise ValueError(f"simulation output: more samples than the {samples} expected")
        if parts[0] == "O":
            if t >= n_t:
                raise ValueError(f"simulation output: sample {smp} has more than {n_t} steps")
            if last.spiking:
                bits = parts[1]
                if len(bits) != n_o:
                    raise ValueError(f"simulation output: spike vector {bits!r} is not {n_o} wide")
                spikes[smp, t] = [int(b) for b in bits]
            else:
                mem[smp, t] = [int(v) for v in parts[1:]]
            t += 1
        elif parts[0] == "L":  # closed-loop timing (testbench GAP > 0): read by parse_step_latency
            continue
        elif parts[0] == "C":
            if t != n_t:
                raise ValueError(f"simulation output: sample {smp} has {t} steps, expected {n_t}")
            cycles[smp] = int(parts[1])
            smp, t = smp + 1, 0
        else:
            raise ValueError(f"simulation output: unexpected line {ln!r}")
    if smp != samples:
        raise ValueError(f"simulation output: {smp} complete samples, expected {samples}")
    return spikes, mem, cycles


def format_outputs(net: QuantizedSNN, spikes: np.ndarray | None, readout: np.ndarray | None,
                   cycles: np.ndarray) -> str:
    """The testbench's output file for given results, byte for byte (expected outputs from the reference)."""
    lines = []
    n_s = len(cycles)
    for smp in range(n_s):
        for t in range(net.time_steps):
            if net.layers[-1].spiking:
                lines.append("O " + "".join(str(int(b)) for b in spikes[smp, t]))
            else:
                lines.append("O " + "".join(f" {int(v)}" for v in readout[smp, t]))
        lines.append(f"C {int(cycles[smp])}")
    return "\n".join(lines) + "\n"


def parse_step_latency(text: str, net: QuantizedSNN, samples: int) -> np.ndarray:
    """The "L" lines of a closed-loop run (testbench GAP > 0): (S, T) cycles from each step's first input
    beat to its output."""
    vals = [int(ln.split()[1]) for ln in text.splitlines() if ln.startswith("L ")]
    if len(vals) != samples * net.time_steps:
        raise ValueError(f"simulation output: {len(vals)} step latencies, expected {samples} x {net.time_steps}")
    return np.array(vals, np.int64).reshape(samples, net.time_steps)

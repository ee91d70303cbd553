"""The C++ testbench of a causal design's project: it streams whole trials through one bin's step.

hls4ml's own testbench calls the top function once per line of ``tb_input_features.dat``, with every input
on the line; a causal step also needs its three GRU states carried from one call to the next, as the
hardware's state registers carry them (a lagged controller's step has a fourth state input, loaded with the
encoder's state like the encoder's own). This testbench does that: per trial it sets the states to their
initial values, then for every bin reads the bin's spikes, calls ``myproject``, copies the new states (the
step's GRU outputs) into the state inputs, and compares the bin's log-rates and factors with the expected
values dse's C simulation gave (:func:`dse.families.lfads.step.run_csim_stream`). It exits 1 when any value
differs by more than ``TOLERANCE``, so it checks itself under g++, Vitis HLS C simulation and (with
``-DRTL_SIM``, as hls4ml's ``build_prj.tcl`` compiles it for co-simulation) RTL co-simulation.

hls4ml's GRU with an initial state (``nnet::gru_stack``) also updates its state argument in place, so after a
call the state inputs already hold the new state in their own type; the copy from the outputs is what the
logic around the design must do with its registers, and gives the same values (the testbench checks it).

Files it reads (written by the export, paths relative to the project as hls4ml's testbench's are):
``tb_data/stream_input.dat`` (one line per bin, trials one after the other: the bin's spike counts),
``tb_data/stream_initial_states.dat`` (one line: the initial states in input order: encoder, controller,
generator, and for a lagged controller the encoder's again),
``tb_data/stream_expected.dat`` (one line per bin: log-rates then factors). It writes
``tb_data/csim_results.log`` (``rtl_cosim_results.log`` under co-simulation), one line per bin.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dse.families.lfads.causal import FACTORS, LOGRATES
from dse.families.lfads.step import LAG_INPUT, STATE_INPUTS, STATE_LAYER, StepModel

#: The largest difference the testbench accepts: the expected values are printed exactly (17 digits of
#: values that are fixed-point numbers), so a correct design differs by 0.
TOLERANCE = 1e-9
INPUT, INITIAL, EXPECTED = "stream_input.dat", "stream_initial_states.dat", "stream_expected.dat"


def _size(var: Any) -> int:
    return int(np.prod(var.shape))


def _vars(hls_model: Any) -> tuple[list[Any], dict[str, Any]]:
    """The step's input variables in call order and its output variables by Keras layer name."""
    from dse.hls.csim import output_names

    inputs = list(hls_model.get_input_variables())
    outputs = dict(zip(output_names(hls_model), hls_model.get_output_variables(), strict=True))
    missing = [n for n in (LOGRATES, FACTORS, *STATE_LAYER.values()) if n not in outputs]
    names = [v.name for v in inputs]
    if missing or names[1:] not in (list(STATE_INPUTS), [*STATE_INPUTS, LAG_INPUT]):
        raise ValueError(f"not a causal step: inputs {names}, outputs {sorted(outputs)}")
    return inputs, outputs


def testbench(hls_model: Any, n_trials: int, n_bins: int, project: str = "myproject") -> str:
    """The testbench's C++ source for the compiled step ``hls_model`` and ``n_trials`` trials of ``n_bins``."""
    inputs, outputs = _vars(hls_model)
    out_order = list(hls_model.get_output_variables())  # the top function's argument order
    spikes = inputs[0]
    shown = [outputs[LOGRATES], outputs[FACTORS]]
    n_shown = sum(_size(v) for v in shown)
    decl = [f"            {spikes.type.name} {spikes.name}[{_size(spikes)}];"]
    decl += [f"            {v.type.name} {v.name}[{_size(v)}];" for v in out_order]
    state_decl, init, carry, offset = [], [], [], 0
    for var in inputs[1:]:
        n = _size(var)
        state_decl.append(f"        {var.type.name} {var.name}[{n}];")
        init.append(f"        for (int i = 0; i < {n}; i++) {var.name}[i] = init[{offset} + i];")
        carry.append(f"            for (int i = 0; i < {n}; i++) {var.name}[i] = {outputs[STATE_LAYER[var.name]].name}[i];")
        offset += n
    report = []
    for var in shown:
        report.append(f"            for (int i = 0; i < {_size(var)}; i++) {{\n"
                      f"                double v = {var.name}[i].to_double();\n"
                      f"                fout << v << \" \";\n"
                      f"                worst = std::max(worst, std::fabs(v - want[k++]));\n"
                      f"            }}")
    args = ", ".join([spikes.name, *(v.name for v in inputs[1:]), *(v.name for v in out_order)])
    body = "\n".join(decl)
    return f"""// Streaming testbench written by dse (dse/families/lfads/stream_tb.py): {n_trials} trials x {n_bins} bins
// through one bin's step of a causal LFADS, carrying the GRU states between calls.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "firmware/{project}.h"
#include "firmware/nnet_utils/nnet_helpers.h"

namespace nnet {{
bool trace_enabled = false;
std::map<std::string, void *> *trace_outputs = NULL;
size_t trace_type_size = sizeof(double);
}} // namespace nnet

static std::vector<double> read_line(std::ifstream &f) {{
    std::vector<double> out;
    std::string line;
    if (std::getline(f, line)) {{
        std::istringstream s(line);
        double v;
        while (s >> v) out.push_back(v);
    }}
    return out;
}}

int main() {{
    const int N_TRIALS = {n_trials}, N_BINS = {n_bins}, N_SPIKES = {_size(spikes)}, N_EXPECTED = {n_shown};
    const int N_STATES = {offset};
    const double TOLERANCE = {TOLERANCE!r};
    std::ifstream fin("tb_data/{INPUT}"), fstate("tb_data/{INITIAL}"), fexp("tb_data/{EXPECTED}");
#ifdef RTL_SIM
    std::ofstream fout("tb_data/rtl_cosim_results.log");
#else
    std::ofstream fout("tb_data/csim_results.log");
#endif
    fout << std::setprecision(17);
    std::vector<double> init = read_line(fstate);
    if (!fin.is_open() || !fexp.is_open() || (int)init.size() != N_STATES) {{
        std::cerr << "tb_data/{INPUT}, {INITIAL} ({offset} values) and {EXPECTED} are needed" << std::endl;
        return 2;
    }}
    double worst = 0.0;
    for (int t = 0; t < N_TRIALS; t++) {{
{chr(10).join(state_decl)}
{chr(10).join(init)}
        for (int b = 0; b < N_BINS; b++) {{
            std::vector<double> in = read_line(fin), want = read_line(fexp);
            if ((int)in.size() != N_SPIKES || (int)want.size() != N_EXPECTED) {{
                std::cerr << "trial " << t << ", bin " << b << ": expected " << N_SPIKES << " inputs and "
                          << N_EXPECTED << " outputs per line" << std::endl;
                return 2;
            }}
{body}
            for (int i = 0; i < N_SPIKES; i++) {spikes.name}[i] = in[i];
            {project}({args});
            // the state registers: the step's new GRU states are the next bin's state inputs
{chr(10).join(carry)}
            int k = 0;
{chr(10).join(report)}
            fout << "\\n";
        }}
    }}
    std::cout << "streamed " << N_TRIALS << " trials x " << N_BINS << " bins: max |output - expected| = " << worst
              << std::endl;
    return worst <= TOLERANCE ? 0 : 1;
}}
"""


def _lines(rows: np.ndarray) -> str:
    return "\n".join(" ".join(repr(float(v)) for v in row) for row in rows) + "\n"


def write_tb_data(tb_dir: Path, step: StepModel, spikes: np.ndarray, logrates: np.ndarray,
                  factors: np.ndarray) -> list[str]:
    """The testbench's data files for ``spikes`` (trials, bins, N) and the expected outputs
    (trials, bins, .) of the C simulation; returns their names."""
    n, t, _ = spikes.shape
    (tb_dir / INPUT).write_text(_lines(spikes.reshape(n * t, -1)))
    (tb_dir / INITIAL).write_text(_lines(np.concatenate([np.asarray(s, np.float64) for s in step.initial_states])[None]))
    (tb_dir / EXPECTED).write_text(_lines(np.concatenate([logrates.reshape(n * t, -1), factors.reshape(n * t, -1)],
                                                         axis=1)))
    return [INPUT, INITIAL, EXPECTED]


def read_results(path: Path) -> np.ndarray:
    """The testbench's results log as (lines, values)."""
    return np.array([[float(v) for v in line.split()] for line in path.read_text().splitlines() if line.strip()])


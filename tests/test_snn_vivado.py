"""The exported project's Vivado TCL (Vivado is not installed here: the text is generated and checked, and
every file it names exists in the exported folder)."""

from __future__ import annotations

import re

import numpy as np

from dse.families.snn import hdl_project
from dse.families.snn.network import random_network


def test_vivado_tcl_reports_power_from_the_testbench_saif(tmp_path):
    net = random_network([6, 4, 2], time_steps=3, reuse_factor=2)
    x = np.random.default_rng(0).integers(0, 2, size=(2, 3, 6))
    res = hdl_project.build_project(net, x, tmp_path / "proj", part="xc7a100t", run_ghdl=False)
    tcl = res.paths["vivado.tcl"].read_text()
    lines = [ln.strip() for ln in tcl.splitlines() if ln.strip() and not ln.startswith("#")]
    order = ["create_project", "launch_runs synth_1", "wait_on_run synth_1", "launch_runs impl_1", "open_run impl_1",
             "launch_simulation -mode post-implementation", "open_saif $saif", "log_saif", "run all", "close_saif",
             "read_saif $saif", "report_power -file vivado_power.rpt"]
    pos = [next(i for i, ln in enumerate(lines) if ln.startswith(step)) for step in order]
    assert pos == sorted(pos), "steps out of order"
    assert "-part xc7a100t" in tcl and "create_clock -period 10.0" in tcl
    assert "-strip_path snn_tb/dut" in tcl and "set_property top snn_tb [get_filesets sim_1]" in tcl
    # every file the script adds is in the exported folder
    for group in re.findall(r"add_files (?:-fileset \w+ )?-norecurse \[list ([^\]]+)\]", tcl):
        for f in group.split():
            assert (tmp_path / "proj" / f).exists(), f
    assert {p.name for p in (tmp_path / "proj" / "hdl").iterdir()} == {
        f.split("/")[1] for f in re.search(r"add_files -norecurse \[list ([^\]]+)\]", tcl).group(1).split()}

"""The exported project's Vivado TCL: synthesis, implementation, and power from the testbench's switching
activity (a SAIF file of a post-implementation simulation of tb/snn_tb.vhd on sim/inputs.txt).

Vivado is not installed where dse runs its checks, so no power figure comes from dse itself: the script is
for users who have Vivado. A vectorless `report_power` (default toggle rates) says little about an SNN,
whose activity is the input; the SAIF makes the estimate follow the real spikes.
"""

from __future__ import annotations

from collections.abc import Sequence

from dse.families.snn import hdl

RUN_DIR = "vivado_run"


def vivado_tcl(part: str, design_files: Sequence[str], clock_ns: float = 10.0) -> str:
    """The TCL text; paths are relative to the project folder (vivado -mode batch -source vivado.tcl there)."""
    srcs = " ".join(f"hdl/{n}" for n in design_files)
    return f"""# For users with Vivado: cd to this folder, then  vivado -mode batch -source vivado.tcl
# Synthesis and implementation of {hdl.TOP} for {part} at {clock_ns} ns, then power with the switching activity
# of the testbench (SAIF from a post-implementation functional simulation on sim/{hdl.INPUT_FILE}).
create_project -force snn_power ./{RUN_DIR} -part {part}
add_files -norecurse [list {srcs}]
set_property file_type {{VHDL 2008}} [get_files -of_objects [get_filesets sources_1]]
set_property top {hdl.TOP} [get_filesets sources_1]
file mkdir ./{RUN_DIR}/constraints
set xdc [open ./{RUN_DIR}/constraints/clock.xdc w]
puts $xdc "create_clock -period {clock_ns} \\[get_ports clk\\]"
close $xdc
add_files -fileset constrs_1 -norecurse ./{RUN_DIR}/constraints/clock.xdc
# the testbench and its input file (data files of the simulation fileset are copied to the run directory)
add_files -fileset sim_1 -norecurse [list tb/{hdl.TB}.vhd sim/{hdl.INPUT_FILE}]
set_property file_type {{VHDL 2008}} [get_files tb/{hdl.TB}.vhd]
set_property top {hdl.TB} [get_filesets sim_1]
set_property -name {{xsim.simulate.runtime}} -value {{0 ns}} -objects [get_filesets sim_1]
launch_runs synth_1 -jobs 2
wait_on_run synth_1
launch_runs impl_1 -jobs 2
wait_on_run impl_1
open_run impl_1
report_utilization -file vivado_utilization.rpt
report_timing_summary -file vivado_timing.rpt
report_power -file vivado_power_vectorless.rpt
set saif [file normalize vivado_activity.saif]
launch_simulation -mode post-implementation -type functional
open_saif $saif
log_saif [get_objects -r /{hdl.TB}/dut/*]
run all
close_saif
close_sim
read_saif $saif -strip_path {hdl.TB}/dut
report_power -file vivado_power.rpt
"""

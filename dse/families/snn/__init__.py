"""The `snn` model family: spiking neural networks, Spiker+-style, from a quantized description to VHDL.

network.py (the integer description), reference.py (the bit-exact integer model), hdl/ (the VHDL
generator), ghdl.py (co-simulation), synth.py (Yosys/nextpnr with checks), hw_estimate.py (fast
analytic cost), hdl_project.py (a self-contained project folder). The integer contract is SEMANTICS.md.
"""

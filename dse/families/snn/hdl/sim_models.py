"""Behavioural Verilog models of the Xilinx 7-series block RAMs for gate-level simulation of ROM netlists.

Yosys 0.23 (and later) ships RAMB18E1/RAMB36E1 in xilinx/cells_sim.v as timing-only black boxes: their
outputs are X in simulation, so a synthesized netlist whose weight memory became BRAM could not be
checked. These models implement what the generated design uses of them: INIT_xx/INITP_xx contents
(Xilinx's layout: data bits packed in address order whatever the port width, parity bits likewise in
INITP), reads in TDP mode (widths 1/2/4/9/18/36 per port) and SDP mode (36 on RAMB18E1, 72 on
RAMB36E1: DO = {DOB, DOA}, DOP = {DOPB, DOPA}), the enable and the RSTRAM reset to SRVAL. Anything
else (writes, the optional output register, cascading) stops the simulation with a message instead of
being modelled silently wrong. A model error cannot make a wrong netlist pass unnoticed: the check
compares the simulated outputs with the integer reference, so a faulty model fails the check.
"""

from __future__ import annotations

import re


def _model(name: str, n_init: int, n_initp: int, aw: int, dw: int, pw: int) -> str:
    """dw/pw: data/parity bits per port output (16/2 for RAMB18E1, 32/4 for RAMB36E1)."""
    inits = "\n".join(f"  parameter [255:0] INIT_{i:02X} = 256'h0;" for i in range(n_init))
    initps = "\n".join(f"  parameter [255:0] INITP_{i:02X} = 256'h0;" for i in range(n_initp))
    cat = ", ".join(f"INIT_{i:02X}" for i in reversed(range(n_init)))
    catp = ", ".join(f"INITP_{i:02X}" for i in reversed(range(n_initp)))
    nbits = n_init * 256
    npbits = n_initp * 256
    sdp_w = 2 * (dw + pw)  # 36 or 72
    top = aw - 1  # highest address bit used for the location (RAMB36E1: bit 15 is the cascade bit)
    loc_hi = 14 if name == "RAMB36E1" else 13
    return f"""
module {name} (
  input CLKARDCLK, input CLKBWRCLK, input ENARDEN, input ENBWREN, input REGCEAREGCE, input REGCEB,
  input RSTRAMARSTRAM, input RSTRAMB, input RSTREGARSTREG, input RSTREGB,
  input [{top}:0] ADDRARDADDR, input [{top}:0] ADDRBWRADDR,
  input [{dw - 1}:0] DIADI, input [{dw - 1}:0] DIBDI, input [{pw - 1}:0] DIPADIP, input [{pw - 1}:0] DIPBDIP,
  input [{pw - 1}:0] WEA, input [{2 * pw - 1}:0] WEBWE,
  output reg [{dw - 1}:0] DOADO, output reg [{dw - 1}:0] DOBDO,
  output reg [{pw - 1}:0] DOPADOP, output reg [{pw - 1}:0] DOPBDOP
);
{inits}
{initps}
  parameter [{dw + pw - 1}:0] INIT_A = 0;
  parameter [{dw + pw - 1}:0] INIT_B = 0;
  parameter [{dw + pw - 1}:0] SRVAL_A = 0;
  parameter [{dw + pw - 1}:0] SRVAL_B = 0;
  parameter integer READ_WIDTH_A = 0;
  parameter integer READ_WIDTH_B = 0;
  parameter integer WRITE_WIDTH_A = 0;
  parameter integer WRITE_WIDTH_B = 0;
  parameter RAM_MODE = "TDP";
  parameter integer DOA_REG = 0;
  parameter integer DOB_REG = 0;
  parameter WRITE_MODE_A = "WRITE_FIRST";
  parameter WRITE_MODE_B = "WRITE_FIRST";
  parameter RAM_EXTENSION_A = "NONE";
  parameter RAM_EXTENSION_B = "NONE";
  parameter RDADDR_COLLISION_HWCONFIG = "DELAYED_WRITE";
  parameter SIM_COLLISION_CHECK = "ALL";
  parameter SIM_DEVICE = "7SERIES";
  parameter EN_ECC_READ = "FALSE";
  parameter EN_ECC_WRITE = "FALSE";
  parameter IS_CLKARDCLK_INVERTED = 1'b0;
  parameter IS_CLKBWRCLK_INVERTED = 1'b0;
  parameter IS_ENARDEN_INVERTED = 1'b0;
  parameter IS_ENBWREN_INVERTED = 1'b0;
  parameter IS_RSTRAMARSTRAM_INVERTED = 1'b0;
  parameter IS_RSTRAMB_INVERTED = 1'b0;
  parameter IS_RSTREGARSTREG_INVERTED = 1'b0;
  parameter IS_RSTREGB_INVERTED = 1'b0;

  reg [{nbits - 1}:0] data;
  reg [{npbits - 1}:0] par;
  initial begin
    data = {{{cat}}};
    par = {{{catp}}};
    {{DOPADOP, DOADO}} = INIT_A;
    {{DOPBDOP, DOBDO}} = INIT_B;
    if (DOA_REG != 0 || DOB_REG != 0 || RAM_EXTENSION_A != "NONE" || RAM_EXTENSION_B != "NONE"
        || IS_CLKARDCLK_INVERTED || IS_CLKBWRCLK_INVERTED || IS_ENARDEN_INVERTED || IS_ENBWREN_INVERTED
        || IS_RSTRAMARSTRAM_INVERTED || IS_RSTRAMB_INVERTED) begin
      $fatal(1, "dse {name} model: unsupported configuration (output register, cascade or inversion)");
    end
  end

  // data bits and parity bits of width w at the port address a (w in 1,2,4,9,18,36,72)
  function [{sdp_w - 1}:0] rd(input integer w, input [{loc_hi}:0] a);
    integer dwid, pwid, idx;
    begin
      dwid = (w >= 9) ? (w / 9) * 8 : w;
      pwid = (w >= 9) ? w / 9 : 0;
      if (w == 1) idx = a;
      else if (w == 2) idx = a >> 1;
      else if (w == 4) idx = a >> 2;
      else if (w == 9) idx = a >> 3;
      else if (w == 18) idx = a >> 4;
      else if (w == 36) idx = a >> 5;
      else idx = a >> 6;
      rd = 0;
      rd[{2 * dw - 1}:0] = (data >> (idx * dwid)) & ((1 << dwid) - 1);
      if (pwid > 0)
        rd = rd | ((((par >> (idx * pwid)) & ((1 << pwid) - 1))) << {dw * 2});
    end
  endfunction

  reg [{sdp_w - 1}:0] ra, rb;
  always @(posedge CLKARDCLK) begin
    if (|WEA) $fatal(1, "dse {name} model: writes are not modelled");
    if (ENARDEN) begin
      if (RSTRAMARSTRAM) begin
        {{DOPADOP, DOADO}} <= SRVAL_A;
        if (RAM_MODE == "SDP") {{DOPBDOP, DOBDO}} <= SRVAL_B;
      end else if (RAM_MODE == "SDP") begin
        ra = rd({sdp_w}, ADDRARDADDR[{loc_hi}:0]);
        DOADO <= ra[{dw - 1}:0];
        DOBDO <= ra[{2 * dw - 1}:{dw}];
        DOPADOP <= ra[{2 * dw + pw - 1}:{2 * dw}];
        DOPBDOP <= ra[{2 * dw + 2 * pw - 1}:{2 * dw + pw}];
      end else if (READ_WIDTH_A > 0) begin
        ra = rd(READ_WIDTH_A, ADDRARDADDR[{loc_hi}:0]);
        DOADO <= ra[{dw - 1}:0];
        DOPADOP <= ra[{2 * dw + pw - 1}:{2 * dw}];
      end
    end
  end
  always @(posedge CLKBWRCLK) begin
    if (RAM_MODE != "SDP" && |WEBWE) $fatal(1, "dse {name} model: writes are not modelled");
    if (RAM_MODE != "SDP" && ENBWREN && READ_WIDTH_B > 0) begin
      if (RSTRAMB) {{DOPBDOP, DOBDO}} <= SRVAL_B;
      else begin
        rb = rd(READ_WIDTH_B, ADDRBWRADDR[{loc_hi}:0]);
        DOBDO <= rb[{dw - 1}:0];
        DOPBDOP <= rb[{2 * dw + pw - 1}:{2 * dw}];
      end
    end
  end
endmodule
"""


def xilinx_bram_models() -> str:
    return (_model("RAMB18E1", 64, 8, 14, 16, 2) + _model("RAMB36E1", 128, 16, 16, 32, 4))


def only_modules(verilog: str, names: tuple[str, ...]) -> list[str]:
    """The `module NAME ... endmodule` blocks of the named modules (black-box declarations for Yosys)."""
    out = []
    for name in names:
        m = re.search(rf"(?ms)^module {name}\b.*?^endmodule\s*$", verilog)
        if m:
            out.append(m.group(0))
    return out


def module_closure(verilog: str, roots: set[str]) -> set[str]:
    """The modules of `verilog` among `roots`, plus every module of `verilog` they instantiate."""
    bodies = {m.group(1): m.group(0) for m in re.finditer(r"(?ms)^module (\w+)\b.*?^endmodule\s*$", verilog)}
    todo = [r for r in roots if r in bodies]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for other in bodies:
            if other not in seen and re.search(rf"^\s*{other}\s*(#|\w)", bodies[name], re.M):
                todo.append(other)
    return seen

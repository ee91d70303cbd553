"""One layer entity: weight memory, scan control and (from neurons.py) the neuron datapaths.

The control scans one input row per `groups` clocks: with shared datapaths (groups > 1) every scanned
input is issued once per group, the group counter `gc` selecting the weight-memory word
(address gc * fan + row, kept as the running sum `gbase`) and, one clock later, the group's membranes.
"""

from __future__ import annotations

from dse.families.snn.hdl.common import PACKAGE
from dse.families.snn.hdl.neurons import neuron_decls, neurons
from dse.families.snn.hdl.plan import LayerPlan
from dse.families.snn.network import QuantizedSNN


def _ports(p: LayerPlan) -> list[str]:
    ports = ["    clk : in std_logic", "    rst : in std_logic", "    start : in std_logic",
             "    done : out std_logic"]
    if p.first:
        ports += ["    in_valid : in std_logic", "    in_ready : out std_logic",
                  f"    in_index : in unsigned({p.iw - 1} downto 0)",
                  f"    in_value : in unsigned({p.vb - 1} downto 0)", "    in_last : in std_logic"]
    else:
        ports.append(f"    in_spikes : in std_logic_vector({p.n_in - 1} downto 0)")
    if p.readout:
        ports.append(f"    membranes : out std_logic_vector({p.n_out * p.mb - 1} downto 0)")
    else:
        ports.append(f"    spikes : out std_logic_vector({p.n_out - 1} downto 0)")
    return ports


def _decls(p: LayerPlan) -> list[str]:
    rows = p.rom_rows()
    rom_lines = ",\n".join(f'    {i} => "{r}"' for i, r in enumerate(rows))
    decl = [
        f"  type rom_t is array (0 to {p.rom_depth - 1}) of std_logic_vector({p.word - 1} downto 0);",
        f"  constant ROM : rom_t := (\n{rom_lines}\n  );" if p.rom_depth > 1 else
        f"  constant ROM : rom_t := (0 => \"{rows[0]}\");",
        "  type state_t is (S_IDLE, S_SCAN, S_REC, S_LAST, S_UPD);",
        "  signal state : state_t;",
        f"  signal row : std_logic_vector({p.word - 1} downto 0);",
        f"  signal addr : unsigned({p.aw - 1} downto 0);",
        "  signal issue : std_logic;",
        f"  signal ival : unsigned({p.vb - 1} downto 0);",
        "  signal a_valid : std_logic;",
        f"  signal a_val : unsigned({p.vb - 1} downto 0);",
        f"  signal spk : std_logic_vector({p.n_out - 1} downto 0);",
        f"  signal cnt : unsigned({p.cw - 1} downto 0);",
    ]
    if p.pw:
        decl += [f"  signal pend : std_logic_vector({p.pw - 1} downto 0);",
                 f"  signal lowest : std_logic_vector({p.pw - 1} downto 0);",
                 f"  signal pend_next : std_logic_vector({p.pw - 1} downto 0);"]
    if p.readout:
        decl.append(f"  signal mem_out : std_logic_vector({p.n_out * p.mb - 1} downto 0);")
    if p.shared:
        decl += [f"  signal gc : unsigned({p.gw - 1} downto 0);", f"  signal a_g : unsigned({p.gw - 1} downto 0);",
                 f"  signal gbase : unsigned({p.aw - 1} downto 0);", "  signal gstep : std_logic;",
                 "  signal gadv : std_logic;"]
    return decl + neuron_decls(p)


def _scan(p: LayerPlan) -> list[str]:
    """The latched scan vector's lowest set bit and its next value (combinational)."""
    if not p.pw:
        return []
    return ["  lowest <= pend and std_logic_vector(unsigned(not pend) + 1);",
            "  pend_next <= pend xor lowest;" if p.event else
            f"  pend_next <= '0' & pend({p.pw - 1} downto 1);" if p.pw > 1 else "  pend_next <= \"0\";"]


def _issue(p: LayerPlan) -> list[str]:
    """What is issued to the weight memory this clock (combinational)."""
    aw = p.aw

    def at(expr: str) -> str:
        return f"gbase + {expr}" if p.shared else expr

    comb = ["  process (all)", "  begin", "    issue <= '0';", "    addr <= (others => '0');",
            "    ival <= (others => '0');"]
    if p.first:
        comb += ["    if state = S_SCAN then", "      if in_valid = '1' then", "        issue <= '1';",
                 f"        addr <= {at(f'resize(in_index, {aw})')};", "        ival <= in_value;", "      end if;"]
        if p.rec:
            comb += ["    elsif state = S_REC then", "      issue <= '1';"]
            if p.event:
                comb.append(f"      addr <= {at(f'to_unsigned({p.n_in}, {aw})')} + "
                            f"resize(onehot_index(lowest, {p.cw}), {aw});")
                comb.append("      ival(0) <= '1';")
            else:
                comb.append(f"      addr <= {at(f'to_unsigned({p.n_in}, {aw})')} + resize(cnt, {aw});")
                comb.append("      ival(0) <= pend(0);")
        comb.append("    end if;")
    else:
        comb.append("    if state = S_SCAN then")
        if p.event:
            comb += ["      if unsigned(pend) /= 0 then", "        issue <= '1';",
                     f"        addr <= {at(f'resize(onehot_index(lowest, {p.fan_bits}), {aw})')};",
                     "        ival(0) <= '1';", "      end if;"]
        else:
            comb += ["      issue <= '1';", f"      addr <= {at(f'resize(cnt, {aw})')};", "      ival(0) <= pend(0);"]
        comb.append("    end if;")
    return comb + ["  end process;"]


def _on_step(p: LayerPlan, lines: list[str], indent: str) -> list[str]:
    """Shared datapaths: lines that advance the scan happen only on the clock of the last group."""
    if not p.shared:
        return lines
    return [f"{indent}if gstep = '1' then", *("  " + ln for ln in lines), f"{indent}end if;"]


def _fsm_scan(p: LayerPlan) -> list[str]:
    """The S_SCAN (and S_REC) arms of the control FSM."""
    fsm = ["        elsif state = S_SCAN then"]
    if p.first:
        fsm += ["          if in_valid = '1' and in_last = '1'" + (" and gstep = '1'" if p.shared else "") + " then"]
        if p.rec and p.event:
            fsm += ["            if unsigned(pend) /= 0 then", "              state <= S_REC;", "            else",
                    "              state <= S_LAST;", "            end if;"]
        else:
            fsm += ["            state <= S_REC;" if p.rec else "            state <= S_LAST;"]
        fsm += ["          end if;"]
        if p.rec:
            fsm += ["        elsif state = S_REC then"]
            last = "unsigned(pend_next) = 0" if p.event else f"cnt = {p.n_out - 1}"
            fsm += _on_step(p, ["          pend <= pend_next;", "          cnt <= cnt + 1;",
                                f"          if {last} then", "            state <= S_LAST;", "          end if;"],
                            "          ")
    else:
        last = "unsigned(pend_next) = 0" if p.event else f"cnt = {p.fan - 1}"
        fsm += _on_step(p, ["          pend <= pend_next;", "          cnt <= cnt + 1;", f"          if {last} then",
                            "            state <= S_LAST;", "          end if;"], "          ")
    return fsm


def _fsm(p: LayerPlan) -> list[str]:
    load = []
    if p.pw:
        load.append("          pend <= spk & in_spikes;" if (not p.first and p.rec) else
                    "          pend <= in_spikes;" if not p.first else "          pend <= spk;")
    fsm = ["  process (clk)", "  begin", "    if rising_edge(clk) then", "      if rst = '1' then",
           "        state <= S_IDLE;", "        a_valid <= '0';", "        a_val <= (others => '0');",
           "        cnt <= (others => '0');"]
    if p.pw:
        fsm.append("        pend <= (others => '0');")
    fsm += ["      else", "        a_valid <= issue;", "        a_val <= ival;",
            "        if state = S_IDLE then", "          if start = '1' then", "            state <= S_SCAN;",
            "            cnt <= (others => '0');"]
    fsm += ["  " + s for s in load]
    fsm += ["          end if;", *_fsm_scan(p)]
    fsm += ["        elsif state = S_LAST then", "          state <= S_UPD;", "        elsif state = S_UPD then",
            *_on_step(p, ["          state <= S_IDLE;"], "          "),
            "        end if;", "      end if;", "    end if;", "  end process;"]
    return fsm


def _group_counter(p: LayerPlan) -> list[str]:
    """Shared datapaths: the group served this clock (gc, gbase = gc * fan) and the one being added (a_g)."""
    if not p.shared:
        return []
    adv = "in_valid" if p.first else "'1'"
    return [
        f"  gstep <= '1' when gc = {p.groups - 1} else '0';",
        "  process (all)", "  begin", "    gadv <= '0';", "    if state = S_SCAN then", f"      gadv <= {adv};",
        "    elsif state = S_REC or state = S_UPD then", "      gadv <= '1';", "    end if;", "  end process;",
        "  process (clk)", "  begin", "    if rising_edge(clk) then", "      if rst = '1' then",
        "        gc <= (others => '0');", "        gbase <= (others => '0');", "        a_g <= (others => '0');",
        "      else", "        a_g <= gc;", "        if gadv = '1' then", "          if gstep = '1' then",
        "            gc <= (others => '0');", "            gbase <= (others => '0');", "          else",
        "            gc <= gc + 1;", f"            gbase <= gbase + {p.fan};", "          end if;", "        end if;",
        "      end if;", "    end if;", "  end process;", "",
    ]


def layer_vhdl(net: QuantizedSNN, li: int) -> str:
    p = LayerPlan.of(net, li)
    layer = p.layer
    body = [
        "  process (clk)", "  begin", "    if rising_edge(clk) then", "      row <= ROM(to_integer(addr));",
        "    end if;", "  end process;", "",
        *_scan(p), *_issue(p), "", *_fsm(p), "", *_group_counter(p), *neurons(p), "",
        "  done <= '1' when state = S_IDLE else '0';",
    ]
    if p.first:
        body.append("  in_ready <= '1' when state = S_SCAN" + (" and gstep = '1'" if p.shared else "") + " else '0';")
    body.append("  membranes <= mem_out;" if p.readout else "  spikes <= spk;")
    sharing = f", {p.units} datapaths x {p.groups} neurons" if p.shared else ""
    return (
        f"-- Generated by dse (dse.families.snn.hdl): layer {li}, {layer.neuron}, reset {layer.reset}, "
        f"{p.n_in} -> {p.n_out}{' recurrent' if p.rec else ''}, {net.scan} scan{sharing}.\n"
        "library ieee;\nuse ieee.std_logic_1164.all;\nuse ieee.numeric_std.all;\n"
        f"use work.{PACKAGE}.all;\n\n"
        f"entity {p.name} is\n  port (\n" + ";\n".join(_ports(p)) + "\n  );\nend entity;\n\n"
        f"architecture rtl of {p.name} is\n" + "\n".join(_decls(p)) + "\nbegin\n" + "\n".join(body)
        + "\nend architecture;\n"
    )

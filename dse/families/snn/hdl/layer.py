"""One layer entity: weight ROM, scan control and the neuron datapaths."""

from __future__ import annotations

from dse.families.snn.hdl.common import PACKAGE, addr_bits, sbin
from dse.families.snn.network import QuantizedSNN, SNNLayer


def rom_rows(layer: SNNLayer, wb: int) -> list[str]:
    w = layer.all_weights()
    rows = []
    for i in range(w.shape[0]):
        # neuron j occupies bits (j+1)*wb-1 downto j*wb: the string is written MSB (last neuron) first
        rows.append("".join(sbin(int(w[i, j]), wb) for j in reversed(range(w.shape[1]))))
    return rows


def layer_vhdl(net: QuantizedSNN, li: int) -> str:
    layer = net.layers[li]
    mb, wb = net.membrane_bits, net.weight_bits
    n_in, n_out, fan = layer.n_in, layer.n_out, layer.fan_in
    first = li == 0
    event = net.scan == "event"
    rec = layer.recurrent
    vb = net.input_bits if first else 1
    aw = addr_bits(fan)  # weight-memory address width
    iw = addr_bits(n_in)  # in_index width (layer 0)
    readout = layer.neuron == "readout"
    lif2 = layer.neuron == "LIF2"
    # pend: the latched scan vector. Layer 0: own spikes only (recurrent); layers > 0: own & inputs.
    pw = (n_out if rec else 0) if first else fan
    cw = addr_bits(n_out if first else fan)
    name = f"snn_layer{li}"
    rows = rom_rows(layer, wb)
    rom_lines = ",\n".join(f'    {i} => "{r}"' for i, r in enumerate(rows))

    ports = ["    clk : in std_logic", "    rst : in std_logic", "    start : in std_logic",
             "    done : out std_logic"]
    if first:
        ports += ["    in_valid : in std_logic", "    in_ready : out std_logic",
                  f"    in_index : in unsigned({iw - 1} downto 0)", f"    in_value : in unsigned({vb - 1} downto 0)",
                  "    in_last : in std_logic"]
    else:
        ports.append(f"    in_spikes : in std_logic_vector({n_in - 1} downto 0)")
    if readout:
        ports.append(f"    membranes : out std_logic_vector({n_out * mb - 1} downto 0)")
    else:
        ports.append(f"    spikes : out std_logic_vector({n_out - 1} downto 0)")

    decl = [
        f"  type rom_t is array (0 to {fan - 1}) of std_logic_vector({n_out * wb - 1} downto 0);",
        f"  constant ROM : rom_t := (\n{rom_lines}\n  );" if fan > 1 else
        f"  constant ROM : rom_t := (0 => \"{rows[0]}\");",
        "  type state_t is (S_IDLE, S_SCAN, S_REC, S_LAST, S_UPD);",
        "  signal state : state_t;",
        f"  signal row : std_logic_vector({n_out * wb - 1} downto 0);",
        f"  signal addr : unsigned({aw - 1} downto 0);",
        "  signal issue : std_logic;",
        f"  signal ival : unsigned({vb - 1} downto 0);",
        "  signal a_valid : std_logic;",
        f"  signal a_val : unsigned({vb - 1} downto 0);",
        f"  signal spk : std_logic_vector({n_out - 1} downto 0);",
        f"  signal cnt : unsigned({cw - 1} downto 0);",
    ]
    if pw:
        decl += [f"  signal pend : std_logic_vector({pw - 1} downto 0);",
                 f"  signal lowest : std_logic_vector({pw - 1} downto 0);",
                 f"  signal pend_next : std_logic_vector({pw - 1} downto 0);"]
    if readout:
        decl.append(f"  signal mem_out : std_logic_vector({n_out * mb - 1} downto 0);")

    # ---- scan: what is issued this clock (combinational) ----
    scan = []
    if pw:
        scan.append("  lowest <= pend and std_logic_vector(unsigned(not pend) + 1);")
        scan.append("  pend_next <= pend xor lowest;" if event else
                    f"  pend_next <= '0' & pend({pw - 1} downto 1);" if pw > 1 else "  pend_next <= \"0\";")
    comb = ["  process (all)", "  begin", "    issue <= '0';", "    addr <= (others => '0');",
            "    ival <= (others => '0');"]
    if first:
        comb += ["    if state = S_SCAN then", "      if in_valid = '1' then", "        issue <= '1';",
                 f"        addr <= resize(in_index, {aw});", "        ival <= in_value;", "      end if;"]
        if rec:
            comb.append("    elsif state = S_REC then")
            comb.append("      issue <= '1';")
            if event:
                comb.append(f"      addr <= to_unsigned({n_in}, {aw}) + resize(onehot_index(lowest, {cw}), {aw});")
                comb.append("      ival(0) <= '1';")
            else:
                comb.append(f"      addr <= to_unsigned({n_in}, {aw}) + resize(cnt, {aw});")
                comb.append("      ival(0) <= pend(0);")
        comb.append("    end if;")
    else:
        comb.append("    if state = S_SCAN then")
        if event:
            comb += ["      if unsigned(pend) /= 0 then", "        issue <= '1';",
                     f"        addr <= resize(onehot_index(lowest, {aw}), {aw});", "        ival(0) <= '1';",
                     "      end if;"]
        else:
            comb += ["      issue <= '1';", f"      addr <= resize(cnt, {aw});", "      ival(0) <= pend(0);"]
        comb.append("    end if;")
    comb += ["  end process;"]

    # ---- control FSM ----
    load = []
    if pw:
        load.append("          pend <= spk & in_spikes;" if (not first and rec) else
                    "          pend <= in_spikes;" if not first else "          pend <= spk;")
    fsm = ["  process (clk)", "  begin", "    if rising_edge(clk) then", "      if rst = '1' then",
           "        state <= S_IDLE;", "        a_valid <= '0';", "        a_val <= (others => '0');",
           "        cnt <= (others => '0');"]
    if pw:
        fsm.append("        pend <= (others => '0');")
    fsm += ["      else", "        a_valid <= issue;", "        a_val <= ival;",
            "        if state = S_IDLE then", "          if start = '1' then", "            state <= S_SCAN;",
            "            cnt <= (others => '0');"]
    fsm += ["  " + s for s in load]
    fsm += ["          end if;", "        elsif state = S_SCAN then"]
    if first:
        fsm += ["          if in_valid = '1' and in_last = '1' then"]
        if rec and event:
            fsm += ["            if unsigned(pend) /= 0 then", "              state <= S_REC;", "            else",
                    "              state <= S_LAST;", "            end if;"]
        elif rec:
            fsm += ["            state <= S_REC;"]
        else:
            fsm += ["            state <= S_LAST;"]
        fsm += ["          end if;"]
        if rec:
            fsm += ["        elsif state = S_REC then", "          pend <= pend_next;", "          cnt <= cnt + 1;"]
            if event:
                fsm += ["          if unsigned(pend_next) = 0 then", "            state <= S_LAST;", "          end if;"]
            else:
                fsm += [f"          if cnt = {n_out - 1} then", "            state <= S_LAST;", "          end if;"]
    else:
        fsm += ["          pend <= pend_next;", "          cnt <= cnt + 1;"]
        if event:
            fsm += ["          if unsigned(pend_next) = 0 then", "            state <= S_LAST;", "          end if;"]
        else:
            fsm += [f"          if cnt = {fan - 1} then", "            state <= S_LAST;", "          end if;"]
    fsm += ["        elsif state = S_LAST then", "          state <= S_UPD;", "        elsif state = S_UPD then",
            "          state <= S_IDLE;", "        end if;", "      end if;", "    end if;", "  end process;"]

    # ---- neurons ----
    theta = f'"{sbin(layer.theta_int, mb)}"' if not readout else None
    acc = "cur" if lif2 else "v"
    neu = [f"  gen_neuron : for j in 0 to {n_out - 1} generate",
           f"    signal v : signed({mb - 1} downto 0);"]
    if lif2:
        neu.append(f"    signal cur : signed({mb - 1} downto 0);")
    if readout:
        neu.append(f"    signal vo : signed({mb - 1} downto 0);")
    else:
        neu.append("    signal s : std_logic;")
    neu += ["  begin", "    process (clk)", f"      variable w : signed({wb - 1} downto 0);",
            f"      variable v1 : signed({mb - 1} downto 0);"]
    if theta:
        neu.append(f"      constant THETA : signed({mb - 1} downto 0) := {theta};")
    neu += ["    begin", "      if rising_edge(clk) then", "        if rst = '1' then", "          v <= (others => '0');"]
    if lif2:
        neu.append("          cur <= (others => '0');")
    neu.append("          vo <= (others => '0');" if readout else "          s <= '0';")
    neu += ["        elsif a_valid = '1' then", f"          w := signed(row((j + 1) * {wb} - 1 downto j * {wb}));",
            f"          {acc} <= sat_add({acc}, mul_small(a_val, w), {mb});", "        elsif state = S_UPD then"]
    kb = layer.k_beta

    def lk(expr: str, k: int | None) -> str:
        return expr if k is None else f"leak({expr}, {k})"

    if readout:
        neu += ["          vo <= v;", f"          v <= {lk('v', kb)};"]
    else:
        if lif2:
            neu.append(f"          v1 := sat_add({lk('v', kb)}, cur, {mb});")
            neu.append(f"          cur <= {lk('cur', layer.k_alpha)};")
        else:
            neu.append("          v1 := v;")
        neu += ["          if v1 >= THETA then", "            s <= '1';"]
        if layer.reset == "zero":
            neu.append("            v1 := (others => '0');")
        elif layer.reset == "subtract":
            neu.append("            v1 := v1 - THETA;")  # v1 >= theta > 0: cannot saturate
        neu += ["          else", "            s <= '0';", "          end if;"]
        neu.append(f"          v <= {lk('v1', None if lif2 else kb)};")
    neu += ["        end if;", "      end if;", "    end process;"]
    if readout:
        neu.append(f"    mem_out((j + 1) * {mb} - 1 downto j * {mb}) <= std_logic_vector(vo);")
    else:
        neu.append("    spk(j) <= s;")
    neu.append("  end generate;")

    body = [
        "  process (clk)", "  begin", "    if rising_edge(clk) then", "      row <= ROM(to_integer(addr));",
        "    end if;", "  end process;", "",
        *scan, *comb, "", *fsm, "", *neu, "",
        "  done <= '1' when state = S_IDLE else '0';",
    ]
    if first:
        body.append("  in_ready <= '1' when state = S_SCAN else '0';")
    body.append("  membranes <= mem_out;" if readout else "  spikes <= spk;")
    return (
        f"-- Generated by dse (dse.families.snn.hdl): layer {li}, {layer.neuron}, reset {layer.reset}, "
        f"{n_in} -> {n_out}{' recurrent' if rec else ''}, {net.scan} scan.\n"
        "library ieee;\nuse ieee.std_logic_1164.all;\nuse ieee.numeric_std.all;\n"
        f"use work.{PACKAGE}.all;\n\n"
        f"entity {name} is\n  port (\n" + ";\n".join(ports) + "\n  );\nend entity;\n\n"
        f"architecture rtl of {name} is\n" + "\n".join(decl) + "\nbegin\n" + "\n".join(body)
        + "\nend architecture;\n"
    )

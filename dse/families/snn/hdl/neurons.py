"""The neuron datapaths of a layer: one per neuron (membranes in registers), or shared.

Shared datapaths (LayerPlan.groups > 1): the membranes (LIF2: and synaptic currents) of a group of
`units` neurons form one word of a memory of `groups` words, read without a clock and written on the
clock (a distributed-RAM shape Yosys maps to LUT RAM). Every clock one group is served: while scanning,
the group whose weights arrived from the weight memory (a_g) adds them, so per neuron the inputs are
still added one at a time in scan order; in the update phase (S_UPD, one clock per group) each datapath
fires, resets and leaks the neuron of group gc. Memories cannot be cleared by the reset in one clock:
a valid bit per word (cleared by rst, set by the first write) makes an unwritten word read as zero,
which is the reset value of SEMANTICS.md. Spikes (readout: membranes v(t)) leave through a shift register
that the update phase fills group by group, group 0 ending at the low end.
"""

from __future__ import annotations

from dse.families.snn.hdl.common import sbin
from dse.families.snn.hdl.plan import LayerPlan


def _lk(expr: str, k: int | None) -> str:
    return expr if k is None else f"leak({expr}, {k})"


def neuron_decls(p: LayerPlan) -> list[str]:
    """Architecture declarations of the shared datapaths (none for one datapath per neuron)."""
    if not p.shared:
        return []
    g, u, mb = p.groups, p.units, p.mb
    decl = [f"  type mem_t is array (0 to {g - 1}) of std_logic_vector({u * mb - 1} downto 0);",
            f"  signal maddr : unsigned({p.gw - 1} downto 0);", f"  signal gsel : std_logic_vector({g - 1} downto 0);"]
    for m in ("v", "c") if p.lif2 else ("v",):
        decl += [f"  signal {m}mem : mem_t;", f"  signal {m}rd : std_logic_vector({u * mb - 1} downto 0);",
                 f"  signal {m}wr : std_logic_vector({u * mb - 1} downto 0);", f"  signal {m}we : std_logic;",
                 f"  signal {m}ok : std_logic_vector({g - 1} downto 0);"]
    if p.readout:
        decl.append(f"  signal vo_sr : std_logic_vector({g * u * mb - 1} downto 0);")
    else:
        decl += [f"  signal sgrp : std_logic_vector({u - 1} downto 0);",
                 f"  signal spk_sr : std_logic_vector({g * u - 1} downto 0);"]
    return decl


def neurons(p: LayerPlan) -> list[str]:
    """The datapaths' architecture statements."""
    return _shared(p) if p.shared else _parallel(p)


def _parallel(p: LayerPlan) -> list[str]:
    """One datapath per neuron, membrane (and current) in registers."""
    layer, mb, wb = p.layer, p.mb, p.wb
    theta = f'"{sbin(layer.theta_int, mb)}"' if not p.readout else None
    acc = "cur" if p.lif2 else "v"
    neu = [f"  gen_neuron : for j in 0 to {p.n_out - 1} generate", f"    signal v : signed({mb - 1} downto 0);"]
    if p.lif2:
        neu.append(f"    signal cur : signed({mb - 1} downto 0);")
    neu.append(f"    signal vo : signed({mb - 1} downto 0);" if p.readout else "    signal s : std_logic;")
    neu += ["  begin", "    process (clk)", f"      variable w : signed({wb - 1} downto 0);",
            f"      variable v1 : signed({mb - 1} downto 0);"]
    if theta:
        neu.append(f"      constant THETA : signed({mb - 1} downto 0) := {theta};")
    neu += ["    begin", "      if rising_edge(clk) then", "        if rst = '1' then", "          v <= (others => '0');"]
    if p.lif2:
        neu.append("          cur <= (others => '0');")
    neu.append("          vo <= (others => '0');" if p.readout else "          s <= '0';")
    neu += ["        elsif a_valid = '1' then", f"          w := signed(row((j + 1) * {wb} - 1 downto j * {wb}));",
            f"          {acc} <= sat_add({acc}, mul_small(a_val, w), {mb});", "        elsif state = S_UPD then"]
    if p.readout:
        neu += ["          vo <= v;", f"          v <= {_lk('v', layer.k_beta)};"]
    else:
        if p.lif2:
            neu.append(f"          v1 := sat_add({_lk('v', layer.k_beta)}, cur, {mb});")
            neu.append(f"          cur <= {_lk('cur', layer.k_alpha)};")
        else:
            neu.append("          v1 := v;")
        neu += ["          if v1 >= THETA then", "            s <= '1';", *_reset(p, "            "),
                "          else", "            s <= '0';", "          end if;"]
        neu.append(f"          v <= {_lk('v1', None if p.lif2 else layer.k_beta)};")
    neu += ["        end if;", "      end if;", "    end process;"]
    if p.readout:
        neu.append(f"    mem_out((j + 1) * {mb} - 1 downto j * {mb}) <= std_logic_vector(vo);")
    else:
        neu.append("    spk(j) <= s;")
    neu.append("  end generate;")
    return neu


def _reset(p: LayerPlan, indent: str) -> list[str]:
    if p.layer.reset == "zero":
        return [f"{indent}v1 := (others => '0');"]
    if p.layer.reset == "subtract":
        return [f"{indent}v1 := v1 - THETA;"]  # v1 >= theta > 0: cannot saturate
    return []


def _memory(m: str) -> list[str]:
    """Memory `m` (v or c): zero-masked unclocked read, clocked write, the words' valid bits."""
    return [
        f"  {m}rd <= {m}mem(to_integer(maddr)) when unsigned({m}ok and gsel) /= 0 else (others => '0');",
        "  process (clk)", "  begin", "    if rising_edge(clk) then", f"      if {m}we = '1' then",
        f"        {m}mem(to_integer(maddr)) <= {m}wr;", "      end if;", "    end if;", "  end process;",
        "  process (clk)", "  begin", "    if rising_edge(clk) then", "      if rst = '1' then",
        f"        {m}ok <= (others => '0');", f"      elsif {m}we = '1' then", f"        {m}ok <= {m}ok or gsel;",
        "      end if;", "    end if;", "  end process;",
    ]


def _outputs(p: LayerPlan) -> list[str]:
    """The shift register that collects the groups' spikes (readout: membranes) during the update."""
    reg, new, step, width = (("vo_sr", "vrd", p.units * p.mb, p.n_out * p.mb) if p.readout
                             else ("spk_sr", "sgrp", p.units, p.n_out))
    total = p.groups * step
    return [
        "  process (clk)", "  begin", "    if rising_edge(clk) then", "      if rst = '1' then",
        f"        {reg} <= (others => '0');", "      elsif state = S_UPD then",
        f"        {reg} <= {new} & {reg}({total - 1} downto {step});", "      end if;", "    end if;",
        "  end process;",
        f"  mem_out <= {reg}({width - 1} downto 0);" if p.readout else f"  spk <= {reg}({width - 1} downto 0);",
    ]


def _shared(p: LayerPlan) -> list[str]:
    g = p.groups
    lines = ["  maddr <= gc when state = S_UPD else a_g;", "  process (all)", "  begin",
             f"    for k in 0 to {g - 1} loop", "      if maddr = k then", "        gsel(k) <= '1';", "      else",
             "        gsel(k) <= '0';", "      end if;", "    end loop;", "  end process;"]
    if p.lif2:
        lines += ["  cwe <= '1' when a_valid = '1' or state = S_UPD else '0';",
                  "  vwe <= '1' when state = S_UPD else '0';", *_memory("v"), *_memory("c")]
    else:
        lines += ["  vwe <= '1' when a_valid = '1' or state = S_UPD else '0';", *_memory("v")]
    return lines + _outputs(p) + _units(p)


def _units(p: LayerPlan) -> list[str]:
    """The shared datapaths: combinational next values of the group's words (written when enabled)."""
    layer, mb, wb = p.layer, p.mb, p.wb
    sl = f"(j + 1) * {mb} - 1 downto j * {mb}"
    out = [f"  gen_unit : for j in 0 to {p.units - 1} generate", "  begin", "    process (all)",
           f"      variable w : signed({wb - 1} downto 0);", f"      variable v0 : signed({mb - 1} downto 0);",
           f"      variable v1 : signed({mb - 1} downto 0);"]
    if p.lif2:
        out.append(f"      variable c0 : signed({mb - 1} downto 0);")
    if not p.readout:
        out.append(f"      constant THETA : signed({mb - 1} downto 0) := \"{sbin(layer.theta_int, mb)}\";")
    out += ["    begin", f"      w := signed(row((j + 1) * {wb} - 1 downto j * {wb}));", f"      v0 := signed(vrd({sl}));"]
    if p.lif2:
        out.append(f"      c0 := signed(crd({sl}));")
    if not p.readout:
        out.append("      sgrp(j) <= '0';")
    out.append("      if state = S_UPD then")
    if p.readout:
        out.append(f"        vwr({sl}) <= std_logic_vector({_lk('v0', layer.k_beta)});")
    else:
        if p.lif2:
            out += [f"        v1 := sat_add({_lk('v0', layer.k_beta)}, c0, {mb});",
                    f"        cwr({sl}) <= std_logic_vector({_lk('c0', layer.k_alpha)});"]
        else:
            out.append("        v1 := v0;")
        out += ["        if v1 >= THETA then", "          sgrp(j) <= '1';", *_reset(p, "          "), "        end if;",
                f"        vwr({sl}) <= std_logic_vector({_lk('v1', None if p.lif2 else layer.k_beta)});"]
    out.append("      else")
    if p.lif2:
        out += [f"        cwr({sl}) <= std_logic_vector(sat_add(c0, mul_small(a_val, w), {mb}));",
                f"        vwr({sl}) <= vrd({sl});"]
    else:
        out.append(f"        vwr({sl}) <= std_logic_vector(sat_add(v0, mul_small(a_val, w), {mb}));")
    out += ["      end if;", "    end process;", "  end generate;"]
    return out

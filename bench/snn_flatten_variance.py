"""How much Yosys' flattened mapping of one and the same layer varies with the rest of the design: the bound
on how closely any structural estimate (dse.families.snn.hw_estimate) can follow synth_xilinx.

256-128-10 LIF / readout (the digits network's structure, random weights, ROMs in block RAM) at one reuse
factor, full and event scan. Layer 0's VHDL is the same in both scans (the scan only changes layers that
latch a spike vector: layer 1 here). Each design is synthesized twice with Yosys synth_xilinx for xc7a100t:
flattened (as synth.synthesize does) and with the hierarchy kept (per-layer LUTs). Not checked by netlist
simulation (nothing here is a result to use, only cell counts of designs the checked benches build).

    nice -n 10 .venv/bin/python bench/snn_flatten_variance.py [--reuse 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import RESULTS, git_rev, load_average, machine  # noqa: E402

from dse.families.snn import hdl, synth  # noqa: E402
from dse.families.snn.ghdl import write_design  # noqa: E402
from dse.families.snn.network import random_network  # noqa: E402

PART = "xc7a100t"


def _luts(cells: dict) -> int:
    return sum(n for c, n in cells.items() if re.fullmatch(r"LUT[1-6]", c)) + synth.xilinx_lut_memory(cells)


def synth_both(scan: str, reuse: int) -> dict:
    """LUTs flattened (whole design) and hierarchical (per module) for one design."""
    net = random_network([256, 128, 10], neuron=["LIF", "readout"], k_beta=3, time_steps=25, weight_bits=6,
                         membrane_bits=8, scan=scan, reuse_factor=reuse, seed=7)
    out = {"scan": scan, "reuse": reuse, "units": net.units, "groups": net.groups}
    with tempfile.TemporaryDirectory(prefix="dse_flat_") as tmp:
        work = Path(tmp)
        sources = [p.name for p in write_design(net, work, testbench=False)]
        v = synth.ghdl_to_verilog(work, sources, 3600)
        v.write_text(synth.mark_roms(v.read_text(), "block"))
        for mode, flag in (("flat", "-flatten "), ("hier", "")):
            subprocess.run([*synth.yosys_command(), "-q", "-p",
                            f"read_verilog {v.name}; synth_xilinx {flag}-family xc7 -top {hdl.TOP}; "
                            f"tee -q -o {mode}.json stat -json"], cwd=work, check=True, capture_output=True,
                           timeout=3600)
            stat = json.loads((work / f"{mode}.json").read_text())
            mods = {m.strip("\\"): {k: int(n) for k, n in d.get("num_cells_by_type", {}).items()}
                    for m, d in stat["modules"].items()}
            if mode == "flat":
                out["flat_lut"] = _luts(mods[hdl.TOP])
            else:
                out["hier_lut"] = {m: _luts(c) for m, c in mods.items()}
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def markdown(data: dict) -> str:
    rows = data["rows"]
    full = rows[0]
    parts = {r["scan"]: sum(r["hier_lut"].values()) for r in rows}
    lines = ["## Yosys' flattened mapping against the sum of its parts", "",
             f"- command: `{data['command']}`", f"- machine: {data['machine']}",
             f"- date: {data['date']}, commit {data['commit']}", f"- load average at the end: {data['load']}", "",
             f"256-128-10 LIF / readout, R = {full['reuse']} (datapaths {' / '.join(map(str, full['units']))}), ROMs "
             f"in block RAM, Yosys synth_xilinx for {data['part']}. Layer 0's VHDL is the same in both scans.", "",
             "| scan | LUT flattened | LUT with hierarchy: layer 0 / layer 1 / top (sum) | flattened / sum |",
             "|---|---|---|---|"]
    for r in rows:
        h = r["hier_lut"]
        lines.append(f"| {r['scan']} | {r['flat_lut']:,} | {h['snn_layer0']:,} / {h['snn_layer1']:,} / "
                     f"{h[hdl.TOP]:,} ({parts[r['scan']]:,}) | {r['flat_lut'] / parts[r['scan']] - 1:+.0%} |")
    lines += ["", "Synthesized alone, layer 0 costs about the same in both designs and the event scan's layer 1 "
              "costs more than the full scan's; flattened, the optimization across the layers changes the total "
              "by " + " and ".join(f"{r['flat_lut'] / parts[r['scan']] - 1:+.0%} ({r['scan']})" for r in rows)
              + ", so the flattened event design ends below the full one. The structural estimate counts the "
              "parts: the spread between the two (the same layers, a different mapping) bounds how closely it can follow both.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reuse", type=int, default=4)
    ap.add_argument("--from-json", action="store_true", help="rewrite the markdown from the JSON only")
    args = ap.parse_args()
    if args.from_json:
        data = json.loads((RESULTS / "snn_flatten_variance.json").read_text())
    else:
        rows = [synth_both(scan, args.reuse) for scan in ("full", "event")]
        data = {"command": "python bench/snn_flatten_variance.py " + " ".join(sys.argv[1:]), "machine": machine(),
                "commit": git_rev(), "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "load": load_average(), "part": PART, "rows": rows}
        (RESULTS / "snn_flatten_variance.json").write_text(json.dumps(data, indent=1))
    text = markdown(data)
    (RESULTS / "snn_flatten_variance.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

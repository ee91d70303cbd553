"""Parsers for the reports of Vivado HLS / Vitis HLS C synthesis and Vivado logic synthesis.

Three kinds of file, as an hls4ml project leaves them after ``build(synth=True, vsynth=...)``:

- ``<top>_csynth.rpt`` — the human-readable C-synthesis report (:func:`parse_csynth_rpt`);
- ``<top>_csynth.xml`` — the same numbers in XML, which hls4ml itself reads (:func:`parse_csynth_xml`);
- ``vivado_synth.rpt`` — Vivado ``report_utilization`` after logic synthesis (:func:`parse_vivado_synth_rpt`).

``solution1_data.json`` (Vivado HLS 2019+) carries per-module metrics too (:func:`parse_solution_data_json`).

Format differences handled (all seen in ``../shared/fixtures/hls_reports``):

- Vivado HLS 2019.1 prints ``+ Timing (ns):`` with bare numbers and a latency table with only
  ``Latency | Interval | Pipeline`` groups; 2019.2/2020.1 and Vitis HLS add ``ns`` units and a
  ``Latency (absolute)`` group, so columns are found by their header names, never by position.
- Vivado HLS calls the DSP column ``DSP48E``, Vitis HLS ``DSP``; old reports may have no ``URAM`` column
  (then ``uram`` is ``None``).
- Multi-SLR parts add ``Available SLR`` / ``Utilization SLR (%)`` rows; the part's totals are the plain
  ``Available`` row.
- An undefined latency or interval is ``?`` in the text report and ``undef`` in the XML: both give ``None``.
- Vivado HLS 2019.1 text reports print a non-pipelined (``none``) top's interval equal to its latency,
  while its XML (and all later versions, text and XML) give latency + 1. The parsers report what each
  file says; :func:`read_csynth` prefers the XML.
- Vivado ``report_utilization`` names rows ``Slice LUTs``/``Slice Registers`` on 7-series and
  ``CLB LUTs``/``CLB Registers`` on UltraScale(+), and repeats the names in per-SLR tables: only the
  first (whole-device) table with a ``Used`` column counts.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dse.cost.base import HardwareReport

RESOURCE_KEYS = ("bram_18k", "dsp", "ff", "lut", "uram")

# column / tag names in the reports -> our resource keys
_RESOURCE_NAMES = {
    "BRAM_18K": "bram_18k",
    "BRAM": "bram_18k",
    "DSP48E": "dsp",
    "DSP48E1": "dsp",
    "DSP48E2": "dsp",
    "DSP": "dsp",
    "FF": "ff",
    "LUT": "lut",
    "URAM": "uram",
}


class ReportParseError(ValueError):
    """A report file that does not look like the report it should be."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {problem}")


@dataclass
class SynthesisSummary:
    """Top-level numbers of one C-synthesis report.

    Latency and interval are in clock cycles; ``None`` where the tool could not bound them (``?``).
    """

    top: str
    tool: str  # "Vivado HLS" or "Vitis HLS"
    tool_version: str  # e.g. "2019.2"
    part: str
    clock_target_ns: float
    clock_est_ns: float
    latency_best: int | None
    latency_worst: int | None
    ii_min: int | None
    ii_max: int | None
    bram_18k: int
    dsp: int
    ff: int
    lut: int
    uram: int | None  # None: the report has no URAM column
    avail_bram_18k: int | None = None
    avail_dsp: int | None = None
    avail_ff: int | None = None
    avail_lut: int | None = None
    avail_uram: int | None = None
    clock_uncertainty_ns: float | None = None
    pipeline_type: str | None = None
    product_family: str | None = None
    tool_build: str | None = None  # e.g. "Build 2704478 on Wed Nov 06 22:10:23 MST 2019" (text report only)
    source: str | None = None

    @property
    def tool_string(self) -> str:
        """Tool, version and build as the text report's header gives them, e.g.
        ``Vivado HLS 2019.2 (Build 2704478 on Wed Nov 06 22:10:23 MST 2019)``."""
        s = f"{self.tool} {self.tool_version}"
        return f"{s} ({self.tool_build})" if self.tool_build else s

    def resources(self) -> dict[str, int | None]:
        return {k: getattr(self, k) for k in RESOURCE_KEYS}

    def available(self) -> dict[str, int | None]:
        return {k: getattr(self, f"avail_{k}") for k in RESOURCE_KEYS}


@dataclass
class VivadoSynthSummary:
    """Whole-device utilisation after Vivado logic synthesis (``report_utilization``)."""

    lut: int
    ff: int  # "Slice/CLB Registers"
    dsp: int
    bram_tile: float  # 36 Kb tiles; a RAMB18 counts 0.5
    uram: int | None = None  # None on parts without URAM rows (7-series)
    avail_lut: int | None = None
    avail_ff: int | None = None
    avail_dsp: int | None = None
    avail_bram_tile: int | None = None
    avail_uram: int | None = None
    tool_version: str | None = None  # e.g. "2019.2"
    device: str | None = None  # as Vivado writes it, e.g. "xcu250figd2104-2L"
    source: str | None = None


@dataclass
class ReportPaths:
    """The report files of one hls4ml project (``None`` where absent)."""

    project_dir: Path
    top: str
    csynth_rpt: Path | None = None
    csynth_xml: Path | None = None
    vivado_synth_rpt: Path | None = None
    solution_data_json: Path | None = None
    others: list[Path] = field(default_factory=list)

    @property
    def has_csynth(self) -> bool:
        return self.csynth_rpt is not None or self.csynth_xml is not None


# --------------------------------------------------------------------------------------------------
# ASCII tables ("+----+" / "| .. |")


@dataclass
class _Table:
    columns: list[str]  # header texts, group header joined with sub-header ("Latency (cycles) min")
    rows: list[list[str]]
    line: int  # index of the table's first line in the file

    def col(self, pattern: str) -> int | None:
        """Index of the first column whose name matches ``pattern`` (a regex, full match, no case)."""
        rx = re.compile(pattern, re.IGNORECASE)
        for i, c in enumerate(self.columns):
            if rx.fullmatch(c):
                return i
        return None

    def row(self, first_cell: str) -> list[str] | None:
        for r in self.rows:
            if r and r[0] == first_cell:
                return r
        return None


def _spans(sep_line: str) -> list[tuple[int, int]]:
    """Column spans (between consecutive '+') of a separator line."""
    pos = [i for i, ch in enumerate(sep_line) if ch == "+"]
    return list(zip(pos, pos[1:], strict=False))


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    return [line[a + 1 : b].strip() for a, b in spans]


def _header_names(header_lines: list[str], spans: list[tuple[int, int]]) -> list[str]:
    """Name each column by the header text above it; a group header ("Latency (cycles)") spans several
    columns and prefixes each of their sub-headers ("min", "max")."""
    names: list[list[str]] = [[] for _ in spans]
    for line in header_lines:
        bars = [i for i, ch in enumerate(line) if ch == "|"]
        segments = list(zip(bars, bars[1:], strict=False))
        for ci, (a, b) in enumerate(spans):
            for s, e in segments:
                if s <= a and b <= e:
                    text = line[s + 1 : e].strip()
                    if text:
                        names[ci].append(text)
                    break
    return [" ".join(n) for n in names]


def _tables(lines: list[str]) -> list[_Table]:
    """All ASCII tables of a report, in file order."""
    tables: list[_Table] = []
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("+-"):
            i += 1
            continue
        start = i
        block = []
        while i < len(lines) and lines[i].lstrip()[:1] in ("+", "|"):
            block.append(lines[i].rstrip())
            i += 1
        seps = [k for k, ln in enumerate(block) if ln.lstrip().startswith("+")]
        spans = _spans(block[0])
        if len(seps) >= 2 and spans:
            header = block[seps[0] + 1 : seps[1]]
            body = [ln for ln in block[seps[1] + 1 :] if ln.lstrip().startswith("|")]
            tables.append(_Table(_header_names(header, spans), [_cells(ln, spans) for ln in body], start))
    return tables


def _first_table_after(tables: list[_Table], line: int) -> _Table | None:
    return next((t for t in tables if t.line > line), None)


_NUM = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _int_or_none(text: str | None) -> int | None:
    """A cycle count or resource cell: ``?``/``undef`` (not bounded by the tool) is ``None``, ``-`` is 0."""
    if text is None:
        return None
    t = text.strip()
    if t in ("?", "undef", ""):
        return None
    if t == "-":
        return 0
    m = _NUM.search(t)
    if m is None:
        return None
    return int(float(m.group()))


def _float_or_none(text: str | None) -> float | None:
    if text is None:
        return None
    m = _NUM.search(text)
    return float(m.group()) if m else None


def _require(value: Any, path: Path, what: str) -> Any:
    if value is None:
        raise ReportParseError(path, f"no {what} found")
    return value


# --------------------------------------------------------------------------------------------------
# *_csynth.rpt

_HEADER_RX = re.compile(r"==\s*(Vivado|Vitis)\s+HLS\s+Report\s+for\s+'([^']+)'")
_VERSION_RX = re.compile(r"^\*\s*Version:\s*(\S+)(?:\s*\((.*)\))?", re.MULTILINE)
_DEVICE_RX = re.compile(r"^\*\s*Target device:\s*(\S+)", re.MULTILINE)
_FAMILY_RX = re.compile(r"^\*\s*Product family:\s*(\S+)", re.MULTILINE)


def _section_line(lines: list[str], title: str, start: int = 0) -> int | None:
    rx = re.compile(rf"^==\s*{re.escape(title)}")
    return next((i for i in range(start, len(lines)) if rx.match(lines[i].strip())), None)


def _subsection_line(lines: list[str], prefix: str, start: int) -> int | None:
    """First line after ``start`` that starts with ``prefix`` (e.g. ``+ Timing``)."""
    return next((i for i in range(start, len(lines)) if lines[i].strip().startswith(prefix)), None)


def _resources_from_row(table: _Table, row: list[str] | None) -> dict[str, int | None]:
    out: dict[str, int | None] = {k: None for k in RESOURCE_KEYS}
    if row is None:
        return out
    for i, name in enumerate(table.columns):
        key = _RESOURCE_NAMES.get(name.upper())
        if key is not None and i < len(row):
            out[key] = _int_or_none(row[i])
    return out


def parse_csynth_rpt(path: str | Path) -> SynthesisSummary:
    """Parse a Vivado HLS / Vitis HLS ``<top>_csynth.rpt`` text report."""
    path = Path(path)
    text = path.read_text(errors="replace")
    head = _HEADER_RX.search(text)
    if head is None:
        raise ReportParseError(path, "not a Vivado/Vitis HLS synthesis report (no 'HLS Report for' header)")
    tool, top = f"{head.group(1)} HLS", head.group(2)
    version = _VERSION_RX.search(text)
    device = _DEVICE_RX.search(text)
    family = _FAMILY_RX.search(text)

    lines = text.splitlines()
    tables = _tables(lines)

    perf = _require(_section_line(lines, "Performance Estimates"), path, "'Performance Estimates' section")
    timing_at = _require(_subsection_line(lines, "+ Timing", perf), path, "timing summary")
    timing = _require(_first_table_after(tables, timing_at), path, "timing table")
    clk_row = timing.row("ap_clk") or (timing.rows[0] if timing.rows else None)
    clk_row = _require(clk_row, path, "clock row")
    i_target, i_est, i_unc = timing.col("Target"), timing.col("Estimated"), timing.col("Uncertainty")

    lat_at = _require(_subsection_line(lines, "+ Latency", perf), path, "latency summary")
    lat = _require(_first_table_after(tables, lat_at), path, "latency table")
    lat_row = _require(lat.rows[0] if lat.rows else None, path, "latency row")
    # "Latency (cycles) min" (2019.2+, Vitis) or "Latency min" (2019.1) -- never "Latency (absolute) ..."
    i_lmin = lat.col(r"Latency(\s*\(cycles\))?\s+min")
    i_lmax = lat.col(r"Latency(\s*\(cycles\))?\s+max")
    i_imin, i_imax = lat.col(r"Interval\s+min"), lat.col(r"Interval\s+max")
    i_pipe = lat.col(r"Pipeline\s*Type")
    if None in (i_lmin, i_lmax, i_imin, i_imax):
        raise ReportParseError(path, f"unexpected latency table columns {lat.columns}")

    util_at = _require(_section_line(lines, "Utilization Estimates"), path, "'Utilization Estimates' section")
    util = _require(_first_table_after(tables, util_at), path, "utilisation table")
    used = _resources_from_row(util, _require(util.row("Total"), path, "'Total' utilisation row"))
    avail = _resources_from_row(util, util.row("Available"))
    for k in ("bram_18k", "dsp", "ff", "lut"):
        _require(used[k], path, f"{k} in the 'Total' row")

    def cell(row: list[str], i: int | None) -> str | None:
        return row[i] if i is not None and i < len(row) else None

    return SynthesisSummary(
        top=top,
        tool=tool,
        tool_version=version.group(1) if version else "unknown",
        tool_build=version.group(2) if version and version.group(2) else None,
        part=device.group(1) if device else "unknown",
        product_family=family.group(1) if family else None,
        clock_target_ns=_require(_float_or_none(cell(clk_row, i_target)), path, "target clock"),
        clock_est_ns=_require(_float_or_none(cell(clk_row, i_est)), path, "estimated clock"),
        clock_uncertainty_ns=_float_or_none(cell(clk_row, i_unc)),
        latency_best=_int_or_none(cell(lat_row, i_lmin)),
        latency_worst=_int_or_none(cell(lat_row, i_lmax)),
        ii_min=_int_or_none(cell(lat_row, i_imin)),
        ii_max=_int_or_none(cell(lat_row, i_imax)),
        pipeline_type=cell(lat_row, i_pipe),
        bram_18k=used["bram_18k"],
        dsp=used["dsp"],
        ff=used["ff"],
        lut=used["lut"],
        uram=used["uram"],
        avail_bram_18k=avail["bram_18k"],
        avail_dsp=avail["dsp"],
        avail_ff=avail["ff"],
        avail_lut=avail["lut"],
        avail_uram=avail["uram"],
        source=str(path),
    )


# --------------------------------------------------------------------------------------------------
# *_csynth.xml


def _xml_text(node: ET.Element | None, tag: str) -> str | None:
    if node is None:
        return None
    child = node.find(tag)
    return child.text.strip() if child is not None and child.text is not None else None


def _xml_resources(node: ET.Element | None) -> dict[str, int | None]:
    out: dict[str, int | None] = {k: None for k in RESOURCE_KEYS}
    if node is None:
        return out
    for child in node:
        key = _RESOURCE_NAMES.get(child.tag.upper())
        if key is not None:
            out[key] = _int_or_none(child.text)
    return out


def _xml_tool(root: ET.Element, version: str) -> str:
    """The XML report does not name its tool: Vitis HLS writes ``<DSP>`` (Vivado HLS ``<DSP48E>``) and
    a ``<FlowTarget>``; Vivado HLS was last released as 2020.1."""
    if root.find("./UserAssignments/FlowTarget") is not None or root.find("./AreaEstimates/Resources/DSP") is not None:
        return "Vitis HLS"
    m = re.match(r"(\d{4})\.(\d+)", version)
    if m and (int(m.group(1)), int(m.group(2))) > (2020, 1):
        return "Vitis HLS"
    return "Vivado HLS"


def parse_csynth_xml(path: str | Path) -> SynthesisSummary:
    """Parse a Vivado HLS / Vitis HLS ``<top>_csynth.xml`` report (the file hls4ml reads)."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ReportParseError(path, f"invalid XML: {e}") from None
    if root.find("./PerformanceEstimates") is None or root.find("./AreaEstimates") is None:
        raise ReportParseError(path, "not an HLS synthesis report (no PerformanceEstimates/AreaEstimates)")
    version = _xml_text(root.find("./ReportVersion"), "Version") or "unknown"
    user = root.find("./UserAssignments")
    perf = root.find("./PerformanceEstimates")
    lat = perf.find("./SummaryOfOverallLatency") if perf is not None else None
    used = _xml_resources(root.find("./AreaEstimates/Resources"))
    avail = _xml_resources(root.find("./AreaEstimates/AvailableResources"))
    for k in ("bram_18k", "dsp", "ff", "lut"):
        _require(used[k], path, f"<Resources> {k}")
    return SynthesisSummary(
        top=_xml_text(user, "TopModelName") or path.name.removesuffix("_csynth.xml"),
        tool=_xml_tool(root, version),
        tool_version=version,
        part=_xml_text(user, "Part") or "unknown",
        product_family=_xml_text(user, "ProductFamily"),
        clock_target_ns=_require(_float_or_none(_xml_text(user, "TargetClockPeriod")), path, "TargetClockPeriod"),
        clock_est_ns=_require(
            _float_or_none(_xml_text(perf.find("./SummaryOfTimingAnalysis") if perf is not None else None,
                                     "EstimatedClockPeriod")),
            path, "EstimatedClockPeriod"),
        clock_uncertainty_ns=_float_or_none(_xml_text(user, "ClockUncertainty")),
        latency_best=_int_or_none(_xml_text(lat, "Best-caseLatency")),
        latency_worst=_int_or_none(_xml_text(lat, "Worst-caseLatency")),
        ii_min=_int_or_none(_xml_text(lat, "Interval-min")),
        ii_max=_int_or_none(_xml_text(lat, "Interval-max")),
        pipeline_type=_xml_text(perf, "PipelineType"),
        bram_18k=used["bram_18k"],
        dsp=used["dsp"],
        ff=used["ff"],
        lut=used["lut"],
        uram=used["uram"],
        avail_bram_18k=avail["bram_18k"],
        avail_dsp=avail["dsp"],
        avail_ff=avail["ff"],
        avail_lut=avail["lut"],
        avail_uram=avail["uram"],
        source=str(path),
    )


# --------------------------------------------------------------------------------------------------
# solution1_data.json


def parse_solution_data_json(path: str | Path, top: str | None = None) -> SynthesisSummary:
    """Parse the top module's metrics from a Vivado HLS ``<solution>_data.json``.

    This file has no part totals, so the ``avail_*`` fields are ``None``.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ReportParseError(path, f"invalid JSON: {e}") from None
    top = top or data.get("Top")
    metrics = data.get("ModuleInfo", {}).get("Metrics", {}).get(top)
    if metrics is None:
        raise ReportParseError(path, f"no ModuleInfo.Metrics for top module {top!r}")
    lat, timing, area = metrics.get("Latency", {}), metrics.get("Timing", {}), metrics.get("Area", {})
    target = data.get("Target", {})
    gen = data.get("GenData", {})
    tool_name = str(gen.get("ToolName", "vivado_hls"))
    used = {k: None for k in RESOURCE_KEYS}
    for tag, value in area.items():
        key = _RESOURCE_NAMES.get(tag.upper())
        if key is not None:
            used[key] = _int_or_none(value)
    return SynthesisSummary(
        top=top,
        tool="Vitis HLS" if "vitis" in tool_name.lower() else "Vivado HLS",
        tool_version=str(gen.get("ToolVersion", "unknown")),
        part=f"{target.get('Device', '')}{target.get('Package', '')}{target.get('Speed', '')}" or "unknown",
        product_family=target.get("Family"),
        clock_target_ns=_require(_float_or_none(timing.get("Target")), path, "Timing.Target"),
        clock_est_ns=_require(_float_or_none(timing.get("Estimate")), path, "Timing.Estimate"),
        clock_uncertainty_ns=_float_or_none(timing.get("Uncertainty")),
        latency_best=_int_or_none(lat.get("LatencyBest")),
        latency_worst=_int_or_none(lat.get("LatencyWorst")),
        ii_min=_int_or_none(lat.get("PipelineII")),
        ii_max=_int_or_none(lat.get("PipelineII")),
        pipeline_type=lat.get("PipelineType"),
        bram_18k=_require(used["bram_18k"], path, "Area.BRAM_18K"),
        dsp=_require(used["dsp"], path, "Area.DSP"),
        ff=_require(used["ff"], path, "Area.FF"),
        lut=_require(used["lut"], path, "Area.LUT"),
        uram=used["uram"],
        source=str(path),
    )


# --------------------------------------------------------------------------------------------------
# vivado_synth.rpt

_VIVADO_ROWS = {
    "Slice LUTs": "lut",
    "CLB LUTs": "lut",
    "Slice Registers": "ff",
    "CLB Registers": "ff",
    "DSPs": "dsp",
    "Block RAM Tile": "bram_tile",
    "URAM": "uram",
}
_VIVADO_VERSION_RX = re.compile(r"Tool Version\s*:\s*Vivado v\.(\S+)")
_VIVADO_DEVICE_RX = re.compile(r"\|\s*Device\s*:\s*(\S+)")


def parse_vivado_synth_rpt(path: str | Path) -> VivadoSynthSummary:
    """Parse the whole-device numbers of a Vivado ``report_utilization`` file (hls4ml's ``vivado_synth.rpt``)."""
    path = Path(path)
    text = path.read_text(errors="replace")
    if "report_utilization" not in text and "Utilization Design Information" not in text:
        raise ReportParseError(path, "not a Vivado utilisation report")
    used: dict[str, float] = {}
    avail: dict[str, float] = {}
    for table in _tables(text.splitlines()):
        i_site, i_used, i_avail = table.col("Site Type"), table.col("Used"), table.col("Available")
        if i_site is None or i_used is None:
            continue  # e.g. the per-SLR tables (SLR0, SLR1, ...), which repeat the row names
        for row in table.rows:
            key = _VIVADO_ROWS.get(row[i_site].rstrip("*").strip())
            if key is None or key in used:
                continue
            value = _float_or_none(row[i_used])
            if value is None:
                continue
            used[key] = value
            if i_avail is not None and (a := _float_or_none(row[i_avail])) is not None:
                avail[key] = a
    for key in ("lut", "ff", "dsp", "bram_tile"):
        _require(used.get(key), path, f"{key} row")
    version = _VIVADO_VERSION_RX.search(text)
    device = _VIVADO_DEVICE_RX.search(text)

    def as_int(d: dict[str, float], k: str) -> int | None:
        return int(d[k]) if k in d else None

    return VivadoSynthSummary(
        lut=int(used["lut"]),
        ff=int(used["ff"]),
        dsp=int(used["dsp"]),
        bram_tile=float(used["bram_tile"]),
        uram=as_int(used, "uram"),
        avail_lut=as_int(avail, "lut"),
        avail_ff=as_int(avail, "ff"),
        avail_dsp=as_int(avail, "dsp"),
        avail_bram_tile=as_int(avail, "bram_tile"),
        avail_uram=as_int(avail, "uram"),
        tool_version=version.group(1) if version else None,
        device=device.group(1) if device else None,
        source=str(path),
    )


# --------------------------------------------------------------------------------------------------
# locating and combining


_PROJECT_NAME_RX = re.compile(r'set\s+project_name\s+"([^"]+)"')
_BACKEND_RX = re.compile(r'set\s+backend\s+"([^"]+)"')


def _project_name_and_top(project_dir: Path) -> tuple[str, str]:
    """hls4ml writes ``project.tcl`` with the project name; the VivadoAccelerator top is ``<name>_axi``."""
    tcl = project_dir / "project.tcl"
    if not tcl.is_file():
        return "myproject", "myproject"
    text = tcl.read_text(errors="replace")
    name_m = _PROJECT_NAME_RX.search(text)
    name = name_m.group(1) if name_m else "myproject"
    backend_m = _BACKEND_RX.search(text)
    top = f"{name}_axi" if backend_m and "accelerator" in backend_m.group(1).lower() else name
    return name, top


def find_reports(project_dir: str | Path, top: str | None = None) -> ReportPaths:
    """Locate the top-level report files in an hls4ml output directory.

    Looks, in order, at the classic project layout that ``vivado_hls`` and hls4ml's Vitis build
    (``vitis-run --tcl build_prj.tcl``) both produce, ``<name>_prj/solution*/syn/report/<top>_csynth.*``,
    and at the Vitis unified-component layout, ``<component>/hls/syn/report/<top>_csynth.*``.
    ``vivado_synth.rpt`` is written by hls4ml's ``vivado_synth.tcl`` into the output directory itself.
    """
    pdir = Path(project_dir)
    name, default_top = _project_name_and_top(pdir)
    top = top or default_top
    candidates: list[Path] = []
    prj = pdir / f"{name}_prj"
    if prj.is_dir():
        candidates += sorted(p / "syn" / "report" for p in prj.glob("solution*") if p.is_dir())
    candidates += sorted(p.parent / "syn" / "report" for p in pdir.glob("**/hls/syn"))
    paths = ReportPaths(project_dir=pdir, top=top)
    for report_dir in candidates:
        rpt, xml = report_dir / f"{top}_csynth.rpt", report_dir / f"{top}_csynth.xml"
        if rpt.is_file() or xml.is_file():
            paths.csynth_rpt = rpt if rpt.is_file() else None
            paths.csynth_xml = xml if xml.is_file() else None
            paths.others = sorted(p for p in report_dir.glob("*_csynth.rpt") if p != rpt)
            solution = report_dir.parent.parent
            data_json = solution / f"{solution.name}_data.json"
            paths.solution_data_json = data_json if data_json.is_file() else None
            break
    vsynth = pdir / "vivado_synth.rpt"
    paths.vivado_synth_rpt = vsynth if vsynth.is_file() else None
    return paths


def read_csynth(paths: ReportPaths) -> SynthesisSummary:
    """The top-level summary of a project, from its XML report where present (the numbers hls4ml reads),
    completed with the text report's tool name and build; from the text report otherwise."""
    if paths.csynth_xml is not None:
        summary = parse_csynth_xml(paths.csynth_xml)
        if paths.csynth_rpt is not None:
            rpt = parse_csynth_rpt(paths.csynth_rpt)
            summary.tool, summary.tool_build = rpt.tool, rpt.tool_build
        return summary
    if paths.csynth_rpt is not None:
        return parse_csynth_rpt(paths.csynth_rpt)
    raise FileNotFoundError(f"{paths.project_dir}: no {paths.top}_csynth.rpt or .xml found")


def summary_to_hardware_report(
    summary: SynthesisSummary,
    backend: str,
    part: str,
    clock_ns: float,
    vsynth: VivadoSynthSummary | None = None,
) -> HardwareReport:
    """Turn a C-synthesis summary into the cost interface's :class:`HardwareReport`.

    The initiation interval is the worst case (``ii_max``). An undefined (``?``) latency or interval
    cannot be costed and raises ``ValueError``.
    """
    missing = [n for n in ("latency_best", "latency_worst", "ii_max") if getattr(summary, n) is None]
    if missing:
        raise ValueError(
            f"{summary.source or summary.top}: {', '.join(missing)} undefined ('?') in the synthesis report; "
            "the design has a data-dependent or unbounded loop"
        )
    details: dict[str, Any] = {
        "tool": summary.tool_string,
        "report_part": summary.part,
        "clock_target_ns": summary.clock_target_ns,
        "clock_uncertainty_ns": summary.clock_uncertainty_ns,
        "ii_min": summary.ii_min,
        "pipeline_type": summary.pipeline_type,
        "available": summary.available(),
        "source": summary.source,
    }
    if vsynth is not None:
        details["vsynth"] = {
            "lut": vsynth.lut,
            "ff": vsynth.ff,
            "dsp": vsynth.dsp,
            "bram_tile": vsynth.bram_tile,
            "uram": vsynth.uram,
            "tool_version": vsynth.tool_version,
            "source": vsynth.source,
        }
    return HardwareReport(
        backend=backend,
        part=part,
        clock_ns=float(clock_ns),
        latency_cycles=int(summary.latency_worst),
        latency_cycles_best=int(summary.latency_best),
        ii_cycles=int(summary.ii_max),
        dsp=summary.dsp,
        lut=summary.lut,
        ff=summary.ff,
        bram_18k=summary.bram_18k,
        uram=summary.uram or 0,
        clock_est_ns=summary.clock_est_ns,
        tool_version=f"{summary.tool} {summary.tool_version}",
        details=details,
    )

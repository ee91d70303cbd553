"""The per-instance latencies of a real Vivado/Vitis HLS csynth report (its "Instance" table), read here
independently of dse's report parsers: the expected values of the estimator's per-layer timing tests."""

from __future__ import annotations

import re
from pathlib import Path


def instance_latencies(rpt: Path) -> list[tuple[str, int, int, int | None]]:
    """``(module, min cycles, max cycles, hls4ml configN or None)`` of each row of the report's first Instance table."""
    lines = rpt.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if "* Instance:" in line)
    out = []
    for line in lines[first + 5:]:
        if line.strip().startswith("+"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        config = re.search(r"config(\d+)", cells[1])
        out.append((cells[1], int(cells[2]), int(cells[3]), int(config.group(1)) if config else None))
    return out


def latencies_by_kind(rpt: Path, kinds: tuple[str, ...]) -> dict[str, list[int]]:
    """The worst-case latency of each instance whose module starts with one of ``kinds``, in hls4ml's layer
    order (configN)."""
    found: dict[str, list[tuple[int, int]]] = {}
    for module, _, worst, config in instance_latencies(rpt):
        kind = next((k for k in kinds if module.startswith(k)), None)
        if kind:
            found.setdefault(kind, []).append((config or 0, worst))
    return {k: [lat for _, lat in sorted(v)] for k, v in found.items()}

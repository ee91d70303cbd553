"""The dashboard-note sections of the hls4ml cost backends (estimate, Vitis, Vivado): what hls4ml changed."""

from __future__ import annotations

from typing import Any

from dse.markdown import fmt, table


def hls4ml_note_sections(hw: dict[str, Any]) -> list[str]:
    """Reuse factors hls4ml substituted (its closest valid value) and layers costed by a fallback."""
    details = hw.get("details") or {}
    lines: list[str] = []
    subs = [s for s in details.get("reuse_factor_substitutions") or [] if isinstance(s, dict)]
    if subs:
        lines += ["**Reuse factors substituted** (hls4ml's closest valid value)", ""]
        keys = [k for k in ("layer", "product", "requested", "used") if any(k in s for s in subs)]
        lines += table(keys, [tuple(fmt(s.get(k)) for k in keys) for s in subs])
    fb = [f for f in details.get("fallback_layers") or [] if isinstance(f, dict)]
    if fb:
        lines += ["**Fallback layers** (no cost model for their kind)", ""]
        lines += table(("layer", "class", "reason"), [(fmt(f.get("name")), fmt(f.get("class")), fmt(f.get("reason")))
                                                      for f in fb])
    return lines

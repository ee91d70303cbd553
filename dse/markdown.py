"""Markdown pieces the dashboard notes are made of, for the core, the families and the cost backends alike."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["BAR_WIDTH", "bar", "cell", "fmt", "table"]

BAR_WIDTH = 20


def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v.is_integer() and abs(v) >= 10:  # counts stored as floats (LUT 31700.0)
            return f"{int(v):,}"
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) < 1000 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return cell(str(v))


def cell(s: str) -> str:
    """Text safe inside a Markdown table cell."""
    return s.replace("|", "\\|").replace("\n", " ")


def bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """A utilisation bar, e.g. ``███████░░░░░░░░░░░░░ 35.0 %`` (``‼`` past 100 %)."""
    if fraction is None or not math.isfinite(float(fraction)):
        return "–"
    f = max(0.0, float(fraction))
    filled = min(width, round(f * width))
    text = f"`{'█' * filled}{'░' * (width - filled)}` {100 * f:.1f} %"
    return text + (" ‼ over the part" if f > 1.0 else "")


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    rows = list(rows)
    if not rows:
        return []
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in r) + " |" for r in rows]
    return lines + [""]

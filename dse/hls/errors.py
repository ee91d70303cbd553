"""Errors of the FPGA conversion path (all are user-actionable, hence :class:`~dse.errors.UserInputError`)."""

from __future__ import annotations

from dse.errors import ConfigError, UserInputError


class DesignError(ConfigError):
    """A design point (precision, reuse factor, io type, ...) that hls4ml cannot implement correctly."""

    def __init__(self, problem: str, field: str | None = None) -> None:
        super().__init__("hls design", problem, field)


class UnsupportedModelError(UserInputError):
    """A Keras/QKeras model feature that hls4ml 1.3.0 would convert silently wrong (or not at all)."""

    def __init__(self, problem: str, layer: str | None = None) -> None:
        super().__init__("hls4ml conversion", problem, f"layer {layer!r}" if layer else None)

"""Errors the user can act on.

Every error raised for bad input derives from :class:`UserInputError`; the CLI turns it into one
line on stderr and exit code 2. The message always names the file (or source), the field and the
problem, e.g. ``data.npz: spikes: contains NaN``.
"""

from __future__ import annotations


class UserInputError(Exception):
    """Bad input from the user: a file, a field or a value that cannot be used."""

    def __init__(self, where: str, problem: str, field: str | None = None) -> None:
        self.where = str(where)
        self.field = field
        self.problem = problem
        text = f"{self.where}: {field}: {problem}" if field else f"{self.where}: {problem}"
        super().__init__(text)


class DataError(UserInputError):
    """A neural data file (or synthetic-data setting) that cannot be loaded or used."""


class ConfigError(UserInputError):
    """A study configuration (YAML) or a command-line option that is invalid."""


class PluginError(UserInputError):
    """An installed plug-in (a package's entry point) that cannot be used: it does not load, is not of the
    kind its group expects, or takes a name dse or another plug-in already has."""


class ToolNotFoundError(RuntimeError):
    """An external tool (Vitis HLS, Vivado HLS, GHDL, ...) is not installed."""

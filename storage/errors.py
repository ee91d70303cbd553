"""The one error storage raises for bad input: a database URL or database that cannot be used.

It carries the same parts as dse's user-input errors (where, field, problem: one line, password blanked),
so the service turns it into its own one-line error without storage depending on the service.
"""

from __future__ import annotations


class StorageConfigError(ValueError):
    """A storage URL (or the database it names) that cannot be used."""

    def __init__(self, where: str, problem: str, field: str | None = None) -> None:
        self.where, self.problem, self.field = str(where), problem, field
        super().__init__(f"{self.where}: {field}: {problem}" if field else f"{self.where}: {problem}")

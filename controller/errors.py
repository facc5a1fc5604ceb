"""The govnet exception hierarchy.

Every error a user can cause derives from :class:`GovnetError`. The CLI turns
it into one red line and a non-zero exit code at a single boundary
(``controller.cli.main.run``); library code never prints.
Third-party exceptions are translated at the edge with ``raise ... from exc``.
"""

from __future__ import annotations

from dataclasses import dataclass


class GovnetError(Exception):
    """Root of every error govnet reports to a user."""

    exit_code: int = 1


class UsageError(GovnetError):
    """A command was called with arguments that do not make sense."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in an input file: ``file:line: field: message``."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class InventoryError(GovnetError):
    """The inventory cannot be used; carries every problem found, located."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "invalid inventory"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(first + more)


class SecretError(GovnetError):
    """A secret reference cannot be resolved (missing env var or file)."""


class TopologyError(GovnetError):
    """A topology file is invalid or cannot be rendered."""


class LabError(GovnetError):
    """The namespace lab failed to come up, go down or run a command."""

"""Lab-specific errors, all derived from the govnet hierarchy."""

from __future__ import annotations

from collections.abc import Sequence

from controller.errors import LabError, Problem, TopologyError


class TopologyFileError(TopologyError):
    """A topology file is invalid; carries every located problem, reports the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        first = str(self.problems[0]) if self.problems else "invalid topology"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(first + more)


class CommandError(LabError):
    """A command the lab runs failed; carries the argv and its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        detail = self.stderr.splitlines()[-1] if self.stderr else f"exit code {returncode}"
        super().__init__(f"command failed: {' '.join(self.argv)}: {detail}")


class NotRootError(LabError):
    """The lab needs root (network namespaces, veths, daemons)."""

    def __init__(self) -> None:
        super().__init__("the namespace lab needs root (run as root or via sudo)")


__all__ = ["CommandError", "LabError", "NotRootError", "TopologyError", "TopologyFileError"]

"""Hosting errors: one line each, derived from GovnetError."""

from __future__ import annotations

from collections.abc import Mapping

from controller.errors import GovnetError


class HostingError(GovnetError):
    """A hosting request cannot be recorded, allocated, provisioned or freed."""


class RequestInvalid(HostingError):
    """A hosting request failed validation; carries every problem, field by field."""

    exit_code = 2

    def __init__(
        self, problems: list[tuple[str, str]], names: Mapping[str, str] | None = None
    ) -> None:
        self.problems = problems  # (field, message), in form order
        shown = names or {}
        text = "; ".join(f"{shown.get(field, field)}: {message}" for field, message in problems)
        super().__init__(f"invalid hosting request: {text}")

    def renamed(self, names: Mapping[str, str]) -> RequestInvalid:
        """The same problems, fields named as the user knows them (``--power``)."""
        return RequestInvalid(self.problems, names)

    def by_field(self) -> dict[str, str]:
        """The first message of each field (for a form)."""
        out: dict[str, str] = {}
        for field, message in self.problems:
            out.setdefault(field, message)
        return out


class DoesNotFit(HostingError):
    """The data centre has no room for the request: the message says what is short."""


class UnknownRequest(HostingError):
    """No hosting request with that id."""

    exit_code = 2


class StateError(HostingError):
    """The request is not in a state that allows this step."""


class HostingFileError(HostingError):
    """hosting.yaml cannot be read, located or rewritten."""

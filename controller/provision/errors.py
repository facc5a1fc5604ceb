"""Provisioning errors: one line per device, derived from GovnetError."""

from __future__ import annotations

from controller.errors import GovnetError


class ProvisionError(GovnetError):
    """A device could not be planned, changed, verified or restored."""


class ConnectError(ProvisionError):
    """The device did not answer on SSH (refused, timed out, no route)."""


class AuthError(ProvisionError):
    """The device refused the credentials."""


class HostKeyError(ProvisionError):
    """The device's SSH host key is unknown or changed: govnet refuses to talk to it."""


class CommandRejected(ProvisionError):
    """The device rejected a configuration command."""


def one_line(exc: BaseException) -> str:
    """An exception as one readable line: its first non-empty line, or — for the bare
    ``EOFError()`` paramiko raises when a peer hangs up — what happened and its type."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    if isinstance(exc, EOFError):
        return f"connection closed by the peer ({type(exc).__name__})"
    return type(exc).__name__

"""Errors of the Ansible layer: one line each, derived from GovnetError."""

from __future__ import annotations

from controller.errors import GovnetError


class PlaybookError(GovnetError):
    """A playbook cannot be found, prepared or run (not a per-host failure: those are data)."""


class UnknownPlaybookError(PlaybookError):
    """No playbook of that name in the playbook directory."""

    exit_code = 2

"""SOC errors: one line each, turned into a red line by the CLI."""

from __future__ import annotations

from controller.errors import GovnetError


class SocError(GovnetError):
    """Prometheus or Alertmanager could not be configured, started, reloaded or stopped."""


class BackendError(GovnetError):
    """Prometheus or Alertmanager did not answer, or answered with an error."""

"""Building PromQL from user input safely: every value is validated first (against the
inventory, by the caller) and still quoted as a PromQL string here."""

from __future__ import annotations

import re

_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def string(value: str) -> str:
    """A PromQL double-quoted string literal for ``value``."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def selector(metric: str, **labels: str) -> str:
    """``metric{a="x",b="y"}`` with every value quoted; label names must be identifiers."""
    if not _LABEL.match(metric.replace(":", "_")):
        raise ValueError(f"bad metric name {metric!r}")
    parts = []
    for name, value in labels.items():
        if not _LABEL.match(name):
            raise ValueError(f"bad label name {name!r}")
        parts.append(f"{name}={string(value)}")
    return f"{metric}{{{','.join(parts)}}}"

"""Printing: rich tables for people, JSON for scripts, errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from controller import masking

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else; every secret value
    known to the process masked (commands that print configurations also mask patterns)."""
    plain = json.loads(json.dumps(data, default=str))
    print(json.dumps(masking.mask_data(plain, patterns=False), indent=2, sort_keys=False))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    result = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        numeric = column.lower() in {"communes", "sangkats", "devices", "links", "count", "n"}
        result.add_column(column, justify="right" if numeric else "left")
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result


def error(message: str) -> None:
    """One red line on stderr (the message is shown as is, never as markup)."""
    sys.stdout.flush()
    shown = masking.mask_values(message)
    err_console.print(Text.assemble(("error: ", "bold red"), shown), soft_wrap=True)


def problem_lines(problems: Sequence[object], limit: int | None = None) -> list[str]:
    shown = problems if limit is None else problems[:limit]
    lines = [str(p) for p in shown]
    if limit is not None and len(problems) > limit:
        lines.append(
            f"… and {len(problems) - limit} more (govnet inventory validate lists them all)"
        )
    return lines

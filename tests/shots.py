"""Rendered outputs to look at: copied to $GOVNET_SCREENSHOTS when it is set."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def keep(source: Path, name: str | None = None) -> None:
    folder = os.environ.get("GOVNET_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(source, Path(folder) / (name or source.name))

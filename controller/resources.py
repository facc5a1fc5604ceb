"""Files govnet ships beside its code: the Ansible playbooks and the SOC's alert rules and
Alertmanager configuration.

They live at the top of the repository (``playbooks/``, ``soc/``), where engineers edit
and review them; ``controller/bundled/`` links to them, and the wheel carries them as
package data of ``controller.bundled.*``. Found through :mod:`importlib.resources`, so an
installed govnet (``pip install .``, a wheel) finds them without the source tree, and an
editable one finds the repository's own files.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from controller.errors import GovnetError


def bundled(*parts: str) -> Path:
    """The path of a shipped file or folder, e.g. ``bundled("soc", "rules")``."""
    found = files("controller").joinpath("bundled", *parts)
    if not isinstance(found, Path):  # a zip import: Prometheus and Ansible need real files
        raise GovnetError(f"govnet's bundled {'/'.join(parts)} is not on a file system")
    return found.resolve()

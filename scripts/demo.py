"""`make demo`: the main job on the built-in data, step by step, with headings.

Today: validate and summarise the national inventory and the lab inventory, and
export the national network as an Ansible inventory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOVNET = str(Path(sys.executable).parent / "govnet")

STEPS: list[tuple[str, list[str]]] = [
    ("Validate the national inventory", ["inventory", "validate", "-i", "inventory/cambodia"]),
    ("What it holds, by province", ["inventory", "show", "-i", "inventory/cambodia"]),
    ("Validate the lab inventory", ["inventory", "validate", "-i", "inventory/lab"]),
    (
        "Export it for Ansible",
        ["inventory", "export", "ansible", "-i", "inventory/cambodia", "-o", ".govnet/hosts.yml"],
    ),
]


def main() -> int:
    for title, args in STEPS:
        print(f"\n\033[1m== {title}: govnet {' '.join(args)}\033[0m", flush=True)
        result = subprocess.run([GOVNET, *args], cwd=ROOT, check=False)
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())

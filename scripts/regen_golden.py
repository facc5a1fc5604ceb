"""Rewrite the expected output of the golden tests; review the diff before committing.

    .venv/bin/python scripts/regen_golden.py

Each ``tests/inventory/errors/<case>.yaml`` gets ``<case>.log``: the exact lines
``govnet inventory validate`` prints for it (run from the repository root).
"""

from __future__ import annotations

import os
from pathlib import Path

from controller.inventory import validate_inventory

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    os.chdir(ROOT)
    for case in sorted(Path("tests/inventory/errors").glob("*.yaml")):
        result = validate_inventory(case)
        case.with_suffix(".log").write_text("".join(f"{p}\n" for p in result.problems))
        print(f"{case}: {len(result.problems)} problems")


if __name__ == "__main__":
    main()

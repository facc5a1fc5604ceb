"""Rewrite the expected output of the golden tests; review the diff before committing.

    .venv/bin/python scripts/regen_golden.py

Each ``tests/inventory/errors/<case>.yaml`` gets ``<case>.log``: the exact lines
``govnet inventory validate`` prints for it (run from the repository root); each
device in GOLDEN_DEVICES gets its rendered configuration under tests/render/golden/;
each managed-scope case ``tests/provision/golden/<platform>/<device>.running.conf`` gets
its expected plan (``.plan``) and per-feature compliance (``.compliance.json``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from controller.inventory import load_inventory, validate_inventory
from controller.render.intent import build_intents
from controller.render.templates import render

ROOT = Path(__file__).resolve().parent.parent
# Devices whose rendered configuration is pinned, per platform (national inventory).
GOLDEN_DEVICES = ("core-1", "ndc-1", "pr-kh23", "pr-kh12", "mr-mef")
GOLDEN_CONFIGS = Path("tests/render/golden")


def main() -> None:
    os.chdir(ROOT)
    for case in sorted(Path("tests/inventory/errors").glob("*.yaml")):
        result = validate_inventory(case)
        case.with_suffix(".log").write_text("".join(f"{p}\n" for p in result.problems))
        print(f"{case}: {len(result.problems)} problems")
    intents = build_intents(load_inventory(Path("inventory/cambodia")))
    for name in GOLDEN_DEVICES:
        intent = intents[name]
        path = GOLDEN_CONFIGS / intent.platform.value / f"{name}.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(intent))
        print(f"{path}: {len(path.read_text().splitlines())} lines")
    sys.path.insert(0, str(ROOT))  # the golden cases live with the tests
    from tests.provision.golden_cases import cases

    for golden in cases():
        golden.plan_file.write_text(golden.plan_text())
        golden.compliance_file.write_text(golden.compliance_text())
        print(f"{golden.plan_file}: {len(golden.plan_file.read_text().splitlines())} commands")


if __name__ == "__main__":
    main()

"""The golden managed-scope cases: a realistic running config per platform → the plan
and the per-feature compliance govnet computes for it (``scripts/regen_golden.py``
rewrites the expected files for review).

``tests/provision/golden/<platform>/<device>.running.conf`` is the input (hand-written,
full of lines govnet does not own); ``<device>.plan`` holds the expected commands and
``<device>.compliance.json`` the expected compliance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from controller.inventory import load_inventory
from controller.inventory.model import Inventory
from controller.provision.plan import DeviceSpec, device_compliance, device_specs, plan_device

ROOT = Path(__file__).resolve().parent.parent.parent
GOLDEN = ROOT / "tests/provision/golden"
INVENTORY = {"cisco_ios": "inventory/cambodia", "huawei_vrp": "inventory/cambodia"}
"""Where each platform's golden devices come from (FRR: the lab inventory)."""


@dataclass(frozen=True)
class Case:
    running_file: Path

    @property
    def platform(self) -> str:
        return self.running_file.parent.name

    @property
    def device(self) -> str:
        return self.running_file.name.removesuffix(".running.conf")

    @property
    def id(self) -> str:
        return f"{self.platform}/{self.device}"

    @property
    def running(self) -> str:
        return self.running_file.read_text()

    @property
    def plan_file(self) -> Path:
        return self.running_file.with_name(f"{self.device}.plan")

    @property
    def compliance_file(self) -> Path:
        return self.running_file.with_name(f"{self.device}.compliance.json")

    def spec(self) -> DeviceSpec:
        return _spec(self.platform, self.device)

    def plan_text(self) -> str:
        return "".join(f"{c}\n" for c in plan_device(self.spec(), self.running).commands)

    def compliance_text(self) -> str:
        report = [f.as_dict() for f in device_compliance(self.spec(), self.running)]
        return json.dumps(report, indent=2) + "\n"


@cache
def _inventory(path: str) -> Inventory:
    return load_inventory(ROOT / path)


@cache
def _spec(platform: str, device: str) -> DeviceSpec:
    inv = _inventory(INVENTORY.get(platform, "inventory/lab"))
    return device_specs(inv, [inv.device(device)], None)[0]


def cases() -> list[Case]:
    return [Case(p) for p in sorted(GOLDEN.glob("*/*.running.conf"))]

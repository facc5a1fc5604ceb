"""Change records for console tests: recorded as `govnet change new` records them (the
impact computed from the inventory), then moved to the state a test needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.change.impact import Failure, Network
from controller.change.records import ChangeRecord, ChangeStore, Window
from controller.inventory import load_inventory
from tests.conftest import ROOT

LAB = ROOT / "inventory/lab"
BATTAMBANG_UPLINK = "core-1:eth5--pr-kh2:eth1"
MEF_UPLINK = "core-1:eth6--mr-mef:eth1"


def record_change(
    state_dir: Path,
    title: str,
    *,
    links: tuple[str, ...] = (),
    devices: tuple[str, ...] = (),
    sites: tuple[str, ...] = (),
    starts_in: timedelta = timedelta(hours=1),
    lasts: timedelta = timedelta(hours=2),
    state: str = "planned",
    inventory: Path = LAB,
) -> ChangeRecord:
    start = datetime.now(UTC).replace(microsecond=0) + starts_in
    impact = Network(load_inventory(inventory)).impact(Failure(links, devices, sites))
    store = ChangeStore(state_dir)
    record = store.create(
        title=title,
        reason="test",
        author="cli:test",
        window=Window(start, start + lasts),
        impact=impact,
        inventory=str(inventory),
        revision="",
    )
    if state in ("running", "finished"):
        record = store.start(record.id, "cli:test", [])
    if state == "finished":
        record = store.finish(record.id, "cli:test")
    return record

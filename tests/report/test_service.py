"""What a report covers, from the inventory and the change records (no Prometheus)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.change.impact import Failure, Network
from controller.change.records import ChangeStore, Window
from controller.errors import UsageError
from controller.inventory import load_inventory
from controller.report import service
from controller.report.service import UnknownScope
from tests.conftest import ROOT

LAB = load_inventory(ROOT / "inventory/lab")


def test_a_report_names_exactly_one_known_tenant_or_province() -> None:
    assert service.scope_of(LAB, "MEF", None).name == "Ministry of Economy and Finance"
    assert service.scope_of(LAB, None, "KH-2").name == "Battambang"
    with pytest.raises(UnknownScope, match=r"did you mean MEF\?"):
        service.scope_of(LAB, "MEFF", None)
    with pytest.raises(UsageError, match="one of them"):
        service.scope_of(LAB, "MEF", "KH-2")
    with pytest.raises(UsageError, match="one of them"):
        service.scope_of(LAB, None, None)


def test_a_tenant_report_covers_its_routers_and_ministry_links() -> None:
    everything = service.subjects(LAB)
    scope = service.scope_of(LAB, "MEF", None)
    chosen = service.in_scope(scope, everything)
    assert [s.device for s in chosen] == ["mr-mef"]
    assert chosen[0].parents == ("core-1",)
    links = service.ministry_links(LAB, scope, {"mr-mef"})
    assert [(link.link, link.device) for link in links] == [("core-1:eth6--mr-mef:eth1", "mr-mef")]


def test_a_province_report_covers_every_device_of_the_province() -> None:
    everything = service.subjects(LAB)
    chosen = service.in_scope(service.scope_of(LAB, None, "KH-2"), everything)
    assert sorted(s.device for s in chosen) == [
        "cpe-020101",
        "cpe-020102",
        "cpe-020301",
        "cpe-020302",
        "pr-kh2",
    ]
    assert everything["cpe-020101"].parents == ("pr-kh2",)


def test_slos_come_from_the_inventory_as_ratios() -> None:
    slos = service.slos(LAB)
    assert slos["cpe"].availability == pytest.approx(0.995)
    assert slos["ministry-router"].rtt_p95_seconds == 0.030


def test_maintenance_is_what_a_change_takes_down_and_cancelled_ones_are_not(
    tmp_path: Path,
) -> None:
    store = ChangeStore(tmp_path)
    record = store.create(
        title="Battambang optic",
        reason="",
        author="test",
        window=Window(datetime(2026, 11, 5, 15, tzinfo=UTC), datetime(2026, 11, 5, 16, tzinfo=UTC)),
        impact=Network(LAB).impact(Failure(links=("core-1:eth5--pr-kh2:eth1",))),
        inventory="inventory/lab",
        revision="test",
    )
    (window,) = service.maintenance(service.change_records(tmp_path))
    assert window.change == record.id
    battambang = {"pr-kh2", "cpe-020101", "cpe-020102", "cpe-020301", "cpe-020302"}
    assert window.devices == battambang | {"col-kh2"}  # its regional collector with it
    assert window.end - window.start == 3600
    cancelled = store.list()
    object.__setattr__(cancelled[0], "state", "cancelled")
    assert service.maintenance(cancelled) == []
    assert service.change_records(tmp_path / "none") == []

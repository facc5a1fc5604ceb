"""Capacity per data centre, room and rack — as tables, JSON, and Prometheus gauges that
promtool accepts — and the SOC rule that warns when a room passes 80% of its power."""

from __future__ import annotations

import json
import shutil
import subprocess

from prometheus_client.parser import text_string_to_metric_families

from controller.hosting.capacity import capacity, prometheus_text
from controller.inventory import load_inventory
from tests.conftest import ROOT, require
from tests.hosting.conftest import NATIONAL_INVENTORY, Workspace, request_values

RULES = ROOT / "soc/rules"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text)[(name, tuple(sorted(labels.items())))]


def test_capacity_of_the_national_inventory() -> None:
    report = {dc.datacentre: dc for dc in capacity(load_inventory(NATIONAL_INVENTORY))}
    ndc = report["NDC"]
    assert ndc.allocations == 6 and len(ndc.racks) == 40
    a01 = ndc.racks[0]
    assert (a01.rack, a01.units_used, a01.units_free, a01.largest_free) == ("A01", 4, 38, 38)
    assert (a01.power_used, a01.power_free, a01.ports_free) == (2.5, 5.5, 48)
    hall_a = ndc.rooms[0]
    assert (hall_a.room, hall_a.power_used, hall_a.power_budget) == ("hall-a", 15.0, 144)
    assert (ndc.vlans_total, ndc.vlans_free) == (1000, 994)
    # 10.100.0.0/16 less six /26 (10.100.0.0 - 10.100.1.127)
    assert ndc.prefixes_free[26] == 1024 - 6
    assert ndc.prefixes_free[24] == 256 - 2
    assert ndc.largest_free_prefix == 17
    assert report["DR"].allocations == 0 and report["DR"].prefixes_free[22] == 64


def test_prometheus_text_passes_promtool_and_follows_approvals(lab_copy: Workspace) -> None:
    before = prometheus_text(capacity(load_inventory(lab_copy.inventory)))
    where = {"datacentre": "NDC", "room": "hall-a", "rack": "A01"}
    assert value(before, "govnet_rack_units_free", **where) == 38
    assert value(before, "govnet_rack_power_kw_free", **where) == 5.5
    assert value(before, "govnet_room_power_kw_used", datacentre="NDC", room="hall-a") == 2.5
    assert value(before, "govnet_room_power_kw_budget", datacentre="NDC", room="hall-a") == 40
    assert value(before, "govnet_hosting_vlans_free", datacentre="NDC") == 999
    assert value(before, "govnet_hosting_prefixes_free", datacentre="DR", size="24") == 255

    svc = lab_copy.service()
    ident = svc.submit(request_values(units=3, power_kw=2, prefix_len=24), "pytest").id
    svc.approve(ident, "pytest")
    after = prometheus_text(capacity(load_inventory(lab_copy.inventory)))
    assert value(after, "govnet_rack_units_free", **where) == 35
    assert value(after, "govnet_rack_power_kw_free", **where) == 3.5
    assert value(after, "govnet_room_power_kw_used", datacentre="NDC", room="hall-a") == 4.5
    assert value(after, "govnet_hosting_vlans_free", datacentre="NDC") == 998
    assert value(after, "govnet_hosting_prefixes_free", datacentre="NDC", size="24") == 254

    require(shutil.which("promtool") is not None, "promtool (Debian package prometheus)")
    for text in (before, after):
        checked = subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_cli_writes_the_textfile_atomically_and_prints_json(lab_copy: Workspace) -> None:
    prom = lab_copy.state / "textfile" / "govnet_hosting.prom"
    result = lab_copy.cli("capacity", "--prom-file", str(prom), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [dc["datacentre"] for dc in report] == ["NDC", "DR"]
    assert report[0]["racks"][0] == {
        "room": "hall-a",
        "rack": "A01",
        "units_total": 42,
        "units_used": 4,
        "units_free": 38,
        "units_largest_free": 38,
        "power_kw_budget": 8.0,
        "power_kw_used": 2.5,
        "power_kw_free": 5.5,
        "tor_ports_free": None,
    }
    assert report[0]["prefixes"]["free"]["/26"] == 1023
    text = prom.read_text()
    assert "# TYPE govnet_rack_units_free gauge" in text
    assert not list(prom.parent.glob(".*.tmp"))
    table = lab_copy.cli("capacity")
    assert table.returncode == 0 and "hall-a" in table.stdout and "A04" in table.stdout


def test_the_soc_rule_and_its_unit_test_pass_promtool() -> None:
    require(shutil.which("promtool") is not None, "promtool (Debian package prometheus)")
    checked = subprocess.run(
        ["promtool", "check", "rules", "hosting.yml"],
        cwd=RULES,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        ["promtool", "test", "rules", "hosting_test.yml"],
        cwd=RULES,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout

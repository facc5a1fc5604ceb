"""The managed scope of each platform: what govnet owns, declared as data.

Spec: every line a template renders is owned by a feature of its platform's table;
lines outside the scope never reach the diff; inside it the diff converges; a line the
device never prints (IOS ``no shutdown``) is not a change; a broken table is a located
error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.inventory.model import Platform
from controller.provision.dialects import CISCO_IOS, DIALECTS, FRR
from controller.provision.scope import ScopeError, load_scope, parse_scope
from controller.provision.tree import commands, parse, with_implicit
from tests.conftest import ROOT

RENDERED = sorted((ROOT / "tests/render/golden").rglob("*.conf")) + sorted(
    (ROOT / "topologies").glob("*/*/frr.conf")
)


def _platform(path: Path) -> Platform:
    return Platform.FRR if path.name == "frr.conf" else Platform(path.parent.name)


@pytest.mark.parametrize(
    "path", RENDERED, ids=[f"{p.parent.parent.name}/{p.parent.name}/{p.name}" for p in RENDERED]
)
def test_every_rendered_top_level_line_belongs_to_a_feature(path: Path) -> None:
    platform = _platform(path)
    tree = parse(path.read_text(), DIALECTS[platform])
    assert load_scope(platform).unowned(tree) == []


def test_each_platform_declares_the_features_govnet_owns() -> None:
    for platform in (Platform.FRR, Platform.CISCO_IOS, Platform.HUAWEI_VRP):
        features = set(load_scope(platform).features)
        assert {"interfaces", "ospf", "bgp", "static-routes", "routing-policy"} <= features


def test_lines_outside_the_scope_never_reach_the_diff() -> None:
    running = parse(
        "hostname r1\nline vty\n exec-timeout 0 0\nip route 192.0.2.0/24 blackhole\n"
        "interface eth0\n description mgmt\nip prefix-list LOCAL seq 5 permit any\n",
        FRR,
    )
    intended = parse("hostname r1\n", FRR)
    managed = load_scope(Platform.FRR).managed(running, intended, ["eth1"])
    assert [n.line for n in managed.children] == ["hostname r1"]
    assert commands(managed, intended, FRR) == []


def test_inside_the_scope_the_diff_removes_what_the_inventory_no_longer_wants() -> None:
    running = parse(
        "interface eth1\n ip ospf cost 9\nrouter bgp 65001\n neighbor 10.0.0.1 remote-as 1\n"
        "ip prefix-list GOVNET-OLD seq 5 permit any\n",
        FRR,
    )
    intended = parse("interface eth1\n", FRR)
    managed = load_scope(Platform.FRR).managed(running, intended, ["eth1"])
    assert commands(managed, intended, FRR) == [
        "no ip prefix-list GOVNET-OLD seq 5 permit any",
        "interface eth1",
        "no ip ospf cost 9",
        "exit",
        "no router bgp 65001",
    ]


def test_a_static_route_is_owned_only_when_the_inventory_names_its_prefix() -> None:
    running = parse("ip route 10.0.0.0/24 10.1.1.1\nip route 10.9.0.0/24 10.1.1.1\n", FRR)
    intended = parse("ip route 10.0.0.0/24 10.1.1.2\n", FRR)
    managed = load_scope(Platform.FRR).managed(running, intended)
    assert commands(managed, intended, FRR) == [
        "no ip route 10.0.0.0/24 10.1.1.1",
        "ip route 10.0.0.0/24 10.1.1.2",
    ]


def test_the_parent_of_a_rendered_sub_interface_stays_the_engineers() -> None:
    running = parse("interface eth3\n description trunk\n", CISCO_IOS)
    intended = parse("interface eth3.1000\n encapsulation dot1Q 1000\n", CISCO_IOS)
    managed = load_scope(Platform.CISCO_IOS).managed(running, intended, ["eth3"])
    assert managed.children == []


def test_ios_no_shutdown_is_not_a_change_because_ios_never_prints_it() -> None:
    intended = parse("interface eth1\n description x\n no shutdown\n", CISCO_IOS)
    up = parse("interface eth1\n description x\n", CISCO_IOS)
    down = parse("interface eth1\n description x\n shutdown\n", CISCO_IOS)
    assert commands(with_implicit(up, intended, CISCO_IOS), intended, CISCO_IOS) == []
    assert commands(with_implicit(down, intended, CISCO_IOS), intended, CISCO_IOS) == [
        "interface eth1",
        "no shutdown",
        "exit",
    ]


def test_a_bare_ios_port_the_inventory_names_is_left_alone() -> None:
    running = parse("interface eth2\n negotiation auto\n", CISCO_IOS)
    intended = parse("hostname r1\n", CISCO_IOS)
    managed = load_scope(Platform.CISCO_IOS).managed(running, intended, ["eth2"])
    assert managed.children == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"features": {"ospf": [{"match": "^router ospf ("}]}}, r"features\.ospf\[0\]: bad"),
        ({"features": {"bgp": [{"match": "^bgp", "owner": "me"}]}}, r"owner must be one of"),
        ({"features": {"sr": [{"match": "^ip route", "owner": "rendered"}]}}, r"needs a \(\?P"),
        ({"features": {"x": [{"match": "^x", "color": 1}]}}, r"unknown keys color"),
        ({"features": []}, r"expected a mapping with `features:`"),
    ],
)
def test_a_broken_scope_table_is_a_located_error(data: object, message: str) -> None:
    with pytest.raises(ScopeError, match=message):
        parse_scope("frr", data, "scope.yaml")


def test_compliance_reports_a_hand_added_key_but_never_its_secret() -> None:
    from controller.provision.scope import compliance

    running = parse("interface eth1\n ip ospf authentication-key s3cr3t\n", FRR)
    intended = parse("interface eth1\n", FRR)
    scope = load_scope(Platform.FRR)
    (interfaces,) = compliance(scope, scope.managed(running, intended), intended)
    assert interfaces.extra == [["interface eth1", "ip ospf authentication-key s3cr3t"]]
    assert "s3cr3t" not in str(interfaces.as_dict())
    assert interfaces.as_dict()["extra"] == [
        ["interface eth1", "ip ospf authentication-key <masked>"]
    ]

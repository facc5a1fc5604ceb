"""Golden managed-scope cases: a realistic running config per platform, full of lines
govnet does not own (AAA, local users, line vty, crypto/ssh, banners, the management
interface, hand-made ACLs and prefix-lists, static routes the inventory does not name).

Spec: the plan touches none of them; every in-scope difference is converged (after the
plan a second plan is empty); the plan and the per-feature compliance are exactly the
reviewed files (``scripts/regen_golden.py`` rewrites them). No Cisco or Huawei device
exists here: those cases are golden-only, applied to a fake device's configuration mode.
"""

from __future__ import annotations

import json

import pytest

from controller.provision.plan import device_compliance, plan_device
from controller.provision.tree import Node, canonical, parse, render_tree
from tests.provision.fake_device import apply_commands
from tests.provision.golden_cases import Case, cases

CASES = cases()
IDS = [c.id for c in CASES]

UNMANAGED = {
    "cisco_ios": [
        "aaa new-model",
        "aaa authentication login default local",
        "username netops privilege 15 secret 9 $9$hashedhashedhashedhashed",
        "username breakglass privilege 15 secret 9 $9$anotherhashanotherhash",
        "line vty 0 4",
        "line con 0",
        "crypto pki trustpoint TP-self-signed-1234567890",
        "ip ssh version 2",
        "banner motd ^C",
        "interface GigabitEthernet0",
        "vrf definition Mgmt-intf",
        "ip access-list extended MGMT-IN",
        "ip prefix-list MGMT-ONLY seq 5 permit 192.168.100.0/24",
        "ip route 172.16.0.0 255.240.0.0 Null0 name hand-blackhole",
        "ip route vrf Mgmt-intf 0.0.0.0 0.0.0.0 192.168.100.1",
        "logging host 192.168.100.20 vrf Mgmt-intf",
        "ntp server vrf Mgmt-intf 192.168.100.1",
        "no ip http server",
    ],
    "huawei_vrp": [
        "aaa",
        'header login information "Authorised access only. MPTC Kep."',
        "stelnet server enable",
        "ssh user netops authentication-type password",
        "acl number 3001",
        "interface GigabitEthernet0/0/0",
        "interface eth3",
        "user-interface vty 0 4",
        "info-center loghost 192.168.100.20 vpn-instance mgmt",
        "snmp-agent group v3 kep-local privacy read-view iso-view",
        "ip route-static 172.16.0.0 255.240.0.0 NULL0 description hand-blackhole",
        "ip route-static vpn-instance mgmt 0.0.0.0 0.0.0.0 192.168.100.1",
        "ip ip-prefix KEP-LOCAL index 10 permit 10.128.12.0 24",
    ],
    "frr": [
        "interface eth0",
        "line vty",
        "banner motd line Authorised access only: MPTC Battambang",
        "log timestamp precision 3",
        "ip route 192.0.2.0/24 blackhole",
        "ip route 0.0.0.0/0 192.168.100.1 vrf mgmt",
        "ip prefix-list HAND-MADE seq 5 permit 192.0.2.0/24",
        "route-map HAND-MADE permit 10",
    ],
}
"""Lines of each golden running config that belong to the engineers, not to govnet."""


def _subtree(root: Node, line: str) -> str:
    node = root.child(line)
    assert node is not None, f"{line!r} is not in the config"
    return render_tree(canonical(Node("", [node])))


def _after(case: Case) -> tuple[Node, Node]:
    spec = case.spec()
    before = parse(case.running, spec.dialect)
    plan = plan_device(spec, case.running)
    after = apply_commands(before, plan.commands, spec.dialect, parse(spec.intended, spec.dialect))
    return before, after


def test_every_platform_has_a_golden_running_config() -> None:
    assert {c.platform for c in CASES} == {"cisco_ios", "huawei_vrp", "frr"}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_plan_is_the_reviewed_file_no_real_ios_or_vrp_device_here(case: Case) -> None:
    assert case.plan_text() == case.plan_file.read_text()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_compliance_is_the_reviewed_file_no_real_ios_or_vrp_device_here(
    case: Case,
) -> None:
    assert json.loads(case.compliance_text()) == json.loads(case.compliance_file.read_text())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_plan_leaves_every_unmanaged_line_as_it_was_golden_only(case: Case) -> None:
    before, after = _after(case)
    spec = case.spec()
    managed = {n.line for n in spec.managed(case.running)[0].children}
    unmanaged = [n.line for n in before.children if n.line not in managed]
    assert set(UNMANAGED[case.platform]) <= set(unmanaged)
    for line in unmanaged:
        assert _subtree(after, line) == _subtree(before, line)
    for command in plan_device(spec, case.running).commands:
        assert command not in unmanaged
        assert command.removeprefix(f"{spec.dialect.negate} ") not in unmanaged


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_in_scope_differences_converge_in_one_plan_golden_only(case: Case) -> None:
    _, after = _after(case)
    spec = case.spec()
    assert plan_device(spec, case.running).commands, "the case must hold in-scope changes"
    assert plan_device(spec, render_tree(after)).commands == []
    assert all(f.compliant for f in device_compliance(spec, render_tree(after)))

"""The minimal change between a running and an intended configuration."""

from __future__ import annotations

from controller.provision.dialects import FRR, HUAWEI_VRP
from controller.provision.tree import commands, parse, render_tree, unified_diff

RUNNING = """frr version 8.4.4
frr defaults traditional
hostname pr-kh12
log syslog informational
service integrated-vtysh-config
!
interface eth1
 description old text
 ip address 10.0.0.1/31
exit
!
interface eth9
 description to be removed
 ip address 10.0.0.9/31
exit
!
ip route 10.9.9.9/32 10.0.0.8
!
router bgp 65001
 neighbor 10.0.0.8 remote-as 65002
exit
!
end
"""

INTENDED = """hostname pr-kh12
interface eth1
 description new text
 ip address 10.0.0.1/31
 ip ospf area 0.0.0.0
exit
interface eth2
 ip address 10.0.0.3/31
exit
router ospf
 ospf router-id 10.255.0.21
exit
"""


def test_version_stamps_comments_and_closers_are_not_configuration() -> None:
    tree = parse(RUNNING, FRR)
    assert [n.line for n in tree.children][:2] == ["hostname pr-kh12", "interface eth1"]
    assert "exit" not in render_tree(tree)


def test_only_what_differs_is_changed_in_a_safe_order() -> None:
    got = commands(parse(RUNNING, FRR), parse(INTENDED, FRR), FRR)
    assert got == [
        # what the intent no longer has: lines of kept blocks, then loose lines
        "interface eth9",
        "no description",
        "no ip address 10.0.0.9/31",
        "exit",
        "no ip route 10.9.9.9/32 10.0.0.8",
        # changes inside blocks both sides have; a new description replaces the old
        "interface eth1",
        "description new text",
        "ip ospf area 0.0.0.0",
        "exit",
        # new blocks in intended order
        "interface eth2",
        "ip address 10.0.0.3/31",
        "exit",
        "router ospf",
        "ospf router-id 10.255.0.21",
        "exit",
        # routing blocks removed whole, last
        "no router bgp 65001",
    ]


def test_no_change_when_running_already_matches() -> None:
    tree = parse(INTENDED, FRR)
    assert commands(tree, parse(INTENDED + "!\nend\n", FRR), FRR) == []


def test_the_diff_reads_like_a_unified_diff_of_normalised_configs() -> None:
    text = unified_diff(parse(RUNNING, FRR), parse(INTENDED, FRR), "pr-kh12")
    assert text.startswith("--- pr-kh12 (running)\n+++ pr-kh12 (intended)\n")
    assert "+ ip ospf area 0.0.0.0\n" in text and "-interface eth9\n" in text


def test_huawei_removes_with_undo_and_leaves_blocks_with_quit() -> None:
    running = parse("interface eth1\n ip address 10.0.0.1 255.255.255.254\n#\n", HUAWEI_VRP)
    intended = parse("interface eth1\n#\n", HUAWEI_VRP)
    assert commands(running, intended, HUAWEI_VRP) == [
        "interface eth1",
        "undo ip address 10.0.0.1 255.255.255.254",
        "quit",
    ]

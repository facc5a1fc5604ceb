"""Configuration dialects as data: how each platform writes, comments and negates.

Like scrapli's platforms, a dialect is data, not a subclass: the config tree
parser and the diff read these fields and nothing else knows platform syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from controller.inventory.model import Platform


@dataclass(frozen=True)
class Dialect:
    name: str
    negate: str
    """Prefix that removes a line: ``no`` (IOS, FRR) or ``undo`` (VRP)."""
    block_end: frozenset[str]
    """Lines that close a block and carry no configuration."""
    comments: tuple[str, ...]
    ignore: tuple[re.Pattern[str], ...]
    """Lines that are not configuration (banners, version stamps)."""
    enter: str
    """Command that enters configuration mode."""
    leave_block: str
    """Command that leaves a block after its children."""
    save: str
    """Command that saves the running configuration (run outside config mode)."""
    show_running: str
    remove_blocks_whole: tuple[re.Pattern[str], ...] = ()
    """Block headers removed with one ``no <header>``; other blocks lose children one by one."""
    single_valued: tuple[str, ...] = ()
    """Keywords set once per block: a new value replaces the old without a removal."""
    bare_negation: tuple[str, ...] = ()
    """Keywords removed without their argument (``no description``)."""
    implicit: tuple[str, ...] = ()
    """Lines the device applies but never shows (IOS never prints ``no shutdown``): in a
    block that both sides have, one counts as present unless its negation is shown."""
    adjacency_neutral: tuple[re.Pattern[str], ...] = ()
    """Lines whose addition, removal or new value can never take a routing adjacency down
    (a link cost, a description, NTP, logging, SNMP). A change made only of these needs no
    wait for a dead interval before it is judged: nothing in it can fail later."""


FRR = Dialect(
    name="frr",
    negate="no",
    block_end=frozenset({"exit", "exit-address-family", "end", "!"}),
    comments=("!",),
    ignore=(
        re.compile(r"^Building configuration"),
        re.compile(r"^Current configuration"),
        re.compile(r"^frr version "),
        re.compile(r"^frr defaults "),
        re.compile(r"^service integrated-vtysh-config$"),
        re.compile(r"^log syslog"),
    ),
    enter="configure terminal",
    leave_block="exit",
    save="write memory",
    show_running="show running-config",
    remove_blocks_whole=(re.compile(r"^router "),),
    single_valued=(
        "description",
        "hostname",
        "ospf router-id",
        "bgp router-id",
        "ip ospf area",
        "ip ospf cost",
        "ip ospf hello-interval",
        "ip ospf dead-interval",
        "ip ospf network",
    ),
    bare_negation=("description",),
    adjacency_neutral=(
        re.compile(r"^ip ospf cost \d+$"),
        re.compile(r"^description( |$)"),
        re.compile(r"^ntp "),
        re.compile(r"^log "),
        re.compile(r"^snmp-server "),
    ),
)

CISCO_IOS = Dialect(
    name="cisco_ios",
    negate="no",
    block_end=frozenset({"exit", "exit-address-family", "end", "!"}),
    comments=("!",),
    ignore=(
        re.compile(r"^Building configuration"),
        re.compile(r"^Current configuration"),
        re.compile(r"^version "),
        re.compile(r"^! Last configuration change"),
    ),
    enter="configure terminal",
    leave_block="exit",
    save="write memory",
    show_running="show running-config",
    remove_blocks_whole=(re.compile(r"^router "), re.compile(r"^interface \S+\.\d+$")),
    single_valued=(
        "description",
        "hostname",
        "router-id",
        "ip ospf cost",
        "ip ospf hello-interval",
        "ip ospf dead-interval",
        "ip ospf network",
        "bandwidth",
        "encapsulation dot1Q",
        "snmp-server location",
        "snmp-server contact",
    ),
    bare_negation=("description",),
    implicit=("no shutdown",),
    adjacency_neutral=(
        re.compile(r"^ip ospf cost \d+$"),
        re.compile(r"^description( |$)"),
        re.compile(r"^ntp "),
        re.compile(r"^logging "),
        re.compile(r"^snmp-server "),
    ),
)

HUAWEI_VRP = Dialect(
    name="huawei_vrp",
    negate="undo",
    block_end=frozenset({"quit", "return", "#"}),
    comments=("#",),
    ignore=(re.compile(r"^!Software Version"), re.compile(r"^ ?sysname-version")),
    enter="system-view",
    leave_block="quit",
    save="save",
    show_running="display current-configuration",
    remove_blocks_whole=(re.compile(r"^ospf "), re.compile(r"^interface \S+\.\d+$")),
    single_valued=(
        "description",
        "sysname",
        "ospf cost",
        "ospf timer hello",
        "ospf timer dead",
        "ospf network-type",
        "dot1q termination vid",
        "snmp-agent sys-info location",
        "snmp-agent sys-info contact",
    ),
    bare_negation=("description",),
    implicit=("undo shutdown",),
    adjacency_neutral=(
        re.compile(r"^ospf cost \d+$"),
        re.compile(r"^description( |$)"),
        re.compile(r"^ntp-service "),
        re.compile(r"^info-center "),
        re.compile(r"^snmp-agent "),
    ),
)

DIALECTS: dict[Platform, Dialect] = {
    Platform.FRR: FRR,
    Platform.CISCO_IOS: CISCO_IOS,
    Platform.HUAWEI_VRP: HUAWEI_VRP,
}

"""Post-change checks of a link: interfaces up, routing adjacency up, ping both ways.

What each platform answers is parsed here (FRR's JSON, IOS and VRP text); the
checks are retried until they pass or the confirm deadline passes.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from controller.inventory.model import Link, Platform
from controller.provision.transport import Session


class Pinger(Protocol):
    def __call__(self, device: str, address: str) -> bool | None:
        """True/False when pinged, None when this device cannot ping."""


def lab_pinger(lab: str) -> Pinger:
    """Ping from inside a lab node's namespace (FRR's vtysh has no bounded ping)."""

    def ping(device: str, address: str) -> bool | None:
        argv = [
            "ip",
            "netns",
            "exec",
            f"clab-{lab}-{device}",
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "1",
            "-q",
            address,
        ]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    return ping


def interface_up(platform: Platform, session: Session, interface: str) -> bool:
    if platform is Platform.FRR:
        text = session.show(f"show interface {interface} json")
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return False
        info = data.get(interface, {}) if isinstance(data, dict) else {}
        return bool(info.get("operationalStatus") == "up")
    text = session.show(
        f"display interface {interface}"
        if platform is Platform.HUAWEI_VRP
        else f"show interfaces {interface}"
    )
    return bool(re.search(r"line protocol (?:current state )?is (?:up|UP)", text))


def ospf_full(platform: Platform, session: Session, interface: str) -> bool:
    if platform is Platform.FRR:
        try:
            data = json.loads(session.show("show ip ospf neighbor json"))
        except json.JSONDecodeError:
            return False
        for entries in data.get("neighbors", {}).values():
            for entry in entries:
                name = str(entry.get("ifaceName", "")).split(":")[0]
                if name == interface and str(entry.get("state", "")).startswith("Full"):
                    return True
        return False
    text = session.show(
        "display ospf peer brief" if platform is Platform.HUAWEI_VRP else "show ip ospf neighbor"
    )
    return any(interface in line and "FULL" in line.upper() for line in text.splitlines())


def device_ping(platform: Platform, session: Session, address: str) -> bool | None:
    if platform is Platform.CISCO_IOS:
        text = session.show(f"ping {address} repeat 3 timeout 1")
        match = re.search(r"Success rate is (\d+) percent", text)
        return bool(match and int(match.group(1)) > 0)
    if platform is Platform.HUAWEI_VRP:
        text = session.show(f"ping -c 3 -t 1000 {address}")
        match = re.search(r"(\d+(?:\.\d+)?)% packet loss", text)
        return bool(match and float(match.group(1)) < 100)
    return None


@dataclass
class LinkCheck:
    link: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


End = tuple[str, str, str, str]  # device, interface, own address, peer address


def check_link_once(
    link: Link,
    sessions: Mapping[str, tuple[Platform, Session]],
    pinger: Pinger | None,
) -> LinkCheck:
    result = LinkCheck(link.id)
    ends: list[End] = [
        (link.a_device, link.a_interface, str(link.a_address.ip), str(link.b_address.ip)),
        (link.b_device, link.b_interface, str(link.b_address.ip), str(link.a_address.ip)),
    ]
    both_routers = all(end[0] in sessions for end in ends)
    for device, interface, _own, peer in ends:
        entry = sessions.get(device)
        if entry is None:
            continue
        platform, session = entry
        up = interface_up(platform, session, interface)
        record(result, up, f"{device} {interface} up", f"{device} {interface} is down")
        if link.routing.ospf is not None and both_routers:
            full = ospf_full(platform, session, interface)
            record(
                result,
                full,
                f"{device} {interface} OSPF Full",
                f"no OSPF Full neighbour on {device} {interface}",
            )
        answered = pinger(device, peer) if pinger else device_ping(platform, session, peer)
        if answered is not None:
            record(result, answered, f"{device} pings {peer}", f"{device} cannot ping {peer}")
    return result


def record(result: LinkCheck, ok: bool, passed: str, failed: str) -> None:
    """Keep what was seen, worded as what is true."""
    if ok:
        result.passed.append(passed)
    else:
        result.failed.append(failed)


def verify_links(
    links: list[Link],
    sessions: Mapping[str, tuple[Platform, Session]],
    pinger: Pinger | None,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> list[LinkCheck]:
    """Check every link until all pass or ``deadline`` (monotonic) passes; the last round."""
    results: list[LinkCheck] = []
    rounds = 0
    while True:
        rounds += 1
        results = [check_link_once(link, sessions, pinger) for link in links]
        if all(r.ok for r in results) or clock() >= deadline or rounds >= 600:
            return results
        pause(1.0)

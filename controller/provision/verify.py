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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from controller.inventory.model import Link, Platform
from controller.provision.errors import ProvisionError
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


@dataclass
class Facts:
    """What one device said in one round: interfaces up, OSPF Full, peers it can ping."""

    up: set[str] = field(default_factory=set)
    full: set[str] = field(default_factory=set)
    pings: dict[str, bool | None] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class Ask:
    """What to ask one device: these interfaces (OSPF on some), pings to these peers."""

    interfaces: frozenset[str]
    ospf: frozenset[str]
    peers: frozenset[str]


def gather(
    platform: Platform, session: Session, ask: Ask, pinger: Pinger | None, device: str
) -> Facts:
    facts = Facts()
    try:
        if platform is Platform.FRR:
            facts.up = _frr_up(session)
            if ask.ospf:
                facts.full = _frr_full(session)
        else:
            facts.up = {i for i in ask.interfaces if interface_up(platform, session, i)}
            facts.full = {i for i in ask.ospf if ospf_full(platform, session, i)}
        for peer in ask.peers:
            facts.pings[peer] = (
                pinger(device, peer) if pinger else device_ping(platform, session, peer)
            )
    except ProvisionError as exc:
        facts.error = str(exc)
    return facts


def _frr_up(session: Session) -> set[str]:
    try:
        data = json.loads(session.show("show interface json"))
    except json.JSONDecodeError:
        return set()
    return {
        name
        for name, info in data.items()
        if isinstance(info, dict) and info.get("operationalStatus") == "up"
    }


def _frr_full(session: Session) -> set[str]:
    try:
        data = json.loads(session.show("show ip ospf neighbor json"))
    except json.JSONDecodeError:
        return set()
    full = set()
    for entries in data.get("neighbors", {}).values():
        for entry in entries:
            if str(entry.get("state", "")).startswith("Full"):
                full.add(str(entry.get("ifaceName", "")).split(":")[0])
    return full


End = tuple[str, str, str]  # device, interface, peer address


def _ends(link: Link) -> list[End]:
    return [
        (link.a_device, link.a_interface, str(link.b_address.ip)),
        (link.b_device, link.b_interface, str(link.a_address.ip)),
    ]


def evaluate(link: Link, sessions: Mapping[str, object], facts: Mapping[str, Facts]) -> LinkCheck:
    result = LinkCheck(link.id)
    both_routers = all(end[0] in sessions for end in _ends(link))
    for device, interface, peer in _ends(link):
        seen = facts.get(device)
        if seen is None:
            continue
        if seen.error:
            result.failed.append(f"{device}: {seen.error}")
            continue
        record(
            result,
            interface in seen.up,
            f"{device} {interface} up",
            f"{device} {interface} is down",
        )
        if link.routing.ospf is not None and both_routers:
            record(
                result,
                interface in seen.full,
                f"{device} {interface} OSPF Full",
                f"no OSPF Full neighbour on {device} {interface}",
            )
        answered = seen.pings.get(peer)
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
    workers: int = 16,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> list[LinkCheck]:
    """Check every link until all pass or ``deadline`` (monotonic) passes.

    Each round asks every device once (in parallel): its interfaces, its OSPF
    neighbours and the pings still owed; links that passed are not asked again.
    """
    results = {link.id: LinkCheck(link.id) for link in links}
    pending = list(links)
    pinged: set[tuple[str, str]] = set()
    for _round in range(600):
        asks: dict[str, tuple[set[str], set[str], set[str]]] = {}
        for link in pending:
            for device, interface, peer in _ends(link):
                if device not in sessions:
                    continue
                ifaces, ospf, peers = asks.setdefault(device, (set(), set(), set()))
                ifaces.add(interface)
                if link.routing.ospf is not None:
                    ospf.add(interface)
                if (device, peer) not in pinged:
                    peers.add(peer)
        jobs = {
            device: Ask(frozenset(i), frozenset(o), frozenset(p))
            for device, (i, o, p) in asks.items()
        }
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs) or 1))) as pool:
            futures = {
                device: pool.submit(
                    gather, sessions[device][0], sessions[device][1], ask, pinger, device
                )
                for device, ask in jobs.items()
            }
            facts = {device: future.result() for device, future in futures.items()}
        for device, seen in facts.items():
            pinged |= {(device, peer) for peer, ok in seen.pings.items() if ok}
        # a peer that answered once is not pinged again; keep its success visible
        for device, (_ifaces, _ospf, peers) in asks.items():
            for peer in {p for (d, p) in pinged if d == device} - peers:
                facts.setdefault(device, Facts()).pings.setdefault(peer, True)
        still: list[Link] = []
        for link in pending:
            check = evaluate(link, sessions, facts)
            results[link.id] = check
            if not check.ok:
                still.append(link)
        pending = still
        if not pending or clock() >= deadline:
            break
        pause(1.0)
    return [results[link.id] for link in links]

"""Post-change checks: everything a change touches, compared with before it.

Before the push the engine takes a :class:`Snapshot` of every device in scope
(interfaces up, OSPF neighbours and their state, BGP peers and their state, how
many routes each protocol learned) and asks the NMS which router loopbacks it
reaches. After the push the same questions are asked again, round after round,
until everything is at least as good as before — and every link the change touched
is up, adjacent and pings from both ends — or the confirm deadline passes. What
each platform answers is parsed here (FRR's JSON, IOS and VRP text); interface
names are compared exactly.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from controller.inventory.model import Link, Platform
from controller.provision.errors import ProvisionError
from controller.provision.transport import Session
from probes.icmp import AliveCheck, parse_alive

T = TypeVar("T")


class Pinger(Protocol):
    def __call__(self, device: str, address: str) -> bool | None:
        """True/False when pinged, None when this device cannot ping."""

    def many(self, device: str, addresses: Sequence[str]) -> dict[str, bool | None]:
        """:meth:`__call__` for several addresses from one device at once."""


LAB_PING = AliveCheck(tries=3, timeout_ms=400)
"""Up to three echoes per address, the next only when one went unanswered; any answer
counts. (Three echoes 200 ms apart each time, as before, made every verification round
wait 0.4 s even when everything answered at once.)"""


class LabPinger:
    """Ping from inside a lab node's namespace (FRR's vtysh has no bounded ping): one
    fping per node for all the addresses it must reach, not one process per address."""

    def __init__(self, lab: str) -> None:
        self.lab = lab

    def __call__(self, device: str, address: str) -> bool | None:
        return self.many(device, [address])[address]

    def many(self, device: str, addresses: Sequence[str]) -> dict[str, bool | None]:
        wanted = sorted(set(addresses))
        if not wanted:
            return {}
        argv = ["ip", "netns", "exec", f"clab-{self.lab}-{device}", *LAB_PING.argv(wanted)]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=LAB_PING.budget(len(wanted)),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return dict.fromkeys(wanted, False)
        return dict(parse_alive(done.stdout, wanted))


def lab_pinger(lab: str) -> Pinger:
    return LabPinger(lab)


# ----------------------------------------------------------------- what a device says


@dataclass
class Snapshot:
    """What one device said in one round about everything a change can touch."""

    up: set[str] = field(default_factory=set)
    ospf: dict[str, tuple[str, str]] = field(default_factory=dict)
    """OSPF neighbour router-id → (interface, state), state without the DR role
    (``Full``, ``Init``…)."""
    bgp: dict[str, str] = field(default_factory=dict)
    """BGP peer address → state (``Established``, ``Active``…)."""
    routes: dict[str, int] = field(default_factory=dict)
    """Routes learned per protocol (``ospf``, ``bgp``)."""
    pings: dict[str, bool | None] = field(default_factory=dict)
    error: str = ""

    @property
    def full(self) -> set[str]:
        """Interfaces with a Full OSPF neighbour."""
        return {iface for iface, state in self.ospf.values() if state == "Full"}

    @property
    def established(self) -> set[str]:
        return {peer for peer, state in self.bgp.items() if state == "Established"}


def _json(session: Session, command: str) -> dict[str, object]:
    try:
        data = json.loads(session.show(command) or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _frr_snapshot(session: Session, snap: Snapshot) -> None:
    snap.up = {
        str(name)
        for name, info in _json(session, "show interface json").items()
        if isinstance(info, dict) and info.get("operationalStatus") == "up"
    }
    neighbours = _json(session, "show ip ospf neighbor json").get("neighbors", {})
    for router_id, entries in dict(neighbours).items() if isinstance(neighbours, dict) else []:
        for entry in entries if isinstance(entries, list) else []:
            iface = str(entry.get("ifaceName", "")).split(":")[0]
            state = str(entry.get("state", "")).split("/")[0]
            snap.ospf[str(router_id)] = (iface, state)
    summary = _json(session, "show bgp summary json").get("ipv4Unicast", {})
    peers = summary.get("peers", {}) if isinstance(summary, dict) else {}
    for peer, info in dict(peers).items() if isinstance(peers, dict) else []:
        if isinstance(info, dict):
            snap.bgp[str(peer)] = str(info.get("state", ""))
    routes = _json(session, "show ip route summary json").get("routes", [])
    for entry in routes if isinstance(routes, list) else []:
        if isinstance(entry, dict) and entry.get("type") in {"ospf", "bgp", "ebgp", "ibgp"}:
            proto = "bgp" if "bgp" in str(entry["type"]) else "ospf"
            snap.routes[proto] = snap.routes.get(proto, 0) + int(entry.get("rib", 0))


def parse_ios(command: str, text: str, snap: Snapshot) -> None:
    """Fill ``snap`` from one IOS show command's text."""
    for line in text.splitlines():
        cols = line.split()
        if command == "show ip interface brief" and len(cols) >= 6:
            if cols[-2:] == ["up", "up"]:
                snap.up.add(cols[0])
        elif command == "show ip ospf neighbor" and len(cols) >= 6 and "/" in cols[2]:
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", cols[0]):
                snap.ospf[cols[0]] = (cols[-1], cols[2].split("/")[0].capitalize())
        elif command == "show ip bgp summary" and len(cols) >= 9:
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", cols[0]) and cols[1] == "4":
                snap.bgp[cols[0]] = "Established" if cols[-1].isdigit() else cols[-1]
        elif (
            command == "show ip route summary"
            and len(cols) >= 4
            and cols[0] in {"ospf", "bgp"}
            and cols[2].isdigit()
            and cols[3].isdigit()
        ):
            snap.routes[cols[0]] = snap.routes.get(cols[0], 0) + int(cols[2]) + int(cols[3])


def parse_vrp(command: str, text: str, snap: Snapshot) -> None:
    """Fill ``snap`` from one VRP display command's text."""
    for line in text.splitlines():
        cols = line.split()
        if command == "display ip interface brief" and len(cols) >= 4:
            if cols[-2] == "up" and cols[-1].startswith("up"):
                snap.up.add(cols[0])
        elif command == "display ospf peer brief" and len(cols) >= 4:
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", cols[2]):
                snap.ospf[cols[2]] = (cols[1], cols[3].capitalize())
        elif command == "display bgp peer" and len(cols) >= 8:
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", cols[0]) and cols[1] == "4":
                snap.bgp[cols[0]] = cols[7]
        elif command == "display ip routing-table statistics" and len(cols) >= 2:
            proto = cols[0].lower()
            if proto in {"ospf", "bgp"} and cols[1].isdigit():
                snap.routes[proto] = int(cols[1])


IOS_SHOWS = (
    "show ip interface brief",
    "show ip ospf neighbor",
    "show ip bgp summary",
    "show ip route summary",
)
VRP_SHOWS = (
    "display ip interface brief",
    "display ospf peer brief",
    "display bgp peer",
    "display ip routing-table statistics",
)


def snapshot(platform: Platform, session: Session) -> Snapshot:
    """Interfaces, OSPF neighbours, BGP peers and learned routes, as the device says."""
    snap = Snapshot()
    try:
        if platform is Platform.FRR:
            _frr_snapshot(session, snap)
        elif platform is Platform.CISCO_IOS:
            for command in IOS_SHOWS:
                parse_ios(command, session.show(command), snap)
        else:
            for command in VRP_SHOWS:
                parse_vrp(command, session.show(command), snap)
    except ProvisionError as exc:
        snap.error = str(exc)
    return snap


def device_ping(platform: Platform, session: Session, address: str) -> bool | None:
    """Ping from the device's own CLI (bounded: 3 probes, 1 s each)."""
    if platform is Platform.CISCO_IOS:
        text = session.show(f"ping {address} repeat 3 timeout 1")
        match = re.search(r"Success rate is (\d+) percent", text)
        return bool(match and int(match.group(1)) > 0)
    if platform is Platform.HUAWEI_VRP:
        text = session.show(f"ping -c 3 -t 1000 {address}")
        match = re.search(r"(\d+(?:\.\d+)?)% packet loss", text)
        return bool(match and float(match.group(1)) < 100)
    text = session.ping(address, 3.0)
    match = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", text)
    return bool(match and int(match.group(2)) > 0)


# ----------------------------------------------------------------- what must hold


@dataclass
class LinkCheck:
    link: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def record(result: LinkCheck, ok: bool, passed: str, failed: str) -> None:
    """Keep what was seen, worded as what is true."""
    if ok:
        result.passed.append(passed)
    else:
        result.failed.append(failed)


End = tuple[str, str, str]  # device, interface, peer address


def _ends(link: Link) -> list[End]:
    return [
        (link.a_device, link.a_interface, str(link.b_address.ip)),
        (link.b_device, link.b_interface, str(link.a_address.ip)),
    ]


def evaluate(
    link: Link, sessions: Mapping[str, object], facts: Mapping[str, Snapshot]
) -> LinkCheck:
    """A touched link: both ends up, OSPF Full / BGP Established on it, each end pings
    the other (when pings were asked in this round)."""
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
        if link.routing.bgp is not None and both_routers:
            record(
                result,
                peer in seen.established,
                f"{device} BGP {peer} Established",
                f"{device} BGP peer {peer} is {seen.bgp.get(peer, 'not configured')}",
            )
        if peer in seen.pings and seen.pings[peer] is not None:
            record(
                result,
                bool(seen.pings[peer]),
                f"{device} pings {peer}",
                f"{device} cannot ping {peer}",
            )
    return result


@dataclass(frozen=True)
class Keep:
    """What a device's change leaves in place: these must be as good as before."""

    interfaces: frozenset[str]
    """Interfaces still configured (and not shut) in the intended configuration."""
    bgp_peers: frozenset[str]
    """BGP neighbours still configured."""
    route_allowance: int = 0
    """How many learned routes the change may withdraw (addresses and routes it removes)."""


def compare(device: str, before: Snapshot, after: Snapshot, keep: Keep) -> LinkCheck:
    """``after`` at least as good as ``before`` for what ``keep`` says stays."""
    result = LinkCheck(device)
    if after.error:
        result.failed.append(f"{device}: {after.error}")
        return result
    for iface in sorted(before.up & keep.interfaces):
        if iface not in after.up:
            result.failed.append(f"{device} {iface} went down")
    wanted = {
        rid: iface
        for rid, (iface, state) in before.ospf.items()
        if state == "Full" and iface in keep.interfaces
    }
    for rid, iface in sorted(wanted.items()):
        now = after.ospf.get(rid)
        if now is None or now[1] != "Full":
            seen = f"{now[1]} on {now[0]}" if now else "gone"
            result.failed.append(f"{device} lost OSPF adjacency with {rid} on {iface} ({seen})")
    full_after = sum(1 for _i, state in after.ospf.values() if state == "Full")
    record(
        result,
        full_after >= len(wanted),
        f"{device} OSPF Full adjacencies: {len(wanted)} before, {full_after} after",
        f"{device} OSPF Full adjacencies: {len(wanted)} before, {full_after} after",
    )
    peers = sorted(before.established & keep.bgp_peers)
    for peer in peers:
        if peer not in after.established:
            state = after.bgp.get(peer, "gone")
            result.failed.append(f"{device} lost BGP session with {peer} ({state})")
    record(
        result,
        len(after.established & keep.bgp_peers) >= len(peers),
        f"{device} BGP Established: {len(peers)} before, {len(after.established)} after",
        f"{device} BGP Established: {len(peers)} before, {len(after.established)} after",
    )
    for proto in ("ospf", "bgp"):
        was, count = before.routes.get(proto, 0), after.routes.get(proto, 0)
        if was or count:
            record(
                result,
                count >= was - keep.route_allowance,
                f"{device} {proto.upper()} routes: {was} before, {count} after",
                f"{device} {proto.upper()} routes fell from {was} to {count}",
            )
    return result


@dataclass
class Baseline:
    """Everything as it was before the push."""

    snapshots: dict[str, Snapshot]
    reachable: dict[str, bool]
    """Router loopback → answered the NMS (empty when there is no NMS to ask)."""


@dataclass
class Verdict:
    links: list[LinkCheck]
    devices: dict[str, LinkCheck]
    nms: LinkCheck
    rounds: int = 0

    @property
    def ok(self) -> bool:
        return (
            all(c.ok for c in self.links)
            and all(c.ok for c in self.devices.values())
            and self.nms.ok
        )


@dataclass(frozen=True)
class Nms:
    """Who checks reachability of every router loopback, and how."""

    name: str
    ping: Callable[[Sequence[str]], Mapping[str, bool | None]]
    """Addresses → whether each answered (all at once)."""
    loopbacks: Mapping[str, str]
    """Loopback address → router."""

    def reachable(self) -> dict[str, bool]:
        answers = self.ping(sorted(self.loopbacks))
        return {address: bool(answers.get(address)) for address in sorted(self.loopbacks)}


def _parallel_map(func: Callable[[str], T], keys: list[str], workers: int) -> dict[str, T]:
    if not keys:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(keys)))) as pool:
        return dict(zip(keys, pool.map(func, keys), strict=True))


def take_baseline(
    sessions: Mapping[str, tuple[Platform, Session]], nms: Nms | None, workers: int = 16
) -> Baseline:
    snaps = _parallel_map(lambda d: snapshot(*sessions[d]), sorted(sessions), workers)
    reach = nms.reachable() if nms else {}
    return Baseline(snaps, reach)


def verify_change(
    links: list[Link],
    sessions: Mapping[str, tuple[Platform, Session]],
    baseline: Baseline,
    keep: Mapping[str, Keep],
    pinger: Pinger | None,
    nms: Nms | None,
    deadline: float,
    settle_until: float = 0.0,
    workers: int = 16,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> Verdict:
    """Ask every device again, round after round, until everything a change touches is
    at least as it was before and every touched link is up, adjacent and pings from
    both ends — in a round that starts at or after ``settle_until`` (so an adjacency
    that is about to time out is not taken for a healthy one) — or until ``deadline``
    (monotonic). Pings are sent only in rounds where everything else already holds."""
    rounds = 0
    while True:
        rounds += 1
        started = clock()
        facts = _parallel_map(lambda d: snapshot(*sessions[d]), sorted(sessions), workers)
        verdict = _judge(links, sessions, baseline, keep, facts, rounds)
        if verdict.ok and started >= settle_until:
            _ping_all(links, sessions, pinger, nms, facts, workers)
            verdict = _judge(links, sessions, baseline, keep, facts, rounds)
            verdict.nms = _judge_nms(baseline, facts.get("", Snapshot()), nms)
            if verdict.ok:
                return verdict
        if clock() >= deadline:
            if not verdict.nms.passed and not verdict.nms.failed and nms is not None:
                verdict.nms.failed.append("not checked: the change never held long enough")
            return verdict
        pause(min(1.0, max(0.0, deadline - clock())))


def _judge(
    links: list[Link],
    sessions: Mapping[str, object],
    baseline: Baseline,
    keep: Mapping[str, Keep],
    facts: Mapping[str, Snapshot],
    rounds: int,
) -> Verdict:
    return Verdict(
        [evaluate(link, sessions, facts) for link in links],
        {
            device: compare(device, baseline.snapshots[device], facts[device], keep[device])
            for device in sorted(facts)
            if device in baseline.snapshots and device in keep
        },
        LinkCheck("nms"),
        rounds,
    )


def _ping_all(
    links: list[Link],
    sessions: Mapping[str, tuple[Platform, Session]],
    pinger: Pinger | None,
    nms: Nms | None,
    facts: dict[str, Snapshot],
    workers: int,
) -> None:
    """Both ends of every touched link ping each other; the NMS pings every loopback."""
    wanted = sorted(
        {(device, peer) for link in links for device, _i, peer in _ends(link) if device in sessions}
    )

    if pinger is not None:  # from the node's namespace: all of a device's peers at once
        peers: dict[str, list[str]] = {}
        for device, peer in wanted:
            peers.setdefault(device, []).append(peer)
        batches = _parallel_map(lambda d: pinger.many(d, peers[d]), sorted(peers), workers)
        for device, answered in batches.items():
            facts[device].pings.update(answered)
    else:  # on the device's own CLI, one address at a time

        def one(job: str) -> bool | None:
            device, peer = job.split(" ", 1)
            platform, session = sessions[device]
            try:
                return device_ping(platform, session, peer)
            except ProvisionError:
                return False

        answers = _parallel_map(one, [f"{d} {p}" for d, p in wanted], workers)
        for job, ok in answers.items():
            device, peer = job.split(" ", 1)
            facts[device].pings[peer] = ok
    if nms is not None:
        facts[""] = Snapshot(pings=dict(nms.reachable()))


def _judge_nms(baseline: Baseline, seen: Snapshot, nms: Nms | None) -> LinkCheck:
    result = LinkCheck("nms")
    if nms is None:
        return result
    for address, was in sorted(baseline.reachable.items()):
        router = nms.loopbacks[address]
        now = bool(seen.pings.get(address))
        if was:
            record(
                result,
                now,
                f"{nms.name} reaches {router} loopback {address}",
                f"{nms.name} no longer reaches {router} loopback {address}",
            )
    return result

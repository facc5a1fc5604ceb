"""IPsec tunnels of the missions abroad: IKE/CHILD SA state, rekeys and authentication
failures of every tunnel end, read from strongSwan's charon — the only module that
imports ``vici`` (strongSwan's own VICI client).

Each tunnel end (the mission router and the data centre gateway) runs a charon with a
VICI socket; in the lab it is ``<lab-dir>/<node>/ipsec/charon.vici`` (a unix socket:
reachable from the root namespace, no network involved). Built at scrape time, like the
other collectors: a socket that does not answer is ``govnet_ipsec_vici_up 0`` and its
tunnels are reported down, never an exception.

Authentication failures are not VICI events in strongSwan 5.9: they are counted from
charon's log (``ike_name = yes``, one line per event): the initiator's ``received
AUTHENTICATION_FAILED notify`` and the responder's ``MAC mismatched`` / ``authentication
of … failed``. The log is read incrementally from where the last scrape stopped.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vici
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.inventory.model import Inventory
from controller.render.intent import build_intents

log = logging.getLogger(__name__)
VICI_TIMEOUT = 2.0
TUNNEL_LABELS = ["device", "tunnel", "mission", "datacentre", "side"]
# charon log lines with ike_name = yes: "... 14[IKE] <fr-par-ndc|3> message"
_LOG_LINE = re.compile(r"\[(?:IKE|ENC|CFG)\] <(?P<conn>[^|>]+)\|?\d*> (?P<text>.*)$")
_AUTH_FAILED = (
    "received AUTHENTICATION_FAILED notify",
    "MAC mismatched",
    "failed to authenticate",
)


@dataclass(frozen=True)
class TunnelEnd:
    """One end of one tunnel, and where its charon answers."""

    device: str
    tunnel: str  # the IKE connection name, e.g. fr-par-ndc
    mission: str
    datacentre: str
    side: str  # "mission" or "datacentre"
    vici: Path
    log: Path | None = None

    @property
    def labels(self) -> list[str]:
        return [self.device, self.tunnel, self.mission, self.datacentre, self.side]


def tunnel_ends(
    inv: Inventory, vici_template: str, log_template: str | None = None
) -> list[TunnelEnd]:
    """Every tunnel end of the inventory; ``{device}`` in the templates is the device."""
    out: list[TunnelEnd] = []
    for name, intent in sorted(build_intents(inv).items()):
        for t in intent.tunnels:
            out.append(
                TunnelEnd(
                    device=name,
                    tunnel=t.name,
                    mission=t.mission,
                    datacentre=t.datacentre,
                    side="mission" if t.initiator else "datacentre",
                    vici=Path(vici_template.format(device=name)),
                    log=Path(log_template.format(device=name)) if log_template else None,
                )
            )
    return out


def lab_tunnel_ends(inv: Inventory, lab_dir: Path) -> list[TunnelEnd]:
    """Tunnel ends of an inventory running in the lab at ``lab_dir``."""
    return tunnel_ends(
        inv, f"{lab_dir}/{{device}}/ipsec/charon.vici", f"{lab_dir}/{{device}}/ipsec/charon.log"
    )


@dataclass(frozen=True)
class SaState:
    """What one charon says about one connection."""

    ike_established: bool = False
    child_installed: bool = False
    ike_state: str = "DOWN"
    established_seconds: float | None = None
    ike_rekeys: int = 0
    child_rekeys: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_sas(sas: list[Mapping[str, Any]]) -> dict[str, SaState]:
    """``list-sas`` answers → the best state per connection (an ESTABLISHED one wins)."""
    out: dict[str, SaState] = {}
    for entry in sas:
        for conn, sa in entry.items():
            state = _text(sa.get("state", b"DOWN"))
            children = sa.get("child-sas") or {}
            installed = [c for c in children.values() if _text(c.get("state")) == "INSTALLED"]
            found = SaState(
                ike_established=state == "ESTABLISHED",
                child_installed=bool(installed) and state == "ESTABLISHED",
                ike_state=state,
                established_seconds=float(_text(sa["established"]))
                if "established" in sa
                else None,
                bytes_in=sum(int(_text(c.get("bytes-in", b"0"))) for c in installed),
                bytes_out=sum(int(_text(c.get("bytes-out", b"0"))) for c in installed),
            )
            best = out.get(conn)
            if best is None or (found.child_installed, found.ike_established) > (
                best.child_installed,
                best.ike_established,
            ):
                out[conn] = found
    return out


def query(path: Path, timeout: float = VICI_TIMEOUT) -> tuple[list[Any], Mapping[str, Any]]:
    """(list-sas answers, get-counters per connection) from the charon at ``path``."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        session = vici.Session(sock)
        sas = list(session.list_sas())
        try:
            counters = session.get_counters({"all": "yes"}).get("counters", {})
        except vici.exception.CommandException:  # no counters plugin: no rekey counts
            counters = {}
        return sas, counters
    finally:
        sock.close()


def count_auth_failures(text: str) -> Counter[str]:
    """Authentication failures per connection in a piece of charon's log."""
    found: Counter[str] = Counter()
    for line in text.splitlines():
        match = _LOG_LINE.search(line)
        if match and any(marker in match.group("text") for marker in _AUTH_FAILED):
            found[match.group("conn")] += 1
    return found


@dataclass
class _LogTail:
    offset: int = 0
    counts: Counter[str] = field(default_factory=Counter)


class IpsecCollector(Collector):
    """``govnet_ipsec_*`` for every tunnel end, built at scrape time."""

    def __init__(self, ends: list[TunnelEnd]) -> None:
        self.ends = ends
        self._tails: dict[Path, _LogTail] = {}
        self._lock = threading.Lock()

    def _auth_failures(self, path: Path) -> Counter[str]:
        with self._lock:
            tail = self._tails.setdefault(path, _LogTail())
            try:
                with path.open("rb") as handle:
                    handle.seek(0, 2)
                    size = handle.tell()
                    if size < tail.offset:  # a new log (charon restarted): start over
                        tail.offset = 0
                    handle.seek(tail.offset)
                    chunk = handle.read(size - tail.offset)
            except OSError:
                return Counter(tail.counts)
            complete = chunk.rfind(b"\n") + 1  # never count half a line
            tail.offset += complete
            tail.counts.update(count_auth_failures(chunk[:complete].decode(errors="replace")))
            return Counter(tail.counts)

    def collect(self) -> Iterator[Metric]:
        vici_up = GaugeMetricFamily(
            "govnet_ipsec_vici_up",
            "1 if the device's charon answered over VICI.",
            labels=["device"],
        )
        ike = GaugeMetricFamily(
            "govnet_ipsec_ike_sa_up",
            "1 if the tunnel's IKE SA is ESTABLISHED.",
            labels=TUNNEL_LABELS,
        )
        child = GaugeMetricFamily(
            "govnet_ipsec_child_sa_up",
            "1 if the tunnel's CHILD SA (ESP) is INSTALLED under an established IKE SA.",
            labels=TUNNEL_LABELS,
        )
        age = GaugeMetricFamily(
            "govnet_ipsec_ike_sa_established_seconds",
            "Seconds since the tunnel's IKE SA was established.",
            labels=TUNNEL_LABELS,
        )
        rekeys = CounterMetricFamily(
            "govnet_ipsec_rekeys",
            "Rekeys of the tunnel's SAs since charon started (counters plugin), by SA kind.",
            labels=[*TUNNEL_LABELS, "sa"],
        )
        traffic = CounterMetricFamily(
            "govnet_ipsec_child_sa_bytes",
            "Bytes through the tunnel's current CHILD SA, by direction (resets on rekey).",
            labels=[*TUNNEL_LABELS, "direction"],
        )
        auth = CounterMetricFamily(
            "govnet_ipsec_auth_failures",
            "IKE authentication failures of the tunnel seen by this end (from charon's log).",
            labels=TUNNEL_LABELS,
        )
        answers: dict[Path, tuple[dict[str, SaState], Mapping[str, Any]] | None] = {}
        for end in self.ends:
            if end.vici not in answers:
                try:
                    sas, counters = query(end.vici)
                    answers[end.vici] = (parse_sas(sas), counters)
                except (OSError, vici.exception.SessionException) as exc:
                    log.debug("VICI %s: %s", end.vici, exc)
                    answers[end.vici] = None
                vici_up.add_metric([end.device], 0.0 if answers[end.vici] is None else 1.0)
            answer = answers[end.vici]
            states, counters = answer if answer is not None else ({}, {})
            state = states.get(end.tunnel, SaState())
            ike.add_metric(end.labels, 1.0 if state.ike_established else 0.0)
            child.add_metric(end.labels, 1.0 if state.child_installed else 0.0)
            if state.established_seconds is not None and state.ike_established:
                age.add_metric(end.labels, state.established_seconds)
            mine = counters.get(end.tunnel, {})
            ike_rekeys = int(_text(mine.get("ike-rekey-init", b"0"))) + int(
                _text(mine.get("ike-rekey-resp", b"0"))
            )
            rekeys.add_metric([*end.labels, "ike"], ike_rekeys)
            rekeys.add_metric([*end.labels, "child"], int(_text(mine.get("child-rekey", b"0"))))
            traffic.add_metric([*end.labels, "in"], state.bytes_in)
            traffic.add_metric([*end.labels, "out"], state.bytes_out)
            if end.log is not None:
                auth.add_metric(end.labels, self._auth_failures(end.log).get(end.tunnel, 0))
        yield from (vici_up, ike, child, age, rekeys, traffic, auth)

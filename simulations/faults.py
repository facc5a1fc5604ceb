"""Link and node faults on a running lab, recorded in the state file so ``clear`` (and
``down``) undo them.

This kernel has no sch_netem, so:
- loss:   nftables ``numgen random mod 100 < N drop`` on the endpoint's egress hook
          (netdev family), in the node's namespace;
- rate:   ``tc tbf`` as the endpoint's root qdisc, in the node's namespace;
- delay/jitter: the link's two ends in the wires namespace are taken off their bridge
          and joined by :mod:`simulations.relay` (AF_PACKET, offloads off), which holds
          each frame for delay ± jitter in the impaired direction;
- link-down: both ends of the link in the wires namespace go down, so both routers
          lose carrier (a cut cable);
- node-stop: every process of the node's namespace is ended (by PID) and all its links
          go down; node-start restarts its daemons and brings the links back.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulations import executor, services
from simulations.errors import LabError
from simulations.executor import ip_batch
from simulations.lab import Lab
from simulations.netns import netns_exists, run, run_in_netns
from simulations.plan import LabPlan, LinkEnd, LinkPlan
from simulations.procs import pid_alive, pids_in_netns, terminate, wait_for_pidfile
from simulations.state import FaultRecord, LabState
from simulations.topology import Endpoint

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|ms|s)?\s*$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)\s*$", re.IGNORECASE)
_RATE_UNITS = {"bit": 1, "kbit": 1_000, "mbit": 1_000_000, "gbit": 1_000_000_000}
OFFLOADS = ("tx", "tso", "gso", "gro")
_ETHTOOL_NAMES = {
    "tx-checksumming": "tx",
    "tcp-segmentation-offload": "tso",
    "generic-segmentation-offload": "gso",
    "generic-receive-offload": "gro",
}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def parse_duration_ms(text: str) -> float:
    """``80ms`` / ``1.5s`` / ``500us`` / ``80`` (ms) → milliseconds."""
    m = _DURATION.match(str(text))
    if not m:
        raise LabError(f"invalid duration {text!r} (use e.g. 80ms, 1s)")
    value, unit = float(m.group(1)), (m.group(2) or "ms")
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse_percent(text: str) -> float:
    m = _PERCENT.match(str(text))
    if not m or not 0 <= float(m.group(1)) <= 100:
        raise LabError(f"invalid percentage {text!r} (use e.g. 5%)")
    return float(m.group(1))


def parse_rate_bps(text: str) -> int:
    m = _RATE.match(str(text))
    if not m:
        raise LabError(f"invalid rate {text!r} (use e.g. 2mbit, 512kbit)")
    return int(float(m.group(1)) * _RATE_UNITS[m.group(2).lower()])


def parse_endpoint(text: str) -> Endpoint:
    node, sep, iface = text.partition(":")
    if not sep or not node or not iface:
        raise LabError(f"invalid endpoint {text!r} (use NODE:IFACE, e.g. r1:eth1)")
    return Endpoint(node, iface)


@dataclass(frozen=True)
class Impairment:
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    rate: str | None = None

    @classmethod
    def parse(
        cls,
        delay: str | None = None,
        jitter: str | None = None,
        loss: str | None = None,
        rate: str | None = None,
    ) -> Impairment:
        imp = cls(
            parse_duration_ms(delay) if delay else 0.0,
            parse_duration_ms(jitter) if jitter else 0.0,
            parse_percent(loss) if loss else 0.0,
            rate,
        )
        if rate:
            parse_rate_bps(rate)
        if imp.jitter_ms > imp.delay_ms:
            raise LabError("jitter must not exceed delay")
        return imp

    def as_params(self) -> dict[str, Any]:
        return {
            "delay_ms": self.delay_ms,
            "jitter_ms": self.jitter_ms,
            "loss_pct": self.loss_pct,
            "rate": self.rate,
        }


def _table(iface: str) -> str:
    return "govnet_" + re.sub(r"[^A-Za-z0-9_]", "_", iface)


class Faults:
    """Fault operations on one lab (each holds the lab lock and saves the state)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    @property
    def plan(self) -> LabPlan:
        return self.lab.plan

    def _state(self) -> LabState:
        state = self.lab.state()
        if state is None or not state.complete:
            raise LabError(f"lab {self.lab.name!r} is not up")
        return state

    def _end(self, endpoint: str) -> tuple[LinkPlan, LinkEnd]:
        ep = parse_endpoint(endpoint)
        self.plan.node(ep.node)
        return self.plan.link_of(ep)

    # ------------------------------------------------------------------ link up/down

    def link_down(self, endpoint: str) -> FaultRecord:
        """Cut the link at ``endpoint`` (both ends lose carrier)."""
        link, end = self._end(endpoint)
        with self.lab.locked():
            state = self._state()
            target = f"{end.node}:{end.iface}"
            rec = FaultRecord("link-down", target, {"link": link.index})
            state.faults = [
                f
                for f in state.faults
                if not (f.kind == "link-down" and f.params.get("link") == link.index)
            ]
            state.faults.append(rec)
            self._sync_wires(state)
            self.lab.save(state)
            return rec

    def link_up(self, endpoint: str) -> None:
        """Undo ``link_down`` for the link at ``endpoint``."""
        link, _ = self._end(endpoint)
        with self.lab.locked():
            state = self._state()
            state.faults = [
                f
                for f in state.faults
                if not (f.kind == "link-down" and f.params.get("link") == link.index)
            ]
            self._sync_wires(state)
            self.lab.save(state)

    def _sync_wires(self, state: LabState) -> None:
        down_links = {f.params.get("link") for f in state.faults if f.kind == "link-down"}
        stopped = {f.target for f in state.faults if f.kind == "node-stop"}
        cmds = []
        for link in self.plan.links:
            want = (
                "down"
                if (link.index in down_links or link.a.node in stopped or link.b.node in stopped)
                else "up"
            )
            cmds += [f"link set {link.a.wire} {want}", f"link set {link.b.wire} {want}"]
        ip_batch(cmds, self.plan.wires_netns)

    # ------------------------------------------------------------------ impairments

    def impair(self, endpoint: str, impairment: Impairment) -> FaultRecord:
        """Impair the egress of ``endpoint``: delay ± jitter, loss %, rate limit.
        Replaces an earlier impairment of the same endpoint."""
        link, end = self._end(endpoint)
        with self.lab.locked():
            state = self._state()
            target = f"{end.node}:{end.iface}"
            for old in [f for f in state.faults if f.kind == "impair" and f.target == target]:
                self._undo_impair(old, end)
                state.faults.remove(old)
            rec = FaultRecord("impair", target, {"link": link.index, **impairment.as_params()})
            state.faults.append(rec)
            self.lab.save(state)
            if impairment.loss_pct > 0:
                self._nft_loss(end, impairment.loss_pct)
                rec.undo["nft_table"] = _table(end.iface)
            if impairment.rate:
                self._tbf(end, impairment.rate)
                rec.undo["tbf"] = True
            self.lab.save(state)
            self._sync_relays(state)
            self.lab.save(state)
            return rec

    def _nft_loss(self, end: LinkEnd, pct: float) -> None:
        table = _table(end.iface)
        script = (
            f"table netdev {table}\ndelete table netdev {table}\n"
            f"table netdev {table} {{\n"
            f'  chain egress {{ type filter hook egress device "{end.iface}" priority 0; '
            f"policy accept; numgen random mod 100 < {round(pct)} counter drop; }}\n}}\n"
        )
        run_in_netns(end.netns, ["nft", "-f", "-"], input=script)

    def _tbf(self, end: LinkEnd, rate: str) -> None:
        bps = parse_rate_bps(rate)
        burst = max(3200, bps // 8 // 100)  # ≥ two full frames, ≥ 10 ms worth
        run(
            [
                "tc",
                "-n",
                end.netns,
                "qdisc",
                "replace",
                "dev",
                end.iface,
                "root",
                "tbf",
                "rate",
                str(bps),
                "burst",
                str(burst),
                "latency",
                "100ms",
            ]
        )

    def _undo_impair(self, rec: FaultRecord, end: LinkEnd) -> None:
        if not netns_exists(end.netns):
            return
        if rec.undo.get("nft_table"):
            run_in_netns(
                end.netns, ["nft", "delete", "table", "netdev", rec.undo["nft_table"]], check=False
            )
        if rec.undo.get("tbf"):
            run(["tc", "-n", end.netns, "qdisc", "del", "dev", end.iface, "root"], check=False)

    def _sync_relays(self, state: LabState) -> None:
        """(Re)start or stop the delay relay of every link to match the impairments."""
        for link in self.plan.links:
            args = self._relay_args(link, state.faults)
            key = str(link.index)
            current = state.relays.get(key)
            if current and current.get("args") == args and pid_alive(int(current["pid"])):
                continue
            if current:
                self._stop_relay(link, current)
                del state.relays[key]
                self.lab.save(state)
            if args:
                state.relays[key] = self._start_relay(link, args)
                self.lab.save(state)

    def _relay_args(self, link: LinkPlan, faults: Iterable[FaultRecord]) -> list[str]:
        delays = {"ab": (0.0, 0.0), "ba": (0.0, 0.0)}
        for f in faults:
            if f.kind != "impair" or f.params.get("link") != link.index:
                continue
            d = float(f.params.get("delay_ms") or 0)
            j = float(f.params.get("jitter_ms") or 0)
            if d <= 0 and j <= 0:
                continue
            side = "ab" if f.target == f"{link.a.node}:{link.a.iface}" else "ba"
            delays[side] = (d, j)
        if delays["ab"] == (0.0, 0.0) and delays["ba"] == (0.0, 0.0):
            return []
        return [
            "--a",
            link.a.wire,
            "--b",
            link.b.wire,
            "--delay-ab",
            str(delays["ab"][0]),
            "--jitter-ab",
            str(delays["ab"][1]),
            "--delay-ba",
            str(delays["ba"][0]),
            "--jitter-ba",
            str(delays["ba"][1]),
        ]

    def _offloads(self, end: LinkEnd) -> dict[str, str]:
        out = run_in_netns(end.netns, ["ethtool", "-k", end.iface]).stdout
        found: dict[str, str] = {}
        for line in out.splitlines():
            name, _, value = line.partition(":")
            short = _ETHTOOL_NAMES.get(name.strip())
            if short:
                found[short] = value.split()[0] if value.split() else "off"
        return found

    def _set_offloads(self, end: LinkEnd, values: dict[str, str]) -> None:
        args = [x for k, v in values.items() if k in OFFLOADS for x in (k, v)]
        if args:
            run_in_netns(end.netns, ["ethtool", "-K", end.iface, *args], check=False)

    def _start_relay(self, link: LinkPlan, args: list[str]) -> dict[str, Any]:
        saved = {}
        for end in (link.a, link.b):
            saved[end.wire] = self._offloads(end)
            self._set_offloads(end, dict.fromkeys(OFFLOADS, "off"))
        pidfile = self.plan.lab_dir / f"relay-{link.index}.pid"
        pidfile.unlink(missing_ok=True)
        ip_batch(
            [f"link set {link.a.wire} nomaster", f"link set {link.b.wire} nomaster"],
            self.plan.wires_netns,
        )
        log = self.plan.lab_dir / f"relay-{link.index}.log"
        run_in_netns(
            self.plan.wires_netns,
            [
                "sh",
                "-c",
                'exec setsid -f "$@" >"$RELAY_LOG" 2>&1 </dev/null',
                "sh",
                sys.executable,
                "-m",
                "simulations.relay",
                *args,
                "--pidfile",
                str(pidfile),
            ],
            env={"PYTHONPATH": str(PROJECT_ROOT), "RELAY_LOG": str(log)},
        )
        pid = wait_for_pidfile(pidfile, timeout=10)
        if pid is None:
            raise LabError(f"link {link.name}: delay relay did not start (see {log})")
        return {"pid": pid, "args": args, "offloads": saved}

    def _stop_relay(self, link: LinkPlan, info: dict[str, Any]) -> None:
        pid = int(info.get("pid", 0))
        wires = pids_in_netns([self.plan.wires_netns]).get(self.plan.wires_netns, [])
        if pid in wires:  # only a PID we started, still in our wires namespace
            terminate([pid], grace=2.0)
        if not netns_exists(self.plan.wires_netns):
            return
        ip_batch(
            [
                f"link set {link.a.wire} master {link.bridge}",
                f"link set {link.b.wire} master {link.bridge}",
            ],
            self.plan.wires_netns,
        )
        for end in (link.a, link.b):
            saved = (info.get("offloads") or {}).get(end.wire)
            if saved and netns_exists(end.netns):
                self._set_offloads(end, saved)

    # ------------------------------------------------------------------ nodes

    def node_stop(self, node: str) -> FaultRecord:
        """Stop every process of ``node`` and take all its links down."""
        target = self.plan.node(node)
        with self.lab.locked():
            state = self._state()
            if any(f.kind == "node-stop" and f.target == node for f in state.faults):
                return next(f for f in state.faults if f.kind == "node-stop" and f.target == node)
            rec = FaultRecord("node-stop", node)
            state.faults.append(rec)
            self.lab.save(state)
            pids = pids_in_netns([target.netns]).get(target.netns, [])
            rec.params["stopped_pids"] = pids
            terminate(pids)
            self._sync_wires(state)
            self.lab.save(state)
            return rec

    def node_start(self, node: str) -> None:
        """Restart the daemons of a stopped ``node`` and bring its links back."""
        target = self.plan.node(node)
        with self.lab.locked():
            state = self._state()
            self._node_start(state, target.name)
            self.lab.save(state)

    def _node_start(self, state: LabState, node: str) -> None:
        target = self.plan.node(node)
        if not any(f.kind == "node-stop" and f.target == node for f in state.faults):
            return
        records = executor.start_node(target, run_exec=False)
        state.processes = [p for p in state.processes if p.node != node] + records
        state.faults = [f for f in state.faults if not (f.kind == "node-stop" and f.target == node)]
        self._sync_wires(state)

    # ------------------------------------------------------------------ internet paths

    def _path(self, spec: str) -> tuple[str, str, str, str, str]:
        """``A--B`` → (transit node, its port towards A, towards B, A, B): the node linked
        to both (the lab's internet between a mission and a data centre)."""
        a, sep, b = spec.partition("--")
        if not sep or not a or not b:
            raise LabError(f"path {spec!r}: write it A--B (two node names)")
        self.plan.node(a)
        self.plan.node(b)
        ports: dict[str, dict[str, str]] = {}
        for link in self.plan.links:
            for here, there in ((link.a, link.b), (link.b, link.a)):
                if there.node in (a, b):
                    ports.setdefault(here.node, {})[there.node] = here.iface
        for transit, seen in sorted(ports.items()):
            if transit not in (a, b) and a in seen and b in seen:
                return transit, seen[a], seen[b], a, b
        raise LabError(f"path {spec!r}: no node is linked to both {a} and {b}")

    def path_down(self, spec: str) -> FaultRecord:
        """Drop every packet the transit between A and B forwards from one to the other
        (both directions): the internet path between them is broken, nothing else is."""
        transit, port_a, port_b, a, b = self._path(spec)
        table = f"govnet_path_{port_a}_{port_b}".replace(".", "_")
        with self.lab.locked():
            state = self._state()
            target = f"{a}--{b}"
            if any(f.kind == "path-down" and f.target == target for f in state.faults):
                return next(f for f in state.faults if f.kind == "path-down" and f.target == target)
            rec = FaultRecord("path-down", target, {"transit": transit}, {"nft_table": table})
            state.faults.append(rec)
            self.lab.save(state)
            script = (
                f"table inet {table}\ndelete table inet {table}\n"
                f"table inet {table} {{\n"
                "  chain forward { type filter hook forward priority 0; policy accept;\n"
                f'    iifname "{port_a}" oifname "{port_b}" counter drop\n'
                f'    iifname "{port_b}" oifname "{port_a}" counter drop\n'
                "  }\n}\n"
            )
            run_in_netns(self.plan.node(transit).netns, ["nft", "-f", "-"], input=script)
            return rec

    def path_up(self, spec: str) -> None:
        """Undo ``path_down`` for the path ``A--B``."""
        _, _, _, a, b = self._path(spec)
        with self.lab.locked():
            state = self._state()
            for rec in [
                f for f in state.faults if f.kind == "path-down" and f.target == f"{a}--{b}"
            ]:
                self._undo_path(rec)
                state.faults.remove(rec)
            self.lab.save(state)

    def _undo_path(self, rec: FaultRecord) -> None:
        netns = self.plan.node(str(rec.params["transit"])).netns
        if netns_exists(netns):
            run_in_netns(
                netns, ["nft", "delete", "table", "inet", str(rec.undo["nft_table"])], check=False
            )

    # ------------------------------------------------------------------ IPsec keys

    def psk_wrong(self, spec: str) -> FaultRecord:
        """Give the tunnel end ``NODE:CONNECTION`` a wrong pre-shared key and make it
        authenticate again (an initiator re-initiates; a responder waits for its peer):
        IKE authentication fails at both ends until ``clear``."""
        node_name, sep, conn = spec.partition(":")
        node = self.plan.node(node_name)
        if not sep or not node.charon:
            raise LabError(f"{spec!r}: write NODE:CONNECTION for a node running IPsec")
        paths = services.charon_paths(node)
        key_file = paths["dir"] / f"psk-{conn}.conf"
        if not key_file.exists():
            raise LabError(f"{spec!r}: {node_name} has no IPsec connection {conn!r}")
        with self.lab.locked():
            state = self._state()
            if any(f.kind == "psk-wrong" and f.target == spec for f in state.faults):
                return next(f for f in state.faults if f.kind == "psk-wrong" and f.target == spec)
            rec = FaultRecord("psk-wrong", spec, {"node": node_name, "connection": conn})
            state.faults.append(rec)
            self.lab.save(state)
            saved = key_file.with_suffix(".conf.govnet-saved")
            if not saved.exists():
                key_file.replace(saved)
            key_file.write_text('secret = "not-the-key-the-peer-has"\n')
            key_file.chmod(0o600)
            self._reload_key(node, conn, initiate=True)
            return rec

    def _reload_key(self, node: executor.NodePlan, conn: str, initiate: bool) -> None:
        paths = services.charon_paths(node)
        env = services.charon_env(node)
        swanctl_file = str(paths["swanctl"])
        run(
            services.swanctl_argv(
                node, "--load-creds", "--clear", "--noprompt", "--file", swanctl_file
            ),
            env=env,
            check=False,
        )
        run(
            services.swanctl_argv(node, "--terminate", "--ike", conn, "--force", "--timeout", "2"),
            env=env,
            check=False,
            timeout=15,
        )
        if initiate and services.is_initiator(paths["swanctl"], conn):
            # returns at once; charon keeps trying on its own (keyingtries = 0)
            run(
                services.swanctl_argv(node, "--initiate", "--child", conn, "--timeout", "1"),
                env=env,
                check=False,
                timeout=15,
            )

    def _undo_psk(self, rec: FaultRecord) -> None:
        node = self.plan.node(str(rec.params["node"]))
        conn = str(rec.params["connection"])
        key_file = services.charon_paths(node)["dir"] / f"psk-{conn}.conf"
        saved = key_file.with_suffix(".conf.govnet-saved")
        if saved.exists():
            saved.replace(key_file)
        if netns_exists(node.netns):
            self._reload_key(node, conn, initiate=True)

    # ------------------------------------------------------------------ clear

    def clear(self) -> int:
        """Undo every fault; returns how many were cleared."""
        with self.lab.locked():
            state = self._state()
            count = len(state.faults)
            for rec in reversed(list(state.faults)):
                if rec.kind == "impair":
                    _, end = self._end(rec.target)
                    self._undo_impair(rec, end)
                    state.faults.remove(rec)
                elif rec.kind == "node-stop":
                    self._node_start(state, rec.target)
                elif rec.kind == "link-down":
                    state.faults.remove(rec)
                elif rec.kind == "path-down":
                    self._undo_path(rec)
                    state.faults.remove(rec)
                elif rec.kind == "psk-wrong":
                    self._undo_psk(rec)
                    state.faults.remove(rec)
                self.lab.save(state)
            self._sync_relays(state)
            self._sync_wires(state)
            self.lab.save(state)
            return count

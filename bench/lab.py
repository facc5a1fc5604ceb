"""Benchmark the namespace lab at government-network scale.

By default the shipped national topology (topologies/national.clab.yml: 58 FRR routers,
the NMS and 25 commune-host namespaces holding the 1,652 commune addresses, one snmpd
each); ``--synthetic`` runs a generated ring of 28 FRR routers + 25 commune hosts instead.
Brings it up, samples the RSS of every lab process while it runs, checks convergence and
a sample of SNMP answers, brings it down, and prints the figures beside containerlab's
published ones.

    sudo .venv/bin/python bench/lab.py [--synthetic] [--settle S]

``--peer mininet [--topology T] [--runs N]`` compares, on the same machine in the same
run, the namespace+link setup and teardown of T's node/link graph (default the built-in
lab) by Mininet (plain hosts and veth links from its Python API, no switch, no Open
vSwitch; bench/mininet_peer.py under Debian's python3) and by govnet without daemons,
then gives govnet's full figures with FRR/sshd/snmpd (up, converged, RSS/PSS). Run it
under the lab lock.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulations.checks import parse_check, run_check
from simulations.lab import Lab
from simulations.procs import pids_in_netns, pss_kib, rss_kib
from simulations.snmp import SnmpAuth, snmp_get
from simulations.topology import load_topology

ROUTERS = 28
COMMUNES = 25
ADDRESSES = 1652
CLAB_PAPER = "containerlab: ~39 s to deploy 300 Linux containers on a 16-core server"


def router_config(i: int, has_commune: bool) -> str:
    lines = [
        "frr defaults traditional",
        f"hostname r{i}",
        "!",
        "interface lo",
        f" ip address 10.255.0.{i}/32",
        " ip ospf area 0",
        "exit",
        "!",
    ]
    for iface in ("eth1", "eth2"):
        lines += [
            f"interface {iface}",
            " ip ospf area 0",
            " ip ospf network point-to-point",
            " ip ospf hello-interval 1",
            " ip ospf dead-interval 4",
            "exit",
            "!",
        ]
    if has_commune:
        lines += [f"ip route 10.100.{i}.0/24 10.3.{i}.2", "!"]
    lines += ["router ospf", f" ospf router-id 10.255.0.{i}"]
    if has_commune:
        lines.append(" redistribute static")
    lines += ["exit", "!"]
    return "\n".join(lines) + "\n"


def commune_addresses(k: int) -> list[str]:
    base, extra = divmod(ADDRESSES, COMMUNES)
    count = base + (1 if k < extra else 0)
    return [f"10.100.{k}.{h}/32" for h in range(1, count + 1)]


def write_topology(directory: Path) -> Path:
    """Write the benchmark topology (and router configs) into ``directory``."""
    lines = [
        "name: bench",
        "topology:",
        "  kinds:",
        "    linux:",
        "      image: quay.io/frrouting/frr:8.4.4",
        "  nodes:",
    ]
    for i in range(ROUTERS):
        (directory / f"r{i}.conf").write_text(router_config(i, i < COMMUNES))
        lines += [f"    r{i}:", "      kind: linux", f"      startup-config: r{i}.conf"]
    for k in range(COMMUNES):
        batch = "\\n".join(f"addr add {a} dev lo" for a in commune_addresses(k))
        lines += [
            f"    c{k}:",
            "      kind: linux",
            "      image: docker.io/library/alpine:3.20",
            "      env: {GOVNET_SNMPD: '1', SNMP_COMMUNITY: bench-ro}",
            "      exec:",
            f"        - printf '{batch}\\n' | ip -batch -",
            f"        - ip route add 10.0.0.0/8 via 10.3.{k}.1",
        ]
    lines.append("  links:")
    for i in range(ROUTERS):
        j = (i + 1) % ROUTERS
        lines.append(f'    - endpoints: ["r{i}:eth1", "r{j}:eth2"]')
        lines.append(f'      ipv4: ["10.0.{i}.1/30", "10.0.{i}.2/30"]')
    for k in range(COMMUNES):
        lines.append(f'    - endpoints: ["r{k}:eth3", "c{k}:eth1"]')
        lines.append(f'      ipv4: ["10.3.{k}.1/30", "10.3.{k}.2/30"]')
    path = directory / "bench.clab.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


class RssSampler(threading.Thread):
    """Samples the summed RSS of every process in the lab namespaces (bounded rate)."""

    def __init__(self, namespaces: list[str], interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.namespaces = namespaces
        self.interval = interval
        self.peak_kib = 0
        self.peak_pss_kib = 0
        self.peak_procs = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            pids = [p for ps in pids_in_netns(self.namespaces).values() for p in ps]
            self.peak_kib = max(self.peak_kib, rss_kib(pids))
            self.peak_pss_kib = max(self.peak_pss_kib, pss_kib(pids))
            self.peak_procs = max(self.peak_procs, len(pids))
            self.stop_event.wait(self.interval)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds to keep the lab up after OSPF converged (RSS sampling)",
    )
    parser.add_argument("--synthetic", action="store_true", help="the generated ring instead")
    parser.add_argument("--peer", choices=["mininet"], help="compare setup with this peer")
    parser.add_argument("--topology", type=Path, default=LAB, help="--peer: the graph to build")
    parser.add_argument("--runs", type=int, default=3, help="--peer: runs of each (median)")
    args = parser.parse_args()
    if args.peer:
        return versus_mininet(args.topology, max(1, min(args.runs, 10)), args.settle)
    if not args.synthetic:
        return national(args.settle)
    with tempfile.TemporaryDirectory(prefix="govnet-bench-") as tmp:
        topo = write_topology(Path(tmp))
        lab = Lab(topo, Path(tmp) / "clab-bench", env={})
        sampler = RssSampler(list(lab.plan.namespaces))
        sampler.start()
        started = time.monotonic()
        try:
            up = lab.up()
            up_s = time.monotonic() - started
            ospf = run_check(lab, parse_check({"ospf": {"node": "r0", "full": 2}, "timeout": 60}))
            conv = run_check(
                lab, parse_check({"ping": {"from": "r14", "to": "10.100.0.66"}, "timeout": 60})
            )
            converge_s = time.monotonic() - started
            snmp_ok = 0
            snmp_start = time.monotonic()
            for k in range(COMMUNES):
                addr = commune_addresses(k)[-1].split("/")[0]
                if snmp_get(lab.plan.mgmt_netns, addr, SnmpAuth(community="bench-ro")) == f"c{k}":
                    snmp_ok += 1
            snmp_s = time.monotonic() - snmp_start
            time.sleep(args.settle)
        finally:
            down_start = time.monotonic()
            down = lab.down()
            down_s = time.monotonic() - down_start
            sampler.stop_event.set()
            sampler.join(5)
    nodes = ROUTERS + COMMUNES
    print()
    print("govnet namespace lab benchmark")
    print("-" * 64)
    print(f"topology           {ROUTERS} FRR routers + {COMMUNES} commune hosts = {nodes} nodes,")
    print(
        f"                   {len(lab.plan.links)} links, {ADDRESSES} commune /32s, "
        f"{nodes} snmpd + {ROUTERS} sshd"
    )
    print(
        f"up                 {up_s:6.1f} s   ({up.processes} processes, "
        f"{up.namespaces} namespaces, {up.mgmt_routes} mgmt routes)"
    )
    print(
        f"OSPF + reachability{converge_s:6.1f} s   (r0 Full: {ospf.ok}; "
        f"r14 -> 10.100.0.66: {conv.ok})"
    )
    print(f"SNMP sample        {snmp_ok}/{COMMUNES} commune agents answered in {snmp_s:.1f} s")
    print(
        f"down               {down_s:6.1f} s   ({down.killed} processes ended, "
        f"{len(down.survivors)} survivors)"
    )
    print(
        f"peak RSS (sum)     {sampler.peak_kib / 1024:6.0f} MiB over {sampler.peak_procs} "
        "processes (goal < 3 GiB)"
    )
    print(f"peak PSS (sum)     {sampler.peak_pss_kib / 1024:6.0f} MiB (shared pages counted once)")
    print(f"goal up < 30 s     {'met' if up_s < 30 else 'MISSED'}")
    print(f"paper comparison   {CLAB_PAPER}")
    print(f"                   (this run: {nodes} nodes in {up_s:.1f} s on this machine)")
    return 0 if up_s < 30 and sampler.peak_kib < 3 * 1024 * 1024 and not down.survivors else 1


NATIONAL = Path(__file__).resolve().parent.parent / "topologies/national.clab.yml"


def national(settle: float) -> int:
    """Up, converge, sample SNMP and down the shipped national topology."""
    lab = Lab(NATIONAL)
    if lab.is_up():
        print("the national lab is already up: bring it down first to measure", file=sys.stderr)
        return 1
    hosts = {n: node for n, node in lab.topology.nodes.items() if n.startswith("communes-")}
    sampler = RssSampler(list(lab.plan.namespaces))
    sampler.start()
    started = time.monotonic()
    try:
        up = lab.up()
        up_s = time.monotonic() - started
        first = next(iter(hosts.values())).exec
        target = next(c.split()[3].split("/")[0] for c in first if c.endswith("/32 dev lo"))
        reach = run_check(
            lab, parse_check({"ping": {"from": "nms-1", "to": target}, "timeout": 120})
        )
        converge_s = time.monotonic() - started
        snmp_ok = 0
        for node in hosts.values():
            address = next(c.split()[3].split("/")[0] for c in node.exec if c.endswith("dev lo"))
            community = node.env.get("SNMP_COMMUNITY", "")
            check = {"snmp": {"address": address, "community": community}, "timeout": 30}
            if run_check(lab, parse_check(check)).ok:
                snmp_ok += 1
        time.sleep(settle)
    finally:
        down_start = time.monotonic()
        down = lab.down()
        down_s = time.monotonic() - down_start
        sampler.stop_event.set()
        sampler.join(5)
    routers = sum(1 for n in lab.topology.nodes.values() if "frr" in n.image)
    print()
    print(f"govnet namespace lab benchmark: {NATIONAL.name}")
    print("-" * 64)
    print(
        f"topology           {len(lab.topology.nodes)} nodes ({routers} FRR routers, "
        f"{len(hosts)} commune hosts), {len(lab.plan.links)} links"
    )
    print(
        f"up                 {up_s:6.1f} s   ({up.processes} processes, {up.namespaces} namespaces)"
    )
    print(f"converged          {converge_s:6.1f} s   (nms-1 -> commune {target}: {reach.ok})")
    print(f"SNMP sample        {snmp_ok}/{len(hosts)} commune hosts answered")
    print(
        f"down               {down_s:6.1f} s   ({down.killed} processes ended, "
        f"{len(down.survivors)} survivors)"
    )
    print(
        f"peak RSS (sum)     {sampler.peak_kib / 1024:6.0f} MiB over {sampler.peak_procs} "
        "processes (goal < 3 GiB)"
    )
    print(f"peak PSS (sum)     {sampler.peak_pss_kib / 1024:6.0f} MiB (shared pages counted once)")
    print(f"goal up < 30 s     {'met' if up_s < 30 else 'MISSED'}")
    print(f"paper comparison   {CLAB_PAPER}")
    ok = up_s < 30 and sampler.peak_kib < 3 * 1024 * 1024 and not down.survivors and reach.ok
    return 0 if ok else 1


LAB = Path(__file__).resolve().parent.parent / "topologies/lab.clab.yml"
MININET_PEER = Path(__file__).resolve().parent / "mininet_peer.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # where Debian's mininet package installs its module
BARE_SUBNET = "172.31.250.0/24"


def graph_of(topology: Path) -> dict[str, Any]:
    """The node/link graph of a topology: node names and link endpoint pairs."""
    loaded = load_topology(topology)
    return {
        "nodes": list(loaded.nodes),
        "links": [[link.a.node, link.b.node] for link in loaded.links],
        "endpoints": [[str(link.a), str(link.b)] for link in loaded.links],
    }


def bare_topology(topology: Path, directory: Path) -> Path:
    """The same nodes and links as plain Linux nodes: no FRR, sshd or snmpd."""
    graph = graph_of(topology)
    data = {
        "name": "benchbare",
        "mgmt": {"network": "govnet-benchbare", "ipv4-subnet": BARE_SUBNET},
        "topology": {
            "nodes": {
                n: {"kind": "linux", "image": "debian:bookworm-slim"} for n in graph["nodes"]
            },
            "links": [{"endpoints": pair} for pair in graph["endpoints"]],
        },
    }
    path = directory / "benchbare.clab.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def mininet_once(graph: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [SYSTEM_PYTHON, str(MININET_PEER)],
        input=json.dumps(graph),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"mininet peer failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def govnet_bare_once(topology: Path, directory: Path) -> tuple[float, float, int]:
    lab = Lab(topology, directory / "clab-benchbare", env={})
    started = time.monotonic()
    try:
        up = lab.up()
        up_s = time.monotonic() - started
    finally:
        down_start = time.monotonic()
        down = lab.down()
        down_s = time.monotonic() - down_start
    if down.survivors:
        raise SystemExit(f"govnet bare lab left processes: {down.survivors}")
    return up_s, down_s, up.processes


def versus_mininet(topology: Path, runs: int, settle: float) -> int:
    """Mininet and govnet (bare, then full) on the same graph, same machine, same run."""
    if not Path(SYSTEM_PYTHON).exists() or shutil.which("mnexec") is None:
        print("Mininet is not installed (Debian package mininet, deps/apt-bench.txt)")
        return 1
    graph = graph_of(topology)
    full = Lab(topology)
    if full.is_up():
        print(f"{topology} is up: bring it down first to measure", file=sys.stderr)
        return 1
    mininet: list[dict[str, Any]] = []
    bare: list[tuple[float, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="govnet-bench-") as tmp:
        bare_topo = bare_topology(topology, Path(tmp))
        for _ in range(runs):  # interleaved, so both see the same machine load
            mininet.append(mininet_once(graph))
            bare.append(govnet_bare_once(bare_topo, Path(tmp)))
    sampler = RssSampler(list(full.plan.namespaces))
    sampler.start()
    started = time.monotonic()
    converged = None
    try:
        up = full.up()
        up_s = time.monotonic() - started
        core = next((n for n in full.plan.nodes if n.frr), None)
        if core is not None:
            peers = sum(
                1
                for link in full.plan.links
                if core.name in (link.a.node, link.b.node)
                and all(full.plan.node(end).frr for end in (link.a.node, link.b.node))
            )
            check = {"ospf": {"node": core.name, "full": peers}, "timeout": 90}
            converged = run_check(full, parse_check(check))
        converge_s = time.monotonic() - started
        time.sleep(settle)
    finally:
        down_start = time.monotonic()
        down = full.down()
        full_down_s = time.monotonic() - down_start
        sampler.stop_event.set()
        sampler.join(5)
    mn_up = statistics.median(r["setup_s"] for r in mininet)
    mn_down = statistics.median(r["teardown_s"] for r in mininet)
    gv_up = statistics.median(b[0] for b in bare)
    gv_down = statistics.median(b[1] for b in bare)
    nodes, links = len(graph["nodes"]), len(graph["links"])
    print()
    print(
        f"namespace + link setup, {topology.name}: {nodes} nodes, {links} links, median of {runs}"
    )
    print("-" * 72)
    print(f"{'':28}{'setup':>10}{'teardown':>10}   runs (setup s)")
    print(
        f"{'Mininet 2.3 (hosts, veths)':28}{mn_up:9.2f}s{mn_down:9.2f}s   "
        + " ".join(f"{r['setup_s']:.2f}" for r in mininet)
    )
    print(
        f"{'govnet, no daemons':28}{gv_up:9.2f}s{gv_down:9.2f}s   "
        + " ".join(f"{b[0]:.2f}" for b in bare)
    )
    print(f"{'ratio govnet / Mininet':28}{gv_up / mn_up:9.2f} {gv_down / mn_down:9.2f}")
    when = f"in {converge_s:.1f} s" if converged and converged.ok else "NOT"
    print(
        f"{'govnet with FRR/sshd/snmpd':28}{up_s:9.2f}s{full_down_s:9.2f}s   "
        f"({up.processes} processes; OSPF converged {when})"
    )
    print(
        f"{'':28}peak RSS {sampler.peak_kib / 1024:.0f} MiB, PSS "
        f"{sampler.peak_pss_kib / 1024:.0f} MiB over {sampler.peak_procs} processes"
    )
    goal = "met" if gv_up <= mn_up else "MISSED"
    print(f"goal: govnet setup no slower than Mininet's for the same graph: {goal}")
    left = [r["left"] for r in mininet if r["left"]]
    ok = not left and not down.survivors and (converged is None or converged.ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

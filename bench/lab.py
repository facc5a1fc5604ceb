"""Benchmark the namespace lab at government-network scale.

By default the shipped national topology (topologies/national.clab.yml: 58 FRR routers,
the NMS and 25 commune-host namespaces holding the 1,652 commune addresses, one snmpd
each); ``--synthetic`` runs a generated ring of 28 FRR routers + 25 commune hosts instead.
Brings it up, samples the RSS of every lab process while it runs, checks convergence and
a sample of SNMP answers, brings it down, and prints the figures beside containerlab's
published ones.

    sudo .venv/bin/python bench/lab.py [--synthetic] [--settle S]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulations.checks import parse_check, run_check
from simulations.lab import Lab
from simulations.procs import pids_in_netns, pss_kib, rss_kib
from simulations.snmp import SnmpAuth, snmp_get

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
    args = parser.parse_args()
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


if __name__ == "__main__":
    sys.exit(main())

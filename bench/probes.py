"""Benchmark the probes against their peers on loopback agents, in one run.

    .venv/bin/python bench/probes.py                # national size: 1,652 CPEs + 60 routers
    .venv/bin/python bench/probes.py --cpes 200 --routers 10 --memory-cycles 50
    .venv/bin/python bench/probes.py --cpe-snmp 2c  # CPEs on v2c, as before the v3 move

Targets: ``--cpes`` commune CPEs (SNMPv3 authPriv like the national ``cpe-v3`` profile, or
v2c with ``--cpe-snmp 2c``) and ``--routers`` routers (SNMPv3 authPriv SHA/AES, like
``noc-v3``) on 127.1.x.y, served by
net-snmp ``snmpd`` processes of ~215 addresses each. For each protocol, govnet polls the
same OIDs as Prometheus' snmp_exporter (its snmp.yml is written here by hand: the
generator needs MIB files this machine lacks) scraped with a bounded thread pool; ICMP
is compared with one plain fping run. Then memory (RSS) over ``--memory-cycles`` full
cycles on ``--memory-targets`` targets. Every process started here is ended by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from probes.agents import AgentAuth, AgentPool
from probes.credentials import SnmpCredentials
from probes.cycle import Plan, run_cycle
from probes.icmp import IcmpSettings, Pinger, fping_argv
from probes.model import Target
from probes.sharding import ALL
from probes.snmp import SnmpPoller, SnmpSettings
from probes.snmp_walk import COLUMNS, SYS_NAME, SYS_UPTIME

PER_AGENT = 215
AUTH = AgentAuth()
EXPORTER = "/usr/bin/prometheus-snmp-exporter"
HZ = os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    values: int
    ok: int
    total: int

    @property
    def us_per_value(self) -> float:
        return 1e6 * self.cpu / self.values if self.values else float("nan")

    def row(self) -> str:
        return (
            f"{self.name:<34} {self.wall:7.2f} s {self.cpu:7.2f} s {self.values:9,d} "
            f"{self.us_per_value:8.1f} µs  {self.ok}/{self.total}"
        )


def own_cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def pid_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def addresses(count: int) -> list[str]:
    return [f"127.1.{i // PER_AGENT}.{i % PER_AGENT + 1}" for i in range(count)]


def make_targets(cpes: int, routers: int, cpe_profile: str = "v3") -> list[Target]:
    out = []
    for i, address in enumerate(addresses(routers + cpes)):
        router = i < routers
        out.append(
            Target(
                name=f"r{i}" if router else f"cpe{i}",
                role="province-router" if router else "cpe",
                site="KH-12",
                province="KH-12",
                tenant="",
                icmp_address=address,
                snmp_address=address,
                snmp_profile_name="v3" if router else cpe_profile,
                snmp_profile=None,
            )
        )
    return out


def credentials(port: int) -> dict[str, SnmpCredentials]:
    return {
        "v2c": SnmpCredentials("v2c", "2c", port, community=AUTH.community.encode()),
        "v3": SnmpCredentials(
            "v3", "3", port, user=AUTH.user, auth_key=AUTH.auth, priv_key=AUTH.priv
        ),
    }


# ------------------------------------------------------------------ govnet


async def govnet_snmp(targets: list[Target], port: int, cycles: int) -> list[Run]:
    poller = SnmpPoller(credentials(port), SnmpSettings(timeout=2.0, retries=1))
    await poller.open()
    runs = []
    try:
        for cycle in range(cycles):
            cpu0, wall0 = own_cpu(), time.perf_counter()
            results = await poller.poll(targets)
            wall, cpu = time.perf_counter() - wall0, own_cpu() - cpu0
            values = sum(r.values for r in results.values())
            ok = sum(1 for r in results.values() if r.ok)
            runs.append(Run(f"cycle {cycle + 1}", wall, cpu, values, ok, len(targets)))
    finally:
        poller.close()
    return runs


async def govnet_full(
    targets: list[Target],
    port: int,
    cycles: int,
    icmp: IcmpSettings,
    on_cycle: Callable[[int], None],
) -> list[Run]:
    poller = SnmpPoller(credentials(port), SnmpSettings(timeout=2.0, retries=1))
    await poller.open()
    pinger = Pinger(icmp)
    plan = Plan(tuple(targets), (), ALL)
    runs = []
    try:
        for i in range(cycles):
            cycle = await run_cycle(plan, poller, pinger)
            runs.append(
                Run(
                    "full",
                    cycle.seconds,
                    cycle.cpu_seconds,
                    cycle.snmp_values,
                    cycle.polled,
                    len(targets),
                )
            )
            on_cycle(i)
    finally:
        poller.close()
    return runs


async def govnet_icmp(targets: list[Target], icmp: IcmpSettings) -> Run:
    cpu0, wall0 = own_cpu(), time.perf_counter()
    results = await Pinger(icmp).ping(targets)
    wall, cpu = time.perf_counter() - wall0, own_cpu() - cpu0
    ok = sum(1 for r in results.values() if r.ok)
    return Run(
        "govnet ICMP (fping ×workers)",
        wall,
        cpu,
        sum(r.sent for r in results.values()),
        ok,
        len(targets),
    )


# ------------------------------------------------------------------ peers


def exporter_config(port: int) -> dict[str, object]:
    oid = ".".join
    walk = [oid(map(str, c.oid)) for c in COLUMNS]
    metrics: list[dict[str, object]] = [
        {"name": "sysUpTime", "oid": oid(map(str, SYS_UPTIME)), "type": "gauge"},
        {"name": "sysName", "oid": oid(map(str, SYS_NAME)), "type": "DisplayString"},
    ]
    for column in COLUMNS:
        kind = {0x04: "DisplayString", 0x02: "gauge", 0x42: "gauge"}.get(column.tag, "counter")
        metrics.append(
            {
                "name": column.name,
                "oid": oid(map(str, column.oid)),
                "type": kind,
                "indexes": [{"labelname": "ifIndex", "type": "gauge"}],
            }
        )
    common = {
        "walk": walk,
        "get": [f"{oid(map(str, SYS_UPTIME))}.0", f"{oid(map(str, SYS_NAME))}.0"],
        "metrics": metrics,
        "max_repetitions": 25,
        "retries": 1,
        "timeout": "2s",
    }
    return {
        "govnet_v2c": {**common, "version": 2, "auth": {"community": AUTH.community}},
        "govnet_v3": {
            **common,
            "version": 3,
            "auth": {
                "username": AUTH.user,
                "security_level": "authPriv",
                "password": AUTH.auth,
                "auth_protocol": "SHA",
                "priv_protocol": "AES",
                "priv_password": AUTH.priv,
            },
        },
    }


class Exporter:
    """prometheus-snmp-exporter on 127.0.0.1, ended by its PID."""

    def __init__(self, directory: Path, snmp_port: int, http_port: int) -> None:
        self.config = directory / "snmp.yml"
        self.config.write_text(json.dumps(exporter_config(snmp_port), indent=1))  # YAML ⊃ JSON
        self.url = f"http://127.0.0.1:{http_port}"
        self.snmp_port = snmp_port
        self.process = subprocess.Popen(
            [
                EXPORTER,
                f"--config.file={self.config}",
                f"--web.listen-address=127.0.0.1:{http_port}",
                "--log.level=error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url, timeout=1).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("snmp_exporter exited (bad snmp.yml?)") from None
                time.sleep(0.1)
        raise RuntimeError("snmp_exporter did not start")

    def scrape(self, address: str, module: str) -> int:
        url = f"{self.url}/snmp?target={address}:{self.snmp_port}&module={module}"
        with urllib.request.urlopen(url, timeout=30) as response:
            text = response.read().decode()
        return sum(
            1 for line in text.splitlines() if line and not line.startswith(("#", "snmp_scrape"))
        )

    def run(self, name: str, targets: Sequence[Target], module: str, workers: int) -> Run:
        cpu0, wall0 = pid_cpu(self.process.pid), time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            counts = list(pool.map(lambda t: self.scrape(t.snmp_address, module), targets))
        wall, cpu = time.perf_counter() - wall0, pid_cpu(self.process.pid) - cpu0
        ok = sum(1 for c in counts if c > 0)
        return Run(name, wall, cpu, sum(counts), ok, len(targets))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def plain_fping(targets: Sequence[Target], icmp: IcmpSettings) -> Run:
    argv = fping_argv(icmp, [t.icmp_address for t in targets])
    cpu0, wall0 = own_cpu(), time.perf_counter()
    done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    wall, cpu = time.perf_counter() - wall0, own_cpu() - cpu0
    ok = done.stderr.decode().count(" : ") - done.stderr.decode().count(" : - - -")
    return Run("fping (one process)", wall, cpu, len(targets) * icmp.count, ok, len(targets))


# ------------------------------------------------------------------ main


def header(title: str) -> None:
    print(f"\n{title}\n{'':<34} {'wall':>9} {'CPU':>9} {'values':>9} {'CPU/value':>11}  ok")


def ratio(a: Run, b: Run) -> str:
    return (
        f"  govnet/peer: wall {a.wall / b.wall:.2f}×, CPU {a.cpu / b.cpu:.2f}×, "
        f"CPU per value {a.us_per_value / b.us_per_value:.2f}×"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpes", type=int, default=1652)
    parser.add_argument("--routers", type=int, default=60)
    parser.add_argument("--cycles", type=int, default=3, help="SNMP cycles per measurement")
    parser.add_argument("--workers", type=int, default=64, help="concurrent exporter scrapes")
    parser.add_argument(
        "--cpe-snmp", choices=("3", "2c"), default="3", help="the CPEs' SNMP version"
    )
    parser.add_argument("--memory-cycles", type=int, default=1000)
    parser.add_argument("--memory-targets", type=int, default=300)
    parser.add_argument("--skip-peers", action="store_true")
    args = parser.parse_args(argv)
    for binary in ("/usr/sbin/snmpd", "fping") + (() if args.skip_peers else (EXPORTER,)):
        if shutil.which(binary) is None:
            print(f"error: {binary} is not installed (deps/apt-probes.txt)", file=sys.stderr)
            return 2
    targets = make_targets(args.cpes, args.routers, "v3" if args.cpe_snmp == "3" else "v2c")
    v2c = [t for t in targets if t.snmp_profile_name == "v2c"]
    v3 = [t for t in targets if t.snmp_profile_name == "v3"]
    icmp = IcmpSettings(count=3, period_ms=200, timeout_ms=500)
    with tempfile.TemporaryDirectory(prefix="govnet-bench-probes-") as tmp:
        port = _free_port()
        pool = AgentPool(Path(tmp), AUTH, port=port)
        exporter: Exporter | None = None
        try:
            all_addresses = [t.snmp_address for t in targets]
            for i in range(0, len(all_addresses), PER_AGENT):
                pool.add(f"agent{i // PER_AGENT}", all_addresses[i : i + PER_AGENT])
            started = time.perf_counter()
            pool.start()
            print(
                f"{len(targets)} targets ({args.cpes} CPEs on SNMP {args.cpe_snmp}, "
                f"{args.routers} routers on v3; {len(v2c)} v2c, {len(v3)} v3 in all) on "
                f"{len(pool.agents)} snmpd processes "
                f"(ready in {time.perf_counter() - started:.1f} s)"
            )
            g2 = asyncio.run(govnet_snmp(v2c, port, args.cycles)) if v2c else []
            if v2c:
                header("SNMP v2c (govnet: lean client)")
                for run in g2:
                    print(run.row())
            header("SNMP v3 authPriv (govnet: lean USM client)")
            g3 = asyncio.run(govnet_snmp(v3, port, args.cycles)) if v3 else []
            for run in g3:
                print(run.row())
            if not args.skip_peers:
                exporter = Exporter(Path(tmp), port, _free_port())
                header(f"peer: snmp_exporter 0.21, {args.workers} concurrent scrapes")
                if v2c:
                    e2 = exporter.run("snmp_exporter v2c", v2c, "govnet_v2c", args.workers)
                    print(e2.row())
                    print(ratio(g2[-1], e2))
                if v3:
                    e3 = exporter.run("snmp_exporter v3", v3, "govnet_v3", args.workers)
                    print(e3.row())
                    print(ratio(g3[-1], e3))
                exporter.stop()
                exporter = None
            header("ICMP: 3 echoes per target")
            gi = asyncio.run(govnet_icmp(targets, icmp))
            print(gi.row())
            fp = plain_fping(targets, icmp)
            print(fp.row())
            print(f"  govnet/fping: wall {gi.wall / fp.wall:.2f}×, CPU {gi.cpu / fp.cpu:.2f}×")
            header("full cycle: SNMP (v2c + v3) and ICMP concurrently")
            full = asyncio.run(govnet_full(targets, port, args.cycles, icmp, lambda i: None))
            for run in full:
                print(run.row())
            if not v2c:
                worst = max(run.wall for run in full)
                print(
                    f"  every target on SNMPv3: slowest full cycle {worst:.2f} s "
                    f"(goal: under 5 s) — {'met' if worst < 5 else 'NOT met'}"
                )
            memory(targets[: args.memory_targets], port, args.memory_cycles)
        finally:
            if exporter is not None:
                exporter.stop()
            pool.stop()
    return 0


def memory(targets: list[Target], port: int, cycles: int) -> None:
    if cycles <= 0:
        return
    icmp = IcmpSettings(count=1, period_ms=10, timeout_ms=200)
    samples: dict[int, float] = {}

    marks = {0, 9, cycles - 1} | set(range(99, cycles, max(100, cycles // 10)))

    def on_cycle(i: int) -> None:
        if i in marks:
            samples[i + 1] = rss_mb()

    started = time.perf_counter()
    runs = asyncio.run(govnet_full(targets, port, cycles, icmp, on_cycle))
    failed = sum(r.total - r.ok for r in runs)
    print(
        f"\nmemory: {cycles} full cycles on {len(targets)} targets (reduced count, 1 echo) "
        f"in {time.perf_counter() - started:.0f} s, {failed} target-failures"
    )
    print("  RSS after cycle " + ", ".join(f"{k}: {v:.1f} MB" for k, v in sorted(samples.items())))
    warm = samples.get(10, samples[min(samples)])
    later = [v for k, v in samples.items() if k >= 10]
    drift = max(abs(v - warm) for v in later)
    verdict = "flat" if drift <= 2.0 else "NOT flat"
    print(f"  after warm-up (cycle 10): within ±{drift:.1f} MB — {verdict} (goal: ±2 MB)")


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind(("0.0.0.0", 0))
        port = int(udp.getsockname()[1])
        tcp.bind(("127.0.0.1", port))
        return port


if __name__ == "__main__":
    raise SystemExit(main())

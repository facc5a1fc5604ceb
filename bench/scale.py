"""Scale bench: a 10x national network polled by 1, 3 and 6 regional collectors.

    .venv/bin/python bench/scale.py                       # 16,520 CPEs + 600 routers, 1/3/6
    .venv/bin/python bench/scale.py --cpes 1652 --routers 60 --collectors 1 2 --cycles 2
    .venv/bin/python bench/scale.py --collectors 6 --alone  # each collector by itself

A generated inventory (25 provinces; ``--routers`` routers, two of them cores, the rest
province routers; ``--cpes`` commune CPEs on SNMPv3 authPriv behind them) whose every
device answers on a 127.1.x.y address, served by loopback net-snmp agents of ~215
addresses each (bench/probes.py's). For each collector count N the provinces are split
into N regions, one collector each, and ``govnet soc up --collectors`` runs them for real:
N probe shards (``govnet probe serve --collector``) with a Prometheus agent each, all
remote-writing to the SOC's Prometheus as the central store, on 127.0.0.1. After
``--cycles`` cycles of every collector it reads from the central store: each collector's
cycle wall and CPU time (its process and fping) and its agent's CPU, the store's ingest
(samples/s) and series, and the remote-write lag (newest sample appended by an agent
minus the newest it sent). Everything started here is ended by PID.

``--alone`` runs the N collectors one after another, each by itself with only its
region's sites in the inventory: in a deployment every collector has a machine of its
own, and here N collectors at 10× would share these 2 cores with every agent and the
store. The agents of all targets stay up throughout; the store's ingest and series are
then the sum of the N runs.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from controller.inventory import load_inventory  # noqa: E402
from controller.soc import procs  # noqa: E402
from controller.soc.settings import SocSettings  # noqa: E402
from controller.soc.stack import SocStack  # noqa: E402
from probes.agents import AgentAuth, AgentPool  # noqa: E402

PER_AGENT = 215
AUTH = AgentAuth()
PROVINCES = [f"KH-{i}" for i in range(1, 26)]
HZ = os.sysconf("SC_CLK_TCK")
ENV = {"GOVNET_BENCH_SNMP_AUTH": AUTH.auth, "GOVNET_BENCH_SNMP_PRIV": AUTH.priv}


def address(i: int) -> str:
    return f"127.1.{i // PER_AGENT}.{i % PER_AGENT + 1}"


def inventory(cpes: int, routers: int, snmp_port: int) -> dict[str, Any]:
    """A valid loopback inventory: 2 cores, province routers dual-homed to them, CPEs."""
    devices: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    communes: list[dict[str, Any]] = []
    p2p = ipaddress.IPv4Network("10.0.0.0/9").subnets(new_prefix=31)
    province_routers = routers - 2
    per_router = [
        cpes // province_routers + (1 if r < cpes % province_routers else 0)
        for r in range(province_routers)
    ]

    def link(a: str, b: str, kind: str, bandwidth: str, static: bool = False) -> None:
        item: dict[str, Any] = {
            "a": a,
            "b": b,
            "kind": kind,
            "bandwidth": bandwidth,
            "prefix": str(next(p2p)),
        }
        if static:
            item["routing"] = {"static": True}
        links.append(item)

    for c in range(2):
        devices.append(
            {
                "name": f"core-{c + 1}",
                "role": "core",
                "site": "KH-12",
                "mgmt": address(c),
                "interfaces": [f"eth{i}" for i in range(1, province_routers + 2)],
            }
        )
    link("core-1:eth1", "core-2:eth1", "core", "10G")
    index, serial = 2, [0] * len(PROVINCES)
    for r in range(province_routers):
        province = PROVINCES[r % len(PROVINCES)]
        name = f"pr-{r + 1}"
        count = per_router[r]
        devices.append(
            {
                "name": name,
                "role": "province-router",
                "site": province,
                "mgmt": address(index),
                "interfaces": [f"eth{i}" for i in range(1, count + 3)],
            }
        )
        index += 1
        for c in range(2):
            link(f"core-{c + 1}:eth{r + 2}", f"{name}:eth{c + 1}", "province-core", "1G")
        number = int(province.removeprefix("KH-"))
        for k in range(count):
            serial[number - 1] += 1
            code = f"{number:02d}{serial[number - 1]:04d}"
            communes.append({"code": code, "name": f"Commune {code}", "province": province})
            devices.append(
                {
                    "name": f"cpe-{code}",
                    "role": "cpe",
                    "site": code,
                    "mgmt": address(index),
                    "groups": ["cpe"],
                    "interfaces": ["eth1"],
                }
            )
            index += 1
            link(f"{name}:eth{k + 3}", f"cpe-{code}:eth1", "commune-access", "100M", True)
    devices.append(
        {
            "name": "nms-1",
            "role": "nms",
            "site": "KH-12",
            "mgmt": "127.2.0.1",
            "platform": "linux",
            "interfaces": ["eth1"],
        }
    )
    profile = {
        "version": "3",
        "user": AUTH.user,
        "auth": "env:GOVNET_BENCH_SNMP_AUTH",
        "priv": "env:GOVNET_BENCH_SNMP_PRIV",
        "port": snmp_port,
    }
    return {
        "network": {"name": "scale-bench"},
        "defaults": {"platform": "frr", "snmp_profile": "v3", "ssh_credential": "bench"},
        "groups": {"cpe": {"platform": "linux"}},
        "provinces": [{"code": p, "name": f"Province {p}"} for p in PROVINCES],
        "communes": communes,
        "devices": devices,
        "links": links,
        "pools": {
            "ipv4": {
                "management": {"prefix": "127.0.0.0/8", "use": "management"},
                "p2p": {"prefix": "10.0.0.0/9", "use": "p2p"},
            }
        },
        "credentials": {
            "ssh": {"bench": {"username": "govnet", "password": "env:GOVNET_BENCH_SSH"}},
            "snmp": {"v3": profile},
        },
    }


def collectors(shares: dict[str, list[str]], interval: int, ports: list[int]) -> dict[str, Any]:
    """One collector per region (name → its provinces), all on the NMS."""
    return {
        "scrape_interval": interval,
        "store": {"device": "nms-1"},
        "regions": [
            {
                "name": name,
                "device": "nms-1",
                "provinces": provinces,
                "probe_port": ports[2 * i],
                "agent_port": ports[2 * i + 1],
            }
            for i, (name, provinces) in enumerate(shares.items())
        ],
    }


def regions(count: int) -> dict[str, list[str]]:
    """``count`` regions, the 25 provinces dealt round-robin between them."""
    return {f"region-{i + 1}": PROVINCES[i::count] for i in range(count)}


def only(data: dict[str, Any], provinces: list[str]) -> dict[str, Any]:
    """The inventory cut to the sites of ``provinces`` (and the NMS): one region's share."""
    wanted = set(provinces)
    commune_province = {c["code"]: c["province"] for c in data["communes"]}
    devices = [
        d
        for d in data["devices"]
        if d["role"] == "nms" or commune_province.get(d["site"], d["site"]) in wanted
    ]
    names = {d["name"] for d in devices}
    links = [
        link
        for link in data["links"]
        if link["a"].split(":")[0] in names and link["b"].split(":")[0] in names
    ]
    communes = [c for c in data["communes"] if c["province"] in wanted]
    return {**data, "devices": devices, "links": links, "communes": communes}


def free_ports(count: int) -> list[int]:
    import socket

    found: list[int] = []
    sockets = []
    try:
        while len(found) < count:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
            found.append(int(sock.getsockname()[1]))
    finally:
        for sock in sockets:
            sock.close()
    return found


def udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("0.0.0.0", 0))
        return int(udp.getsockname()[1])


def query(url: str, promql: str) -> dict[str, float]:
    """An instant query → {collector (or ''): value}."""
    with httpx.Client(trust_env=False, timeout=20) as client:
        body = client.get(f"{url}/api/v1/query", params={"query": promql}).json()
    if body.get("status") != "success":
        raise RuntimeError(f"{promql}: {body}")
    return {r["metric"].get("collector", ""): float(r["value"][1]) for r in body["data"]["result"]}


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def dump(data: dict[str, Any], path: Path) -> None:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(data, Dumper=dumper, sort_keys=False), encoding="utf-8")


def run_one(
    work: Path,
    data: dict[str, Any],
    shares: dict[str, list[str]],
    interval: int,
    cycles: int,
    timeout: float,
    keep: Path | None = None,
) -> dict[str, Any]:
    count = len(shares)
    tag = "-".join(shares)
    ports = free_ports(2 * count + 3)
    source = work / f"inventory-{tag}.yaml"
    dump({**data, "collectors": collectors(shares, interval, ports[3:])}, source)
    state = work / f"state-{tag}"
    settings = SocSettings(
        state_dir=state,
        prometheus_port=ports[0],
        alertmanager_port=ports[1],
        textfile_port=ports[2],
        scrape_interval=interval,
        evaluation_interval=interval,
        collectors=True,
    )
    started = time.perf_counter()
    stack = SocStack(settings, load_inventory(source), source)
    url = settings.prometheus_url
    try:
        stack.up()
        up_seconds = time.perf_counter() - started
        agent_pids = {
            name: record.pid
            for name in stack.names()
            if name.startswith("agent-")
            and (record := procs.read_record(stack.pid_file(name))) is not None
        }
        cpu0 = {n: process_cpu(p) for n, p in agent_pids.items()}
        t0 = time.monotonic()
        deadline = time.monotonic() + timeout
        done: dict[str, float] = {}
        while time.monotonic() < deadline:
            done = query(url, "govnet_probe_cycles_total")
            if len(done) == count and min(done.values()) >= cycles:
                break
            time.sleep(2)
        else:
            raise RuntimeError(f"{tag}: not {cycles} cycles each in {timeout:.0f} s")
        time.sleep(2 * interval)  # the last cycles' samples and a few agent self-scrapes
        elapsed = time.monotonic() - t0
        window = f"{int(elapsed)}s"
        wall = query(url, f"max_over_time(govnet_probe_cycle_duration_seconds[{window}])")
        cpu = query(url, f"max_over_time(govnet_probe_cycle_cpu_seconds[{window}])")
        polled = query(url, 'govnet_probe_targets{state="polled"}')
        failed = query(url, 'govnet_probe_targets{state="failed"}')
        lag = query(
            url,
            f"max_over_time((prometheus_remote_storage_highest_timestamp_in_seconds"
            f" - ignoring(remote_name, url) group_right"
            f" prometheus_remote_storage_queue_highest_sent_timestamp_seconds)[{window}:5s])",
        )
        ingest = query(url, f"sum(rate(prometheus_tsdb_head_samples_appended_total[{window}]))")
        series = query(url, "prometheus_tsdb_head_series")
        agent_cpu = {
            n.removeprefix("agent-"): (process_cpu(p) - cpu0[n]) / elapsed * interval
            for n, p in agent_pids.items()
        }
    finally:
        stack.down()
        if keep is not None:  # the daemons' logs, for a run that went wrong
            shutil.copytree(state / "soc" / "logs", keep / f"logs-{tag}", dirs_exist_ok=True)
    names = sorted(wall)
    return {
        "collectors": count,
        "up_seconds": round(up_seconds, 1),
        "per_collector": {
            n: {
                "targets": int(polled.get(n, 0) + failed.get(n, 0)),
                "failed": int(failed.get(n, 0)),
                "cycle_wall_s": round(wall[n], 2),
                "cycle_cpu_s": round(cpu.get(n, float("nan")), 2),
                "agent_cpu_s_per_interval": round(agent_cpu.get(n, float("nan")), 2),
                "remote_write_lag_s": round(lag.get(n, float("nan")), 2),
            }
            for n in names
        },
        "store_ingest_samples_per_s": round(sum(ingest.values()), 1),
        "store_head_series": int(sum(series.values())),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpes", type=int, default=16520)
    parser.add_argument("--routers", type=int, default=600)
    parser.add_argument("--collectors", type=int, nargs="+", default=[1, 3, 6])
    parser.add_argument("--interval", type=int, default=30, help="seconds between cycles")
    parser.add_argument("--cycles", type=int, default=3, help="cycles of every collector")
    parser.add_argument("--timeout", type=float, default=600, help="per collector count")
    parser.add_argument(
        "--alone",
        action="store_true",
        help="run each collector by itself, one after another (a machine of its own)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep-logs", type=Path, help="copy the daemons' logs here")
    args = parser.parse_args(argv)
    for binary in ("/usr/sbin/snmpd", "fping", "prometheus", "prometheus-alertmanager"):
        if shutil.which(binary) is None:
            print(f"error: {binary} is not installed (deps/apt-*.txt)", file=sys.stderr)
            return 2
    if args.routers < 3 or not 1 <= max(args.collectors) <= 25 or args.cycles < 1:
        print("error: --routers ≥ 3, --collectors 1-25, --cycles ≥ 1", file=sys.stderr)
        return 2
    os.environ.update(ENV)  # the probe shards resolve the inventory's env: references

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(143)  # run the finally blocks: every daemon is stopped by PID

    signal.signal(signal.SIGTERM, on_term)
    results = []
    with tempfile.TemporaryDirectory(prefix="govnet-bench-scale-") as tmp:
        work = Path(tmp)
        port = udp_port()
        total = args.cpes + args.routers
        data = inventory(args.cpes, args.routers, port)
        with AgentPool(work / "agents", AUTH, port=port) as pool:
            for i in range(0, total, PER_AGENT):
                pool.add(
                    f"agent{i // PER_AGENT}",
                    [address(j) for j in range(i, min(total, i + PER_AGENT))],
                )
            began = time.perf_counter()
            pool.start()
            if not args.json:
                print(
                    f"{total:,} targets ({args.cpes:,} CPEs, {args.routers} routers, SNMPv3"
                    f" authPriv) on {len(pool.agents)} snmpd processes"
                    f" (ready in {time.perf_counter() - began:.1f} s); every {args.interval} s"
                )
            for count in args.collectors:
                shares = regions(count)
                if args.alone:
                    parts = [
                        run_one(
                            work,
                            only(data, provinces),
                            {name: provinces},
                            args.interval,
                            args.cycles,
                            args.timeout,
                            args.keep_logs,
                        )
                        for name, provinces in shares.items()
                    ]
                    result = combine(parts)
                else:
                    result = run_one(
                        work, data, shares, args.interval, args.cycles, args.timeout, args.keep_logs
                    )
                result["alone"] = args.alone
                results.append(result)
                if not args.json:
                    print_result(result)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def combine(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs of N collectors that each ran alone, as one result (the store's ingest
    and series summed: what one store would receive from all of them)."""
    return {
        "collectors": len(parts),
        "up_seconds": max(p["up_seconds"] for p in parts),
        "per_collector": {n: r for p in parts for n, r in p["per_collector"].items()},
        "store_ingest_samples_per_s": round(sum(p["store_ingest_samples_per_s"] for p in parts), 1),
        "store_head_series": sum(p["store_head_series"] for p in parts),
    }


def print_result(result: dict[str, Any]) -> None:
    count = result["collectors"]
    how = (
        "each ran alone, one after another; store figures summed over their runs"
        if result.get("alone")
        else "all at once on this machine"
    )
    print(
        f"\n{count} collector(s), {how}: store ingest"
        f" {result['store_ingest_samples_per_s']:,.0f} samples/s,"
        f" {result['store_head_series']:,} series (soc up {result['up_seconds']} s)"
    )
    print(
        f"  {'collector':<10} {'targets':>7} {'failed':>6} {'cycle wall':>10} {'cycle CPU':>9}"
        f" {'agent CPU/interval':>18} {'rw lag':>7}"
    )
    for name, row in result["per_collector"].items():
        print(
            f"  {name:<10} {row['targets']:>7,} {row['failed']:>6} {row['cycle_wall_s']:>9.2f}s"
            f" {row['cycle_cpu_s']:>8.2f}s {row['agent_cpu_s_per_interval']:>17.2f}s"
            f" {row['remote_write_lag_s']:>6.1f}s"
        )
    worst = max(r["cycle_wall_s"] for r in result["per_collector"].values())
    verdict = "met" if worst < 15 else "NOT met"
    print(f"  slowest collector cycle {worst:.2f} s (goal: under 15 s) — {verdict}")


if __name__ == "__main__":
    raise SystemExit(main())

"""`govnet probe …`: SNMP + ICMP polling of the inventory, exported to Prometheus."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from prometheus_client import CollectorRegistry
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from controller.cli import output
from controller.cli.state import InventoryOpt, JsonOpt, inventory_path
from controller.errors import GovnetError, UsageError
from controller.inventory import load_inventory
from controller.inventory.model import Inventory, Role
from probes import sharding
from probes.collector import PARTS, ProbeCollector
from probes.credentials import resolve_all
from probes.cycle import Plan, make_plan
from probes.icmp import IcmpError, IcmpSettings
from probes.ipsec import IpsecCollector, lab_tunnel_ends
from probes.model import Cycle, Target
from probes.netns import netns_file
from probes.regions import collector_plan
from probes.safety import check_targets
from probes.server import MetricsServer, parse_listen
from probes.service import ProbeService, ProbeState, ServiceConfig, run_once
from probes.snmp import SnmpSettings
from probes.syslog import LoginStore
from probes.targets import build_targets, tunnel_targets
from probes.traps import TrapStore

app = typer.Typer(
    help="Poll devices over SNMP and ICMP and export the results to Prometheus.",
    no_args_is_help=True,
)

DEFAULT_TRAPS_FILE = Path(".govnet/probes/traps.json")

ShardOpt = Annotated[
    str,
    typer.Option("--shard", help="Poll only shard i of N (1-based, rendezvous hashing), e.g. 2/3."),
]
NetnsOpt = Annotated[
    str | None,
    typer.Option(
        "--netns", help="Probe from inside this lab network namespace (e.g. clab-lab-nms-1)."
    ),
]
NoNetnsOpt = Annotated[
    bool,
    typer.Option(
        "--no-netns",
        help="Production: probe real (non-loopback) addresses from this machine's namespace.",
    ),
]
LabOpt = Annotated[
    Path | None,
    typer.Option(
        "--lab",
        help="Probe this running lab (its topology file): from its NMS node's namespace, with"
        " the lab's secret defaults — the same meaning as `govnet link … --lab`.",
    ),
]
TimeoutOpt = Annotated[float, typer.Option("--snmp-timeout", help="Seconds per SNMP request.")]
RetriesOpt = Annotated[int, typer.Option("--snmp-retries", help="SNMP retries per request.")]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", help="SNMP targets polled at the same time.")
]
CountOpt = Annotated[int, typer.Option("--icmp-count", help="ICMP echoes per target per cycle.")]


CollectorOpt = Annotated[
    str | None,
    typer.Option(
        "--collector",
        help="Poll what this collector of the inventory's collectors section polls"
        " (its region, shared by rendezvous hashing); excludes --shard.",
    ),
]


def _plan(
    ctx: typer.Context, inventory: Path | None, shard_text: str, collector: str | None = None
) -> tuple[Plan, Inventory]:
    shard = sharding.parse_shard(shard_text)
    inv = load_inventory(inventory_path(ctx, inventory))
    tunnels = tunnel_targets(inv)
    if collector is None:
        return make_plan(build_targets(inv), shard, tunnels), inv
    if shard != sharding.ALL:
        raise UsageError("--collector and --shard exclude each other")
    if inv.collectors is None:
        raise UsageError(f"--collector {collector}: the inventory has no collectors section")
    return collector_plan(build_targets(inv), inv.collectors, collector, tunnels), inv


def _check_netns(netns: str | None, no_netns: bool) -> None:
    if netns is not None and no_netns:
        raise UsageError("--netns and --no-netns exclude each other")
    if netns is not None:
        netns_file(netns)


def _lab_netns(lab: Path | None, inv: Inventory, netns: str | None, no_netns: bool) -> str | None:
    """With --lab: the lab's secret defaults for this process, and (unless --netns says
    otherwise) the namespace of the lab's NMS node — the inventory's NMS device that is a
    node of the lab."""
    if lab is None:
        return netns
    if no_netns:
        raise UsageError("--lab and --no-netns exclude each other")
    from controller.cli.provisioning import lab_nodes

    name, nodes = lab_nodes(lab)
    if netns is not None:
        return netns
    datacentres = {dc.code for dc in inv.datacentres}
    # the data centre's NMS first: a regional collector node is an NMS too
    nms = [
        d.name
        for d in sorted(inv.devices, key=lambda d: (d.site not in datacentres, d.name))
        if d.role is Role.NMS and d.name in nodes
    ]
    if not nms:
        raise UsageError(f"{lab}: no node of this lab is an NMS device of the inventory")
    return f"clab-{name}-{nms[0]}"


def _settings(
    timeout: float, retries: int, concurrency: int, count: int
) -> tuple[SnmpSettings, IcmpSettings | None]:
    if not 0.05 <= timeout <= 60:
        raise UsageError("--snmp-timeout must be between 0.05 and 60 seconds")
    if not 0 <= retries <= 10:
        raise UsageError("--snmp-retries must be between 0 and 10")
    if not 1 <= concurrency <= 4096:
        raise UsageError("--concurrency must be between 1 and 4096")
    if not 0 <= count <= 100:
        raise UsageError("--icmp-count must be between 0 and 100 (0: no ICMP)")
    snmp = SnmpSettings(timeout=timeout, retries=retries, concurrency=concurrency)
    return snmp, (IcmpSettings(count=count) if count else None)


# ---------------------------------------------------------------------------- targets


@app.command()
def targets(
    ctx: typer.Context,
    inventory: InventoryOpt = None,
    shard: ShardOpt = "1/1",
    collector: CollectorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the probe targets (devices but the NMS) with their addresses, SNMP profile and
    upstream parents; with --shard or --collector, only that shard's."""
    plan, _ = _plan(ctx, inventory, shard, collector)
    rows = [_target_dict(t) for t in plan.targets]
    if json_out:
        output.print_json({"shard": str(plan.shard), "targets": rows})
        return
    table = output.table(
        f"{len(rows)} targets (shard {plan.shard})",
        ["device", "role", "site", "province", "icmp", "snmp", "profile", "parents"],
        [
            (
                r["device"],
                r["role"],
                r["site"],
                r["province"],
                r["icmp_address"],
                r["snmp_address"],
                f"{r['snmp_profile'] or '-'} (v{r['snmp_version'] or '-'})",
                ", ".join(r["parents"]) or "-",
            )
            for r in rows
        ],
    )
    output.console.print(table)


def _target_dict(t: Target) -> dict[str, Any]:
    return {
        "device": t.name,
        "role": t.role,
        "site": t.site,
        "province": t.province,
        "tenant": t.tenant,
        "icmp_address": t.icmp_address,
        "snmp_address": t.snmp_address,
        "snmp_profile": t.snmp_profile_name,
        "snmp_version": t.snmp_profile.version if t.snmp_profile else None,
        "level": t.level,
        "parents": list(t.parents),
    }


# ---------------------------------------------------------------------------- run


@app.command()
def run(
    ctx: typer.Context,
    inventory: InventoryOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Poll once (the default).")] = True,
    shard: ShardOpt = "1/1",
    lab: LabOpt = None,
    netns: NetnsOpt = None,
    no_netns: NoNetnsOpt = False,
    snmp_timeout: TimeoutOpt = 1.0,
    snmp_retries: RetriesOpt = 1,
    concurrency: ConcurrencyOpt = 256,
    icmp_count: CountOpt = 3,
    json_out: JsonOpt = False,
) -> None:
    """Poll every target once (SNMP + ICMP) and print the results: a table, or --json."""
    del once  # one cycle is what `run` does; `serve` polls forever
    plan, inv = _plan(ctx, inventory, shard)
    netns = _lab_netns(lab, inv, netns, no_netns)
    _check_netns(netns, no_netns)
    check_targets(plan.pinged + plan.tunnels, netns, no_netns)
    snmp, icmp = _settings(snmp_timeout, snmp_retries, concurrency, icmp_count)
    credentials = resolve_all(plan.targets)
    state = ProbeState(plan, TrapStore(plan.targets))
    config = ServiceConfig(netns=netns, snmp=snmp, icmp=icmp)
    try:
        if json_out:
            cycle = run_once(state, credentials, config)
        else:
            with Progress(
                TextColumn("polling"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=output.err_console,
                transient=True,
            ) as bar:
                task = bar.add_task("poll", total=len(plan.targets) + 1)
                cycle = run_once(
                    state,
                    credentials,
                    config,
                    lambda done, total: bar.update(task, completed=done, total=total),
                )
    except IcmpError as exc:
        raise UsageError(str(exc)) from exc
    except TimeoutError as exc:
        raise GovnetError(str(exc)) from exc
    if json_out:
        output.print_json(cycle_dict(cycle))
    else:
        _print_cycle(cycle)
    if cycle.failed:
        raise typer.Exit(1)


def cycle_dict(cycle: Cycle) -> dict[str, Any]:
    devices = []
    for t in cycle.targets:
        snmp = cycle.snmp.get(t.name)
        icmp = cycle.icmp.get(t.name)
        devices.append(
            {
                **_target_dict(t),
                "reachability": cycle.reachability.get(t.name),
                "upstream_down": cycle.upstream_down.get(t.name, False),
                "icmp": None
                if icmp is None
                else {
                    "loss_ratio": icmp.loss_ratio,
                    "rtt_min_seconds": icmp.rtt_min,
                    "rtt_avg_seconds": icmp.rtt_avg,
                    "rtt_max_seconds": icmp.rtt_max,
                    "jitter_seconds": icmp.jitter,
                    "error": icmp.error or None,
                },
                "snmp": None
                if snmp is None
                else {
                    "ok": snmp.ok,
                    "reason": snmp.reason or None,
                    "sys_name": snmp.sys_name,
                    "uptime_seconds": snmp.uptime_seconds,
                    "values": snmp.values,
                    "interfaces": [
                        {
                            "ifname": i.name,
                            "oper_up": i.oper_up,
                            "admin_up": i.admin_up,
                            "in_bytes": i.in_octets,
                            "out_bytes": i.out_octets,
                            "speed_bps": i.speed_bps,
                        }
                        for i in snmp.interfaces
                    ],
                },
            }
        )
    return {
        "shard": f"{cycle.shard}/{cycle.shards}",
        "seconds": round(cycle.seconds, 3),
        "cpu_seconds": round(cycle.cpu_seconds, 3),
        "targets": len(cycle.targets),
        "polled": cycle.polled,
        "failed": cycle.failed,
        "snmp_values": cycle.snmp_values,
        "devices": devices,
    }


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f}"


def _print_cycle(cycle: Cycle) -> None:
    rows = []
    for t in cycle.targets:
        snmp = cycle.snmp.get(t.name)
        icmp = cycle.icmp.get(t.name)
        if snmp is None:
            snmp_text = "-"
        elif snmp.ok:
            up = sum(1 for i in snmp.interfaces if i.oper_up)
            snmp_text = f"ok, {up}/{len(snmp.interfaces)} if up"
        else:
            snmp_text = f"FAIL: {snmp.reason}"
        rows.append(
            (
                t.name,
                t.role,
                t.site,
                t.province or "-",
                cycle.reachability.get(t.name, "-"),
                _ms(icmp.rtt_avg) if icmp else "-",
                f"{icmp.loss_ratio:.0%}" if icmp else "-",
                snmp_text,
            )
        )
    output.console.print(
        output.table(
            None,
            ["device", "role", "site", "province", "state", "rtt avg ms", "loss", "snmp"],
            rows,
        )
    )
    output.console.print(
        f"{len(cycle.targets)} targets: {cycle.polled} polled, {cycle.failed} failed; "
        f"{cycle.snmp_values} SNMP values; {cycle.seconds:.2f} s wall, "
        f"{cycle.cpu_seconds:.2f} s CPU (shard {cycle.shard}/{cycle.shards})"
    )


# ---------------------------------------------------------------------------- serve


@app.command()
def serve(
    ctx: typer.Context,
    inventory: InventoryOpt = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between cycles.")] = 15.0,
    shard: ShardOpt = "1/1",
    collector: CollectorOpt = None,
    listen: Annotated[
        str, typer.Option("--listen", help="HOST:PORT for /metrics and /traps (root namespace).")
    ] = "127.0.0.1:9500",
    lab: LabOpt = None,
    netns: NetnsOpt = None,
    no_netns: NoNetnsOpt = False,
    traps_listen: Annotated[
        str,
        typer.Option(
            "--traps-listen", help="HOST:PORT for SNMP traps/informs (in --netns), or 'off'."
        ),
    ] = "127.0.0.1:9162",
    traps_file: Annotated[
        Path, typer.Option("--traps-file", help="JSON file of the last traps (atomic writes).")
    ] = DEFAULT_TRAPS_FILE,
    traps_keep: Annotated[int, typer.Option("--traps-keep", help="Trap events kept.")] = 1000,
    syslog_listen: Annotated[
        str,
        typer.Option(
            "--syslog-listen",
            help="HOST:PORT for the devices' syslog, UDP and TCP (in --netns), or 'off':"
            " sshd logins become govnet_device_logins_total, refused SNMP requests"
            " govnet_snmp_auth_failures_total (by requester).",
        ),
    ] = "127.0.0.1:9514",
    max_cycles: Annotated[
        int | None, typer.Option("--max-cycles", help="Stop after this many cycles.")
    ] = None,
    ipsec_dir: Annotated[
        Path | None,
        typer.Option(
            "--ipsec-dir",
            help="A lab directory (clab-<lab>/): export the missions' IPsec tunnels from"
            " each tunnel end's charon (DIR/<device>/ipsec/charon.vici and its log)."
            " Default with --lab: that lab's directory.",
        ),
    ] = None,
    snmp_timeout: TimeoutOpt = 1.0,
    snmp_retries: RetriesOpt = 1,
    concurrency: ConcurrencyOpt = 256,
    icmp_count: CountOpt = 3,
) -> None:
    """Poll every --interval seconds and serve /metrics (built from the last completed
    cycle) and /traps. Ctrl-C or SIGTERM stops cleanly."""
    if not 1.0 <= interval <= 3600:
        raise UsageError("--interval must be between 1 and 3600 seconds")
    if max_cycles is not None and max_cycles < 1:
        raise UsageError("--max-cycles must be at least 1")
    if not 1 <= traps_keep <= 1_000_000:
        raise UsageError("--traps-keep must be between 1 and 1000000")
    plan, inv = _plan(ctx, inventory, shard, collector)
    netns = _lab_netns(lab, inv, netns, no_netns)
    _check_netns(netns, no_netns)
    address = parse_listen(listen)
    trap_address = None if traps_listen == "off" else parse_listen(traps_listen, "--traps-listen")
    syslog_address = (
        None if syslog_listen == "off" else parse_listen(syslog_listen, "--syslog-listen")
    )
    extra = [a[0] for a in (trap_address, syslog_address) if a is not None]
    check_targets(plan.pinged + plan.tunnels, netns, no_netns, extra)
    snmp, icmp = _settings(snmp_timeout, snmp_retries, concurrency, icmp_count)
    credentials = resolve_all(plan.targets)
    management = [str(p.prefix) for p in inv.pools.ipv4.values() if p.use == "management"]
    state = ProbeState(
        plan,
        TrapStore(plan.targets, keep=traps_keep),
        LoginStore(plan.targets, management),
    )
    registries: dict[str, CollectorRegistry] = {}
    for part in PARTS:
        registries[part] = CollectorRegistry()
        registries[part].register(ProbeCollector(state, part))
    if ipsec_dir is None and lab is not None and inv.missions:
        from simulations.lab import Lab

        ipsec_dir = Lab(lab).plan.lab_dir  # the lab's charons, where `lab up` put them
    if ipsec_dir is not None:
        tunnels = IpsecCollector(lab_tunnel_ends(inv, ipsec_dir.resolve()))
        registries["all"].register(tunnels)
        registries["polls"].register(tunnels)
    server = MetricsServer(address, registries, state.events_json)  # root namespace
    config = ServiceConfig(
        interval=interval,
        netns=netns,
        snmp=snmp,
        icmp=icmp,
        traps_listen=trap_address,
        traps_file=traps_file,
        syslog_listen=syslog_address,
        max_cycles=max_cycles,
    )
    service = ProbeService(state, credentials, config, on_cycle=_log_cycle)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    server.start()
    try:
        try:
            service.start()
        except IcmpError as exc:
            raise UsageError(str(exc)) from exc
        except OSError as exc:
            raise UsageError(f"cannot open probe sockets: {exc.strerror or exc}") from exc
        host, port = server.address
        output.err_console.print(
            f"serving http://{host}:{port}/metrics — {len(plan.targets)} targets "
            f"(shard {plan.shard}), every {interval:g} s"
            + (f", polling from netns {netns}" if netns else "")
            + (f", traps on {trap_address[0]}:{trap_address[1]}" if trap_address else "")
        )
        while service.running and not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        server.stop()
        signal.signal(signal.SIGTERM, previous)
    if service.error is not None:
        raise GovnetError(f"polling stopped: {service.error}")


def _log_cycle(cycle: Cycle) -> None:
    output.err_console.print(
        f"cycle: {len(cycle.targets)} targets, {cycle.polled} polled, {cycle.failed} failed, "
        f"{cycle.seconds:.2f} s wall, {cycle.cpu_seconds:.2f} s CPU"
    )


# ---------------------------------------------------------------------------- traps


@app.command()
def traps(
    file: Annotated[
        Path, typer.Option("--file", help="The JSON file `govnet probe serve` writes.")
    ] = DEFAULT_TRAPS_FILE,
    last: Annotated[int, typer.Option("--last", help="Show at most this many events.")] = 50,
    json_out: JsonOpt = False,
) -> None:
    """The last SNMP traps/informs the running exporter received, and the last SNMP
    requests the devices refused, by who sent them (from the devices' logs)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        events = list(data["events"])
        refused = list(data.get("snmp_auth_failures", []))
    except FileNotFoundError:
        raise UsageError(f"{file}: no trap file (is `govnet probe serve` running?)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{file}: not a trap file ({type(exc).__name__})") from None
    events = events[-max(0, last) :] if last else []
    refused = refused[-max(0, last) :] if last else []
    if json_out:
        output.print_json({"events": events, "snmp_auth_failures": refused})
        return
    rows = [
        (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(e.get("time", 0)))),
            e.get("device", "?"),
            e.get("site", "?"),
            e.get("province", "?"),
            e.get("trap", "?"),
            e.get("source", "?"),
            e.get("version", "?"),
        )
        for e in events
    ]
    output.console.print(
        output.table(
            f"last {len(rows)} traps",
            ["time", "device", "site", "province", "trap", "source", "version"],
            rows,
        )
    )
    if refused:
        requests = [
            (
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(r.get("time", 0)))),
                r.get("device", "?"),
                r.get("site", "?"),
                r.get("province", "?"),
                r.get("source", "?"),
                r.get("zone", "?"),
            )
            for r in refused
        ]
        output.console.print(
            output.table(
                f"last {len(requests)} refused SNMP requests (wrong community or v3 key)",
                ["time", "device", "site", "province", "requester", "zone"],
                requests,
            )
        )

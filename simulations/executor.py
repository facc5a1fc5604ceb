"""Carry out a :class:`~simulations.plan.LabPlan` on the system (all the I/O of ``up``).

Every step records what it made in the :class:`~simulations.state.LabState` (saved after
each step) so ``down`` can undo it, also after a crash.
"""

from __future__ import annotations

import grp
import ipaddress
import json
import os
import shutil
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from simulations import accounts, services
from simulations.accounts import LabAccount
from simulations.errors import CommandError, LabError, NotRootError
from simulations.netns import run, run_in_netns, write_sysctl
from simulations.plan import MGMT_BRIDGE, SWANCTL_CONF, LabPlan, NodePlan
from simulations.procs import read_pidfile, wait_for_pidfile
from simulations.state import LabState, ProcessRecord, save_state

ROUTE_PROTO = "243"  # marks the root-namespace guard routes the lab installs
NS_SYSCTLS = {"net.ipv4.ping_group_range": "0 2147483647"}
# OSPF joins 224.0.0.5 on every interface through one socket: the kernel's default of
# 20 memberships per socket silently stops adjacencies beyond the 20th interface.
ROUTER_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv6.conf.all.forwarding": "1",
    "net.ipv4.igmp_max_memberships": "1024",
}
WORKERS = 8
T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[str, int, int], None]


def no_progress(message: str, done: int, total: int) -> None:
    """The default progress callback: ignore."""


def parallel(func: Callable[[T], R], items: Sequence[T], workers: int = WORKERS) -> list[R]:
    """Map ``func`` over ``items`` with a small thread pool; the first error is raised."""
    if len(items) <= 1:
        return [func(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(func, items))


def ip_batch(commands: Iterable[str], netns: str | None = None, force: bool = False) -> None:
    lines = [c for c in commands if c]
    if not lines:
        return
    argv = ["ip", *(["-n", netns] if netns else []), *(["-force"] if force else []), "-batch", "-"]
    proc = run(argv, input="\n".join(lines) + "\n", check=False, timeout=60)
    if proc.returncode != 0 and not force:
        raise CommandError(argv, proc.returncode, proc.stderr)


# --------------------------------------------------------------------------- preflight

REQUIRED = {"ip": "iproute2", "unshare": "util-linux", "sh": "dash"}
REQUIRED_FRR = {
    "/usr/lib/frr/frrinit.sh": "frr",
    "vtysh": "frr",
    "/usr/sbin/sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "openssl": "openssl",  # hashes the lab logins' passwords (simulations/accounts.py)
}
REQUIRED_SNMP = {"/usr/sbin/snmpd": "snmpd"}
REQUIRED_IPSEC = {
    str(services.CHARON): "charon-systemd",
    str(services.SWANCTL): "strongswan-swanctl",
}


def missing_binaries(plan: LabPlan) -> list[str]:
    needed = dict(REQUIRED)
    if any(n.frr for n in plan.nodes):
        needed.update(REQUIRED_FRR)
    if any(n.snmpd for n in plan.nodes):
        needed.update(REQUIRED_SNMP)
    if any(n.charon for n in plan.nodes):
        needed.update(REQUIRED_IPSEC)
    return [f"{b} (package {pkg})" for b, pkg in needed.items() if shutil.which(b) is None]


def root_routes() -> list[dict[str, Any]]:
    out = run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout
    routes: list[dict[str, Any]] = json.loads(out or "[]")
    return routes


def check_root_overlap(prefixes: Iterable[str]) -> None:
    """Refuse a lab whose prefixes overlap a real route of the root namespace."""
    nets = [ipaddress.IPv4Network(p) for p in prefixes]
    for route in root_routes():
        dst = route.get("dst", "")
        if dst in ("default", "") or str(route.get("protocol")) == ROUTE_PROTO:
            continue
        if route.get("type") in ("local", "broadcast") and str(dst).startswith("127."):
            continue
        try:
            rnet = ipaddress.IPv4Network(dst, strict=False)
        except ValueError:
            continue
        if rnet.is_loopback:
            continue
        for net in nets:
            if net.overlaps(rnet):
                raise LabError(
                    f"lab prefix {net} overlaps root-namespace route {dst} "
                    f"(dev {route.get('dev', '?')}); refusing to start"
                )


def preflight(plan: LabPlan) -> None:
    if os.geteuid() != 0:
        raise NotRootError()
    missing = missing_binaries(plan)
    if missing:
        raise LabError("missing binaries: " + ", ".join(missing))
    check_root_overlap(plan.guard_prefixes)


# --------------------------------------------------------------------------- guard routes


def guard_metric(lab: str) -> int:
    """A per-lab route metric: two labs with overlapping prefixes each own their own
    ``unreachable`` route, and ``down`` of one never removes the other's."""
    return 1000 + zlib.crc32(lab.encode()) % 60000


def add_guard_routes(prefixes: Iterable[str], state: LabState, path: Path) -> None:
    new = [p for p in prefixes if p not in state.routes]
    if not new:
        return
    state.add_unique("routes", *new)  # record first: a crash must not leak a route
    save_state(path, state)
    metric = state.route_metric = guard_metric(state.lab)
    ip_batch(f"route replace unreachable {p} proto {ROUTE_PROTO} metric {metric}" for p in new)


def remove_guard_routes(metric: int, prefixes: Iterable[str]) -> None:
    ip_batch(
        (f"route del unreachable {p} proto {ROUTE_PROTO} metric {metric}" for p in prefixes),
        force=True,
    )


def _dst(route: dict[str, Any]) -> str:
    dst = str(route.get("dst", ""))
    return dst if "/" in dst or dst in ("default", "") else f"{dst}/32"


def guard_routes_present(metric: int | None = None) -> list[str]:
    """Guard routes in the root namespace (only those with ``metric``, if given)."""
    return [
        _dst(r)
        for r in root_routes()
        if str(r.get("protocol")) == ROUTE_PROTO
        and r.get("type") == "unreachable"
        and (metric is None or int(r.get("metric", 0)) == metric)
    ]


# --------------------------------------------------------------------------- network


def create_namespaces(plan: LabPlan, state: LabState, path: Path) -> None:
    state.add_unique("namespaces", *plan.namespaces)
    save_state(path, state)
    ip_batch(f"netns add {ns}" for ns in plan.namespaces)


def create_veths(plan: LabPlan, state: LabState, path: Path) -> None:
    """Create every veth pair from the root namespace straight into its namespaces."""
    cmds: list[str] = []
    veths: list[str] = []
    for node in plan.nodes:
        cmds.append(
            f"link add eth0 netns {node.netns} type veth peer name {node.mgmt_port} "
            f"netns {plan.mgmt_netns}"
        )
        veths.append(f"{node.netns}/eth0")
    for link in plan.links:
        for end in (link.a, link.b):
            cmds.append(
                f"link add {end.iface} netns {end.netns} type veth peer name {end.wire} "
                f"netns {plan.wires_netns}"
            )
            veths.append(f"{end.netns}/{end.iface}")
    state.add_unique("veths", *veths)
    state.add_unique(
        "bridges",
        f"{plan.mgmt_netns}/{MGMT_BRIDGE}",
        *(f"{plan.wires_netns}/{link.bridge}" for link in plan.links),
    )
    save_state(path, state)
    ip_batch(cmds)


def _node_commands(plan: LabPlan, node: NodePlan) -> list[str]:
    cmds = [
        "link set lo up",
        "link set eth0 up",
        f"addr add {node.mgmt_ipv4}/{plan.mgmt_subnet.prefixlen} dev eth0",
    ]
    for link in plan.links:
        for end in (link.a, link.b):
            if end.node != node.name:
                continue
            if link.mtu:
                cmds.append(f"link set {end.iface} mtu {link.mtu}")
            cmds.append(f"link set {end.iface} up")
            if end.ipv4:
                cmds.append(f"addr add {end.ipv4} dev {end.iface}")
    return cmds


def _mgmt_commands(plan: LabPlan) -> list[str]:
    cmds = [
        "link set lo up",
        f"link add {MGMT_BRIDGE} type bridge stp_state 0 mcast_snooping 0",
        f"addr add {plan.mgmt_gw}/{plan.mgmt_subnet.prefixlen} dev {MGMT_BRIDGE}",
        f"link set {MGMT_BRIDGE} up",
    ]
    for node in plan.nodes:
        cmds += [f"link set {node.mgmt_port} master {MGMT_BRIDGE}", f"link set {node.mgmt_port} up"]
    return cmds


def _wires_commands(plan: LabPlan) -> list[str]:
    cmds = ["link set lo up"]
    for link in plan.links:
        cmds.append(f"link add {link.bridge} type bridge stp_state 0 mcast_snooping 0")
        for end in (link.a, link.b):
            if link.mtu:
                cmds.append(f"link set {end.wire} mtu {link.mtu}")
            cmds += [f"link set {end.wire} master {link.bridge}", f"link set {end.wire} up"]
        cmds.append(f"link set {link.bridge} up")
    return cmds


# The patch panel is pure layer 2: with IPv6 on, each wire bridge sent its own MLD,
# neighbour and router solicitations into both ends of its link (seen on the missions'
# internet transit, where only IKE and ESP may appear).
WIRES_SYSCTLS = {
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}


def configure_network(plan: LabPlan) -> None:
    write_sysctl(plan.wires_netns, WIRES_SYSCTLS)  # before its bridges come up
    jobs: list[tuple[str, list[str]]] = [
        (plan.mgmt_netns, _mgmt_commands(plan)),
        (plan.wires_netns, _wires_commands(plan)),
        *((n.netns, _node_commands(plan, n)) for n in plan.nodes),
    ]
    parallel(lambda job: ip_batch(job[1], job[0]), jobs)
    for ns in plan.namespaces:
        write_sysctl(ns, NS_SYSCTLS)
    for node in plan.nodes:
        if node.frr:
            write_sysctl(node.netns, ROUTER_SYSCTLS)


def node_addresses(netns: str) -> list[str]:
    """IPv4 addresses (``a.b.c.d/len``) configured in ``netns``, loopback excluded."""
    out = run(["ip", "-n", netns, "-j", "-4", "addr", "show"]).stdout
    addrs: list[str] = []
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") == "inet" and not str(info["local"]).startswith("127."):
                addrs.append(f"{info['local']}/{info['prefixlen']}")
    return addrs


def install_mgmt_routes(plan: LabPlan, addresses: dict[str, list[str]]) -> int:
    """Host routes in the mgmt namespace to every lab address via its node's eth0."""
    cmds: list[str] = []
    for node in plan.nodes:
        for cidr in addresses.get(node.name, []):
            ip = cidr.split("/")[0]
            if ipaddress.IPv4Address(ip) in plan.mgmt_subnet:
                continue
            cmds.append(f"route replace {ip}/32 via {node.mgmt_ipv4}")
    ip_batch(cmds, plan.mgmt_netns)
    return len(cmds)


def observed_prefixes(addresses: dict[str, list[str]]) -> list[str]:
    nets = [ipaddress.IPv4Interface(a).network for addrs in addresses.values() for a in addrs]
    return [str(n) for n in ipaddress.collapse_addresses(nets)]


# --------------------------------------------------------------------------- system setup


def prepare_logins(plan: LabPlan, creds: services.Credentials) -> list[LabAccount]:
    """The lab's two SSH logins — the vtysh user (vtysh login shell) and the Ansible user
    (``/bin/bash``) — as lab-only accounts (:mod:`simulations.accounts`): nothing is
    added to the host's passwd, group or shadow."""
    shell = services.LOGIN_SHELL
    if not shell.exists() or shell.read_text(encoding="utf-8") != services.LOGIN_SHELL_TEXT:
        shell.parent.mkdir(parents=True, exist_ok=True)
        shell.write_text(services.LOGIN_SHELL_TEXT, encoding="utf-8")
        shell.chmod(0o755)
    return accounts.write_lab_accounts(plan.lab_dir, creds)


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)


def fresh_tmp(path: Path) -> None:
    """An empty world-writable, sticky directory (like /tmp) for the node's logins."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    path.chmod(0o1777)


def prepare_node_files(
    node: NodePlan, creds: services.Credentials, ansible: LabAccount | None = None
) -> list[str]:
    """Write the node's config files; returns system paths made outside the lab dir.
    ``ansible`` (the lab's Ansible login) owns the node's work directory."""
    made: list[str] = []
    node.node_dir.mkdir(parents=True, exist_ok=True)
    if node.frr:
        etc = services.frr_etc(node)
        etc.mkdir(parents=True, exist_ok=True)
        made += [str(etc), str(services.frr_run(node))]
        for name, text in services.frr_files(node).items():
            _write(etc / name, text, 0o640)
        shutil.chown(etc, "frr", "frr")
        for child in etc.iterdir():
            shutil.chown(child, "frr", "frr")
        etc.chmod(0o750)
        _write(services.exec_bin(node) / "vtysh", services.vtysh_wrapper_text(node), 0o755)
    if node.sshd:
        paths = services.sshd_paths(node)
        _write(paths["config"], services.sshd_config_text(node, creds))
        _write(paths["authorized_keys"], (creds.ssh_authorized_key or "") + "\n")
        workdir = services.ansible_node_dir(node)  # the Ansible user's files, nothing else
        workdir.mkdir(parents=True, exist_ok=True)
        if ansible is not None:
            os.chown(workdir, ansible.uid, ansible.uid)
        workdir.chmod(0o755)
        fresh_tmp(services.node_tmp(node))
        if not paths["hostkey"].exists():
            run(
                [
                    "ssh-keygen",
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    node.name,
                    "-f",
                    str(paths["hostkey"]),
                ]
            )
    if node.snmpd:
        paths = services.snmpd_paths(node)
        _write(paths["config"], services.snmpd_config_text(node), 0o600)
        paths["persist"].mkdir(parents=True, exist_ok=True)
    if node.charon:
        prepare_charon_files(node)
    if not node.frr:
        _expose_binds(node)
    return made


def prepare_charon_files(node: NodePlan) -> None:
    """The node's charon directory: its strongswan.conf, the bound swanctl.conf and the
    tunnel keys from the node's environment. The keys are root's alone (0600); the
    directory, strongswan.conf and swanctl.conf (no secret in it) are also open to the
    lab's logins through :data:`services.CHARON_GROUP`, which ``link apply`` loads
    connections as."""
    paths = services.charon_paths(node)
    gid = grp.getgrnam(services.CHARON_GROUP).gr_gid
    paths["dir"].mkdir(parents=True, exist_ok=True)
    os.chown(paths["dir"], 0, gid)
    paths["dir"].chmod(0o770)
    for sub in services.SWANCTL_DIRS:
        (paths["dir"] / sub).mkdir(exist_ok=True)
    source = node.node.bind_source(SWANCTL_CONF)
    if source is None:
        raise LabError(f"node {node.name}: no swanctl.conf bound at {SWANCTL_CONF}")
    _write(paths["strongswan"], services.strongswan_conf_text(node), 0o640)
    _write(paths["swanctl"], source.read_text(encoding="utf-8"), 0o660)
    for path in (paths["strongswan"], paths["swanctl"]):
        os.chown(path, 0, gid)
    for name, text in services.ipsec_psk_files(node).items():
        _write(paths["dir"] / name, text, 0o600)


def start_charon(node: NodePlan) -> int:
    """charon in the node's namespace, its VICI socket answering, the connections and
    keys loaded (the mission side then initiates). Returns charon's PID."""
    paths = services.charon_paths(node)
    paths["vici"].unlink(missing_ok=True)
    run_in_netns(node.netns, services.charon_start_argv(node), env=services.charon_env(node))
    pid = wait_for_pidfile(paths["pid"], timeout=10)
    deadline = time.monotonic() + 10
    while pid is not None and not paths["vici"].exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    if pid is None or not paths["vici"].exists():
        raise LabError(f"node {node.name}: charon did not start (see {paths['out']})")
    run(
        services.swanctl_argv(node, "--load-all", "--noprompt", "--file", str(paths["swanctl"])),
        env=services.charon_env(node),
        timeout=30,
    )
    return pid


def _expose_binds(node: NodePlan) -> None:
    """Plain nodes share the host filesystem: their binds are symlinked under
    ``<lab-dir>/<node>/binds/<target path>`` and exported to exec as ``CLAB_BINDS``."""
    base = node.node_dir / "binds"
    for bind in node.node.binds:
        link = base / bind.target.strip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(bind.source)


def exec_env(node: NodePlan) -> dict[str, str]:
    env = dict(node.node.env)
    env.update(
        CLAB_NODE_NAME=node.name,
        CLAB_LABDIR=str(node.node_dir.parent),
        CLAB_BINDS=str(node.node_dir / "binds"),
    )
    if node.frr:  # `vtysh` is this node's FRR (simulations.services.vtysh_wrapper_text)
        path = env.get("PATH") or os.environ.get("PATH") or os.defpath
        env["PATH"] = f"{services.exec_bin(node)}:{path}"
    return env


def clear_pidfiles(node: NodePlan) -> None:
    """Forget stale pid files before (re)starting a node's daemons."""
    if node.frr and services.frr_run(node).is_dir():
        for pidfile in services.frr_run(node).glob("*.pid"):
            pidfile.unlink(missing_ok=True)
    for paths in (services.sshd_paths(node), services.snmpd_paths(node)):
        paths["pid"].unlink(missing_ok=True)
    services.sshd_paths(node)["relay_pid"].unlink(missing_ok=True)
    services.snmpd_paths(node)["relay_pid"].unlink(missing_ok=True)
    services.charon_paths(node)["pid"].unlink(missing_ok=True)


def start_node(node: NodePlan, run_exec: bool = True) -> list[ProcessRecord]:
    """Start the node's daemons inside its namespace, run its exec commands, and
    return the processes started (PIDs from their pid files, waited for, bounded)."""
    return [*start_services(node, run_exec), *start_routing(node)]


def start_services(node: NodePlan, run_exec: bool = True) -> list[ProcessRecord]:
    """Everything but FRR: sshd, snmpd, their log relays, the exec commands, charon.

    A lab starts these on every node before any router's FRR (:func:`start_routing`):
    once zebras install routes — thousands per national router, in every namespace at
    once — each netlink or ioctl call on the machine waits for the kernel's one routing
    lock, and a daemon's bounded start (snmpd reading its interfaces) missed its bound
    (measured: 60-70 snmpd in D state, 2 of 2 national starts failed)."""
    records: list[ProcessRecord] = []
    clear_pidfiles(node)
    if node.sshd:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        run_in_netns(node.netns, services.sshd_start_argv(node), timeout=15)
    if node.snmpd:
        run_in_netns(
            node.netns, services.snmpd_start_argv(node), env=services.snmpd_env(node), timeout=15
        )
    for command in node.node.exec if run_exec else ():
        run_in_netns(node.netns, services.exec_argv(command), env=exec_env(node), timeout=60)
    if node.charon:
        records.append(ProcessRecord(node.name, "charon", start_charon(node), node.netns))
    for name, paths in (
        ("sshd", services.sshd_paths(node) if node.sshd else None),
        ("snmpd", services.snmpd_paths(node) if node.snmpd else None),
    ):
        if paths is None:
            continue
        pid = wait_for_pidfile(paths["pid"], timeout=10)
        if pid is None:
            raise LabError(f"node {node.name}: {name} did not start (see {paths['log']})")
        records.append(ProcessRecord(node.name, name, pid, node.netns))
    for name, paths in (
        ("sshd", services.sshd_paths(node) if node.sshd else None),
        ("snmpd", services.snmpd_paths(node) if node.snmpd else None),
    ):
        if paths is None or not services.syslog_sink(node):
            continue
        pid = wait_for_pidfile(paths["relay_pid"], timeout=10)
        if pid is None:
            raise LabError(
                f"node {node.name}: {name}'s syslog relay did not start ({paths['relay_pid']})"
            )
        records.append(ProcessRecord(node.name, f"{name}-logrelay", pid, node.netns))
    return records


def start_routing(node: NodePlan) -> list[ProcessRecord]:
    """The node's FRR daemons (after :func:`start_services`), their PIDs from their pid
    files, which each daemon writes before it installs any route."""
    if not node.frr:
        return []
    records: list[ProcessRecord] = []
    run_in_netns(node.netns, services.frr_start_argv(node), timeout=30)
    run_dir = services.frr_run(node)
    for daemon in services.frr_enabled_daemons(services.frr_daemons_text(node)):
        pid = wait_for_pidfile(run_dir / f"{daemon}.pid", timeout=15)
        if pid is None:
            raise LabError(
                f"node {node.name}: FRR {daemon} did not start "
                f"(no live pid in {run_dir / (daemon + '.pid')})"
            )
        records.append(ProcessRecord(node.name, daemon, pid, node.netns))
    return records


def recorded_pid(node: NodePlan, name: str) -> int | None:
    if name == "sshd":
        return read_pidfile(services.sshd_paths(node)["pid"])
    if name == "snmpd":
        return read_pidfile(services.snmpd_paths(node)["pid"])
    if name == "sshd-logrelay":
        return read_pidfile(services.sshd_paths(node)["relay_pid"])
    if name == "snmpd-logrelay":
        return read_pidfile(services.snmpd_paths(node)["relay_pid"])
    if name == "charon":
        return read_pidfile(services.charon_paths(node)["pid"])
    return read_pidfile(services.frr_run(node) / f"{name}.pid")

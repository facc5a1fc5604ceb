"""The namespace lab: ``up``, ``down``, ``status`` and ``exec`` for a containerlab topology.

lab = Lab("topologies/mini.clab.yml")
lab.up(progress=print_progress)
lab.status()
lab.exec("r1", ["vtysh", "-c", "show ip route"])
lab.down()
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from controller.io import exclusive_lock
from simulations import accounts, executor, services, signals
from simulations.artifacts import write_artifacts
from simulations.errors import CommandError, LabError, NotRootError
from simulations.executor import Progress, no_progress, parallel
from simulations.netns import NETNS_DIR, netns_exists, run, run_in_netns
from simulations.plan import LabPlan, build_plan, lab_prefix
from simulations.procs import netns_ids, pid_alive, pids_in_netns, pids_in_netns_ids, terminate
from simulations.state import LabState, load_state, save_state
from simulations.status import LabStatus, collect_status
from simulations.topology import Topology, load_topology

LOCK_TIMEOUT = 120.0


@dataclass
class UpResult:
    lab: str
    already_up: bool
    seconds: float
    namespaces: int = 0
    processes: int = 0
    mgmt_routes: int = 0
    guard_routes: list[str] = field(default_factory=list)
    legacy_accounts: list[str] = field(default_factory=list)  # removed from the host


@dataclass
class DownResult:
    lab: str
    namespaces: list[str] = field(default_factory=list)
    killed: int = 0
    routes: list[str] = field(default_factory=list)
    survivors: list[int] = field(default_factory=list)
    seconds: float = 0.0
    legacy_accounts: list[str] = field(default_factory=list)  # removed from the host

    @property
    def was_up(self) -> bool:
        return bool(self.namespaces or self.killed or self.routes)


def _start_all(
    what: str,
    nodes: Sequence[executor.NodePlan],
    start: Callable[[executor.NodePlan], list[executor.ProcessRecord]],
    progress: Progress,
) -> list[executor.ProcessRecord]:
    """``start`` on every node, in parallel, with a progress line per node."""
    done = [0]

    def started(node: executor.NodePlan) -> list[executor.ProcessRecord]:
        records = start(node)
        done[0] += 1
        progress(f"started {what} on {node.name}", done[0], len(nodes))
        return records

    return [r for records in parallel(started, nodes) for r in records]


class Lab:
    """One lab: a topology file plus its lab directory."""

    def __init__(
        self,
        topology: str | Path,
        lab_dir: str | Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.topology_path = Path(topology)
        self._lab_dir = Path(lab_dir) if lab_dir is not None else None
        self._env = env

    @cached_property
    def topology(self) -> Topology:
        return load_topology(self.topology_path, self._env)

    @cached_property
    def plan(self) -> LabPlan:
        return build_plan(self.topology, self._lab_dir)

    @property
    def name(self) -> str:
        return self.topology.name

    def state(self) -> LabState | None:
        return load_state(self.plan.state_file)

    def save(self, state: LabState) -> None:
        save_state(self.plan.state_file, state)

    # ------------------------------------------------------------------ locking

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Serialise up/down/fault operations on this lab (bounded wait)."""
        busy = f"lab {self.name!r} is busy (another up/down runs)"
        lock = self.plan.lab_dir / ".lock"
        with exclusive_lock(lock, LOCK_TIMEOUT, lambda: LabError(busy), poll=0.1, mode=0o644):
            yield

    # ------------------------------------------------------------------ up

    def is_up(self) -> bool:
        try:
            state = self.state()
        except LabError:
            return False
        return bool(state and state.complete and all(netns_exists(n) for n in state.namespaces))

    def up(self, progress: Progress = no_progress) -> UpResult:
        """Bring the lab up; a no-op (``already_up=True``) if it is up already.

        A previous ``up`` that did not finish (crash, kill -9) is cleaned up first.
        On failure everything made so far is torn down and the error re-raised."""
        if os.geteuid() != 0:
            raise NotRootError()
        plan = self.plan
        with self.locked():
            if self.is_up():
                return UpResult(plan.lab, True, 0.0)
            if self._leftovers():
                progress("cleaning up an unfinished lab", 0, 1)
                self._down_locked(no_progress)
            started = time.monotonic()
            try:
                result = self._up_locked(progress)
            except BaseException:
                progress("up failed: tearing down", 0, 1)
                self._down_locked(no_progress)
                raise
            result.seconds = time.monotonic() - started
            return result

    def _leftovers(self) -> bool:
        if self.plan.state_file.exists():
            return True
        return bool(self._swept_namespaces())

    def _up_locked(self, progress: Progress) -> UpResult:
        plan = self.plan
        path = plan.state_file
        executor.preflight(plan)
        creds = services.Credentials.from_env()
        legacy = accounts.remove_legacy_accounts([creds.ansible_user])
        state = LabState(
            plan.lab, str(self.topology_path.resolve()), os.getpid(), started_at=time.time()
        )
        save_state(path, state)
        total = 7
        progress("guard routes in the root namespace", 1, total)
        executor.add_guard_routes(plan.guard_prefixes, state, path)
        progress(f"creating {len(plan.namespaces)} namespaces", 2, total)
        executor.create_namespaces(plan, state, path)
        progress(f"creating {len(plan.nodes) + 2 * len(plan.links)} veth pairs", 3, total)
        executor.create_veths(plan, state, path)
        executor.configure_network(plan)
        progress("writing node files", 4, total)
        logins = executor.prepare_logins(plan, creds) if any(n.sshd for n in plan.nodes) else []
        ansible = next((a for a in logins if a.name == creds.ansible_user), None)
        for made in parallel(lambda n: executor.prepare_node_files(n, creds, ansible), plan.nodes):
            state.add_unique("paths", *made)
        save_state(path, state)
        progress(f"starting daemons on {len(plan.nodes)} nodes", 5, total)
        # every node's services first, then every router's FRR: see executor.start_services
        for what, nodes, start in (
            ("services", list(plan.nodes), executor.start_services),
            ("FRR", [n for n in plan.nodes if n.frr], executor.start_routing),
        ):
            state.processes.extend(_start_all(what, nodes, start, progress))
            save_state(path, state)
        progress("management routes and guard routes", 6, total)
        addresses = dict(
            zip(
                [n.name for n in plan.nodes],
                parallel(lambda n: executor.node_addresses(n.netns), plan.nodes),
                strict=True,
            )
        )
        mgmt_routes = executor.install_mgmt_routes(plan, addresses)
        observed = [
            p
            for p in executor.observed_prefixes(addresses)
            if not any(_covered(p, g) for g in state.routes)
        ]
        if observed:
            executor.check_root_overlap(observed)
            executor.add_guard_routes(observed, state, path)
        progress("writing lab directory", 7, total)
        write_artifacts(plan)
        state.complete = True
        state.up_seconds = time.time() - state.started_at
        save_state(path, state)
        return UpResult(
            plan.lab,
            False,
            0.0,
            len(plan.namespaces),
            len(state.processes),
            mgmt_routes,
            list(state.routes),
            legacy,
        )

    # ------------------------------------------------------------------ down

    def _swept_namespaces(self) -> list[str]:
        prefix = f"{lab_prefix(self.name)}-"
        try:
            return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))
        except FileNotFoundError:
            return []

    def down(self, progress: Progress = no_progress) -> DownResult:
        """Remove every namespace, veth, bridge, process, route and file the lab made.

        Works from the state file plus a sweep by name, so it also cleans up after a
        crashed ``up``; on a lab that is not up it does nothing."""
        if os.geteuid() != 0:
            raise NotRootError()
        with self.locked():
            return self._down_locked(progress)

    def _down_locked(self, progress: Progress) -> DownResult:
        with signals.deferred():  # a teardown cut short leaves half a lab and no record of it
            return self._teardown(progress)

    def _teardown(self, progress: Progress) -> DownResult:
        started = time.monotonic()
        plan = self.plan
        try:
            state = self.state()
        except LabError:
            state = None
        namespaces = sorted(
            {n for n in (state.namespaces if state else []) if netns_exists(n)}
            | {n for n in plan.namespaces if netns_exists(n)}
            | set(self._swept_namespaces())
        )
        result = DownResult(plan.lab, namespaces)
        progress(f"stopping processes in {len(namespaces)} namespaces", 1, 4)
        for _ in range(3):  # bounded: watchfrr may respawn a daemon between scan and kill
            pids = [p for ps in pids_in_netns(namespaces).values() for p in ps]
            if not pids:
                break
            result.killed += len(pids)
            result.survivors = terminate(pids)
        if state:
            result.survivors += [
                p.pid
                for p in state.processes
                if pid_alive(p.pid) and p.pid not in result.survivors and _in_any(p.pid, namespaces)
            ]
        progress("deleting namespaces", 2, 4)
        identities = netns_ids(namespaces)
        executor.ip_batch((f"netns del {ns}" for ns in namespaces), force=True)
        # A daemon still starting when an earlier `up` was killed can appear after the
        # sweep; it keeps its (now nameless) namespace alive. Find it by identity.
        for _ in range(3):
            late = pids_in_netns_ids(identities)
            if not late:
                break
            result.killed += len(late)
            result.survivors += terminate(late)
            time.sleep(0.2)
        progress("removing root-namespace guard routes", 3, 4)
        metric = executor.guard_metric(plan.lab)
        if state is not None and state.route_metric >= 0:
            metric = state.route_metric
        present = set(executor.guard_routes_present(metric))
        routes = sorted(present & (set(state.routes if state else []) | set(plan.guard_prefixes)))
        executor.remove_guard_routes(metric, routes)
        result.routes = routes
        progress("removing files", 4, 4)
        self._remove_system_paths(state)
        plan.state_file.unlink(missing_ok=True)
        result.legacy_accounts = accounts.remove_legacy_accounts(
            [services.Credentials.from_env().ansible_user]
        )
        result.seconds = time.monotonic() - started
        return result

    def _remove_system_paths(self, state: LabState | None) -> None:
        candidates = set(state.paths if state else [])
        for node in self.plan.nodes:
            if node.frr:
                candidates |= {str(services.frr_etc(node)), str(services.frr_run(node))}
            if node.sshd:  # in the lab dir; the node's processes are gone by now
                shutil.rmtree(services.node_tmp(node), ignore_errors=True)
        allowed = (services.FRR_ETC, services.FRR_RUN)
        for raw in sorted(candidates):
            path = Path(raw)
            if path.parent not in allowed or not path.name.startswith(lab_prefix(self.name)):
                continue  # never remove anything but our own FRR instance directories
            if path.is_dir() and not path.is_symlink():
                for child in path.iterdir():
                    child.unlink()
                path.rmdir()

    # ------------------------------------------------------------------ status / exec

    def status(self) -> LabStatus:
        """Nodes, processes (alive?), links and addresses of the lab."""
        try:
            state = self.state()
        except LabError:
            state = None
        return collect_status(self.plan, state)

    def exec(
        self,
        node: str,
        argv: Sequence[str],
        *,
        capture: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in ``node``'s namespace (with the node's hostname and env)."""
        target = self.plan.node(node)
        if not netns_exists(target.netns):
            raise LabError(f"node {node!r} is not running (no namespace {target.netns})")
        if not argv:
            raise LabError("exec needs a command")
        wrapped = services.uts_wrap(target.name, list(argv))
        env = executor.exec_env(target)
        if capture:
            return run_in_netns(target.netns, wrapped, env=env, timeout=timeout, check=False)
        full_env = {**os.environ, **env}
        try:
            return subprocess.run(
                ["ip", "netns", "exec", target.netns, *wrapped],
                env=full_env,
                timeout=timeout,
                check=False,
                text=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise CommandError(list(argv), None, f"timed out after {timeout:.0f}s") from exc


def _covered(prefix: str, by: str) -> bool:
    import ipaddress

    return ipaddress.IPv4Network(prefix).subnet_of(ipaddress.IPv4Network(by))


def _in_any(pid: int, namespaces: Sequence[str]) -> bool:
    return any(pid in pids for pids in pids_in_netns(namespaces).values())


__all__ = ["DownResult", "Lab", "LabStatus", "UpResult", "run"]

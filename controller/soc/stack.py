"""``govnet soc up|down|status``: Prometheus, Alertmanager and the textfile exporter as
supervised processes on 127.0.0.1, configured from the settings and the inventory.

``up`` writes the configuration under ``<state-dir>/soc/``, checks it with promtool and
amtool, then for each component: starts it (port free, pid file, bounded wait until
ready), or — when it already runs with the same command line — reloads it if its
configuration changed; so ``up`` twice is safe. A failing ``up`` stops what it started.
``down`` stops only the PIDs recorded in the pid files (start time and command line
must still match).
"""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from controller.inventory.model import Inventory
from controller.io import atomic_write_text, exclusive_lock
from controller.soc import procs
from controller.soc.collectors import Placement, agent_argv, agent_config, probe_argv
from controller.soc.config import dump_json, dump_yaml, file_sd, probe_targets, prometheus_config
from controller.soc.errors import SocError
from controller.soc.forward import Mapping, Side, map_arg
from controller.soc.info import inventory_textfile
from controller.soc.notify import alertmanager_config
from controller.soc.procs import ProcessRecord
from controller.soc.settings import LOOPBACK, SocSettings, rule_files
from probes.regions import owner
from probes.targets import tunnel_targets

READY_TIMEOUT = 30.0
PROBE_READY_TIMEOUT = 300.0  # a probe shard loads and validates the whole inventory first
OUT_OF_ORDER_WINDOW = "72h"  # as long as a collector buffers (agent retention.max-time)
LOCK_TIMEOUT = 30.0
Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    return


@dataclass(frozen=True)
class Binaries:
    prometheus: str
    promtool: str
    alertmanager: str
    amtool: str


def find_binaries() -> Binaries:
    """The Debian binaries (upstream names as a fallback); a clear error if missing."""

    def which(*names: str) -> str:
        for name in names:
            found = shutil.which(name)
            if found:
                return found
        raise SocError(
            f"{names[0]} is not installed (apt-get install prometheus prometheus-alertmanager; "
            "see deps/apt-soc.txt)"
        )

    return Binaries(
        prometheus=which("prometheus"),
        promtool=which("promtool"),
        alertmanager=which("prometheus-alertmanager", "alertmanager"),
        amtool=which("amtool"),
    )


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]
    port: int
    ready_path: str  # "" : ready when the port accepts a TCP connection
    reload_path: str | None
    netns: str | None = None  # started in this lab namespace
    probe_netns: str | None = None  # its port is on this namespace's loopback
    ready_timeout: float = READY_TIMEOUT

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def answers(self, path: str, method: str = "GET") -> bool:
        """Whether it answers on its loopback (inside ``probe_netns`` when set)."""

        def ask() -> bool:
            if not path:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection((LOOPBACK, self.port), timeout=1.0),
                ):
                    return True
                return False
            return http_ok(self.url + path, method=method)

        if self.probe_netns is None:
            return ask()
        from simulations.netns import in_netns

        try:
            return in_netns(self.probe_netns, ask, timeout=10.0)
        except OSError:
            return False


@dataclass(frozen=True)
class ComponentState:
    name: str
    state: str  # started | restarted | reloaded | running | stopped | not running | down
    pid: int | None
    url: str
    ready: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "component": self.name,
            "state": self.state,
            "pid": self.pid,
            "url": self.url,
            "ready": self.ready,
        }


def http_ok(url: str, timeout: float = 1.0, method: str = "GET") -> bool:
    try:
        with httpx.Client(trust_env=False, timeout=timeout) as client:
            return client.request(method, url).status_code == 200
    except httpx.HTTPError:
        return False


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


class SocStack:
    def __init__(
        self,
        settings: SocSettings,
        inventory: Inventory | None = None,
        inventory_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.inventory = inventory
        self.inventory_path = (inventory_path or Path("inventory/cambodia")).resolve()
        self.dir = settings.soc_dir

    # ------------------------------------------------------------------ files

    def pid_file(self, name: str) -> Path:
        return self.dir / f"{name}.pid"

    def components(self, binaries: Binaries) -> list[Component]:
        s, d = self.settings, self.dir.resolve()
        prometheus = [
            binaries.prometheus,
            f"--config.file={d / 'prometheus.yml'}",
            f"--storage.tsdb.path={d / 'prometheus-data'}",
            f"--storage.tsdb.retention.time={s.retention}",
            *([f"--storage.tsdb.retention.size={s.retention_size}"] if s.retention_size else []),
            f"--web.listen-address={LOOPBACK}:{s.prometheus_port}",
            f"--web.external-url=http://{LOOPBACK}:{s.prometheus_port}/",
            "--web.enable-lifecycle",
        ]
        textfile = [
            sys.executable,
            "-m",
            "controller.soc.textfile",
            "--port",
            str(s.textfile_port),
            "--dir",
            str(self.settings.textfile_dir.resolve()),
        ]
        for path in s.drift_files:
            textfile += ["--file", str(path.resolve())]
        by_name = {
            name: Component(
                name, self._alertmanager_argv(binaries, i), port, "/-/ready", "/-/reload"
            )
            for i, (name, port) in enumerate(zip(s.alertmanager_names, s.am_ports, strict=True))
        }
        by_name |= {
            "textfile": Component("textfile", textfile, s.textfile_port, "/healthz", None),
            "prometheus": Component(
                "prometheus", prometheus, s.prometheus_port, "/-/ready", "/-/reload"
            ),
        }
        if s.collectors:
            by_name |= self._collector_components(binaries, by_name["prometheus"])
        return [by_name[name] for name in self.names()]

    @property
    def placement(self) -> Placement:
        if self.inventory is None:
            raise SocError("--collectors needs the inventory")
        return Placement(self.inventory, self.settings.lab)

    def names(self) -> tuple[str, ...]:
        """The components in start order: the Alertmanagers, the textfile exporter,
        Prometheus (which sends to the Alertmanagers); with collectors, the forwarder
        before it (lab) and each collector's probe shard and agent after it."""
        s = self.settings
        base = (*s.alertmanager_names, "textfile")
        if not s.collectors or self.inventory is None:
            return (*base, "prometheus")
        forward = ("forward",) if s.lab else ()
        regions = self.placement.section.regions
        return (
            *base,
            *forward,
            "prometheus",
            *(name for c in regions for name in (f"probe-{c.name}", f"agent-{c.name}")),
        )

    def collector_dir(self, name: str) -> Path:
        return self.dir / "collectors" / name

    def _collector_components(
        self, binaries: Binaries, prometheus: Component
    ) -> dict[str, Component]:
        """The central store (Prometheus with the remote-write receiver, in the store's
        namespace in a lab, behind the forwarder) and each collector's two daemons."""
        s, place = self.settings, self.placement
        section = place.section
        host, port = place.store_listen(s.prometheus_port)
        argv = [
            a
            for a in prometheus.argv
            if not a.startswith(("--web.listen-address=", "--storage.tsdb.retention.time="))
        ]
        argv += [
            f"--web.listen-address={host}:{port}",
            f"--storage.tsdb.retention.time={section.store.retention}",
            "--web.enable-remote-write-receiver",
        ]
        store_ns = place.netns(section.store.device)
        out = {
            "prometheus": Component(
                "prometheus", argv, s.prometheus_port, "/-/ready", "/-/reload", netns=store_ns
            )
        }
        if store_ns is not None:
            maps = [Mapping(Side(None, LOOPBACK, s.prometheus_port), Side(store_ns, host, port))]
            maps += [
                Mapping(Side(store_ns, LOOPBACK, p), Side(None, LOOPBACK, p))
                for p in (*s.am_ports, s.textfile_port)
            ]
            forward = [sys.executable, "-m", "controller.soc.forward"]
            # --map=VALUE: a value starting with "-" (this namespace) is not an option
            forward += [f"--map={map_arg(mapping)}" for mapping in maps]
            out["forward"] = Component("forward", forward, s.prometheus_port, "", None)
        assert self.inventory is not None
        source = self.inventory_path
        # the collectors that ping the missions' tunnels export their IPsec state too
        ipsec = {
            found.name
            for tunnel in (tunnel_targets(self.inventory) if s.ipsec_dir is not None else [])
            if (found := owner(tunnel, section.regions)) is not None
        }
        for collector in section.regions:
            ns = place.netns(collector.device)
            home = self.collector_dir(collector.name).resolve()
            probe = probe_argv(
                sys.executable,
                str(source),
                collector,
                section.scrape_interval,
                ns,
                str(home / "traps.json"),
                str(s.ipsec_dir.resolve()) if s.ipsec_dir and collector.name in ipsec else None,
            )
            out[f"probe-{collector.name}"] = Component(
                f"probe-{collector.name}",
                probe,
                collector.probe_port,
                "/healthz",
                None,
                netns=ns,
                probe_netns=ns,
                ready_timeout=PROBE_READY_TIMEOUT,
            )
            agent = agent_argv(
                binaries.prometheus, collector, str(home / "agent.yml"), str(home / "wal")
            )
            out[f"agent-{collector.name}"] = Component(
                f"agent-{collector.name}",
                agent,
                collector.agent_port,
                "/-/ready",
                "/-/reload",
                netns=ns,
                probe_netns=ns,
            )
        return out

    def _alertmanager_argv(self, binaries: Binaries, index: int) -> list[str]:
        s, d = self.settings, self.dir.resolve()
        name, port = s.alertmanager_names[index], s.am_ports[index]
        data = "alertmanager-data" if index == 0 else f"{name}-data"
        argv = [
            binaries.alertmanager,
            f"--config.file={d / 'alertmanager.yml'}",
            f"--storage.path={d / data}",
            f"--data.retention={s.alert_retention}",
            f"--web.listen-address={LOOPBACK}:{port}",
            f"--web.external-url=http://{LOOPBACK}:{port}/",
        ]
        if s.alertmanagers == 1:
            return [*argv, "--cluster.listen-address="]  # no gossip: nothing on 0.0.0.0:9094
        gossip = s.gossip_ports
        argv += [
            f"--cluster.listen-address={LOOPBACK}:{gossip[index]}",
            f"--cluster.advertise-address={LOOPBACK}:{gossip[index]}",
            f"--cluster.peer-timeout={s.peer_timeout}",
        ]
        return argv + [f"--cluster.peer={LOOPBACK}:{p}" for i, p in enumerate(gossip) if i != index]

    def _write(self, path: Path, text: str) -> bool:
        """Write if different; True when the content changed."""
        try:
            if path.read_text(encoding="utf-8") == text:
                return False
        except OSError:
            pass
        atomic_write_text(path, text)
        return True

    def write_files(self) -> set[str]:
        """Every configuration file; the names of the components whose config changed."""
        s = self.settings
        changed: set[str] = set()
        rules = self.dir / "rules"
        rules.mkdir(parents=True, exist_ok=True)
        wanted = {p.name: p.read_text(encoding="utf-8") for p in rule_files(s.rules_dir)}
        if not wanted:
            raise SocError(f"{s.rules_dir}: no rule files (*.yml)")
        for name, text in wanted.items():
            if self._write(rules / name, text):
                changed.add("prometheus")
        for stale in rules.glob("*.yml"):
            if stale.name not in wanted:
                stale.unlink()
                changed.add("prometheus")
        probes_sd = self.dir / "probes.json"
        if self._write(probes_sd, dump_json(file_sd(probe_targets(s)))):
            changed.add("prometheus")
        config = prometheus_config(s, probes_sd, rules)
        if s.collectors:
            place = self.placement
            host, port = place.store_listen(s.prometheus_port)
            for job in config["scrape_configs"]:
                if job["job_name"] == "prometheus":
                    job["static_configs"] = [{"targets": [f"{host}:{port}"]}]
            # a collector's backlog after a long cut is older than the head block
            config["storage"] = {"tsdb": {"out_of_order_time_window": OUT_OF_ORDER_WINDOW}}
            url = place.remote_write_url(s.prometheus_port)
            for collector in place.section.regions:
                home = self.collector_dir(collector.name)
                home.mkdir(parents=True, exist_ok=True)
                agent = agent_config(
                    collector, url, place.section.scrape_interval, s.events_interval
                )
                if self._write(home / "agent.yml", dump_yaml(agent)):
                    changed.add(f"agent-{collector.name}")
        if self._write(self.dir / "prometheus.yml", dump_yaml(config)):
            changed.add("prometheus")
        am_text = s.alertmanager_config.read_text(encoding="utf-8")
        if self.inventory is not None and self.inventory.notifications.receivers:
            templates = self.dir / "templates"
            for source in sorted((s.alertmanager_config.parent / "templates").glob("*.tmpl")):
                if self._write(templates / source.name, source.read_text(encoding="utf-8")):
                    changed.add("alertmanager")
            am_text = alertmanager_config(am_text, self.inventory.notifications, templates)
        # 0600 (atomic_write_text): it may hold the SMTP relay's password
        if self._write(self.dir / "alertmanager.yml", am_text):
            changed.add("alertmanager")
        s.textfile_dir.mkdir(parents=True, exist_ok=True)
        if self.inventory is not None:
            self._write(s.textfile_dir / "inventory.prom", inventory_textfile(self.inventory))
        return changed

    def check_files(self, binaries: Binaries) -> None:
        checks = [
            [binaries.promtool, "check", "config", str(self.dir / "prometheus.yml")],
            [binaries.amtool, "check-config", str(self.dir / "alertmanager.yml")],
        ]
        if self.settings.collectors:
            checks += [
                [binaries.promtool, "check", "config", "--agent", str(home / "agent.yml")]
                for c in self.placement.section.regions
                if (home := self.collector_dir(c.name))
            ]
        for argv in checks:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
            if result.returncode != 0:
                detail = (result.stderr or result.stdout).strip().splitlines()
                raise SocError(
                    f"{Path(argv[0]).name} rejected the configuration: " + " | ".join(detail[-3:])
                )

    # ------------------------------------------------------------------ lock

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        busy = f"{self.dir} is busy (another soc up/down runs)"
        with exclusive_lock(self.dir / ".lock", LOCK_TIMEOUT, lambda: SocError(busy), poll=0.1):
            yield

    # ------------------------------------------------------------------ up

    def up(self, progress: Progress = _quiet) -> list[ComponentState]:
        with self.locked():
            binaries = find_binaries()
            progress("writing configuration")
            changed = self.write_files()
            progress("checking configuration (promtool, amtool)")
            self.check_files(binaries)
            started: list[ProcessRecord] = []
            results = []
            try:
                for component in self.components(binaries):
                    progress(f"{component.name}")
                    results.append(self._ensure(component, component.name in changed, started))
            except BaseException:
                for record in reversed(started):
                    with contextlib.suppress(SocError):
                        procs.stop(record)
                    self.pid_file(record.name).unlink(missing_ok=True)
                raise
            self._write_state()
            return results

    def _ensure(
        self, component: Component, changed: bool, started: list[ProcessRecord]
    ) -> ComponentState:
        pid_file = self.pid_file(component.name)
        record = procs.read_record(pid_file)
        state = "started"
        if record is not None and procs.is_running(record):
            if record.argv == tuple(component.argv):
                if changed and component.reload_path:
                    self._reload(component)
                    return ComponentState(
                        component.name, "reloaded", record.pid, component.url, True
                    )
                return ComponentState(component.name, "running", record.pid, component.url, True)
            procs.stop(record)
            state = "restarted"
        pid_file.unlink(missing_ok=True)
        if component.netns is None and not port_free(component.port):
            raise SocError(
                f"{LOOPBACK}:{component.port} is in use by another program "
                f"(choose another --{component.name}-port)"
            )
        record = procs.start(
            component.name,
            component.argv,
            pid_file,
            self.dir / "logs" / f"{component.name}.log",
            self.dir.resolve(),
            netns=component.netns,
        )
        started.append(record)
        self._wait_ready(component, record)
        return ComponentState(component.name, state, record.pid, component.url, True)

    def _wait_ready(self, component: Component, record: ProcessRecord) -> None:
        deadline = time.monotonic() + component.ready_timeout
        while time.monotonic() < deadline:
            if not procs.is_running(record):
                detail = procs.log_tail(record) or "no output (see its log)"
                raise SocError(f"{component.name} exited at start: {detail}")
            if component.answers(component.ready_path):
                return
            time.sleep(0.2)
        raise SocError(
            f"{component.name} was not ready after {component.ready_timeout:.0f} s: "
            f"{procs.log_tail(record)}"
        )

    def _reload(self, component: Component) -> None:
        assert component.reload_path is not None
        url = component.url + component.reload_path

        def post() -> httpx.Response:
            with httpx.Client(trust_env=False, timeout=30) as client:
                return client.post(url)

        try:
            if component.probe_netns is None:
                response = post()
            else:
                from simulations.netns import in_netns

                response = in_netns(component.probe_netns, post, timeout=40.0)
        except httpx.HTTPError as exc:
            raise SocError(f"{component.name}: reload failed: {exc}") from exc
        if response.status_code != 200:
            raise SocError(f"{component.name}: reload refused: {response.text.strip()[:300]}")

    def _write_state(self) -> None:
        s = self.settings
        atomic_write_text(
            self.dir / "soc.json",
            dump_json(
                {
                    "prometheus_url": s.prometheus_url,
                    "alertmanager_url": s.alertmanager_url,
                    "alertmanager_urls": [f"http://{LOOPBACK}:{p}" for p in s.am_ports],
                    "textfile_url": s.textfile_url,
                    "ports": {
                        "prometheus": s.prometheus_port,
                        "alertmanager": s.alertmanager_port,
                        "textfile": s.textfile_port,
                    },
                    "probes": probe_targets(s),
                    "collectors": [n for n in self.names() if n.startswith(("probe-", "agent-"))],
                    "lab": s.lab,
                }
            ),
        )

    # ------------------------------------------------------------------ down, status

    def down(self) -> list[ComponentState]:
        with self.locked():
            results = []
            names = self.names()
            found = {p.stem for p in self.dir.glob("*.pid")} - set(names)
            # collectors first (a probe shard, then its agent), then the SOC in reverse
            first = sorted(n for n in found if n.startswith(("probe-", "agent-")))
            extra = sorted(found - set(first) - {"forward", "prometheus"})
            order = [*first, *reversed(names), *extra]
            order += [n for n in ("forward",) if n in found and n not in order]
            for name in order:
                pid_file = self.pid_file(name)
                record = procs.read_record(pid_file)
                if record is None:
                    results.append(ComponentState(name, "not running", None, ""))
                    continue
                stopped = procs.stop(record)
                pid_file.unlink(missing_ok=True)
                results.append(
                    ComponentState(name, "stopped" if stopped else "not running", record.pid, "")
                )
            return results

    def status(self) -> list[ComponentState]:
        s = self.settings
        ports = {
            name: (port, "/-/ready")
            for name, port in zip(s.alertmanager_names, s.am_ports, strict=True)
        }
        ports |= {
            "textfile": (s.textfile_port, "/healthz"),
            "prometheus": (s.prometheus_port, "/-/ready"),
        }
        results = []
        for name in self.names():
            record = procs.read_record(self.pid_file(name))
            running = record is not None and procs.is_running(record)
            url = f"http://{LOOPBACK}:{ports[name][0]}"
            ready = http_ok(url + ports[name][1]) if running else False
            results.append(
                ComponentState(
                    name,
                    "running" if running else "down",
                    record.pid if running and record else None,
                    url,
                    ready,
                )
            )
        return results


def read_state(state_dir: Path) -> dict[str, Any]:
    """What the last ``soc up`` wrote (URLs and ports); empty when it never ran."""
    try:
        data = json.loads((state_dir / "soc" / "soc.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def state_ports(state_dir: Path) -> dict[str, int]:
    """The ports of the last ``soc up`` (for status/down with default options)."""
    ports = read_state(state_dir).get("ports", {})
    if not isinstance(ports, dict):
        return {}
    return {
        f"{name}_port": int(value)
        for name, value in ports.items()
        if name in ("prometheus", "alertmanager", "textfile") and isinstance(value, int)
    }

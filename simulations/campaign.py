"""Fault campaigns with the SOC: the probes polling from inside the lab, Prometheus and
Alertmanager on free loopback ports, for the length of one scenario run — and the
process handling the SOC drill (controller/soc/drill.py) shares with it.

:class:`CampaignSoc` starts ``govnet probe serve`` in the lab's NMS namespace (a child
in its own session), then ``SocStack.up`` on loopback with its own state directory,
waits (bounded) until Prometheus sees every probe target up, serves Alertmanager's
alerts to :func:`simulations.scenario.run_scenario`, and stops all of it by PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from simulations.errors import LabError

LAB_NMS = "clab-lab-nms-1"
PROBE_INTERVAL = 5.0  # campaigns probe faster than the default 15 s: quicker verdicts
READY_TIMEOUT = 120.0


def govnet_command() -> list[str]:
    """The govnet CLI of this virtualenv."""
    script = Path(sys.executable).parent / "govnet"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from controller.cli.main import run; run()"]


# ---------------------------------------------------------------------------- children


@dataclass
class Child:
    """A process a campaign or drill started, in its own session (Ctrl-C reaches only
    us); stopped by its PID only."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, wait, SIGKILL — this PID only."""
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])


def start_child(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> Child:
    log.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[bytes]
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return Child(name, proc, log)


def start_probes(
    inventory: Path,
    port: int,
    state_dir: Path,
    interval: float = 15.0,
    netns: str = LAB_NMS,
    env: dict[str, str] | None = None,
    notifications: bool = False,
    ipsec_dir: Path | None = None,
) -> Child:
    """`govnet probe serve` polling from inside the lab namespace, /metrics on loopback;
    with ``notifications``, also receiving the lab nodes' informs and sshd syslog on the
    NMS's addresses (the ports the rendered topology sends them to); with ``ipsec_dir``
    (the lab directory) it exports the missions' IPsec tunnels too."""
    from controller.topology.render import LAB_SYSLOG_PORT, LAB_TRAP_PORT

    traps = f"0.0.0.0:{LAB_TRAP_PORT}" if notifications else "off"
    syslog = f"0.0.0.0:{LAB_SYSLOG_PORT}" if notifications else "off"
    argv = [
        *govnet_command(),
        "probe",
        "serve",
        "-i",
        str(inventory),
        "--netns",
        netns,
        "--interval",
        f"{interval:g}",
        "--listen",
        f"127.0.0.1:{port}",
        "--traps-listen",
        traps,
        "--syslog-listen",
        syslog,
        "--traps-file",
        str(state_dir / "probes" / "traps.json"),
    ]
    if ipsec_dir is not None:
        argv += ["--ipsec-dir", str(ipsec_dir)]
    return start_child("probes", argv, state_dir / "logs" / "probes.log", env)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CampaignSoc:
    """Probes → Prometheus → Alertmanager for one campaign, on loopback; a context manager."""

    def __init__(
        self,
        inventory: Path,
        nms_netns: str,
        state_dir: Path,
        probe_interval: float = PROBE_INTERVAL,
        log: Any = None,
    ) -> None:
        self.inventory = inventory
        self.nms_netns = nms_netns
        self.state_dir = state_dir
        self.probe_interval = probe_interval
        self.log = log or (lambda message: None)
        self.probes: Child | None = None
        self.stack: Any = None
        self.alertmanager_url = ""
        self.prometheus_url = ""

    def __enter__(self) -> CampaignSoc:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from controller.inventory import load_inventory
        from controller.inventory.model import Role
        from controller.soc.settings import SocSettings
        from controller.soc.stack import SocStack

        inv = load_inventory(self.inventory)
        ports: set[int] = set()
        while len(ports) < 4:
            ports.add(free_port())
        probes, prometheus, alertmanager, textfile = sorted(ports)
        self.probes = start_probes(
            self.inventory, probes, self.state_dir, self.probe_interval, self.nms_netns
        )
        self.log(f"probes: govnet probe serve --netns {self.nms_netns} (pid {self.probes.pid})")
        settings = SocSettings(
            state_dir=self.state_dir,
            probes=(f"127.0.0.1:{probes}",),
            prometheus_port=prometheus,
            alertmanager_port=alertmanager,
            textfile_port=textfile,
            scrape_interval=5,
            evaluation_interval=5,
        )
        self.stack = SocStack(settings, inv)
        for state in self.stack.up():
            self.log(f"{state.name}: {state.state} on {state.url} (pid {state.pid})")
        self.prometheus_url = settings.prometheus_url
        self.alertmanager_url = settings.alertmanager_url
        self.wait_for_targets(sum(1 for d in inv.devices if d.role != Role.NMS))

    def wait_for_targets(self, count: int, timeout: float = READY_TIMEOUT) -> None:
        """Until Prometheus has every probe target up (first cycles in), bounded."""
        from controller.soc.backends import HttpPrometheus

        prometheus = HttpPrometheus(self.prometheus_url)
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            if self.probes is not None and not self.probes.alive():
                raise LabError(f"govnet probe serve exited: {self.probes.tail()}")
            with contextlib.suppress(Exception):  # not ready yet: asked again
                samples = prometheus.query("count(govnet_site_up == 1)")
                seen = int(samples[0].value) if samples else 0
                if seen >= count:
                    return
            time.sleep(2.0)
        raise LabError(f"after {timeout:.0f} s Prometheus sees {seen} of {count} targets up")

    def alerts(self) -> list[dict[str, Any]]:
        from controller.soc.backends import HttpAlertmanager

        return HttpAlertmanager(self.alertmanager_url).alerts()

    def stop(self) -> None:
        if self.stack is not None:
            try:
                self.stack.down()
            finally:
                self.stack = None
        if self.probes is not None:
            self.probes.stop()
            self.probes = None

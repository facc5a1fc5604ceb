"""Loopback net-snmp agents for tests and benchmarks (never on a real network).

One ``snmpd`` process serves many ``127.x.y.z`` addresses listed on its command line,
with its own config, pidfile, log and SNMP_PERSISTENT_DIR in a private directory. The
process is started in the foreground and ended by its PID, nothing else.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from controller.errors import GovnetError

SNMPD = "/usr/sbin/snmpd"
START_TIMEOUT = 20.0


class AgentError(GovnetError):
    """A loopback test agent could not be started."""


@dataclass(frozen=True)
class AgentAuth:
    community: str = "govnet-test-ro"
    user: str = "govnet"
    auth_protocol: str = "SHA"
    auth: str = "govnet-test-auth"
    priv_protocol: str = "AES"
    priv: str = "govnet-test-priv"
    min_level: str = "priv"  # the rouser level: "priv" (authPriv) or "auth" (authNoPriv too)


@dataclass
class Agent:
    name: str
    addresses: list[str]
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 161

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid


@dataclass
class AgentPool:
    """Start with :meth:`start`, always :meth:`stop` (a ``with`` block does both)."""

    directory: Path
    auth: AgentAuth = AgentAuth()
    port: int = 161
    agents: list[Agent] = field(default_factory=list)

    def __enter__(self) -> AgentPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, name: str, addresses: Sequence[str], sys_name: str | None = None) -> Agent:
        for address in addresses:
            if not ipaddress.IPv4Address(address).is_loopback:
                raise AgentError(f"agent {name}: {address} is not a loopback address")
        if shutil.which(SNMPD) is None:
            raise AgentError(f"{SNMPD} is not installed (Debian package snmpd)")
        directory = self.directory / name
        (directory / "persist").mkdir(parents=True, exist_ok=True)
        conf = directory / "snmpd.conf"
        a = self.auth
        conf.write_text(
            "\n".join(
                [
                    f'createUser {a.user} {a.auth_protocol} "{a.auth}" '
                    f'{a.priv_protocol} "{a.priv}"',
                    f"rouser {a.user} {a.min_level}",
                    f"rocommunity {a.community} 127.0.0.0/8",
                    f"sysName {sys_name or name}",
                    "sysLocation govnet loopback test agent",
                    "sysContact govnet tests",
                    # Answer traps/informs nowhere; never reach out.
                    "dontLogTCPWrappersConnects yes",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        conf.chmod(0o600)
        agent = Agent(name, list(addresses), directory, port=self.port)
        self.agents.append(agent)
        return agent

    def start(self) -> None:
        for agent in self.agents:
            if agent.process is None:
                self._launch(agent)
        deadline = time.monotonic() + START_TIMEOUT
        for agent in self.agents:
            self._wait_ready(agent, deadline)

    def _launch(self, agent: Agent) -> None:
        listen = ",".join(f"udp:{addr}:{agent.port}" for addr in agent.addresses)
        argv = [
            SNMPD,
            "-f",
            "-C",
            "-c",
            str(agent.directory / "snmpd.conf"),
            "-p",
            str(agent.directory / "snmpd.pid"),
            "-Lf",
            str(agent.directory / "snmpd.log"),
            "-M",
            "/nonexistent",
            "-m",
            "",
            "-I",
            "-smux",  # no AgentX/SMUX listener on TCP 199
            listen,
        ]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SNMP_PERSISTENT_DIR": str(agent.directory / "persist"),
            "MIBS": "",
        }
        agent.process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait_ready(self, agent: Agent, deadline: float) -> None:
        log = agent.directory / "snmpd.log"
        while time.monotonic() < deadline:
            if agent.process is not None and agent.process.poll() is not None:
                text = log.read_text(errors="replace") if log.exists() else ""
                raise AgentError(f"agent {agent.name}: snmpd exited: {text.strip()[-300:]}")
            if log.exists() and "NET-SNMP version" in log.read_text(errors="replace"):
                return
            time.sleep(0.05)
        raise AgentError(f"agent {agent.name}: snmpd not ready after {START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        """End every agent this pool started, by PID (TERM, then KILL after 5 s)."""
        for agent in self.agents:
            process = agent.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGCONT)  # a paused agent must see the TERM
            process.send_signal(signal.SIGTERM)
        for agent in self.agents:
            process = agent.process
            if process is None:
                continue
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def pause(self, agent: Agent) -> None:
        """Freeze an agent (SIGSTOP): it keeps its sockets and answers nothing."""
        if agent.process is not None:
            agent.process.send_signal(signal.SIGSTOP)

    def resume(self, agent: Agent) -> None:
        if agent.process is not None:
            agent.process.send_signal(signal.SIGCONT)

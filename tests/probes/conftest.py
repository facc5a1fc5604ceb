"""Probe-test fixtures: a loopback inventory, real snmpd agents on 127.x addresses, a
fake agent that answers whatever a test wants, and the CLI (with the probe sub-app)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from probes.agents import AgentAuth, AgentPool
from tests.conftest import ROOT, require


def _free_udp_port() -> int:
    """A UDP port free on every address right now (so parallel test runs do not clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


PORT = _free_udp_port()
AUTH = AgentAuth()
ENV = {
    "GOVNET_TEST_SNMP_AUTH": AUTH.auth,
    "GOVNET_TEST_SNMP_PRIV": AUTH.priv,
    "GOVNET_TEST_SNMP_COMMUNITY": AUTH.community,
}
ROUTERS = {"core-1": "127.10.0.1", "core-2": "127.10.0.2", "pr-1": "127.10.0.3"}
CPES = {f"cpe-1201{i:02d}": f"127.10.1.{i}" for i in range(1, 9)}
DEAD = {"cpe-120201": "127.10.2.1"}  # nothing listens there
SLOW = {"cpe-120202": "127.10.3.1"}  # the fake agent answers after 3 s

# The CLI as users run it, with `probe` registered if main.py does not have it yet.
LAUNCHER = (
    "from controller.cli import main, probe\n"
    "if not any(g.name == 'probe' for g in main.app.registered_groups):\n"
    "    main.app.add_typer(probe.app, name='probe')\n"
    "main.run()\n"
)


def govnet_argv(*args: str) -> list[str]:
    return [sys.executable, "-c", LAUNCHER, *args]


def govnet(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        govnet_argv(*args),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **ENV},
    )


def write_inventory(directory: Path, cpes: dict[str, str], port: int = PORT) -> Path:
    """A small valid inventory on loopback addresses: two cores, a province router
    dual-homed to both, CPEs behind it (v2c), routers on v3 authPriv."""
    directory.mkdir(parents=True, exist_ok=True)
    devices: list[dict[str, Any]] = [
        {
            "name": name,
            "role": "core",
            "site": "KH-12",
            "mgmt": addr,
            "loopback": addr.replace("127.10.", "127.11."),
            "interfaces": ["eth1", "eth2", "eth3"],
        }
        for name, addr in ROUTERS.items()
        if name.startswith("core")
    ]
    devices.append(
        {
            "name": "pr-1",
            "role": "province-router",
            "site": "KH-12",
            "mgmt": ROUTERS["pr-1"],
            "interfaces": [f"eth{i}" for i in range(1, 3 + len(cpes))],
        }
    )
    communes: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = [
        {
            "a": "core-1:eth1",
            "b": "core-2:eth1",
            "kind": "core",
            "bandwidth": "10G",
            "prefix": "10.254.0.0/31",
        },
        {
            "a": "core-1:eth2",
            "b": "pr-1:eth1",
            "kind": "province-core",
            "bandwidth": "1G",
            "prefix": "10.254.0.2/31",
        },
        {
            "a": "core-2:eth2",
            "b": "pr-1:eth2",
            "kind": "province-core",
            "bandwidth": "1G",
            "prefix": "10.254.0.4/31",
        },
    ]
    for i, (name, addr) in enumerate(sorted(cpes.items())):
        code = name.split("-")[1]
        communes.append({"code": code, "name": f"Commune {code}", "province": "KH-12"})
        devices.append(
            {
                "name": name,
                "role": "cpe",
                "site": code,
                "mgmt": addr,
                "groups": ["cpe"],
                "interfaces": ["eth1"],
            }
        )
        links.append(
            {
                "a": f"pr-1:eth{3 + i}",
                "b": f"{name}:eth1",
                "kind": "commune-access",
                "bandwidth": "100M",
                "prefix": f"10.253.0.{2 * i}/31",
                "routing": {"static": True},
            }
        )
    data = {
        "network": {"name": "loopback-test"},
        "defaults": {"platform": "frr", "snmp_profile": "v3", "ssh_credential": "test"},
        "groups": {"cpe": {"platform": "linux", "snmp_profile": "v2c"}},
        "provinces": [{"code": "KH-12", "name": "Phnom Penh", "kind": "capital"}],
        "communes": communes,
        "devices": devices,
        "links": links,
        "pools": {
            "ipv4": {
                "management": {"prefix": "127.10.0.0/16", "use": "management"},
                "loopbacks": {"prefix": "127.11.0.0/24", "use": "loopback"},
                "core-p2p": {"prefix": "10.254.0.0/24", "use": "p2p"},
                "access-p2p": {"prefix": "10.253.0.0/24", "use": "p2p"},
            }
        },
        "credentials": {
            "ssh": {"test": {"username": "govnet", "password": "env:GOVNET_TEST_SSH_PASSWORD"}},
            "snmp": {
                "v3": {
                    "version": "3",
                    "user": AUTH.user,
                    "auth": "env:GOVNET_TEST_SNMP_AUTH",
                    "priv": "env:GOVNET_TEST_SNMP_PRIV",
                    "port": port,
                },
                "v2c": {
                    "version": "2c",
                    "community": "env:GOVNET_TEST_SNMP_COMMUNITY",
                    "port": port,
                },
            },
        },
    }
    path = directory / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture()
def snmp_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    return ENV


def require_binaries(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    require(not missing, f"missing Debian binaries: {', '.join(missing)}")


@pytest.fixture(scope="module")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentPool]:
    """Two real snmpd processes: the routers (v3 + v2c) and the CPEs."""
    require_binaries("/usr/sbin/snmpd")
    pool = AgentPool(tmp_path_factory.mktemp("agents"), AUTH, port=PORT)
    with pool:
        pool.add("routers", list(ROUTERS.values()), sys_name="router-agent")
        pool.add("cpes", list(CPES.values()), sys_name="cpe-agent")
        pool.start()
        yield pool


Handler = Callable[[bytes], bytes | None]


class FakeAgent:
    """A UDP responder on a loopback address: ``handler(request) → reply or None``,
    optionally after ``delay`` seconds. Runs its own event loop in a thread."""

    def __init__(self, address: str, handler: Handler, delay: float = 0.0) -> None:
        self.address = address
        self.handler = handler
        self.delay = delay
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((address, PORT))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        agent = self

        class Proto(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                agent.requests += 1
                reply = agent.handler(data)
                if reply is None:
                    return
                send = getattr(self.transport, "sendto")  # noqa: B009 (a datagram transport)
                agent._loop.call_later(agent.delay, send, reply, addr)

        self._loop.run_until_complete(self._loop.create_datagram_endpoint(Proto, sock=self._sock))
        self._loop.run_forever()

    def __enter__(self) -> FakeAgent:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._sock.close()

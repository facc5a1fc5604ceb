"""Foreign SNMP agents for tests: snmpsim (PyPI) on a loopback address, never elsewhere.

net-snmp is the lab's only agent; snmpsim is another engine altogether (pysnmp-based),
replaying recordings — its shipped device recordings and ones the tests write — so the
poller meets agents that are not net-snmp: no ifXTable, 32-bit counters that wrap,
sysUpTime resets, wrong types, oversized strings. For v2c the community names the
recording (``<name>.snmprec``); for v3 the context name does.

snmpsim refuses to run as root unless it drops to another user; here the Python it runs
on lives under /root (unreadable to others), so its lazy imports would fail after the
drop. The harness therefore starts it as root without the drop — bound to a loopback
address, for the length of a test — and ends it by PID.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from controller.errors import GovnetError

START_TIMEOUT = 60.0
_PRELUDE = (
    "import contextlib, sys\n"
    "import snmpsim.daemon\n"
    "snmpsim.daemon.PrivilegesOf = lambda *a, **k: contextlib.nullcontext()\n"
    "from snmpsim.commands.responder import main\n"
    "sys.argv[0] = 'snmpsim-command-responder'\n"
    "sys.exit(main())\n"
)


class SimulatorError(GovnetError):
    """The snmpsim test agent could not be started."""


def shipped_recordings() -> Path:
    """snmpsim's own device recordings (package data)."""
    spec = importlib.util.find_spec("snmpsim")
    if spec is None or spec.origin is None:
        raise SimulatorError("snmpsim is not installed (a dev dependency: make deps)")
    return Path(spec.origin).parent / "data"


@dataclass(frozen=True)
class SimulatorV3:
    user: str = "govnet"
    auth_protocol: str = "SHA"  # snmpsim's names: MD5, SHA, SHA256, …
    auth: str = "govnet-test-auth"
    priv_protocol: str = "AES"
    priv: str = "govnet-test-priv"


@dataclass
class Simulator:
    """Write recordings with :meth:`record` or :meth:`copy`, then :meth:`start`; always
    :meth:`stop` (a ``with`` block does both)."""

    directory: Path
    port: int
    address: str = "127.0.0.1"
    v3: SimulatorV3 | None = SimulatorV3()
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not ipaddress.IPv4Address(self.address).is_loopback:
            raise SimulatorError(f"{self.address} is not a loopback address")
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        (self.directory / "cache").mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def log(self) -> Path:
        return self.directory / "snmpsim.log"

    def record(self, name: str, lines: Iterable[str]) -> None:
        """A recording in snmpsim's ``oid|tag|value`` form, one line per OID."""
        text = "\n".join(lines) + "\n"
        (self.directory / "data" / f"{name}.snmprec").write_text(text, encoding="utf-8")

    def copy(self, shipped: str, name: str) -> None:
        """One of snmpsim's shipped recordings, served under ``name``."""
        source = shipped_recordings() / shipped
        shutil.copyfile(source, self.directory / "data" / f"{name}{source.suffix}")

    def argv(self) -> list[str]:
        argv = [
            sys.executable,
            "-c",
            _PRELUDE,
            f"--data-dir={self.directory / 'data'}",
            f"--cache-dir={self.directory / 'cache'}",
            f"--agent-udpv4-endpoint={self.address}:{self.port}",
            "--log-level=info",
        ]
        if self.v3 is not None:
            v3 = self.v3
            argv += [
                f"--v3-user={v3.user}",
                f"--v3-auth-key={v3.auth}",
                f"--v3-auth-proto={v3.auth_protocol}",
                f"--v3-priv-key={v3.priv}",
                f"--v3-priv-proto={v3.priv_protocol}",
            ]
        return argv

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                self.argv(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.directory)},
            )
        deadline = time.monotonic() + START_TIMEOUT
        ready = f"Listening at UDP/IPv4 endpoint {self.address}:{self.port}"
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if self.process.poll() is not None:
                raise SimulatorError(f"snmpsim exited: {text.strip()[-400:]}")
            if ready in text:
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise SimulatorError(f"snmpsim not listening after {START_TIMEOUT:.0f} s")
        # "Listening" comes before the first answer: each recording opens its index on the
        # first request, which takes seconds on a loaded machine. Ready = each one answers.
        for name in self.recordings():
            self._wait_answer(name, deadline)

    def recordings(self) -> list[str]:
        return sorted(p.stem for p in (self.directory / "data").iterdir() if p.is_file())

    def _wait_answer(self, community: str, deadline: float) -> None:
        argv = ["snmpget", "-v2c", "-c", community, "-t", "2", "-r", "0", "-On", "-Oq"]
        argv += [f"udp:{self.address}:{self.port}", "1.3.6.1.2.1.1.3.0"]
        while time.monotonic() < deadline:
            done = subprocess.run(argv, capture_output=True, timeout=10, check=False)
            if done.returncode == 0:
                return
            if self.process is not None and self.process.poll() is not None:
                text = self.log.read_text(errors="replace")
                raise SimulatorError(f"snmpsim exited: {text.strip()[-400:]}")
        self.stop()
        raise SimulatorError(
            f"snmpsim: recording {community} unanswered after {START_TIMEOUT:.0f} s"
        )

    def stop(self) -> None:
        """End the simulator this object started, by PID (TERM, then KILL after 10 s)."""
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

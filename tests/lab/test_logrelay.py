"""The lab nodes' sshd → syslog path (simulations/logrelay.py), on loopback with a real
OpenSSH sshd: its ``-e`` log through the relay's pipe becomes RFC 3164 datagrams the
probes' syslog parser reads as logins, and every line stays in the node's sshd.log."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.syslog import login_event, parse
from simulations import logrelay
from simulations.procs import read_pidfile, wait_for_pidfile
from tests.conftest import require
from tests.soc.helpers import free_port


def test_a_relayed_line_is_an_rfc3164_auth_message_with_the_node_as_hostname() -> None:
    line = "Failed password for govnet from 172.20.20.5 port 40022 ssh2\r\n"
    message = parse(logrelay.rfc3164(line, "pr-kh12", "sshd", now=1_764_547_200.0))
    assert (message.facility, message.severity) == (4, 6)  # auth.info
    assert (message.hostname, message.app, message.format) == ("pr-kh12", "sshd", "3164")
    event = login_event(message)
    assert event is not None
    assert (event.result, event.user, event.source) == ("failure", "govnet", "172.20.20.5")


def test_a_relay_refuses_a_sink_that_is_not_host_and_port() -> None:
    with pytest.raises(SystemExit, match="HOST:PORT"):
        logrelay.parse_sink("172.20.20.5")


@pytest.fixture()
def relayed_sshd(tmp_path: Path) -> Iterator[tuple[int, socket.socket, Path]]:
    """A real sshd on 127.0.0.1 started through the relay, which sends to a UDP socket."""
    require(os.geteuid() == 0, "sshd needs root")
    require(os.path.exists("/usr/sbin/sshd"), "openssh-server is not installed")
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen is not installed")
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.settimeout(0.5)
    port = free_port()
    key = tmp_path / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = tmp_path / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1:{port}\nHostKey {key}\nPidFile {tmp_path / 'sshd.pid'}\n"
        "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM no\n"
        "AllowUsers govnet-relay-test\nUseDNS no\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = tmp_path / "sshd.log"
    relay_pid = tmp_path / "relay.pid"
    argv = [sys.executable, "-m", "simulations.logrelay", "--sink"]
    argv += [f"127.0.0.1:{sink.getsockname()[1]}", "--source", "127.0.0.1", "--hostname"]
    argv += ["r-test", "--log", str(log), "--pidfile", str(relay_pid)]
    started = subprocess.run(
        [*argv, "--", "/usr/sbin/sshd", "-f", str(config), "-D", "-e"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert started.returncode == 0, started.stderr
    pids = [wait_for_pidfile(tmp_path / "sshd.pid", 10), wait_for_pidfile(relay_pid, 10)]
    try:
        assert None not in pids
        yield port, sink, log
    finally:
        for pid in pids:
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        sink.close()


def test_sshd_failed_logins_reach_the_syslog_sink_through_the_relay(
    relayed_sshd: tuple[int, socket.socket, Path], tmp_path: Path
) -> None:
    import paramiko

    port, sink, log = relayed_sshd
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            "127.0.0.1",
            port=port,
            username="govnet-relay-test",
            password="wrong-password",
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
    client.close()
    events = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not events:
        try:
            data, sender = sink.recvfrom(65536)
        except TimeoutError:
            continue
        assert sender[0] == "127.0.0.1"  # the relay sends from --source
        message = parse(data)
        assert (message.hostname, message.app) == ("r-test", "sshd")
        event = login_event(message)
        if event is not None:
            events.append(event)
    assert [(e.result, e.source) for e in events] == [("failure", "127.0.0.1")]
    assert "Failed password for " in log.read_text()


def test_a_daemon_that_fails_leaves_its_message_in_the_log_and_ends_the_relay(
    tmp_path: Path,
) -> None:
    log, pidfile = tmp_path / "log", tmp_path / "pid"
    argv = [sys.executable, "-m", "simulations.logrelay", "--sink", "127.0.0.1:9"]
    argv += ["--hostname", "r", "--log", str(log), "--pidfile", str(pidfile), "--"]
    result = subprocess.run(
        [*argv, "sh", "-c", "echo no such config >&2; exit 3"], timeout=30, check=False
    )
    assert result.returncode == 0  # the relay detached; the daemon's pid file tells
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (pidfile.exists() or not log.exists()):
        time.sleep(0.05)
    assert log.read_text() == "no such config\n"
    assert read_pidfile(pidfile) is None

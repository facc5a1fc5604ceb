"""The SSH adapter on loopback, with a real paramiko server: whatever way a device
fails — also a bare ``EOFError()`` with no message — comes back as one clear line for
that device (a ConnectError), never an IndexError that aborts the run."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import paramiko
import pytest

from controller.provision.dialects import FRR
from controller.provision.errors import (
    AuthError,
    ConnectError,
    HostKeyError,
    ProvisionError,
    one_line,
)
from controller.provision.hostkeys import HostKeyStore
from controller.provision.transport import (
    ExecSession,
    NetmikoSession,
    SocketFactory,
    Target,
    connect,
    connect_shell,
)
from tests.provision.sshpeers import ExecServer, HangsUpAfterBanner, HostKeyServer, running


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    assert one_line(EOFError()) == "connection closed by the peer (EOFError)"
    assert one_line(OSError("")) == "OSError"
    assert one_line(ValueError("first\nsecond")) == "first"
    assert one_line(TimeoutError("  \n  ")) == "TimeoutError"


def test_a_device_that_hangs_up_after_the_banner_is_one_line(tmp_path: Path) -> None:
    # the host key comes from a real SSH server; the session then meets a peer that hangs
    # up after the banners, where paramiko raises EOFError() with an empty message
    with running(HostKeyServer()) as keys, running(HangsUpAfterBanner()) as hangs_up:
        ports = iter([keys.port, hangs_up.port])

        def open_socket(host: str, port: int, timeout: float) -> socket.socket:
            return socket.create_connection(("127.0.0.1", next(ports)), timeout=timeout)

        target = Target("pr-kh2", "127.0.0.1", "linux", FRR, "govnet", "x")
        store = HostKeyStore(tmp_path / "known_hosts")
        with pytest.raises(ConnectError) as caught:
            connect(target, store, trust_on_first_use=True, open_socket=open_socket, timeout=5)
    assert str(caught.value) == "pr-kh2: SSH failed: connection closed by the peer (EOFError)"
    assert hangs_up.connections == 1  # the failure came from the session, not the key fetch


def test_a_device_that_hangs_up_during_the_key_fetch_is_one_line(tmp_path: Path) -> None:
    with running(HangsUpAfterBanner()) as hangs_up:

        def open_socket(host: str, port: int, timeout: float) -> socket.socket:
            return socket.create_connection(("127.0.0.1", hangs_up.port), timeout=timeout)

        target = Target("pr-kh2", "127.0.0.1", "linux", FRR, "govnet", "x")
        with pytest.raises(ConnectError) as caught:
            connect(
                target,
                HostKeyStore(tmp_path / "known_hosts"),
                trust_on_first_use=True,
                open_socket=open_socket,
                timeout=5,
            )
    message = str(caught.value)
    assert message.startswith("pr-kh2: SSH handshake failed: ") and "\n" not in message
    assert not message.endswith(": ")


def _loopback(port: int) -> SocketFactory:
    def open_socket(host: str, _port: int, timeout: float) -> socket.socket:
        return socket.create_connection(("127.0.0.1", port), timeout=timeout)

    return open_socket


def test_a_pinned_device_is_reached_with_one_ssh_handshake(tmp_path: Path) -> None:
    # the key is checked inside the login itself; no second connection asks for it first
    with running(HostKeyServer()) as device:
        store = HostKeyStore(tmp_path / "known_hosts")
        store.pin("127.0.0.1", 22, device.key)
        target = Target("pr-kh2", "127.0.0.1", "linux", FRR, "govnet", "wrong")
        with pytest.raises(AuthError):  # the server authenticates nobody
            connect(target, store, open_socket=_loopback(device.port), timeout=5)
    assert device.connections == 1


def test_a_pinned_device_presenting_another_key_is_refused_as_changed(tmp_path: Path) -> None:
    with running(HostKeyServer()) as device:
        store = HostKeyStore(tmp_path / "known_hosts")
        pinned = paramiko.RSAKey.generate(2048)  # not the device's key
        store.pin("127.0.0.1", 22, pinned)
        target = Target("pr-kh2", "127.0.0.1", "linux", FRR, "govnet", "secret-pw")
        with pytest.raises(HostKeyError) as caught:
            connect(
                target,
                store,
                trust_on_first_use=True,  # never re-pins a device that is already pinned
                open_socket=_loopback(device.port),
                timeout=5,
            )
    message = str(caught.value)
    assert message.startswith("pr-kh2: SSH host key of 127.0.0.1:22 CHANGED since it was pinned")
    assert "secret-pw" not in message
    assert device.connections == 1
    store.check("pr-kh2", "127.0.0.1", 22, pinned)  # the pin is kept as it was


def test_an_unknown_device_is_refused_before_any_login(tmp_path: Path) -> None:
    with running(HostKeyServer()) as device:
        store = HostKeyStore(tmp_path / "known_hosts")
        target = Target("pr-kh2", "127.0.0.1", "linux", FRR, "govnet", "secret-pw")
        with pytest.raises(HostKeyError) as caught:
            connect(target, store, open_socket=_loopback(device.port), timeout=5)
    assert "unknown SSH host key" in str(caught.value)
    assert device.connections == 1  # the key fetch only; no login followed
    assert not store.path.exists()


class _RecordingConnection:
    """Stands in for netmiko's connection object (not for a device): records what the
    session asks of it."""

    def __init__(self) -> None:
        self.prompt = "pr-kh2#"
        self.prompts_found = 0
        self.expects: list[str | None] = []

    def find_prompt(self) -> str:
        self.prompts_found += 1
        return self.prompt

    def send_command(self, command: str, expect_string: str | None = None, **_: object) -> str:
        self.expects.append(expect_string)
        return "output"

    def send_config_set(self, commands: list[str], **_: object) -> str:
        return ""


def test_reads_on_a_network_cli_reuse_the_prompt_until_something_may_change_it() -> None:
    conn = _RecordingConnection()
    cli = NetmikoSession(Target("pr-kh2", "10.0.0.1", "cisco_ios", FRR, "govnet"), conn)
    cli.show("show running-config")
    cli.show("show ip ospf neighbor json")
    assert conn.prompts_found == 1  # learned once
    anchored = re.compile(str(conn.expects[-1]))
    assert anchored.search("...\r\npr-kh2# ") and not anchored.search("hostname pr-kh2#x\nend")
    cli.configure(["hostname pr-kh2-new"])  # may rename the device: learn the prompt again
    conn.prompt = "pr-kh2-new#"
    cli.show("show running-config")
    assert conn.prompts_found == 2 and "pr\\-kh2\\-new\\#" in str(conn.expects[-1])
    cli.show("write memory")  # not a read: netmiko's own prompt search, and forget ours
    cli.show("show running-config")
    assert conn.expects[-2] is None and conn.prompts_found == 3


class _PinGoneAtLogin(HostKeyStore):
    """A pin file that says the device is pinned, then has no entry when the login reads
    it (another process rewrote it in between)."""

    def known(self, host: str, port: int) -> bool:
        return True


def test_a_pin_gone_between_the_check_and_the_login_is_refused(tmp_path: Path) -> None:
    with running(HostKeyServer()) as device:
        store = _PinGoneAtLogin(tmp_path / "known_hosts")
        store.path.write_text("")
        target = Target("pr-kh2", "127.0.0.1", "linux", FRR, "govnet", "secret-pw")
        with pytest.raises(HostKeyError) as caught:
            connect(target, store, open_socket=_loopback(device.port), timeout=5)
    message = str(caught.value)
    assert message.startswith("pr-kh2: SSH host key of 127.0.0.1:22 is not pinned in ")
    assert "secret-pw" not in message
    assert device.connections == 1


# --- a node's shell: exec channels over one login ---------------------------------------


def _shell(server: ExecServer, store: HostKeyStore, password: str = "lab-secret") -> Target:
    store.pin("127.0.0.1", 22, server.key)
    return Target("pr-kh2", "127.0.0.1", "linux", FRR, server.username, password)


def _login(server: ExecServer, store: HostKeyStore) -> ExecSession:
    return connect_shell(
        _shell(server, store), store, open_socket=_loopback(server.port), timeout=5
    )


def test_shell_commands_run_in_exec_channels_of_one_login_without_a_terminal(
    tmp_path: Path,
) -> None:
    answers = {"cat /etc/swanctl/swanctl.conf": (b"connections {}\n", b""), "false": (b"", b"no\n")}
    with running(ExecServer(answers)) as node:
        store = HostKeyStore(tmp_path / "known_hosts")
        shell = connect_shell(
            _shell(node, store), store, open_socket=_loopback(node.port), timeout=5
        )
        try:
            assert shell.show("cat /etc/swanctl/swanctl.conf") == "connections {}\n"
            assert shell.show("false") == "no\n"  # stderr comes with stdout, as on a terminal
            assert "not found" in shell.show("missing-command")
        finally:
            shell.close()
        shell.close()  # twice is once
        assert shell.closed
        with pytest.raises(ConnectError, match="lost contact before 'false'"):
            shell.show("false")
    assert node.connections == 1 and node.ptys == 0
    assert node.commands == ["cat /etc/swanctl/swanctl.conf", "false", "missing-command"]


def test_a_shell_command_that_does_not_end_in_time_is_lost_contact(tmp_path: Path) -> None:
    with running(ExecServer({})) as node:
        store = HostKeyStore(tmp_path / "known_hosts")
        shell = connect_shell(
            _shell(node, store), store, open_socket=_loopback(node.port), timeout=5
        )
        try:
            with pytest.raises(ConnectError) as caught:
                shell.show("sleep 3", read_timeout=0.5)
        finally:
            shell.close()
    assert str(caught.value) == (
        "pr-kh2: lost contact during 'sleep 3': it did not end within 0.5 s"
    )


def test_a_shell_login_checks_the_pin_and_the_password_as_the_cli_does(tmp_path: Path) -> None:
    with running(ExecServer({})) as node, running(HostKeyServer()) as other:
        store = HostKeyStore(tmp_path / "known_hosts")
        wrong = _shell(node, store, password="wrong")
        with pytest.raises(AuthError, match="authentication failed for user 'govnet-ansible'"):
            connect_shell(wrong, store, open_socket=_loopback(node.port), timeout=5)
        # another key on the pinned address: refused as changed, no password sent
        with pytest.raises(HostKeyError, match="CHANGED since it was pinned"):
            connect_shell(_shell(node, store), store, open_socket=_loopback(other.port), timeout=5)
        unpinned = HostKeyStore(tmp_path / "empty")
        with pytest.raises(HostKeyError):
            connect_shell(wrong, unpinned, open_socket=_loopback(node.port), timeout=5)
    assert node.commands == []


def test_a_shell_login_has_no_configuration_mode(tmp_path: Path) -> None:
    with running(ExecServer({})) as node:
        store = HostKeyStore(tmp_path / "known_hosts")
        shell = connect_shell(
            _shell(node, store), store, open_socket=_loopback(node.port), timeout=5
        )
        try:
            with pytest.raises(ProvisionError, match="no configuration mode"):
                shell.configure(["router ospf"])
        finally:
            shell.close()

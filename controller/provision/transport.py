"""The one place govnet talks SSH to devices: a thin adapter over netmiko (network CLIs)
and paramiko (a node's shell, :class:`ExecSession`).

Nothing else imports netmiko or paramiko. A :class:`Session` runs show commands
and configuration; errors come back as one-line ProvisionErrors per device.
Sockets can be opened inside a lab namespace (``netns``), so no lab address is
ever contacted from the root namespace.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import paramiko
from netmiko import ConnectHandler
from netmiko.exceptions import (
    ConfigInvalidException,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadTimeout,
)

from controller.provision.dialects import Dialect
from controller.provision.errors import (
    AuthError,
    CommandRejected,
    ConnectError,
    HostKeyError,
    ProvisionError,
    one_line,
)
from controller.provision.hostkeys import HostKeyStore, fetch_host_key

log = logging.getLogger(__name__)
ERROR_PATTERN = r"^% |^Error:|\nError: "

SocketFactory = Callable[[str, int, float], socket.socket]


def plain_socket(host: str, port: int, timeout: float) -> socket.socket:
    return socket.create_connection((host, port), timeout=timeout)


@dataclass(frozen=True)
class Target:
    """Where and how to reach one device (secrets already resolved, never logged)."""

    name: str
    host: str
    device_type: str
    dialect: Dialect
    username: str
    password: str | None = None
    key_file: str | None = None
    port: int = 22

    def __repr__(self) -> str:  # keep the password out of tracebacks and logs
        return f"Target({self.name!r}, {self.host}:{self.port}, {self.device_type})"


class Session(Protocol):
    def show(self, command: str, read_timeout: float = 30.0) -> str: ...
    def ping(self, address: str, seconds: float) -> str: ...
    def configure(
        self, commands: list[str], enter: str | None = None, read_timeout: float = 60.0
    ) -> str: ...
    def save(self) -> str: ...
    def close(self) -> None: ...


READ_VERBS = ("show ", "display ")
"""Network-CLI commands that only read: the prompt after one is the prompt before it."""


class _LogsOutOnce:
    """``close()`` logs out once: a session shared by two users is closed by both."""

    _closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._logout()

    def _logout(self) -> None:
        raise NotImplementedError


class NetmikoSession(_LogsOutOnce):
    def __init__(self, target: Target, connection: Any) -> None:
        self.target = target
        self._conn = connection
        self._prompt: str | None = None
        """The CLI's prompt, known since the last command that may have changed it."""

    def show(self, command: str, read_timeout: float = 30.0) -> str:
        """The command's output.

        netmiko asks for the prompt before every command (a round trip and a 25 ms pause:
        48 of the 84 ms a vtysh ``show`` took). A read (:data:`READ_VERBS`) on a network
        CLI reads up to the prompt learned once instead, anchored at the end of the
        output; any other command forgets it, as does configuring."""
        expect: str | None = None
        if command.startswith(READ_VERBS):
            if self._prompt is None:
                self._prompt = self._find_prompt(command)
            expect = r"(?:^|\n)" + re.escape(self._prompt) + r"\s*$"
        else:
            self._prompt = None
        try:
            return str(
                self._conn.send_command(command, expect_string=expect, read_timeout=read_timeout)
            )
        except (ReadTimeout, OSError, EOFError) as exc:
            raise ConnectError(
                f"{self.target.name}: lost contact during {_brief(command)!r}: {one_line(exc)}"
            ) from exc
        except Exception as exc:  # anything else netmiko/paramiko raise: this device's failure
            raise ProvisionError(
                f"{self.target.name}: {_brief(command)!r} failed: {one_line(exc)}"
            ) from exc

    def _find_prompt(self, command: str) -> str:
        try:
            return str(self._conn.find_prompt()).strip()
        except (ReadTimeout, OSError, EOFError) as exc:
            raise ConnectError(
                f"{self.target.name}: lost contact before {_brief(command)!r}: {one_line(exc)}"
            ) from exc
        except Exception as exc:  # netmiko's ValueError when no prompt comes
            raise ProvisionError(
                f"{self.target.name}: no prompt before {_brief(command)!r}: {one_line(exc)}"
            ) from exc

    def configure(
        self, commands: list[str], enter: str | None = None, read_timeout: float = 60.0
    ) -> str:
        """Run ``commands`` in configuration mode, entered with ``enter`` (default: the
        dialect's; a confirm mechanism may enter with a revert timer)."""
        if not commands:
            return ""
        self._prompt = None  # a change may rename the device
        try:
            return str(
                self._conn.send_config_set(
                    commands,
                    config_mode_command=enter or self.target.dialect.enter,
                    error_pattern=ERROR_PATTERN,
                    read_timeout=read_timeout,
                )
            )
        except ConfigInvalidException as exc:
            raise CommandRejected(
                f"{self.target.name}: device rejected the change: {one_line(exc)}"
            ) from exc
        except (ReadTimeout, OSError, EOFError) as exc:
            raise ConnectError(
                f"{self.target.name}: lost contact while configuring: {one_line(exc)}"
            ) from exc
        except Exception as exc:  # e.g. netmiko's ValueError when config mode is refused
            raise ProvisionError(
                f"{self.target.name}: configuring failed: {one_line(exc)}"
            ) from exc

    def save(self) -> str:
        return self.show(self.target.dialect.save)

    def ping(self, address: str, seconds: float) -> str:
        """The CLI's own ``ping ADDRESS`` run for ``seconds``, then interrupted (Ctrl-C) —
        for CLIs whose ping never stops by itself (FRR's vtysh runs Linux ``ping``).
        Returns what it printed, summary included."""
        self._prompt = None
        try:
            self._conn.write_channel(f"ping {address}\n")
            time.sleep(seconds)  # the ping's own duration, then stop it
            self._conn.write_channel("\x03")
            return str(self._conn.read_until_prompt(read_timeout=10))
        except (ReadTimeout, OSError, EOFError) as exc:
            raise ConnectError(f"{self.target.name}: lost contact during ping: {exc}") from exc

    def _logout(self) -> None:
        try:
            self._conn.disconnect()
        except (OSError, EOFError, paramiko.SSHException):
            log.debug("%s: disconnect failed", self.target.name, exc_info=True)


class ExecSession(_LogsOutOnce):
    """A node's shell: each command runs in an SSH exec channel of its own, over one
    login — no terminal, no prompt to find at login or wait for after each command.
    Commands keep no shell state between them (each is ``$SHELL -c``); stderr comes
    with stdout, as on a terminal. A shell has no configuration mode."""

    def __init__(self, target: Target, client: paramiko.SSHClient) -> None:
        self.target = target
        self._client = client

    def show(self, command: str, read_timeout: float = 30.0) -> str:
        """What ``command`` printed, once it has ended. A connection that is gone or a
        command that does not end within ``read_timeout`` is a ConnectError: contact was
        lost."""
        transport = None if self._closed else self._client.get_transport()
        if transport is None or not transport.is_active():
            raise ConnectError(f"{self.target.name}: lost contact before {_brief(command)!r}")
        deadline = time.monotonic() + read_timeout
        chunks: list[bytes] = []
        try:
            channel = transport.open_session(timeout=read_timeout)
            try:
                channel.set_combine_stderr(True)
                channel.exec_command(command)
                while data := _recv(channel, deadline - time.monotonic(), read_timeout):
                    chunks.append(data)
            finally:
                channel.close()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise ConnectError(
                f"{self.target.name}: lost contact during {_brief(command)!r}: {one_line(exc)}"
            ) from exc
        return b"".join(chunks).decode("utf-8", "replace")

    def configure(
        self, commands: list[str], enter: str | None = None, read_timeout: float = 60.0
    ) -> str:
        raise ProvisionError(f"{self.target.name}: a shell login has no configuration mode")

    def save(self) -> str:
        raise ProvisionError(f"{self.target.name}: a shell login has no configuration to save")

    def ping(self, address: str, seconds: float) -> str:
        raise ProvisionError(f"{self.target.name}: ping from the network CLI, not the shell")

    def _logout(self) -> None:
        self._client.close()


def _recv(channel: paramiko.Channel, left: float, read_timeout: float) -> bytes:
    """The next output of a command (b"" once it has ended); TimeoutError past its time."""
    if left <= 0:
        raise TimeoutError(f"it did not end within {read_timeout:g} s")
    channel.settimeout(left)
    try:
        return bytes(channel.recv(65536))
    except TimeoutError:
        raise TimeoutError(f"it did not end within {read_timeout:g} s") from None


def _brief(command: str) -> str:
    return command if len(command) <= 60 else command[:57] + "..."


def connect(
    target: Target,
    hostkeys: HostKeyStore,
    *,
    trust_on_first_use: bool = False,
    open_socket: SocketFactory = plain_socket,
    timeout: float = 10.0,
) -> NetmikoSession:
    """An authenticated session with a device whose host key is pinned.

    A pinned device gets one SSH handshake: paramiko checks the key it presents against the
    pin file during the login itself. Only a device not yet pinned is asked for its key
    first, on a connection of its own, so that it can be pinned (trust on first use) or
    refused before any password is sent."""
    _pinned(target, hostkeys, trust_on_first_use, open_socket, timeout)
    sock = _open(target, open_socket, timeout)
    params: dict[str, Any] = {
        "device_type": target.device_type,
        "host": target.host,
        "port": target.port,
        "username": target.username,
        "sock": sock,
        "ssh_strict": True,
        "system_host_keys": False,
        "alt_host_keys": True,
        "alt_key_file": str(hostkeys.path),
        "allow_agent": False,
        "conn_timeout": timeout,
        "auth_timeout": timeout,
        "banner_timeout": timeout,
        "fast_cli": True,
    }
    if target.password is not None:
        params["password"] = target.password
    if (key_file := _key_file(target)) is not None:
        params.update(use_keys=True, key_file=key_file)
    try:
        return NetmikoSession(target, ConnectHandler(**params))
    except NetmikoAuthenticationException as exc:
        raise _auth_failed(target) from exc
    except (NetmikoTimeoutException, paramiko.SSHException, OSError, EOFError) as exc:
        raise _login_failed(target, hostkeys, exc) from exc
    except Exception as exc:  # e.g. netmiko's ValueError when no prompt is found
        raise ConnectError(f"{target.name}: SSH failed: {one_line(exc)}") from exc


def connect_shell(
    target: Target,
    hostkeys: HostKeyStore,
    *,
    trust_on_first_use: bool = False,
    open_socket: SocketFactory = plain_socket,
    timeout: float = 10.0,
) -> ExecSession:
    """A login to a node's shell (``target.username`` is its shell user) whose host key
    is pinned, checked as :func:`connect` checks it; commands run in SSH exec channels."""
    _pinned(target, hostkeys, trust_on_first_use, open_socket, timeout)
    sock = _open(target, open_socket, timeout)
    client = paramiko.SSHClient()
    client.load_host_keys(str(hostkeys.path))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    params: dict[str, Any] = {
        "hostname": target.host,
        "port": target.port,
        "username": target.username,
        "sock": sock,
        "timeout": timeout,
        "auth_timeout": timeout,
        "banner_timeout": timeout,
        "allow_agent": False,
        "look_for_keys": False,
    }
    if target.password is not None:
        params["password"] = target.password
    if (key_file := _key_file(target)) is not None:
        params["key_filename"] = key_file
    try:
        client.connect(**params)
    except paramiko.AuthenticationException as exc:
        client.close()
        raise _auth_failed(target) from exc
    except (paramiko.SSHException, OSError, EOFError) as exc:
        client.close()
        raise _login_failed(target, hostkeys, exc) from exc
    return ExecSession(target, client)


def _key_file(target: Target) -> str | None:
    """The target's SSH key file, which must exist (None: no key, a password only)."""
    if target.key_file is not None and not Path(target.key_file).is_file():
        raise ProvisionError(f"{target.name}: SSH key file {target.key_file} does not exist")
    return target.key_file


def _pinned(
    target: Target,
    hostkeys: HostKeyStore,
    trust_on_first_use: bool,
    open_socket: SocketFactory,
    timeout: float,
) -> None:
    """Pin (trust on first use) or refuse a device whose host key is not pinned yet."""
    if hostkeys.known(target.host, target.port):
        return
    key = fetch_host_key(target.name, _open(target, open_socket, timeout), timeout)
    if trust_on_first_use:
        hostkeys.pin(target.host, target.port, key)
        log.info("%s: pinned host key on first use", target.name)
    hostkeys.check(target.name, target.host, target.port, key)


def _auth_failed(target: Target) -> AuthError:
    return AuthError(f"{target.name}: authentication failed for user {target.username!r}")


def _login_failed(target: Target, hostkeys: HostKeyStore, exc: BaseException) -> ProvisionError:
    refused = _host_key_refusal(exc)  # netmiko wraps paramiko's in its own exception
    if isinstance(refused, paramiko.BadHostKeyException):
        return HostKeyError(
            f"{target.name}: SSH host key of {target.host}:{target.port} CHANGED since it "
            f"was pinned in {hostkeys.path} — refusing (possible man-in-the-middle)"
        )
    if refused is not None:  # the pin went away between the check and the login
        return HostKeyError(
            f"{target.name}: SSH host key of {target.host}:{target.port} is not pinned "
            f"in {hostkeys.path} — refusing"
        )
    return ConnectError(f"{target.name}: SSH failed: {one_line(_innermost(exc))}")


def _open(target: Target, open_socket: SocketFactory, timeout: float) -> socket.socket:
    try:
        return open_socket(target.host, target.port, timeout)
    except OSError as exc:
        raise ConnectError(
            f"{target.name}: cannot reach {target.host}:{target.port}: {one_line(exc)}"
        ) from exc


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _host_key_refusal(exc: BaseException) -> paramiko.SSHException | None:
    """paramiko's refusal of the presented host key, if that is what ``exc`` comes from:
    the key differs from the pin (BadHostKeyException) or no pin matches (RejectPolicy)."""
    for link in _chain(exc):
        if isinstance(link, paramiko.BadHostKeyException):
            return link
        if isinstance(link, paramiko.SSHException) and "not found in known_hosts" in str(link):
            return link
    return None


def _innermost(exc: BaseException) -> BaseException:
    """paramiko's own error rather than netmiko's paragraph around it."""
    chain = _chain(exc)
    return next((e for e in reversed(chain) if isinstance(e, paramiko.SSHException)), exc)

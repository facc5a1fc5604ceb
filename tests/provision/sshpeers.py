"""SSH peers on loopback for provisioning tests: a real paramiko SSH server (it presents
a host key, authenticates nobody) and a peer that hangs up right after the SSH banner
exchange — what makes paramiko raise a bare ``EOFError()`` with an empty message — and
a server that runs "commands" in exec channels (answers from a table, not a shell)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import paramiko


class _Listener:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


class HangsUpAfterBanner(_Listener):
    """Sends its banner, reads the client's, then hangs up cleanly: a FIN first
    (shutdown for writing), then it drains whatever the client still sends until the
    client closes. Closing with unread bytes (the client's KEXINIT arrives in its own
    segment, at its own time) would make the kernel answer with a RST — the client then
    sees 'connection reset' instead of the end of the stream, by chance."""

    def handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            conn.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n")
            with contextlib.suppress(OSError):
                conn.recv(256)  # the client's banner
                conn.shutdown(socket.SHUT_WR)  # the hang-up the client reads as EOF
                while conn.recv(65536):  # bounded by the 5 s timeout per read
                    pass


class HostKeyServer(_Listener):
    """Completes the key exchange (so the client sees the host key), then ends."""

    def __init__(self) -> None:
        super().__init__()
        self.key = paramiko.RSAKey.generate(2048)

    def handle(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.key)
        try:
            transport.start_server(server=paramiko.ServerInterface())
            transport.accept(timeout=2)  # the client closes once it has the key
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            transport.close()


class _ExecInterface(paramiko.ServerInterface):
    def __init__(self, server: ExecServer) -> None:
        self.server = server

    def check_auth_password(self, username: str, password: str) -> int:
        ok = (username, password) == (self.server.username, self.server.password)
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: object) -> bool:
        self.server.ptys += 1
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        return False

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        text = command.decode()
        self.server.commands.append(text)
        threading.Thread(target=self.server.answer, args=(channel, text), daemon=True).start()
        return True


class ExecServer(_Listener):
    """Authenticates one user and password; each exec channel's command is looked up in
    ``answers``: its stdout and stderr are sent, then the channel ends. ``sleep N``
    sends nothing for N seconds first (a command that does not end in time)."""

    def __init__(self, answers: dict[str, tuple[bytes, bytes]]) -> None:
        super().__init__()
        self.key = paramiko.RSAKey.generate(2048)
        self.username, self.password = "govnet-ansible", "lab-secret"
        self.answers = answers
        self.commands: list[str] = []
        self.ptys = 0
        self._transports: list[paramiko.Transport] = []

    def handle(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.key)
        self._transports.append(transport)
        with contextlib.suppress(paramiko.SSHException, EOFError, OSError):
            transport.start_server(server=_ExecInterface(self))

    def answer(self, channel: paramiko.Channel, command: str) -> None:
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            if command.startswith("sleep "):
                self._stop.wait(float(command.split()[1]))
            out, err = self.answers.get(command, (b"", b"sh: not found\n"))
            channel.sendall(out)
            channel.sendall_stderr(err)
            channel.send_exit_status(0 if command in self.answers else 127)
            # EOF, and the client closes the channel: a close sent now could overtake
            # paramiko's reply to the exec request (no real server does that)
            channel.shutdown_write()

    def close(self) -> None:
        super().close()
        for transport in self._transports:
            transport.close()


@contextmanager
def running(listener: _Listener) -> Iterator[_Listener]:
    listener._thread.start()
    try:
        yield listener
    finally:
        listener.close()

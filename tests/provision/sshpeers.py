"""SSH peers on loopback for provisioning tests: a real paramiko SSH server (it presents
a host key, authenticates nobody) and a peer that hangs up right after the SSH banner
exchange — what makes paramiko raise a bare ``EOFError()`` with an empty message."""

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


@contextmanager
def running(listener: _Listener) -> Iterator[_Listener]:
    listener._thread.start()
    try:
        yield listener
    finally:
        listener.close()

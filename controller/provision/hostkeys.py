"""SSH host keys pinned in a known_hosts file that govnet manages.

An unknown key is refused unless trust-on-first-use is asked for (labs); a
changed key is always refused. The file is written atomically.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import paramiko

from controller.io import atomic_write_text
from controller.provision.errors import ConnectError, HostKeyError, one_line

DEFAULT_KNOWN_HOSTS = Path(".govnet/known_hosts")
_LOCK = threading.Lock()


def host_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class HostKeyStore:
    def __init__(self, path: Path = DEFAULT_KNOWN_HOSTS) -> None:
        self.path = path

    def _load(self) -> paramiko.HostKeys:
        keys = paramiko.HostKeys()
        if self.path.exists():
            keys.load(str(self.path))
        return keys

    def known(self, host: str, port: int) -> bool:
        return self._load().lookup(host_entry(host, port)) is not None

    def check(self, device: str, host: str, port: int, key: paramiko.PKey) -> None:
        """Raise unless ``key`` is the pinned key of ``host``."""
        found = self._load().lookup(host_entry(host, port))
        if found is None:
            raise HostKeyError(
                f"{device}: unknown SSH host key {key.get_name()} {key.get_fingerprint().hex()} "
                f"for {host}:{port}; pin it (--trust-on-first-use in a lab) — refusing"
            )
        pinned = found.get(key.get_name())
        if pinned is None or pinned.asbytes() != key.asbytes():
            raise HostKeyError(
                f"{device}: SSH host key of {host}:{port} CHANGED since it was pinned in "
                f"{self.path} — refusing (possible man-in-the-middle)"
            )

    def pin(self, host: str, port: int, key: paramiko.PKey) -> None:
        with _LOCK:
            keys = self._load()
            keys.add(host_entry(host, port), key.get_name(), key)
            lines = []
            for entry in keys:
                for kind, value in keys[entry].items():
                    lines.append(f"{entry} {kind} {value.get_base64()}\n")
            atomic_write_text(self.path, "".join(sorted(lines)))


def fetch_host_key(device: str, sock: socket.socket, timeout: float) -> paramiko.PKey:
    """The key a server presents (no authentication is attempted)."""
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        return transport.get_remote_server_key()
    except (paramiko.SSHException, OSError, EOFError) as exc:
        raise ConnectError(f"{device}: SSH handshake failed: {one_line(exc)}") from exc
    finally:
        transport.close()

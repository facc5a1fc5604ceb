"""A TCP forwarder between network namespaces, for a SOC whose central store runs on a lab
node: the console and ``soc status`` reach it on the root namespace's loopback, and it
reaches the Alertmanagers and the textfile exporter on its own namespace's loopback.

    python -m controller.soc.forward --map -/127.0.0.1:9090=clab-lab-nms-1/10.255.0.5:9090

``--map LISTEN=CONNECT``, each side ``NAMESPACE/HOST:PORT`` (``-``: the namespace this
process started in, the root one). Every listening socket is opened in its namespace and
every outgoing connection from inside its own — so no lab address is ever reached from
the root namespace, and nothing listens anywhere but where a map says. Connections are
bounded (``--max-connections``); SIGTERM stops it. Started and stopped by PID
(``controller.soc.procs``) like every SOC daemon.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import selectors
import signal
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import FrameType

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
_SIDE = re.compile(r"^([A-Za-z0-9_.-]+|-)/([0-9.]+):([0-9]{1,5})$")
_libc = ctypes.CDLL(None, use_errno=True)
CONNECT_TIMEOUT = 5.0
BUFFER = 65536


@dataclass(frozen=True)
class Side:
    netns: str | None  # None: the namespace the forwarder started in
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.netns or '-'}/{self.host}:{self.port}"


@dataclass(frozen=True)
class Mapping:
    listen: Side
    connect: Side

    def __str__(self) -> str:
        return f"{self.listen}={self.connect}"


def parse_side(text: str) -> Side:
    match = _SIDE.match(text.strip())
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ValueError(f"{text!r}: expected NAMESPACE/HOST:PORT (NAMESPACE '-' for this one)")
    ns = match.group(1)
    return Side(None if ns == "-" else ns, match.group(2), int(match.group(3)))


def parse_map(text: str) -> Mapping:
    listen, sep, connect = text.partition("=")
    if not sep:
        raise ValueError(f"--map {text!r}: expected LISTEN=CONNECT")
    return Mapping(parse_side(listen), parse_side(connect))


def map_arg(mapping: Mapping) -> str:
    return str(mapping)


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python >= 3.12
    if setns is not None:
        setns(fd, CLONE_NEWNET)
    elif _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def _in(netns: str | None, home: int) -> Iterator[None]:
    """The calling thread inside ``netns`` for the block (back home afterwards)."""
    if netns is None:
        yield
        return
    fd = os.open(os.path.join(NETNS_DIR, netns), os.O_RDONLY)
    try:
        _setns(fd)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(fd)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(BUFFER):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


class Forwarder:
    def __init__(self, maps: Sequence[Mapping], max_connections: int = 256) -> None:
        self.maps = list(maps)
        self.slots = threading.BoundedSemaphore(max_connections)
        self.stopping = threading.Event()
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        self.listeners: dict[int, tuple[socket.socket, Mapping]] = {}
        for mapping in self.maps:
            with _in(mapping.listen.netns, self.home):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((mapping.listen.host, mapping.listen.port))
            sock.listen(64)
            sock.setblocking(False)
            self.listeners[sock.fileno()] = (sock, mapping)

    def serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            for sock, _ in self.listeners.values():
                selector.register(sock, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select(timeout=0.5):
                    sock, mapping = self.listeners[key.fd]
                    with contextlib.suppress(BlockingIOError, InterruptedError):
                        client, _ = sock.accept()
                        self._accepted(client, mapping)
        for sock, _ in self.listeners.values():
            sock.close()

    def _accepted(self, client: socket.socket, mapping: Mapping) -> None:
        if not self.slots.acquire(blocking=False):
            client.close()  # bounded: refuse beyond --max-connections
            return
        client.setblocking(True)
        with _in(mapping.connect.netns, self.home):  # the socket keeps this namespace
            upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        threading.Thread(target=self._relay, args=(client, upstream, mapping), daemon=True).start()

    def _relay(self, client: socket.socket, upstream: socket.socket, mapping: Mapping) -> None:
        try:
            upstream.settimeout(CONNECT_TIMEOUT)
            try:
                upstream.connect((mapping.connect.host, mapping.connect.port))
            except OSError:
                return
            upstream.settimeout(None)
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()
        finally:
            client.close()
            upstream.close()
            self.slots.release()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--map", action="append", required=True, type=parse_map)
    parser.add_argument("--max-connections", type=int, default=256)
    args = parser.parse_args(argv)
    try:
        forwarder = Forwarder(args.map, args.max_connections)
    except OSError as exc:
        print(f"forward: cannot listen: {exc.strerror or exc}", file=sys.stderr)
        return 1

    def on_signal(signum: int, frame: FrameType | None) -> None:
        forwarder.stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("forwarding " + ", ".join(str(m) for m in args.map), flush=True)
    forwarder.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The SOC's TCP forwarder, on loopback: started as the stack starts it (``--map=`` with
``-`` for this namespace), it relays a connection both ways and stops on SIGTERM."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

from controller.soc import procs
from controller.soc.forward import Mapping, Side, map_arg, parse_map
from tests.soc.helpers import free_ports, wait_until


def test_a_map_round_trips_through_its_text() -> None:
    mapping = Mapping(Side(None, "127.0.0.1", 9090), Side("clab-lab-nms-1", "10.255.0.5", 9090))
    assert parse_map(map_arg(mapping)) == mapping


def test_the_forwarder_relays_loopback_both_ways_and_stops_by_pid(tmp_path: Path) -> None:
    listen, target = free_ports(2)
    server = socket.create_server(("127.0.0.1", target))

    def echo() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"pong:" + conn.recv(100))

    threading.Thread(target=echo, daemon=True).start()
    mapping = Mapping(Side(None, "127.0.0.1", listen), Side(None, "127.0.0.1", target))
    argv = [sys.executable, "-m", "controller.soc.forward", f"--map={map_arg(mapping)}"]
    record = procs.start("forward", argv, tmp_path / "f.pid", tmp_path / "f.log", tmp_path)
    try:

        def connect() -> socket.socket | None:
            try:
                return socket.create_connection(("127.0.0.1", listen), timeout=2)
            except OSError:
                return None

        client = wait_until(connect, 20, "the forwarder to listen")
        with client:
            client.sendall(b"ping")
            assert client.recv(100) == b"pong:ping"
    finally:
        assert procs.stop(record)
        server.close()

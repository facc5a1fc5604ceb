"""A lab node's syslog relay: starts a daemon whose log goes to stderr (sshd ``-e``),
keeps every line in the node's log file and sends each one, as an RFC 3164 message
with the node's hostname, over UDP to the NMS's syslog receiver.

Run as ``python -m simulations.logrelay --sink HOST:PORT --source ADDR --hostname NAME
--log FILE --pidfile FILE -- ARGV…`` inside the node's namespace. The relay detaches
(its caller returns at once), writes ``--pidfile`` and starts ARGV — a daemon kept in
the foreground (sshd ``-D -e``: a daemonising sshd would point its stderr at
/dev/null) with a pipe as its stderr, inherited by every session it forks — and relays
until the last writer closes the pipe: the daemon and every session it started have
ended. A daemon that cannot start leaves its message in the log, as sshd ``-E`` would.

Why this path (and not the node's /dev/log): glibc's syslog(3) always writes to
``/dev/log``, which the lab nodes share with the host (network namespaces do not
separate files, and this host has none); a per-node /dev/log would need a private /dev
for sshd. sshd's own ``-e`` writes the same lines to a pipe, which needs nothing of the
host and no polling of a file.

snmpd (``--filter snmpd``): the line that names who sent a request whose community or
v3 key was wrong. net-snmp 5.9 logs no such line, but its log has both facts, in order:
``sess_process_packet: session …`` when it starts on a received packet (debug token
``sess_process_packet``), ``Connection from UDP: [ADDR]:PORT->…`` for that packet (its
tcp-wrappers check, before parsing), and ``trap: send_trap 4 …`` (debug token ``trap``)
when handling that packet raises authenticationFailure. The agent handles one packet to
the end before it reads the next, so the failure belongs to the requester of the packet
being handled — exact, not a guess by time. The relay (reading the agent's stderr: a
pipe, in order, nothing lost) sends one line per failure, ``SNMP authentication failure:
request from ADDR port PORT``, and keeps the agent's own lines in the log, without the
debug ones. A failure during a packet that named no requester — an internal query (the
DisMan monitors' own, over the callback transport: a packet line, no Connection line)
— is kept in the log only: measured, it may directly follow a good request from outside.

Only the standard library: it runs before anything else of the node.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

FACILITY_AUTH = 4
SEVERITY_INFO = 6
MAX_LINE = 2048
SNMPD_AUTH_FAILURE = "SNMP authentication failure: request from {address} port {port}"
_SNMPD_PACKET = re.compile(r"^sess_process_packet: session \S+ fd \d+ pkt \S+ length \d+$")
_SNMPD_CONNECTION = re.compile(
    r"^Connection from [A-Za-z0-9/]+: \[(?P<address>[0-9A-Fa-f:.]{2,45})\]:(?P<port>\d{1,5})->"
)
_SNMPD_AUTH_TRAP = re.compile(r"^trap: send_trap 4 ")
_SNMPD_DEBUG = ("sess_process_packet:", "trap:", "trapsess:")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc3164(line: str, hostname: str, app: str, now: float | None = None) -> bytes:
    """``<PRI>Mmm dd hh:mm:ss HOST APP: LINE`` (auth.info), as a relay would send it."""
    t = time.localtime(now)
    stamp = f"{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    text = line.rstrip("\r\n")[:MAX_LINE]
    return f"<{FACILITY_AUTH * 8 + SEVERITY_INFO}>{stamp} {hostname} {app}: {text}".encode()


class Passthrough:
    """Every line to the log and to the sink (sshd)."""

    def line(self, text: str) -> tuple[str | None, str | None]:
        """(what the log keeps, what the sink gets) of one line; None: nothing."""
        return text, text


class SnmpdAuthFailures:
    """snmpd's log → its own lines for the log, one sink line per authenticationFailure
    naming the requester of the packet that raised it (see the module's docstring)."""

    def __init__(self) -> None:
        self.requester: tuple[str, str] | None = None
        self.packet = False  # a packet began and its sender is not known yet

    def line(self, text: str) -> tuple[str | None, str | None]:
        if _SNMPD_PACKET.match(text):
            self.requester, self.packet = None, True  # a new packet: its sender comes next
            return None, None
        connection = _SNMPD_CONNECTION.match(text)
        if connection:
            if self.packet:  # without the packet lines (no debug token) nobody is named
                self.requester = (connection["address"], connection["port"])
                self.packet = False
            return text, None
        if _SNMPD_AUTH_TRAP.match(text):
            if self.requester is None:
                return "SNMP authentication failure: no requester (an internal query)", None
            address, port = self.requester
            self.requester = None  # one packet, one failure
            failure = SNMPD_AUTH_FAILURE.format(address=address, port=port)
            return failure, failure
        if text.startswith(_SNMPD_DEBUG):
            return None, None
        return text, None


LineFilter = Passthrough | SnmpdAuthFailures
FILTERS: dict[str, type[LineFilter]] = {"none": Passthrough, "snmpd": SnmpdAuthFailures}


def parse_sink(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"--sink {text!r}: expected HOST:PORT")
    return host, int(port)


def relay(
    reader: int,
    sink: tuple[str, int],
    source: str,
    hostname: str,
    app: str,
    log: Path,
    lines: LineFilter | None = None,
) -> None:
    """Until EOF: each line through ``lines`` (default: every line) to ``log`` and, as a
    datagram, to ``sink`` (best effort: a sink that is unreachable for a while loses
    those lines, as UDP syslog does)."""
    lines = lines or Passthrough()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if source:
            sock.bind((source, 0))
        with open(reader, "rb", closefd=True) as stream, open(log, "ab", buffering=0) as out:
            for raw in stream:
                line = raw.decode("utf-8", "replace").strip()
                kept, sent = lines.line(line) if line else (line, None)
                if kept is not None:
                    out.write(raw if kept == line else f"{kept}\n".encode())
                if not sent:
                    continue
                try:
                    sock.sendto(rfc3164(sent, hostname, app), sink)
                except OSError:
                    continue
    finally:
        sock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sink", required=True, help="HOST:PORT of the syslog receiver")
    parser.add_argument("--source", default="", help="source address of the datagrams")
    parser.add_argument("--hostname", required=True)
    parser.add_argument("--app", default="sshd", help="the syslog tag")
    parser.add_argument("--log", required=True, type=Path, help="file keeping every line")
    parser.add_argument(
        "--filter",
        choices=sorted(FILTERS),
        default="none",
        help="none: every line to the log and the sink; snmpd: its auth failures named",
    )
    parser.add_argument("--pidfile", required=True, type=Path)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")
    sink = parse_sink(args.sink)
    if os.fork() != 0:
        return 0  # the caller goes on; the daemon's own pid file says when it is up
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    args.pidfile.write_text(f"{os.getpid()}\n")
    reader, writer = os.pipe()
    try:
        try:
            daemon = subprocess.Popen(command, stdin=subprocess.DEVNULL, stderr=writer)
        except OSError as exc:
            with open(args.log, "a", encoding="utf-8") as out:
                out.write(f"logrelay: cannot start {command[0]}: {exc.strerror or exc}\n")
            return 1
        finally:
            os.close(writer)
        lines = FILTERS[args.filter]()
        relay(reader, sink, args.source, args.hostname, args.app, args.log, lines)
        return daemon.wait()
    finally:
        args.pidfile.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())

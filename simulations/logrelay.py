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

Only the standard library: it runs before anything else of the node.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

FACILITY_AUTH = 4
SEVERITY_INFO = 6
MAX_LINE = 2048
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc3164(line: str, hostname: str, app: str, now: float | None = None) -> bytes:
    """``<PRI>Mmm dd hh:mm:ss HOST APP: LINE`` (auth.info), as a relay would send it."""
    t = time.localtime(now)
    stamp = f"{MONTHS[t.tm_mon - 1]} {t.tm_mday:2d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    text = line.rstrip("\r\n")[:MAX_LINE]
    return f"<{FACILITY_AUTH * 8 + SEVERITY_INFO}>{stamp} {hostname} {app}: {text}".encode()


def parse_sink(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"--sink {text!r}: expected HOST:PORT")
    return host, int(port)


def relay(
    reader: int, sink: tuple[str, int], source: str, hostname: str, app: str, log: Path
) -> None:
    """Until EOF: each line to ``log`` and, as a datagram, to ``sink`` (best effort: a
    sink that is unreachable for a while loses those lines, as UDP syslog does)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if source:
            sock.bind((source, 0))
        with open(reader, "rb", closefd=True) as stream, open(log, "ab", buffering=0) as out:
            for raw in stream:
                out.write(raw)
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                try:
                    sock.sendto(rfc3164(line, hostname, app), sink)
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
        relay(reader, sink, args.source, args.hostname, args.app, args.log)
        return daemon.wait()
    finally:
        args.pidfile.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())

"""The Mininet side of `bench/lab.py --peer mininet`: one node/link graph (JSON on stdin:
``{"nodes": [...], "links": [[a, b], ...]}``) brought up as plain Mininet hosts joined by
veth links — no switch, no controller, no Open vSwitch — through Mininet's Python API,
then stopped; prints the timings as one JSON line.

Runs under Debian's /usr/bin/python3 (where the `mininet` package installs its module),
as root. Mininet's hosts are shells in unnamed network namespaces (``mnexec``), so
nothing here can collide with the govnet lab's named ``clab-*`` namespaces; every
process it starts is a child of this script, ended by ``net.stop()`` (by PID), and the
script checks none is left.
"""

from __future__ import annotations

import json
import os
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet


def our_shells() -> list[int]:
    """PIDs of Mininet host shells still running that this script started."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if fields[1] == me and b"mininet:" in cmdline:  # ppid is this script
            found.append(int(entry))
    return found


def main() -> int:
    graph = json.load(sys.stdin)
    setLogLevel("error")
    index = {name: i for i, name in enumerate(graph["nodes"])}
    ports = dict.fromkeys(index, 0)
    started = time.monotonic()
    net = Mininet(controller=None, build=False, autoSetMacs=False, waitConnected=False)
    try:
        hosts = {name: net.addHost(f"h{i}") for name, i in index.items()}
        for a, b in graph["links"]:
            ports[a] += 1
            ports[b] += 1
            net.addLink(
                hosts[a],
                hosts[b],
                intfName1=f"h{index[a]}-eth{ports[a]}",
                intfName2=f"h{index[b]}-eth{ports[b]}",
            )
        net.build()
        setup = time.monotonic() - started
        alive = len([h for h in hosts.values() if h.shell and h.shell.poll() is None])
    finally:
        stopping = time.monotonic()
        net.stop()
        teardown = time.monotonic() - stopping
    left = our_shells()
    print(
        json.dumps(
            {
                "setup_s": round(setup, 3),
                "teardown_s": round(teardown, 3),
                "hosts": alive,
                "links": len(net.links),
                "left": left,
            }
        )
    )
    return 0 if not left and alive == len(index) else 1


if __name__ == "__main__":
    sys.exit(main())

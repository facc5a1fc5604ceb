"""A router's IPsec side (strongSwan) as ``link apply`` manages it: its whole ``swanctl.conf``.

A router that ends mission tunnels (a mission's router, a data centre's VPN gateway) runs
strongSwan's charon beside FRR. Its IKE/IPsec connections are one file,
``$SWANCTL_DIR/swanctl.conf`` (``/etc/swanctl`` unless the login sets ``SWANCTL_DIR``),
which govnet renders from the inventory (``controller/templates/strongswan``). The file
holds no secret: the pre-shared keys are ``psk-<connection>.conf`` files beside it, set up
with the device, which govnet never reads or writes.

Over the node's shell login govnet reads the file, writes the new one atomically (a
temporary file renamed over it) and loads it with ``swanctl --load-conns``, which also
unloads the connections the file no longer has — the file converges fully. Loading does
not touch an SA that is up, so each connection whose block changed has its IKE SA
terminated: the initiator (the mission) starts it again at once under the new settings
and the responder waits for it. Verification then waits until every connection of the
file has its IKE SA established and its child SA installed.

The pure part (parse, diff, which connections changed) is apart from the commands; the
commands run through any :class:`~controller.provision.transport.Session`.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller.provision.errors import ProvisionError
from controller.provision.transport import Session

FILE = '"${SWANCTL_DIR:-/etc/swanctl}/swanctl.conf"'
PATH = 'PATH="$PATH:/usr/sbin:/sbin";'
"""swanctl is in /usr/sbin, which a login that is not root's often lacks."""
CHUNK = 3000
"""Base64 characters per shell line when writing the file (a terminal line stays short)."""
_MARK = "govnet-ipsec:"
_LOAD = f"{PATH} swanctl --load-conns 2>&1; printf '%s %s %s\\n' {_MARK} load $?"
_CONNECTION = re.compile(r"^  ([A-Za-z0-9_.-]+) \{$")


@dataclass(frozen=True)
class IpsecPlan:
    """What a change does to one router's ``swanctl.conf``."""

    running: str | None
    """The file on the device (None: it has none)."""
    wanted: str
    diff: str
    changed_connections: tuple[str, ...]
    """Connections added, removed or with a different block."""

    @property
    def changed(self) -> bool:
        return self.running != self.wanted


def connections(text: str | None) -> dict[str, str]:
    """Each connection's block of a ``swanctl.conf`` as govnet renders it (a name at two
    spaces' indent inside ``connections {``, up to its closing ``  }``)."""
    out: dict[str, str] = {}
    if not text:
        return out
    inside = False
    name = ""
    block: list[str] = []
    for line in text.splitlines():
        if not inside:
            inside = line.strip() == "connections {"
            continue
        if line == "}":
            break
        if not name:
            match = _CONNECTION.match(line)
            if match:
                name, block = match.group(1), [line]
            continue
        block.append(line)
        if line == "  }":
            out[name] = "\n".join(block)
            name = ""
    return out


def initiators(text: str | None) -> set[str]:
    """The connections this end starts itself (``start_action = start``: the mission)."""
    return {n for n, b in connections(text).items() if "start_action = start" in b}


def plan_ipsec(device: str, running: str | None, wanted: str) -> IpsecPlan:
    """The diff from the device's file to the rendered one, and the connections it changes."""
    before, after = connections(running), connections(wanted)
    names = before.keys() | after.keys()
    changed = tuple(sorted(n for n in names if before.get(n) != after.get(n)))
    diff = "".join(
        difflib.unified_diff(
            (running or "").splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            f"{device} swanctl.conf (running)" if running is not None else "/dev/null",
            f"{device} swanctl.conf (intended)",
        )
    )
    return IpsecPlan(running, wanted, diff, changed)


# --------------------------------------------------------------------------- commands


def read_command() -> str:
    """Prints the file as one base64 line after a marker, or a marker saying there is none
    (``printf`` with the marker split, so the command's own echo never matches)."""
    return (
        f"f={FILE}; if [ -f \"$f\" ]; then printf '%s %s %s\\n' {_MARK} file "
        '"$(base64 -w0 "$f")"; '
        f"else printf '%s %s\\n' {_MARK} none; fi"
    )


def parse_read(device: str, out: str) -> str | None:
    """The file text :func:`read_command` printed (None: the device has no swanctl.conf)."""
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith(_MARK)]
    if not lines:
        tail = out.strip().splitlines()[-1] if out.strip() else "no answer"
        raise ProvisionError(f"{device}: could not read its swanctl.conf: {tail}")
    words = lines[-1].split()
    if words[1:] == ["none"]:
        return None
    if words[1:2] != ["file"]:
        raise ProvisionError(f"{device}: unexpected answer reading swanctl.conf: {lines[-1]}")
    try:
        return base64.b64decode(words[2] if len(words) > 2 else "", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ProvisionError(f"{device}: its swanctl.conf came back garbled: {exc}") from exc


def write_commands(text: str | None) -> list[str]:
    """Put ``text`` in place as the file (None: remove it) and load it. The new file is
    written beside the old one and renamed over it, so charon never sees half a file."""
    if text is None:
        return [f'f={FILE}; rm -f "$f"; {_LOAD}']
    encoded = base64.b64encode(text.encode("utf-8")).decode()
    chunks = [encoded[i : i + CHUNK] for i in range(0, len(encoded), CHUNK)] or [""]
    t = f'f={FILE}; t="$f.govnet-new";'  # each line stands alone: no shell state is kept
    out = [': >"$t.b64"'] + [f'printf %s {chunk} >>"$t.b64"' for chunk in chunks]
    out.append(
        f'(umask 027 && base64 -d "$t.b64" >"$t") && rm -f "$t.b64" && mv -f "$t" "$f" && {_LOAD}'
    )
    return [f"{t} {line}" for line in out]


def restart_commands(names: tuple[str, ...], initiating: set[str]) -> list[str]:
    """End each named connection's IKE SA so it comes up again under the loaded settings;
    the connections this end initiates are started at once (returning without waiting)."""
    out = []
    for name in names:
        line = f"{PATH} swanctl --terminate --ike {name} --force --timeout 2 >/dev/null 2>&1"
        if name in initiating:
            line += f"; swanctl --initiate --child {name} --timeout 1 >/dev/null 2>&1"
        out.append(line + f"; printf '%s %s\\n' {_MARK} restarted")
    return out


def sas_command() -> str:
    return f"{PATH} swanctl --list-sas 2>&1; printf '%s %s\\n' {_MARK} listed"


_IKE_SA = re.compile(r"^([A-Za-z0-9_.-]+): #\d+, (\w+)")
_CHILD_SA = re.compile(r"^\s+([A-Za-z0-9_.-]+): #\d+, reqid \d+, (\w+)")


def established(out: str) -> dict[str, bool]:
    """Per connection in ``swanctl --list-sas`` output: IKE SA ESTABLISHED with an
    INSTALLED child SA of the same name."""
    ike: dict[str, bool] = {}
    current = ""
    ike_up = False
    for line in out.splitlines():
        top = _IKE_SA.match(line)
        if top:
            current = top.group(1)
            ike[current] = ike.get(current, False)
            ike_up = top.group(2) == "ESTABLISHED"
            continue
        child = _CHILD_SA.match(line)
        if child and current and child.group(1) == current and ike_up:
            ike[current] = ike[current] or child.group(2) == "INSTALLED"
    return ike


# --------------------------------------------------------------------------- running them


def read(device: str, shell: Session) -> str | None:
    return parse_read(device, shell.show(read_command()))


def write(device: str, shell: Session, text: str | None) -> None:
    """Write (or remove) the file and load it; raises ProvisionError when swanctl failed."""
    out = ""
    for command in write_commands(text):
        out = shell.show(command, read_timeout=30.0)
    status = [line.split() for line in out.splitlines() if line.strip().startswith(_MARK)]
    if not status or status[-1][1:] != ["load", "0"]:
        detail = [x.strip() for x in out.splitlines() if x.strip() and not x.startswith(_MARK)]
        why = detail[-1] if detail else "no answer"
        raise ProvisionError(f"{device}: swanctl.conf not loaded: {why}")


def restart(device: str, shell: Session, plan: IpsecPlan) -> None:
    for command in restart_commands(plan.changed_connections, initiators(plan.wanted)):
        shell.show(command, read_timeout=15.0)


def wait_established(
    device: str,
    shell: Session,
    names: set[str],
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
    pause: float = 0.5,
) -> list[str]:
    """Checks, one per connection: ``ok: …`` once it is up, ``FAILED: …`` for those still
    down at ``deadline``."""
    up: dict[str, bool] = {}
    while True:
        up = established(shell.show(sas_command(), read_timeout=15.0))
        if all(up.get(n) for n in names) or clock() >= deadline:
            break
        time.sleep(pause)
    return [
        f"ok: IPsec {n}: IKE SA established, child SA installed"
        if up.get(n)
        else f"FAILED: IPsec {n}: not established"
        for n in sorted(names)
    ]

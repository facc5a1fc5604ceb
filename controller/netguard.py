"""Network safety for every client: no packet to a real network by accident.

Provisioning (``link``, ``config``), Ansible (``playbook``, ``hosting provision``) and the
probes open connections to the addresses the inventory gives. From this machine's own
(root) network namespace a non-loopback address is the real network — or, with a lab
inventory, packets that would leave the machine. So every client asks
:func:`check_reach` before it opens any socket: it passes when the client runs inside a
namespace (a lab: ``--lab`` / ``--netns``), when every address is loopback, or when the
operator said this is production (``--production``, or ``network.production: true`` in
the inventory); otherwise it refuses, naming the flag that is missing and the address
that would have been reached.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from controller.errors import UsageError
from controller.inventory.model import Device, Inventory


class NetworkGuardError(UsageError):
    """A client would have reached a non-loopback address from the root namespace."""


@dataclass(frozen=True)
class Destination:
    """A device a client would connect to, and the address it would use."""

    name: str
    address: str


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # a name: it could resolve anywhere
        return False


def destinations(devices: Iterable[Device]) -> list[Destination]:
    """The management address of each device (what SSH and Ansible connect to)."""
    return [Destination(d.name, str(d.mgmt)) for d in devices]


def production_declared(inv: Inventory, flag: bool) -> bool:
    """The operator said this is the real network: ``--production`` or the inventory's
    ``network.production: true``."""
    return flag or inv.network.production


def check_reach(
    targets: Iterable[Destination],
    *,
    namespace: str | None,
    production: bool,
    lab_flag: str = "--lab TOPOLOGY",
) -> None:
    """Refuse (:class:`NetworkGuardError`) to reach any non-loopback address from the root
    namespace, unless the client runs in ``namespace`` or ``production`` was declared.
    Call it before opening any socket."""
    if namespace is not None or production:
        return
    offending = [t for t in targets if not is_loopback(t.address)]
    if not offending:
        return
    first = offending[0]
    more = f" (and {len(offending) - 1} more)" if len(offending) > 1 else ""
    raise NetworkGuardError(
        f"refusing to reach {first.name} at {first.address}{more} from this machine's "
        f"network namespace: --production is missing (the real network; or set "
        f"network.production: true in the inventory), or give {lab_flag} to work in a lab"
    )


__all__ = [
    "Destination",
    "NetworkGuardError",
    "check_reach",
    "destinations",
    "is_loopback",
    "production_declared",
]

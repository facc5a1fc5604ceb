"""Network safety: what the probes may send packets to.

Without a lab namespace, govnet probes only loopback addresses unless the operator says
``--no-netns`` (a production poller on the real management network). So a lab
inventory can never be probed from the root namespace by accident.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from controller.errors import UsageError
from probes.model import Target


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def check_targets(
    targets: Iterable[Target], netns: str | None, production: bool, extra: Iterable[str] = ()
) -> None:
    """Refuse (one-line UsageError) any non-loopback address unless in a lab namespace
    or explicitly in production. ``extra`` holds other addresses we would bind or send to
    (e.g. the trap listener)."""
    if netns is not None or production:
        return
    offending = sorted(
        {
            f"{t.name} ({address})"
            for t in targets
            for address in (t.icmp_address, t.snmp_address)
            if not is_loopback(address)
        }
        | {address for address in extra if not is_loopback(address)}
    )
    if offending:
        more = f" and {len(offending) - 1} more" if len(offending) > 1 else ""
        raise UsageError(
            f"refusing to probe non-loopback {offending[0]}{more} from the root namespace: "
            "give --netns NAME (a lab) or --no-netns (a production poller)"
        )

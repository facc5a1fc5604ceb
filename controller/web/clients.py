"""Who is asking: the client's address, for rate limits and session bounds.

The socket peer, unless the peer is one of the configured trusted proxies
(``govnet soc serve --trusted-proxy ADDR``): then the address that proxy put at the end
of ``X-Forwarded-For`` (walking left past further trusted proxies). The header from
any other peer is ignored, so a client cannot choose its own address.
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from controller.errors import UsageError


def parse_proxies(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Trusted proxy addresses, normalised; a clear error for anything else."""
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_address(value.strip())))
        except ValueError:
            raise UsageError(
                f"--trusted-proxy {value[:60]!r}: expected an IP address such as 127.0.0.1"
            ) from None
    return tuple(out)


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request: Request, trusted: tuple[str, ...]) -> str:
    peer = request.client.host if request.client else "unknown"
    peer = _address(peer) or peer
    if peer not in trusted:
        return peer
    hops = [h for value in request.headers.getlist("x-forwarded-for") for h in value.split(",")]
    address = peer
    for hop in reversed(hops[-20:]):
        parsed = _address(hop)
        if parsed is None:
            break  # garbage: keep the last address a trusted proxy vouched for
        address = parsed
        if parsed not in trusted:
            break
    return address

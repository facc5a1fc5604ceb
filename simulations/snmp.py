"""Thin pysnmp 7 adapter: GET one OID from inside a namespace (asyncio loop run in a
thread that joined the namespace, so its UDP socket lives there)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from simulations.errors import LabError
from simulations.netns import in_netns

SYS_NAME = "1.3.6.1.2.1.1.5.0"


@dataclass(frozen=True)
class SnmpAuth:
    """v3 authPriv (SHA + AES) when ``user`` is set, else v2c ``community``."""

    user: str | None = None
    auth_pass: str = ""
    priv_pass: str = ""
    community: str | None = None


async def _get(address: str, oid: str, auth: SnmpAuth, timeout: float, retries: int) -> str:
    from pysnmp.hlapi.v3arch.asyncio import (
        USM_AUTH_HMAC96_SHA,
        USM_PRIV_CFB128_AES,
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        UsmUserData,
        get_cmd,
    )

    cred: object
    if auth.user:
        cred = UsmUserData(
            auth.user,
            auth.auth_pass,
            auth.priv_pass,
            authProtocol=USM_AUTH_HMAC96_SHA,
            privProtocol=USM_PRIV_CFB128_AES,
        )
    elif auth.community:
        cred = CommunityData(auth.community, mpModel=1)
    else:
        raise LabError("SNMP needs a v3 user or a v2c community")
    engine = SnmpEngine()
    try:
        target = await UdpTransportTarget.create((address, 161), timeout=timeout, retries=retries)
        err_ind, err_status, _, binds = await get_cmd(
            engine, cred, target, ContextData(), ObjectType(ObjectIdentity(oid))
        )
    finally:
        engine.close_dispatcher()
    if err_ind:
        raise LabError(f"SNMP {address}: {err_ind}")
    if err_status:
        raise LabError(f"SNMP {address}: {err_status.prettyPrint()}")
    return str(binds[0][1].prettyPrint())


def snmp_get(
    netns: str,
    address: str,
    auth: SnmpAuth,
    oid: str = SYS_NAME,
    timeout: float = 1.0,
    retries: int = 1,
) -> str:
    """GET ``oid`` from the agent at ``address``, from inside ``netns``."""
    return in_netns(
        netns,
        lambda: asyncio.run(_get(address, oid, auth, timeout, retries)),
        timeout=(timeout + 1) * (retries + 1) + 10,
    )

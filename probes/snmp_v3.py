"""SNMPv3 (USM) through pysnmp 7: the same GETBULK rounds as the lean v2c client,
returned as ``(oid, tag, value)`` varbinds for :class:`probes.snmp_walk.Walk`.

One SnmpEngine lives as long as the poller, so agents are discovered (engine ID, boots,
time) once, not every cycle. Only this module imports pysnmp's command generator.
"""

from __future__ import annotations

import socket
from typing import Any

from probes.ber import Value, VarBind, decode_oid, encode_oid
from probes.credentials import SnmpCredentials
from probes.snmp_v2c import RCVBUF_BYTES, SnmpTimeout

AUTH_PROTOCOLS = {
    "md5": "USM_AUTH_HMAC96_MD5",
    "sha": "USM_AUTH_HMAC96_SHA",
    "sha224": "USM_AUTH_HMAC128_SHA224",
    "sha256": "USM_AUTH_HMAC192_SHA256",
    "sha384": "USM_AUTH_HMAC256_SHA384",
    "sha512": "USM_AUTH_HMAC384_SHA512",
}
# pysnmp's plain CFB192/256 names are the Reeder (Cisco) key extension; net-snmp's
# AES-192/256 — the inventory's aes192/aes256 — are Blumenthal's.
PRIV_PROTOCOLS = {
    "des": "USM_PRIV_CBC56_DES",
    "aes": "USM_PRIV_CFB128_AES",
    "aes192": "USM_PRIV_CFB192_AES_BLUMENTHAL",
    "aes256": "USM_PRIV_CFB256_AES_BLUMENTHAL",
    "aes192c": "USM_PRIV_CFB192_AES",
    "aes256c": "USM_PRIV_CFB256_AES",
}


class SnmpAgentError(Exception):
    """The agent or the USM layer refused the request (the text says why)."""


def _tag(value: Any) -> int:
    tag = value.tagSet[-1]
    return int(tag.tagClass) | int(tag.tagFormat) | int(tag.tagId)


def _value(value: Any, tag: int) -> Value:
    if tag in (0x05, 0x80, 0x81, 0x82):
        return None
    if tag == 0x06:
        return encode_oid(tuple(value))
    if tag in (0x04, 0x40, 0x44):
        return bytes(value.asOctets())
    return int(value)


class V3Client:
    """Open inside the event loop (and namespace) that will use it."""

    def __init__(self) -> None:
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        self._hlapi = hlapi
        self._engine = hlapi.SnmpEngine()
        self._users: dict[SnmpCredentials, Any] = {}
        self._targets: dict[tuple[str, int, float, int], Any] = {}
        self._contexts: dict[str, Any] = {}
        self._opened = False

    def _open(self) -> None:
        """Register our own UDP socket (large receive buffer) before pysnmp makes one
        with the 212 KB default, which overflows when many agents answer at once."""
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        sock.setblocking(False)
        sock.bind(("0.0.0.0", 0))
        transport = udp.UdpAsyncioTransport().open_server_mode(sock=sock)
        config.add_transport(self._engine, udp.DOMAIN_NAME, transport)
        self._opened = True

    def _context(self, name: str) -> Any:
        context = self._contexts.get(name)
        if context is None:
            context = self._hlapi.ContextData(contextName=name)
            self._contexts[name] = context
        return context

    def _user(self, creds: SnmpCredentials) -> Any:
        user = self._users.get(creds)
        if user is None:
            hlapi = self._hlapi
            auth_proto = getattr(hlapi, AUTH_PROTOCOLS[creds.auth_protocol])
            kwargs: dict[str, Any] = {"authProtocol": auth_proto}
            if creds.level == "authPriv":
                kwargs["privProtocol"] = getattr(hlapi, PRIV_PROTOCOLS[creds.priv_protocol])
                user = hlapi.UsmUserData(creds.user, creds.auth_key, creds.priv_key, **kwargs)
            else:
                user = hlapi.UsmUserData(creds.user, creds.auth_key, **kwargs)
            self._users[creds] = user
        return user

    async def _target(self, address: tuple[str, int], timeout: float, retries: int) -> Any:
        key = (address[0], address[1], timeout, retries)
        target = self._targets.get(key)
        if target is None:
            target = await self._hlapi.UdpTransportTarget.create(
                address, timeout=timeout, retries=retries
            )
            self._targets[key] = target
        return target

    async def bulk(
        self,
        address: tuple[str, int],
        creds: SnmpCredentials,
        non_repeaters: int,
        max_repetitions: int,
        oids: list[bytes],
        timeout: float,
        retries: int,
    ) -> list[VarBind]:
        hlapi = self._hlapi
        if not self._opened:
            self._open()
        target = await self._target(address, timeout, retries)
        objects = [hlapi.ObjectType(hlapi.ObjectIdentity(decode_oid(oid))) for oid in oids]
        error, status, index, binds = await hlapi.bulk_cmd(
            self._engine,
            self._user(creds),
            target,
            self._context(creds.context),
            non_repeaters,
            max_repetitions,
            *objects,
            lookupMib=False,
        )
        if error:
            text = str(error)
            if "timed out" in text.lower() or "timeout" in text.lower():
                raise SnmpTimeout(f"no reply after {retries + 1} tries of {timeout:g} s")
            raise SnmpAgentError(text)
        if status:
            raise SnmpAgentError(f"agent error {status.prettyPrint()} at varbind {int(index)}")
        out: list[VarBind] = []
        for bind in binds:
            tag = _tag(bind[1])
            out.append((encode_oid(tuple(bind[0])), tag, _value(bind[1], tag)))
        return out

    def close(self) -> None:
        self._engine.close_dispatcher()

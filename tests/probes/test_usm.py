"""The lean SNMPv3 (USM) client, checked against the RFC's vectors, against pysnmp's key
code, and on the wire against real net-snmp agents beside pysnmp and snmpbulkwalk."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.topology.render import NET_SNMP_AUTH, NET_SNMP_PRIV
from probes.agents import AgentAuth, AgentPool
from probes.ber import RESPONSE, BerError, encode_oid, encode_pdu, oid_text, parse_oid
from probes.credentials import SnmpCredentials
from probes.snmp_usm import UsmClient, lean_supports
from probes.snmp_v2c import MalformedReply
from probes.snmp_v3 import SnmpAgentError, V3Client
from probes.usm import (
    AUTH_PROTOCOLS,
    FLAG_AUTH,
    FLAG_PRIV,
    FLAG_REPORTABLE,
    PRIV_PROTOCOLS,
    Security,
    UsmError,
    decode_message,
    decode_scoped,
    decrypt,
    encode_message,
    encrypt,
    hash_passphrase,
    localize,
    priv_key,
    scoped_pdu,
    verify,
)
from tests.probes.conftest import require_binaries

RFC_ENGINE = bytes.fromhex("000000000000000000000002")
SYSTEM = "1.3.6.1.2.1.1"


# --- keys --------------------------------------------------------------------------


def test_key_localisation_matches_rfc_3414_appendix_a3_md5() -> None:
    auth = AUTH_PROTOCOLS["md5"]
    kul = localize(hash_passphrase(b"maplesyrup", auth), RFC_ENGINE, auth)
    assert kul.hex() == "526f5eed9fcce26f8964c2930787d82b"


def test_key_localisation_matches_rfc_3414_appendix_a3_sha1() -> None:
    auth = AUTH_PROTOCOLS["sha"]
    kul = localize(hash_passphrase(b"maplesyrup", auth), RFC_ENGINE, auth)
    assert kul.hex() == "6695febc9288e36282235fc7151f128497b38f3f"


@pytest.mark.parametrize("name", sorted(AUTH_PROTOCOLS))
def test_every_auth_protocol_localises_keys_as_pysnmp_does(name: str) -> None:
    import hashlib

    from pysnmp.proto.secmod.rfc3414 import localkey

    auth = AUTH_PROTOCOLS[name]
    hashlib_name = {"sha": "sha1"}.get(name, name)
    reference = localkey.password_to_key(
        b"govnet-test-auth", localkey.univ.OctetString(RFC_ENGINE), getattr(hashlib, hashlib_name)
    )
    ours = localize(hash_passphrase(b"govnet-test-auth", auth), RFC_ENGINE, auth)
    assert ours == bytes(reference)


@pytest.mark.parametrize(
    ("priv", "reference_class"),
    [
        ("aes192", "AesBlumenthal192"),
        ("aes256", "AesBlumenthal256"),
        ("aes192c", "Aes192"),
        ("aes256c", "Aes256"),
    ],
)
def test_aes_key_extensions_match_pysnmp_blumenthal_and_reeder(
    priv: str, reference_class: str
) -> None:
    import importlib

    from pysnmp.proto.secmod.rfc3414.auth import hmacsha

    module = importlib.import_module(f"pysnmp.proto.secmod.eso.priv.{priv.rstrip('c')}")
    reference = getattr(module, reference_class)()
    auth = AUTH_PROTOCOLS["sha"]
    ku = hash_passphrase(b"govnet-test-priv", auth)
    from pyasn1.type import univ

    expected = reference.localize_key(hmacsha.HmacSha.SERVICE_ID, ku, univ.OctetString(RFC_ENGINE))
    assert priv_key(ku, RFC_ENGINE, auth, PRIV_PROTOCOLS[priv]) == bytes(expected)


def test_a_pass_phrase_shorter_than_eight_characters_is_refused() -> None:
    with pytest.raises(UsmError, match="shorter than 8"):
        hash_passphrase(b"short", AUTH_PROTOCOLS["sha"])


# --- messages ----------------------------------------------------------------------


def _authpriv_message(tamper: int | None = None) -> tuple[bytes, bytes, bytes]:
    auth, priv = AUTH_PROTOCOLS["sha256"], PRIV_PROTOCOLS["aes"]
    ku = hash_passphrase(b"govnet-test-auth", auth)
    akey, pkey = localize(ku, RFC_ENGINE, auth), priv_key(ku, RFC_ENGINE, auth, priv)
    pdu = encode_pdu(RESPONSE, 77, 0, 0, [encode_oid(parse_oid("1.3.6.1.2.1.1.5.0"))])
    salt = bytes(range(8))
    cipher = encrypt(pkey, 3, 1234, salt, scoped_pdu(RFC_ENGINE, pdu))
    from probes.ber import OCTET_STRING, tlv

    raw = encode_message(
        42,
        FLAG_AUTH | FLAG_PRIV | FLAG_REPORTABLE,
        Security(RFC_ENGINE, 3, 1234, b"govnet"),
        tlv(OCTET_STRING, cipher),
        auth,
        akey,
        salt,
    )
    if tamper is not None:
        raw = raw[:tamper] + bytes((raw[tamper] ^ 1,)) + raw[tamper + 1 :]
    return raw, akey, pkey


def test_an_authpriv_message_round_trips_through_mac_and_cipher() -> None:
    raw, akey, pkey = _authpriv_message()
    incoming = decode_message(raw)
    assert (incoming.msg_id, incoming.engine_id, incoming.user) == (42, RFC_ENGINE, b"govnet")
    verify(incoming, AUTH_PROTOCOLS["sha256"], akey)
    plain = decrypt(pkey, incoming.boots, incoming.time, incoming.salt, incoming.data)
    scoped = decode_scoped(plain)
    assert scoped.pdu.request_id == 77
    assert oid_text(scoped.pdu.varbinds[0][0]) == "1.3.6.1.2.1.1.5.0"


def test_one_flipped_bit_anywhere_in_the_ciphertext_fails_the_mac() -> None:
    raw, akey, _ = _authpriv_message(tamper=-3)
    with pytest.raises(UsmError, match="wrong digest"):
        verify(decode_message(raw), AUTH_PROTOCOLS["sha256"], akey)


@pytest.mark.parametrize("cut", [1, 10, 30, 60])
def test_a_truncated_message_is_a_ber_error_never_an_index_error(cut: int) -> None:
    raw, _, _ = _authpriv_message()
    with pytest.raises(BerError):
        decode_message(raw[:-cut])


def test_des_profiles_are_left_to_pysnmp() -> None:
    des = SnmpCredentials("p", "3", auth_protocol="sha", priv_protocol="des")
    assert not lean_supports(des)
    assert lean_supports(SnmpCredentials("p", "3", auth_protocol="sha512", priv_protocol="aes256"))


# --- on the wire, against net-snmp ---------------------------------------------------

# (auth, priv) pairs polled against real agents; net-snmp has no Reeder AES.
WIRE_CASES = [
    ("md5", "aes"),
    ("sha", "aes"),
    ("sha224", "aes192"),
    ("sha256", "aes256"),
    ("sha384", "aes"),
    ("sha512", "aes256"),
    ("sha256", None),  # authNoPriv
]
NET_SNMP_NAMES = {**NET_SNMP_AUTH, **NET_SNMP_PRIV}  # what the lab renders for net-snmp


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WireAgent:
    def __init__(self, pool: AgentPool, auth: str, priv: str | None) -> None:
        self.pool, self.auth, self.priv = pool, auth, priv

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.pool.port)

    def creds(self, **override: str) -> SnmpCredentials:
        values = {
            "user": "govnet",
            "auth_key": "govnet-test-auth",
            "priv_key": "govnet-test-priv",
            **override,
        }
        return SnmpCredentials(
            "wire",
            "3",
            self.pool.port,
            user=values["user"],
            level="authPriv" if self.priv else "authNoPriv",
            auth_protocol=self.auth,
            auth_key=values["auth_key"],
            priv_protocol=self.priv or "aes",
            priv_key=values["priv_key"],
        )


@pytest.fixture(scope="module", params=WIRE_CASES, ids=lambda c: f"{c[0]}-{c[1] or 'nopriv'}")
def wire_agent(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WireAgent]:
    require_binaries("/usr/sbin/snmpd", "snmpbulkwalk")
    auth, priv = request.param
    agent_auth = AgentAuth(
        auth_protocol=NET_SNMP_NAMES[auth],
        priv_protocol=NET_SNMP_NAMES[priv or "aes"],
        min_level="priv" if priv else "auth",
    )
    pool = AgentPool(tmp_path_factory.mktemp(f"usm-{auth}"), agent_auth, port=_free_udp_port())
    with pool:
        pool.add("agent", ["127.0.0.1"], sys_name=f"usm-{auth}")
        pool.start()
        yield WireAgent(pool, auth, priv)


def _run(coro_factory):  # type: ignore[no-untyped-def]
    return asyncio.run(coro_factory())


async def _lean_bulk(agent: WireAgent, creds: SnmpCredentials, client: UsmClient | None = None):  # type: ignore[no-untyped-def]
    own = client is None
    client = client or UsmClient()
    if own:
        await client.open()
    try:
        return await client.bulk(
            agent.address, creds, 0, 8, [encode_oid(parse_oid(SYSTEM))], 1.0, 1
        )
    finally:
        if own:
            client.close()


def _stable(binds: list[tuple[bytes, int, object]]) -> list[tuple[str, int, object]]:
    """OID, type and value — the value but for sysUpTime, which moves."""
    uptime = "1.3.6.1.2.1.1.3.0"
    return [(oid_text(o), t, None if oid_text(o) == uptime else v) for o, t, v in binds]


def test_lean_replies_decode_exactly_as_pysnmp_decodes_them(wire_agent: WireAgent) -> None:
    ours = _run(lambda: _lean_bulk(wire_agent, wire_agent.creds()))

    async def reference():  # type: ignore[no-untyped-def]
        client = V3Client()
        try:
            return await client.bulk(
                wire_agent.address,
                wire_agent.creds(),
                0,
                8,
                [encode_oid(parse_oid(SYSTEM))],
                1.0,
                1,
            )
        finally:
            client.close()

    theirs = _run(reference)
    assert len(ours) == 8
    assert _stable(ours) == _stable(theirs)


def test_lean_replies_match_net_snmp_snmpbulkwalk(wire_agent: WireAgent) -> None:
    ours = _run(lambda: _lean_bulk(wire_agent, wire_agent.creds()))
    argv = [
        "snmpbulkwalk",
        "-v3",
        "-l",
        "authPriv" if wire_agent.priv else "authNoPriv",
        "-u",
        "govnet",
        "-a",
        NET_SNMP_NAMES[wire_agent.auth],
        "-A",
        "govnet-test-auth",
        "-On",
        "-Cr8",
        "-M",
        "/nonexistent",
        "-m",
        "",
    ]
    if wire_agent.priv:
        argv += ["-x", NET_SNMP_NAMES[wire_agent.priv], "-X", "govnet-test-priv"]
    argv += [f"udp:127.0.0.1:{wire_agent.pool.port}", SYSTEM]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=True).stdout
    walked = [line.split(" = ", 1)[0].lstrip(".") for line in out.splitlines() if " = " in line]
    assert [oid_text(o) for o, _, _ in ours] == walked[: len(ours)]
    sys_name = next(v for o, _, v in ours if oid_text(o) == "1.3.6.1.2.1.1.5.0")
    assert sys_name == f"usm-{wire_agent.auth}".encode()
    assert f'STRING: "usm-{wire_agent.auth}"' in out or f"STRING: usm-{wire_agent.auth}" in out


def test_a_wrong_auth_key_is_refused_by_the_agent_with_wrong_digest(
    wire_agent: WireAgent,
) -> None:
    async def attempt() -> dict[str, int]:
        client = UsmClient()
        await client.open()
        try:
            with pytest.raises(SnmpAgentError, match="wrongDigest"):
                await _lean_bulk(wire_agent, wire_agent.creds(auth_key="not-the-key"), client)
            return client.stats.reports
        finally:
            client.close()

    assert _run(attempt)["wrongDigest"] == 1


def test_an_unknown_user_is_refused_with_unknown_user_name(wire_agent: WireAgent) -> None:
    with pytest.raises(SnmpAgentError, match="unknownUserName"):
        _run(lambda: _lean_bulk(wire_agent, wire_agent.creds(user="intruder")))


def test_a_clock_out_of_the_time_window_is_resynchronised_from_the_agents_report(
    wire_agent: WireAgent,
) -> None:
    """The client's idea of the agent's clock is 1,000 s off: the agent answers
    notInTimeWindow (authenticated, with its real boots/time), the client takes them and
    the same poll succeeds — one report, no rediscovery, no failure."""

    async def scenario() -> tuple[int, int, int]:
        client = UsmClient()
        await client.open()
        try:
            await _lean_bulk(wire_agent, wire_agent.creds(), client)
            client._engines[wire_agent.address].time += 1000
            binds = await _lean_bulk(wire_agent, wire_agent.creds(), client)
            return len(binds), client.stats.reports["notInTimeWindow"], client.stats.discoveries
        finally:
            client.close()

    assert asyncio.run(scenario()) == (8, 1, 1)


def test_an_agent_replaced_by_a_new_engine_is_rediscovered(tmp_path: Path) -> None:
    """The test agents start with -C (no persistent state), so a restarted snmpd has a new
    engine ID: the agent answers unknownEngineID, the client discovers it again and the
    same poll succeeds."""
    require_binaries("/usr/sbin/snmpd")
    pool = AgentPool(tmp_path, AgentAuth(), port=_free_udp_port())
    agent = WireAgent(pool, "sha", "aes")

    async def scenario() -> tuple[int, int, int]:
        client = UsmClient()
        await client.open()
        try:
            await _lean_bulk(agent, agent.creds(), client)
            pool.stop()
            pool.agents[0].process = None
            pool.start()
            binds = await _lean_bulk(agent, agent.creds(), client)
            return len(binds), client.stats.reports["unknownEngineID"], client.stats.discoveries
        finally:
            client.close()

    with pool:
        pool.add("agent", ["127.0.0.1"])
        pool.start()
        assert asyncio.run(scenario()) == (8, 1, 2)


def test_a_reply_with_a_forged_mac_fails_that_request_only(wire_agent: WireAgent) -> None:
    """A datagram with the right msgID but a bad MAC is malformed, not accepted."""

    async def scenario() -> None:
        client = UsmClient()
        await client.open()
        try:
            await _lean_bulk(wire_agent, wire_agent.creds(), client)  # engine known
            original = client._received

            def forge(data: bytes, source: tuple[str, int]) -> None:
                original(data[:-1] + bytes((data[-1] ^ 0xFF,)), source)

            client._received = forge  # type: ignore[method-assign]
            with pytest.raises(MalformedReply, match="wrong digest"):
                await _lean_bulk(wire_agent, wire_agent.creds(), client)
        finally:
            client.close()

    asyncio.run(scenario())

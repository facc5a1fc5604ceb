"""SNMPv3 with the User-based Security Model, for the lean client: keys, messages,
authentication and privacy as pure functions (no sockets; :mod:`probes.snmp_usm` does I/O).

- Keys (RFC 3414 A.2, RFC 7860): a pass phrase is hashed once per (protocol, phrase) —
  1 MiB of it, the expensive part — and localised per authoritative engine ID with one
  more hash; both steps are cached by the caller.
- Authentication: HMAC-MD5-96, HMAC-SHA-96 (RFC 3414), HMAC-SHA-2 (RFC 7860: SHA-224/128,
  SHA-256/192, SHA-384/256, SHA-512/384) over the whole message with the MAC field zeroed.
- Privacy: AES-CFB-128 (RFC 3826); AES-192/256 with the key extension of
  draft-blumenthal-aes-usm-04 (net-snmp's AES-192/AES-256: ``aes192``, ``aes256``) or of
  the Reeder 3DES draft (Cisco's: ``aes192c``, ``aes256c``). DES is not done here (pysnmp
  keeps it).

Every hash, MAC and cipher comes from the ``cryptography`` library; nothing here is
hand-written crypto. Decoding reuses :mod:`probes.ber`'s bounded element readers, so a
malformed or hostile datagram raises :class:`probes.ber.BerError`.
"""

from __future__ import annotations

import hmac as std_hmac
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from probes.ber import (
    OCTET_STRING,
    SEQUENCE,
    BerError,
    Pdu,
    decode_pdu,
    encode_integer,
    oid_text,
    read_header,
    read_integer,
    tag_name,
    tlv,
)

USM_SECURITY_MODEL = 3
FLAG_AUTH = 0x01
FLAG_PRIV = 0x02
FLAG_REPORTABLE = 0x04
MAX_MESSAGE_SIZE = 65507
_PASSPHRASE_BYTES = 1_048_576  # RFC 3414 A.2: hash 1 MiB of the repeated pass phrase
_MIN_PASSPHRASE = 8  # RFC 3414 11.2


@dataclass(frozen=True, slots=True)
class AuthProtocol:
    name: str
    hash: type[hashes.HashAlgorithm]
    mac_length: int


AUTH_PROTOCOLS: dict[str, AuthProtocol] = {
    p.name: p
    for p in (
        AuthProtocol("md5", hashes.MD5, 12),
        AuthProtocol("sha", hashes.SHA1, 12),
        AuthProtocol("sha224", hashes.SHA224, 16),
        AuthProtocol("sha256", hashes.SHA256, 24),
        AuthProtocol("sha384", hashes.SHA384, 32),
        AuthProtocol("sha512", hashes.SHA512, 48),
    )
}


@dataclass(frozen=True, slots=True)
class PrivProtocol:
    name: str
    key_length: int
    extension: str  # "none" (the localised key is long enough), "blumenthal" or "reeder"


PRIV_PROTOCOLS: dict[str, PrivProtocol] = {
    p.name: p
    for p in (
        PrivProtocol("aes", 16, "none"),
        PrivProtocol("aes192", 24, "blumenthal"),
        PrivProtocol("aes256", 32, "blumenthal"),
        PrivProtocol("aes192c", 24, "reeder"),
        PrivProtocol("aes256c", 32, "reeder"),
    )
}

# usmStats counters an agent names in a Report PDU (RFC 3414 5: usmStats 1.3.6.1.6.3.15.1.1)
USM_STATS_PREFIX = bytes.fromhex("2b060106030f0101")
REPORT_REASONS = {
    1: "unsupportedSecLevel",
    2: "notInTimeWindow",
    3: "unknownUserName",
    4: "unknownEngineID",
    5: "wrongDigest",
    6: "decryptionError",
}


class UsmError(Exception):
    """A message fails a USM check (bad MAC, cannot decrypt, wrong engine …)."""


def _digest(algorithm: type[hashes.HashAlgorithm], data: bytes) -> bytes:
    h = hashes.Hash(algorithm())
    h.update(data)
    return h.finalize()


def hash_passphrase(passphrase: bytes, auth: AuthProtocol) -> bytes:
    """Ku: the digest of 1 MiB of the repeated pass phrase (the engine-independent part)."""
    if len(passphrase) < _MIN_PASSPHRASE:
        raise UsmError(f"pass phrase shorter than {_MIN_PASSPHRASE} characters")
    repeated = passphrase * (_PASSPHRASE_BYTES // len(passphrase) + 1)
    return _digest(auth.hash, repeated[:_PASSPHRASE_BYTES])


def localize(ku: bytes, engine_id: bytes, auth: AuthProtocol) -> bytes:
    """Kul = H(Ku || engineID || Ku)."""
    return _digest(auth.hash, ku + engine_id + ku)


def priv_key(ku_priv: bytes, engine_id: bytes, auth: AuthProtocol, priv: PrivProtocol) -> bytes:
    """The localised privacy key, extended to the cipher's key length when needed."""
    key = localize(ku_priv, engine_id, auth)
    while len(key) < priv.key_length:
        if priv.extension == "blumenthal":
            key += _digest(auth.hash, key)
        elif priv.extension == "reeder":
            key += localize(hash_passphrase(key, auth), engine_id, auth)
        else:
            raise UsmError(f"{priv.name}: localised key too short for the cipher")
    return key[: priv.key_length]


def mac(auth: AuthProtocol, key: bytes, message: bytes) -> bytes:
    h = hmac.HMAC(key, auth.hash())
    h.update(message)
    return h.finalize()[: auth.mac_length]


def _aes(key: bytes, boots: int, time: int, salt: bytes) -> Cipher[CFB]:
    iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt  # RFC 3826 3.1.2.1
    return Cipher(algorithms.AES(key), CFB(iv))  # CFB lives in 'decrepit' since 47


def encrypt(key: bytes, boots: int, time: int, salt: bytes, plaintext: bytes) -> bytes:
    encryptor = _aes(key, boots, time, salt).encryptor()
    return encryptor.update(plaintext) + encryptor.finalize()


def decrypt(key: bytes, boots: int, time: int, salt: bytes, ciphertext: bytes) -> bytes:
    if len(salt) != 8:
        raise UsmError(f"privacy parameters of {len(salt)} bytes (AES wants 8)")
    decryptor = _aes(key, boots, time, salt).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


# --- messages ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Security:
    """What a request carries in its security parameters."""

    engine_id: bytes
    boots: int
    time: int
    user: bytes


def scoped_pdu(context_engine_id: bytes, pdu: bytes, context_name: bytes = b"") -> bytes:
    body = tlv(OCTET_STRING, context_engine_id) + tlv(OCTET_STRING, context_name) + pdu
    return tlv(SEQUENCE, body)


def encode_message(
    msg_id: int,
    flags: int,
    security: Security,
    msg_data: bytes,
    auth: AuthProtocol | None = None,
    auth_key: bytes = b"",
    salt: bytes = b"",
) -> bytes:
    """An SNMPv3 message. ``msg_data`` is the scoped PDU TLV, or the encrypted one wrapped
    as an OCTET STRING; with ``auth`` the MAC is computed over the finished message."""
    global_data = tlv(
        SEQUENCE,
        encode_integer(msg_id)
        + encode_integer(MAX_MESSAGE_SIZE)
        + tlv(OCTET_STRING, bytes((flags,)))
        + encode_integer(USM_SECURITY_MODEL),
    )
    placeholder = bytes(auth.mac_length) if auth is not None else b""
    params_head = (
        tlv(OCTET_STRING, security.engine_id)
        + encode_integer(security.boots)
        + encode_integer(security.time)
        + tlv(OCTET_STRING, security.user)
    )
    params_tail = tlv(OCTET_STRING, placeholder) + tlv(OCTET_STRING, salt)
    params = tlv(SEQUENCE, params_head + params_tail)
    head = encode_integer(3) + global_data
    body = head + tlv(OCTET_STRING, params) + msg_data
    message = tlv(SEQUENCE, body)
    if auth is None:
        return message
    # The MAC field's content is where the placeholder sits inside the params.
    tail_at = len(message) - len(msg_data) - len(params_tail)
    start = tail_at + len(tlv(OCTET_STRING, placeholder)) - len(placeholder)
    digest = mac(auth, auth_key, message)
    return message[:start] + digest + message[start + len(digest) :]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A decoded SNMPv3 message, before authentication and decryption."""

    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    mac_span: tuple[int, int]  # where the MAC bytes are in the raw message
    salt: bytes
    data: bytes  # the encrypted scoped PDU (flags & PRIV) or the scoped PDU TLV
    raw: bytes

    @property
    def mac(self) -> bytes:
        return self.raw[self.mac_span[0] : self.mac_span[1]]


def _octets(buf: bytes, pos: int, end: int, what: str) -> tuple[int, int, int]:
    tag, start, stop = read_header(buf, pos, end)
    if tag != OCTET_STRING:
        raise BerError(f"{what}: expected OCTET STRING, got {tag_name(tag)}")
    return start, stop, stop


def peek_msg_id(buf: bytes) -> int | None:
    """The msgID of an SNMPv3 datagram (to match it to its request), None if not v3."""
    try:
        end = len(buf)
        tag, pos, _ = read_header(buf, 0, end)
        if tag != SEQUENCE:
            return None
        version, pos = read_integer(buf, pos, end, "version")
        if version != 3:
            return None
        tag, pos, gend = read_header(buf, pos, end)
        if tag != SEQUENCE:
            return None
        msg_id, _ = read_integer(buf, pos, gend, "msgID")
        return msg_id
    except BerError:
        return None


def decode_message(buf: bytes) -> Incoming:
    end = len(buf)
    tag, pos, stop = read_header(buf, 0, end)
    if tag != SEQUENCE or stop != end:
        raise BerError("not an SNMP message")
    version, pos = read_integer(buf, pos, end, "version")
    if version != 3:
        raise BerError(f"SNMP version {version}, expected 3")
    tag, pos, gend = read_header(buf, pos, end)
    if tag != SEQUENCE:
        raise BerError("msgGlobalData: expected SEQUENCE")
    msg_id, pos = read_integer(buf, pos, gend, "msgID")
    _max_size, pos = read_integer(buf, pos, gend, "msgMaxSize")
    fstart, fstop, pos = _octets(buf, pos, gend, "msgFlags")
    if fstop - fstart != 1:
        raise BerError("msgFlags: expected one byte")
    flags = buf[fstart]
    model, pos = read_integer(buf, pos, gend, "msgSecurityModel")
    if model != USM_SECURITY_MODEL or pos != gend:
        raise BerError(f"security model {model}, expected USM (3)")
    pstart, pstop, pos = _octets(buf, pos, end, "msgSecurityParameters")
    tag, ppos, pend = read_header(buf, pstart, pstop)
    if tag != SEQUENCE or pend != pstop:
        raise BerError("UsmSecurityParameters: expected SEQUENCE")
    estart, estop, ppos = _octets(buf, ppos, pend, "msgAuthoritativeEngineID")
    boots, ppos = read_integer(buf, ppos, pend, "msgAuthoritativeEngineBoots")
    time, ppos = read_integer(buf, ppos, pend, "msgAuthoritativeEngineTime")
    ustart, ustop, ppos = _octets(buf, ppos, pend, "msgUserName")
    mstart, mstop, ppos = _octets(buf, ppos, pend, "msgAuthenticationParameters")
    sstart, sstop, ppos = _octets(buf, ppos, pend, "msgPrivacyParameters")
    if ppos != pend:
        raise BerError("UsmSecurityParameters: trailing bytes")
    if boots < 0 or time < 0:
        raise BerError("negative engine boots/time")
    tag, dstart, dstop = read_header(buf, pos, end)
    if dstop != end:
        raise BerError("trailing bytes after msgData")
    if flags & FLAG_PRIV:
        if tag != OCTET_STRING:
            raise BerError("encryptedPDU: expected OCTET STRING")
        data = buf[dstart:dstop]
    else:
        if tag != SEQUENCE:
            raise BerError("scopedPDU: expected SEQUENCE")
        data = buf[pos:dstop]
    return Incoming(
        msg_id=msg_id,
        flags=flags,
        engine_id=buf[estart:estop],
        boots=boots,
        time=time,
        user=buf[ustart:ustop],
        mac_span=(mstart, mstop),
        salt=buf[sstart:sstop],
        data=data,
        raw=buf,
    )


def verify(incoming: Incoming, auth: AuthProtocol, key: bytes) -> None:
    """Check the message's MAC (RFC 3414 6.3.2 / RFC 7860 4.2.2)."""
    start, stop = incoming.mac_span
    if stop - start != auth.mac_length:
        raise UsmError(f"MAC of {stop - start} bytes, expected {auth.mac_length}")
    zeroed = incoming.raw[:start] + bytes(auth.mac_length) + incoming.raw[stop:]
    if not std_hmac.compare_digest(mac(auth, key, zeroed), incoming.mac):
        raise UsmError("wrong digest in reply")


@dataclass(frozen=True, slots=True)
class Scoped:
    context_engine_id: bytes
    context_name: bytes
    pdu: Pdu


def decode_scoped(buf: bytes) -> Scoped:
    end = len(buf)
    tag, pos, stop = read_header(buf, 0, end)
    if tag != SEQUENCE:
        raise BerError("scopedPDU: expected SEQUENCE (wrong privacy key?)")
    cstart, cstop, pos = _octets(buf, pos, stop, "contextEngineID")
    nstart, nstop, pos = _octets(buf, pos, stop, "contextName")
    return Scoped(buf[cstart:cstop], buf[nstart:nstop], decode_pdu(buf, pos, stop))


def report_reason(pdu: Pdu) -> str:
    """What a Report PDU says: the usmStats counter it names (``notInTimeWindow`` …)."""
    for oid, _tag, _value in pdu.varbinds:
        if oid.startswith(USM_STATS_PREFIX) and len(oid) > len(USM_STATS_PREFIX):
            return REPORT_REASONS.get(oid[len(USM_STATS_PREFIX)], "usmStats")
    return f"report {oid_text(pdu.varbinds[0][0])}" if pdu.varbinds else "empty report"

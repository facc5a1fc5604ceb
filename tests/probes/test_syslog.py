"""Device logins from syslog: parsing both formats, sshd's login lines, the store's
bounds, and the receiver over real UDP and TCP sockets on loopback."""

from __future__ import annotations

import asyncio
import socket

import pytest
from prometheus_client import CollectorRegistry

from probes.collector import ProbeCollector
from probes.cycle import make_plan
from probes.model import Target
from probes.service import ProbeState
from probes.sharding import ALL
from probes.syslog import (
    MAX_MESSAGE,
    MAX_SOURCES,
    LoginStore,
    SyslogError,
    SyslogReceiver,
    login_event,
    parse,
)
from probes.traps import TrapStore

RFC5424 = (
    b"<38>1 2026-12-01T09:40:01.003Z pr-kh2 sshd 4242 - - "
    b"Failed password for invalid user admin from 10.250.0.66 port 51234 ssh2"
)
RFC5424_SD = (
    b'<38>1 2026-12-01T09:40:01Z pr-kh2 sshd 1 - [origin ip="10.0.0.1"][x@1 a="b\\]c"] '
    b"\xef\xbb\xbfAccepted password for govnet from 10.250.0.5 port 40000 ssh2"
)
RFC3164 = (
    b"<38>Dec  1 09:40:01 pr-kh2 sshd[4242]: "
    b"Accepted publickey for govnet from 10.250.0.5 port 40000 ssh2: ED25519 SHA256:abc"
)


def router(name: str = "pr-kh2", address: str = "127.0.0.71") -> Target:
    return Target(name, "province-router", "KH-2", "KH-2", "", address, address, None, None)


def test_rfc5424_is_parsed_with_its_app_and_message() -> None:
    message = parse(RFC5424)
    assert (message.format, message.facility, message.severity) == ("5424", 4, 6)
    assert (message.hostname, message.app) == ("pr-kh2", "sshd")
    assert message.text.startswith("Failed password for invalid user admin")


def test_rfc5424_structured_data_with_escaped_brackets_and_a_bom_is_skipped() -> None:
    assert parse(RFC5424_SD).text == "Accepted password for govnet from 10.250.0.5 port 40000 ssh2"


def test_rfc3164_is_parsed_with_its_tag_and_pid() -> None:
    message = parse(RFC3164)
    assert (message.format, message.hostname, message.app) == ("3164", "pr-kh2", "sshd")
    assert message.text.startswith("Accepted publickey for govnet")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"no priority", "no <PRI>"),
        (b"<999>1 x", "out of range"),
        (b"<38>1 too short", "incomplete"),
        (b"<38>1 2026 h a p m [unterminated", "unterminated"),
        (b"<38>   ", "without a tag"),
        (b"<38>" + b"x" * MAX_MESSAGE, "at most"),
    ],
    ids=["no-pri", "pri-range", "short-5424", "sd", "no-tag", "oversize"],
)
def test_malformed_messages_raise_syslog_errors(data: bytes, reason: str) -> None:
    with pytest.raises(SyslogError, match=reason):
        parse(data)


def test_sshd_success_and_failure_lines_are_logins() -> None:
    failed = login_event(parse(RFC5424))
    accepted = login_event(parse(RFC3164))
    assert failed is not None and (failed.result, failed.user, failed.source) == (
        "failure",
        "admin",
        "10.250.0.66",
    )
    assert accepted is not None and (accepted.result, accepted.source) == ("success", "10.250.0.5")


@pytest.mark.parametrize(
    "line",
    [
        b"<38>Dec  1 09:40:01 pr-kh2 sshd[1]: pam_unix(sshd:auth): authentication failure;"
        b" rhost=10.250.0.66 user=admin",  # PAM repeats sshd's own Failed line
        b"<38>Dec  1 09:40:01 pr-kh2 sshd[1]: Invalid user admin from 10.250.0.66 port 5",
        b"<38>Dec  1 09:40:01 pr-kh2 cron[1]: Failed password for x from 10.0.0.1 port 1 ssh2",
        b"<38>Dec  1 09:40:01 pr-kh2 sshd[1]: Failed password for x from not-an-ip port 1",
    ],
    ids=["pam-duplicate", "invalid-user-notice", "not-sshd", "bad-address"],
)
def test_lines_that_are_not_one_login_count_as_none(line: bytes) -> None:
    assert login_event(parse(line)) is None


def test_the_store_maps_the_sender_to_its_device_and_zones_the_source() -> None:
    store = LoginStore([router()], management=["10.250.0.0/24"])
    record = store.received(RFC5424, "127.0.0.71")
    assert record is not None and (record.device, record.zone) == ("pr-kh2", "management")
    outside = RFC3164.replace(b"10.250.0.5", b"198.51.100.7")
    assert store.received(outside, "127.0.0.71").zone == "outside"  # type: ignore[union-attr]
    assert store.received(RFC5424, "127.0.0.99") is None
    assert store.received(b"garbage", "127.0.0.71") is None
    assert store.messages() == {"ok": 2, "unknown_sender": 1, "malformed": 1}


def test_login_sources_are_bounded_per_device() -> None:
    store = LoginStore([router()])
    for i in range(MAX_SOURCES + 20):
        line = RFC5424.replace(b"10.250.0.66", f"10.9.{i // 250}.{i % 250 + 1}".encode())
        store.received(line, "127.0.0.71")
    sources = {key[4] for key in store.logins()}
    assert len(sources) == MAX_SOURCES + 1 and "other" in sources
    assert sum(store.logins().values()) == MAX_SOURCES + 20


def test_the_collector_exports_logins_and_message_outcomes() -> None:
    target = router()
    state = ProbeState(make_plan([target], ALL), TrapStore(), LoginStore([target]))
    state.logins.received(RFC5424, "127.0.0.71")
    registry = CollectorRegistry()
    registry.register(ProbeCollector(state))
    labels = {
        "device": "pr-kh2",
        "site": "KH-2",
        "province": "KH-2",
        "result": "failure",
        "source": "10.250.0.66",
        "zone": "outside",
    }
    assert registry.get_sample_value("govnet_device_logins_total", labels) == 1
    assert registry.get_sample_value("govnet_syslog_messages_total", {"result": "ok"}) == 1


# --- over real sockets ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, socket.socket() as tcp:
        udp.bind(("127.0.0.71", 0))
        port = int(udp.getsockname()[1])
        tcp.bind(("127.0.0.71", port))
        return port


async def _receive(send: object) -> LoginStore:
    store = LoginStore([router("pr-kh2", "127.0.0.72")])
    port = _free_port()
    receiver = SyslogReceiver(store, ("127.0.0.71", port))
    await receiver.open()
    try:
        await send(port)  # type: ignore[operator]
        for _ in range(100):  # bounded: until the messages are counted, at most 2 s
            if sum(store.messages().values()) >= 3:
                break
            await asyncio.sleep(0.02)
    finally:
        await receiver.close()
    return store


def test_udp_datagrams_are_received_from_the_devices_address() -> None:
    async def send(port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.72", 0))
            for data in (RFC5424, RFC3164, b"garbage"):
                s.sendto(data, ("127.0.0.71", port))

    store = asyncio.run(_receive(send))
    assert store.messages() == {"ok": 2, "malformed": 1}
    assert {k[3] for k in store.logins()} == {"failure", "success"}


def test_tcp_frames_by_octet_count_and_by_line_and_an_oversize_frame_closes() -> None:
    async def send(port: int) -> None:
        reader, writer = await asyncio.open_connection(
            "127.0.0.71", port, local_addr=("127.0.0.72", 0)
        )
        writer.write(f"{len(RFC5424)} ".encode() + RFC5424)  # RFC 6587 octet counting
        writer.write(RFC3164 + b"\n")  # newline framing
        writer.write(f"{MAX_MESSAGE + 1} ".encode())  # refused: the connection closes
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()

    store = asyncio.run(_receive(send))
    assert store.messages() == {"ok": 2, "oversize": 1}

"""Agents that are not net-snmp, and agents that misbehave: the poller never hangs, never
loops, marks each case with a reason, keeps polling the others, and computes counters
right across wraps and restarts.

Foreign agents are snmpsim (PyPI) replaying its shipped device recordings and recordings
written here; hostile behaviour snmpsim cannot produce (OIDs out of order or repeating,
endless tables, replies from another address) comes from small hand-made UDP responders.
Everything listens on loopback only.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from probes import ber
from probes.credentials import SnmpCredentials
from probes.model import SnmpResult, Target
from probes.simulator import Simulator, SimulatorV3
from probes.snmp import SnmpPoller, SnmpSettings
from tests.conftest import require

WRAP = 1 << 32
# A Counter32 that wraps every 8 s at the agent (numeric variation: value = initial + rate·t)
FAST_RATE = WRAP // 8
SYSTEM = [
    "1.3.6.1.2.1.1.1.0|4|a foreign agent (snmpsim)",
    "1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial=0",
]


def if_table(index: int, in_octets: str = "65|1000", out_octets: str = "65|2000") -> list[str]:
    e = "1.3.6.1.2.1.2.2.1"
    return [
        f"{e}.2.{index}|4|eth{index - 1}",
        f"{e}.5.{index}|66|100000000",
        f"{e}.7.{index}|2|1",
        f"{e}.8.{index}|2|1",
        f"{e}.10.{index}|{in_octets}",
        f"{e}.13.{index}|65|0",
        f"{e}.14.{index}|65|3",
        f"{e}.16.{index}|{out_octets}",
        f"{e}.19.{index}|65|0",
        f"{e}.20.{index}|65|0",
    ]


def if_x_table(index: int) -> list[str]:
    x = "1.3.6.1.2.1.31.1.1.1"
    return [
        f"{x}.1.{index}|4|eth{index - 1}",
        f"{x}.6.{index}|70|{10**12 + index}",
        f"{x}.10.{index}|70|{2 * 10**12 + index}",
        f"{x}.15.{index}|66|1000",
    ]


def by_oid(lines: list[str]) -> list[str]:
    """snmpsim wants a recording sorted by OID."""
    return sorted(lines, key=lambda line: tuple(int(p) for p in line.split("|")[0].split(".")))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _simulator(directory: Path) -> Simulator:
    require(
        __import__("importlib").util.find_spec("snmpsim") is not None,
        "snmpsim (PyPI, a dev dependency) is not installed",
    )
    sim = Simulator(directory, _free_udp_port(), v3=SimulatorV3())
    sim.copy("public.snmprec", "recorded-device")  # snmpsim's own recording of a device
    sim.copy("foreignformats/linux.snmpwalk", "recorded-linux")  # an snmpwalk of a Linux host
    sim.record("noifx", by_oid([*SYSTEM, "1.3.6.1.2.1.1.5.0|4|noifx", *if_table(1)]))
    fast = f"65:numeric|rate={FAST_RATE},initial=0,wrap=1,max={WRAP - 1}"
    sim.record(
        "wrapping", by_oid([*SYSTEM, "1.3.6.1.2.1.1.5.0|4|wrapping", *if_table(1, in_octets=fast)])
    )
    sim.record(
        "wrongtype",
        by_oid(
            [*SYSTEM, "1.3.6.1.2.1.1.5.0|4|wrongtype", *if_x_table(1)]
            + [line.replace(".8.1|2|1", ".8.1|4|up") for line in if_table(1)]
        ),
    )
    huge = "x" * 4000
    sim.record(
        "oversized",
        by_oid(
            [*SYSTEM, f"1.3.6.1.2.1.1.5.0|4|{huge}"]
            + [line.replace("|4|eth0", f"|4|{huge}") for line in if_table(1) + if_x_table(1)]
        ),
    )
    return sim


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    with _simulator(tmp_path_factory.mktemp("snmpsim")) as sim:
        sim.start()
        yield sim


def target(name: str, address: str = "127.0.0.1") -> Target:
    return Target(
        name=name,
        role="cpe",
        site="KH-12",
        province="KH-12",
        tenant="",
        icmp_address=address,
        snmp_address=address,
        snmp_profile_name=name,
        snmp_profile=None,
    )


def v2c(name: str, port: int, community: str | None = None) -> SnmpCredentials:
    return SnmpCredentials(name, "2c", port, community=(community or name).encode())


def v3(name: str, port: int, context: str) -> SnmpCredentials:
    return SnmpCredentials(
        name,
        "3",
        port,
        user="govnet",
        auth_protocol="sha",
        auth_key="govnet-test-auth",
        priv_protocol="aes",
        priv_key="govnet-test-priv",
        context=context,
    )


ANSWER_TIMEOUT = 3.0
"""Per request, for agents that answer: far above a starved runner's scheduling delay (the
simulator is a Python process, and the hostile responders are threads of this one), and
free when they answer. Tests with a silent target give it a shorter one."""
SILENT_TIMEOUT = 2.0
"""For a cycle with a silent target: it costs two tries of this; the others still answer."""


class Polling:
    """One poller kept across cycles (as `probe serve` keeps it), in its own loop."""

    def __init__(
        self, credentials: dict[str, SnmpCredentials], timeout: float = ANSWER_TIMEOUT
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.poller = SnmpPoller(credentials, SnmpSettings(timeout=timeout, retries=1))
        self.loop.run_until_complete(self.poller.open())

    def cycle(self, targets: list[Target]) -> dict[str, SnmpResult]:
        return self.loop.run_until_complete(self.poller.poll(targets))

    def close(self) -> None:
        self.poller.close()
        self.loop.close()


@pytest.fixture()
def polling() -> Iterator[Callable[..., Polling]]:
    made: list[Polling] = []

    def make(credentials: dict[str, SnmpCredentials], timeout: float = ANSWER_TIMEOUT) -> Polling:
        made.append(Polling(credentials, timeout))
        return made[-1]

    yield make
    for p in made:
        p.close()


# --- foreign agents (snmpsim) ------------------------------------------------------


def test_snmpsims_recorded_devices_are_polled_over_v2c_and_v3(
    simulator: Simulator, polling: Callable[..., Polling]
) -> None:
    port = simulator.port
    creds = {
        "recorded-device": v2c("recorded-device", port),
        "recorded-linux": v2c("recorded-linux", port),
        "recorded-device-v3": v3("recorded-device-v3", port, context="recorded-device"),
    }
    results = polling(creds).cycle([target(name) for name in creds])
    for name, result in results.items():
        assert result.ok, (name, result.reason)
        assert result.interfaces and all(i.name for i in result.interfaces), name
    device, over_v3 = results["recorded-device"], results["recorded-device-v3"]
    assert [i.name for i in device.interfaces] == [i.name for i in over_v3.interfaces]
    assert any(i.octet_bits == 64 and i.in_octets for i in device.interfaces)


def test_an_agent_without_ifxtable_is_polled_with_32_bit_counters_and_says_so(
    simulator: Simulator, polling: Callable[..., Polling]
) -> None:
    poll = polling({"noifx": v2c("noifx", simulator.port)})
    first, second = poll.cycle([target("noifx")])["noifx"], poll.cycle([target("noifx")])["noifx"]
    for result in (first, second):
        assert result.ok, result.reason
        (eth0,) = result.interfaces
        assert (eth0.name, eth0.octet_bits, eth0.in_octets, eth0.speed_bps) == (
            "eth0",
            32,
            1000,
            100_000_000,
        )
        assert "no ifXTable" in " ".join(result.notes)
    assert first.requests > second.requests  # learnt: the second cycle asks 32-bit at once


def test_a_wrapping_counter32_gives_the_agents_true_rate_across_every_wrap(
    simulator: Simulator, polling: Callable[..., Polling]
) -> None:
    """The counter wraps every 8 s; polled every ~1 s for 12 s, the extended counter only
    grows, passes 2³², and its rate — measured on the agent's own clock, sysUpTime — is the
    agent's rate: over the whole window within 5 %, and in every interval close enough that
    a wrap missed or counted twice (2³² octets, 8 s of counting: an error of 700 % or more
    on a ~1 s interval) cannot hide.

    The simulator reads its clock once for sysUpTime, in the walk's first request, and again
    for the counter a few requests later, so each interval's rate carries the difference of
    two round trips: tens of milliseconds on a loaded machine, several per cent of 1 s."""
    poll = polling({"wrapping": v2c("wrapping", simulator.port)})
    samples: list[tuple[float, int]] = []
    for _ in range(12):
        result = poll.cycle([target("wrapping")])["wrapping"]
        assert result.ok, result.reason
        assert result.uptime_seconds is not None
        octets = result.interfaces[0].in_octets
        assert octets is not None
        samples.append((result.uptime_seconds, octets))
        time.sleep(1.0)
    assert all(b[1] > a[1] for a, b in itertools.pairwise(samples))
    assert samples[-1][1] > WRAP
    (first_t, first_c), (last_t, last_c) = samples[0], samples[-1]
    assert (last_c - first_c) / (last_t - first_t) == pytest.approx(FAST_RATE, rel=0.05)
    for (t0, c0), (t1, c1) in itertools.pairwise(samples):
        assert (c1 - c0) / (t1 - t0) == pytest.approx(FAST_RATE, rel=0.5)


def test_an_agent_restart_starts_counters_again_and_is_noted(
    tmp_path: Path, polling: Callable[..., Polling]
) -> None:
    sim = _simulator(tmp_path)
    with sim:
        sim.start()
        poll = polling({"wrapping": v2c("wrapping", sim.port)})
        for _ in range(3):
            before = poll.cycle([target("wrapping")])["wrapping"]
            time.sleep(1.0)
        sim.stop()
        sim.start()  # sysUpTime and the counter start from zero again
        after = poll.cycle([target("wrapping")])["wrapping"]
    assert before.ok and after.ok, (before.reason, after.reason)
    assert "agent restarted" in " ".join(after.notes)
    assert after.uptime_seconds is not None and before.uptime_seconds is not None
    assert after.uptime_seconds < before.uptime_seconds
    assert after.interfaces[0].in_octets is not None
    assert after.interfaces[0].in_octets < WRAP  # no offset carried over the restart


def test_wrong_types_and_silent_agents_are_marked_down_with_a_reason_the_rest_polled(
    simulator: Simulator, polling: Callable[..., Polling]
) -> None:
    port = simulator.port
    creds = {
        "wrongtype": v2c("wrongtype", port),
        "silent": v2c("silent", port, community="no-such-recording"),
        "noifx": v2c("noifx", port),
    }
    results = polling(creds, timeout=SILENT_TIMEOUT).cycle([target(n) for n in creds])
    assert not results["wrongtype"].ok
    assert "ifOperStatus: expected INTEGER, got OCTET STRING" in results["wrongtype"].reason
    assert not results["silent"].ok and "no reply" in results["silent"].reason
    assert results["noifx"].ok


def test_oversized_strings_are_cut_to_128_characters(
    simulator: Simulator, polling: Callable[..., Polling]
) -> None:
    result = polling({"oversized": v2c("oversized", simulator.port)}).cycle([target("oversized")])[
        "oversized"
    ]
    assert result.ok, result.reason
    assert result.sys_name is not None and len(result.sys_name) == 128
    assert len(result.interfaces[0].name) == 128


# --- hostile agents (hand-made responders) ---------------------------------------------


class Responder:
    """Answers every request on ``listen`` with ``handler(request)``, sent from
    ``reply_from`` (another loopback address to play an agent replying from elsewhere)."""

    def __init__(
        self, listen: str, port: int, handler: Callable[[bytes], bytes | None], reply_from: str
    ) -> None:
        self.requests = 0
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._listen.bind((listen, port))
        self._listen.settimeout(0.2)
        self._send = self._listen
        if reply_from != listen:
            self._send = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._send.bind((reply_from, port))
        self._handler = handler
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, addr = self._listen.recvfrom(65535)
            except TimeoutError:
                continue
            self.requests += 1
            reply = self._handler(data)
            if reply is not None:
                self._send.sendto(reply, addr)

    def __enter__(self) -> Responder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listen.close()
        if self._send is not self._listen:
            self._send.close()


COMMUNITY = b"hostile"


def _reply(request: bytes, binds: list[ber.VarBind]) -> bytes:
    message = ber.decode_message(request)
    system = [
        (ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 3, 0)), ber.TIMETICKS, 100),
        (ber.encode_oid((1, 3, 6, 1, 2, 1, 1, 5, 0)), ber.OCTET_STRING, b"hostile"),
    ]
    head = system if message.error_status else []  # non-repeaters asked: the first round
    return ber.encode_response(COMMUNITY, message.request_id, head + binds)


def _value(column: bytes) -> tuple[int, ber.Value]:
    """A value of the right type for the IF-MIB column an OID belongs to."""
    from probes.snmp_walk import C32_COLUMNS, HC_COLUMNS

    for c in (*HC_COLUMNS, *C32_COLUMNS):
        if column.startswith(c.prefix):
            return c.tag, b"x" if c.tag == ber.OCTET_STRING else 1
    return ber.INTEGER, 1


def _bind(oid: bytes) -> ber.VarBind:
    tag, value = _value(oid)
    return (oid, tag, value)


def _columns(request: bytes) -> list[bytes]:
    message = ber.decode_message(request)
    return [oid for oid, _, _ in message.varbinds[message.error_status :]]


def backwards(request: bytes) -> bytes:
    """Each column answered with index 5, then index 3: OIDs going back."""
    binds = [_bind(col + bytes((i,))) for i in (5, 3) for col in _columns(request)]
    return _reply(request, binds)


def _prefix(oid: bytes) -> bytes:
    """The column an OID (a column, or a column plus an index) belongs to."""
    decoded = ber.decode_oid(oid)
    return ber.encode_oid(decoded if len(decoded) <= 10 else decoded[:-1])


def repeating(request: bytes) -> bytes:
    """Every column answered with the same row, over and over."""
    binds = [_bind(_prefix(col) + b"\x01") for col in _columns(request)]
    return _reply(request, binds * 2)


def endless(request: bytes) -> bytes:
    """A table that never ends: each round continues every column with higher indices
    (row by row, as GETBULK lays out its repetitions)."""
    rows: list[list[ber.VarBind]] = []
    for col in _columns(request):
        base = ber.decode_oid(col)
        start = base[-1] + 1 if len(base) > 10 else 1
        column = base if len(base) <= 10 else base[:-1]
        rows.append([_bind(ber.encode_oid((*column, i))) for i in range(start, start + 10)])
    return _reply(request, [bind for row in zip(*rows, strict=True) for bind in row])


@pytest.mark.parametrize(
    ("handler", "reason"),
    [(backwards, "OIDs not increasing"), (repeating, "OIDs not increasing")],
    ids=["out-of-order", "repeating"],
)
def test_oids_out_of_order_or_repeating_mark_the_agent_down(
    handler: Callable[[bytes], bytes], reason: str, polling: Callable[..., Polling]
) -> None:
    port = _free_udp_port()
    with Responder("127.0.0.61", port, handler, reply_from="127.0.0.61"):
        result = polling({"h": v2c("h", port, community="hostile")}).cycle(
            [target("h", "127.0.0.61")]
        )["h"]
    assert not result.ok and reason in result.reason


def test_an_endless_table_is_cut_off_after_a_bounded_number_of_requests(
    polling: Callable[..., Polling],
) -> None:
    port = _free_udp_port()
    with Responder("127.0.0.62", port, endless, reply_from="127.0.0.62") as responder:
        started = time.monotonic()
        result = polling({"h": v2c("h", port, community="hostile")}).cycle(
            [target("h", "127.0.0.62")]
        )["h"]
    assert not result.ok
    assert "more than" in result.reason or "did not finish" in result.reason
    assert responder.requests <= 64 and time.monotonic() - started < 30


def test_a_reply_from_another_address_is_not_taken_for_the_agents(
    simulator: Simulator, polling: Callable[..., Polling]
) -> None:
    """The agent at .63 answers from .64: the reply is a stray datagram, the target
    times out with a reason, and a good agent polled in the same cycle is unaffected."""
    port = simulator.port  # the good agent (snmpsim) listens on 127.0.0.1 at this port
    hostile_port = _free_udp_port()
    honest = lambda request: _reply(request, [])  # noqa: E731 (a one-line handler)
    with Responder("127.0.0.63", hostile_port, honest, reply_from="127.0.0.64") as responder:
        poll = polling(
            {"h": v2c("h", hostile_port, community="hostile"), "noifx": v2c("noifx", port)},
            timeout=SILENT_TIMEOUT,
        )
        results = poll.cycle([target("h", "127.0.0.63"), target("noifx")])
    assert responder.requests >= 1
    assert not results["h"].ok and "no reply" in results["h"].reason
    assert results["noifx"].ok
    assert poll.poller._v2c is not None and poll.poller._v2c.stats.stray >= 1

"""Prometheus metrics, built at scrape time from the last completed cycle.

A custom collector (no global metric objects): every family is made fresh from an
immutable :class:`probes.model.Cycle`, so a scrape never sees half a cycle. Names follow
the Prometheus conventions — ``govnet_`` prefix, base units (``_seconds``, ``_bytes``,
``_ratio``), counters ending in ``_total``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from probes.model import Cycle, Reachability, Target
from probes.service import ProbeState

TARGET_LABELS = ["device", "site", "province", "tenant", "role"]
IF_LABELS = [*TARGET_LABELS, "ifname"]


def _labels(target: Target) -> list[str]:
    return [target.name, target.site, target.province, target.tenant, target.role]


Part = Literal["all", "polls", "events"]
PARTS: tuple[Part, ...] = ("all", "polls", "events")


class ProbeCollector(Collector):
    """``part``: ``polls`` — the cycles' results and the service's own counters; ``events``
    — what the trap and syslog receivers counted, which changes between cycles and is
    cheap to build, so the SOC scrapes it apart and more often; ``all`` — both."""

    def __init__(self, state: ProbeState, part: Part = "all") -> None:
        self.state = state
        self.part = part

    def collect(self) -> Iterator[Metric]:
        if self.part != "polls":
            yield from self._trap_metrics()
            yield from self._login_metrics()
        if self.part == "events":
            return
        cycle, overruns, cycles = self.state.snapshot()
        yield from self._self_metrics(cycle, overruns, cycles)
        if cycle is None:
            return
        yield from icmp_metrics(cycle)
        yield from snmp_metrics(cycle)
        yield from reachability_metrics(cycle)
        yield from tunnel_metrics(cycle)

    def _self_metrics(self, cycle: Cycle | None, overruns: int, cycles: int) -> Iterator[Metric]:
        plan = self.state.plan
        info = GaugeMetricFamily(
            "govnet_probe_shard_info",
            "The shard this poller runs (i of N, 1-based) and its target counts.",
            labels=["shard", "shards"],
        )
        info.add_metric([str(plan.shard.index), str(plan.shard.count)], 1.0)
        yield info
        yield CounterMetricFamily(
            "govnet_probe_overruns",
            "Cycles that took longer than the polling interval (or missed the deadline).",
            value=overruns,
        )
        yield CounterMetricFamily(
            "govnet_probe_cycles", "Polling cycles completed since start.", value=cycles
        )
        if cycle is None:
            return
        yield GaugeMetricFamily(
            "govnet_probe_cycle_duration_seconds",
            "Wall time of the last completed cycle.",
            value=cycle.seconds,
        )
        yield GaugeMetricFamily(
            "govnet_probe_cycle_cpu_seconds",
            "CPU time (this process and fping) spent in the last completed cycle.",
            value=cycle.cpu_seconds,
        )
        yield GaugeMetricFamily(
            "govnet_probe_last_cycle_timestamp_seconds",
            "Unix time the last completed cycle started.",
            value=cycle.started,
        )
        targets = GaugeMetricFamily(
            "govnet_probe_targets",
            "Targets of the last cycle: polled (every probe answered) or failed.",
            labels=["state"],
        )
        targets.add_metric(["polled"], cycle.polled)
        targets.add_metric(["failed"], cycle.failed)
        yield targets
        yield GaugeMetricFamily(
            "govnet_probe_snmp_values",
            "SNMP values decoded and kept in the last cycle.",
            value=cycle.snmp_values,
        )

    def _trap_metrics(self) -> Iterator[Metric]:
        store = self.state.traps
        traps = CounterMetricFamily(
            "govnet_snmp_traps",
            "SNMP notifications received (v2c traps, v3 informs), by source site.",
            labels=["site", "province", "trap"],
        )
        for (site, province, trap), count in sorted(store.counts().items()):
            traps.add_metric([site, province, trap], count)
        yield traps
        auth = CounterMetricFamily(
            "govnet_snmp_auth_failure_traps",
            "authenticationFailure notifications received, by device (_created: the first"
            " one); the requester is in govnet_snmp_auth_failures_total.",
            labels=["device", "site", "province"],
        )
        for where, (count, first) in sorted(store.auth_failures().items()):
            auth.add_metric(list(where), count, created=first)
        yield auth
        trap_up = GaugeMetricFamily(
            "govnet_if_trap_oper_up",
            "Interface state from the last linkUp/linkDown notification (1 up or admin down,"
            " 0 down), until a later poll overrules it.",
            labels=["device", "site", "province", "ifname"],
        )
        for key, (up, _) in sorted(store.interfaces().items()):
            trap_up.add_metric(list(key), 1 if up else 0)
        yield trap_up

    def _login_metrics(self) -> Iterator[Metric]:
        store = self.state.logins
        logins = CounterMetricFamily(
            "govnet_device_logins",
            "SSH/vtysh logins reported by the devices' syslog, by device, result and source"
            " (zone: inside the management prefixes or outside).",
            labels=["device", "site", "province", "result", "source", "zone"],
        )
        created = store.created()
        for key, count in sorted(store.logins().items()):
            logins.add_metric(list(key), count, created=created.get(key))
        yield logins
        auth = CounterMetricFamily(
            "govnet_snmp_auth_failures",
            "SNMP requests refused for a wrong community or v3 key, by device and the"
            " address the request came from, as the device's log names it (_created: the"
            " first one; source other: past the per-device bound of distinct sources).",
            labels=["device", "site", "province", "source"],
        )
        for requested, (count, first) in sorted(store.snmp_auth_failures().items()):
            auth.add_metric(list(requested), count, created=first)
        yield auth
        messages = CounterMetricFamily(
            "govnet_syslog_messages",
            "Syslog messages received, by outcome (ok, malformed, oversize, unknown_sender).",
            labels=["result"],
        )
        for result, count in sorted(store.messages().items()):
            messages.add_metric([result], count)
        yield messages


def icmp_metrics(cycle: Cycle) -> Iterator[Metric]:
    rtt = GaugeMetricFamily(
        "govnet_icmp_rtt_seconds",
        "ICMP echo round-trip time over the cycle's echoes.",
        labels=[*TARGET_LABELS, "stat"],
    )
    jitter = GaugeMetricFamily(
        "govnet_icmp_jitter_seconds",
        "Mean absolute difference of consecutive ICMP round-trip times.",
        labels=TARGET_LABELS,
    )
    loss = GaugeMetricFamily(
        "govnet_icmp_loss_ratio", "Share of ICMP echoes lost (0 to 1).", labels=TARGET_LABELS
    )
    for target in cycle.targets:
        result = cycle.icmp.get(target.name)
        if result is None:
            continue
        labels = _labels(target)
        loss.add_metric(labels, result.loss_ratio)
        for stat, value in (
            ("min", result.rtt_min),
            ("avg", result.rtt_avg),
            ("max", result.rtt_max),
        ):
            if value is not None:
                rtt.add_metric([*labels, stat], value)
        if result.jitter is not None:
            jitter.add_metric(labels, result.jitter)
    yield from (rtt, jitter, loss)


_IF_COUNTERS = (
    ("govnet_if_in_bytes", "in_octets", "Bytes received (ifHCInOctets)."),
    ("govnet_if_out_bytes", "out_octets", "Bytes sent (ifHCOutOctets)."),
    ("govnet_if_in_errors", "in_errors", "Inbound packets with errors (ifInErrors)."),
    ("govnet_if_out_errors", "out_errors", "Outbound packets with errors (ifOutErrors)."),
    ("govnet_if_in_discards", "in_discards", "Inbound packets discarded (ifInDiscards)."),
    ("govnet_if_out_discards", "out_discards", "Outbound packets discarded (ifOutDiscards)."),
)


def snmp_metrics(cycle: Cycle) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "govnet_snmp_up", "1 if the SNMP poll of the device succeeded.", labels=TARGET_LABELS
    )
    uptime = GaugeMetricFamily(
        "govnet_snmp_uptime_seconds", "Agent uptime (sysUpTime).", labels=TARGET_LABELS
    )
    duration = GaugeMetricFamily(
        "govnet_snmp_poll_duration_seconds",
        "Wall time of the device's SNMP poll.",
        labels=TARGET_LABELS,
    )
    oper = GaugeMetricFamily("govnet_if_oper_up", "1 if ifOperStatus is up.", labels=IF_LABELS)
    admin = GaugeMetricFamily("govnet_if_admin_up", "1 if ifAdminStatus is up.", labels=IF_LABELS)
    speed = GaugeMetricFamily(
        "govnet_if_speed_bytes_per_second",
        "Interface speed (ifHighSpeed × 10^6 / 8; base unit bytes, as promtool requires).",
        labels=IF_LABELS,
    )
    counters = {
        attr: CounterMetricFamily(name, text, labels=IF_LABELS) for name, attr, text in _IF_COUNTERS
    }
    for target in cycle.targets:
        result = cycle.snmp.get(target.name)
        if result is None:
            continue
        labels = _labels(target)
        up.add_metric(labels, 1.0 if result.ok else 0.0)
        duration.add_metric(labels, result.seconds)
        if not result.ok:
            continue
        if result.uptime_seconds is not None:
            uptime.add_metric(labels, result.uptime_seconds)
        seen: set[str] = set()
        for interface in result.interfaces:
            name = (
                interface.name
                if interface.name not in seen
                else f"{interface.name}#{interface.index}"
            )
            seen.add(name)
            if_labels = [*labels, name]
            if interface.oper_up is not None:
                oper.add_metric(if_labels, 1.0 if interface.oper_up else 0.0)
            if interface.admin_up is not None:
                admin.add_metric(if_labels, 1.0 if interface.admin_up else 0.0)
            if interface.speed_bps is not None:
                speed.add_metric(if_labels, interface.speed_bps / 8)
            for attr, family in counters.items():
                value = getattr(interface, attr)
                if value is not None:
                    family.add_metric(if_labels, value)
    yield from (up, uptime, duration, oper, admin, speed, *counters.values())


def reachability_metrics(cycle: Cycle) -> Iterator[Metric]:
    site_up = GaugeMetricFamily(
        "govnet_site_up", "1 if the device answered ICMP this cycle.", labels=TARGET_LABELS
    )
    upstream = GaugeMetricFamily(
        "govnet_site_upstream_down",
        "1 if every upstream parent of the device is down or unreachable (inhibit its alerts).",
        labels=TARGET_LABELS,
    )
    state = GaugeMetricFamily(
        "govnet_site_reachability",
        "1 for the device's reachability state: up, down (own fault) or unreachable.",
        labels=[*TARGET_LABELS, "state"],
    )
    for target in cycle.targets:
        current = cycle.reachability.get(target.name)
        if current is None:
            continue
        labels = _labels(target)
        site_up.add_metric(labels, 1.0 if current is Reachability.UP else 0.0)
        upstream.add_metric(labels, 1.0 if cycle.upstream_down.get(target.name) else 0.0)
        for option in Reachability:
            state.add_metric([*labels, option.value], 1.0 if option is current else 0.0)
    yield from (site_up, upstream, state)


TUNNEL_LABELS = ["tunnel", "mission", "datacentre"]


def tunnel_metrics(cycle: Cycle) -> Iterator[Metric]:
    """RTT and loss across each mission tunnel (the mission's overlay address on it)."""
    rtt = GaugeMetricFamily(
        "govnet_tunnel_rtt_seconds",
        "ICMP round-trip time from the NMS across a mission's IPsec tunnel.",
        labels=[*TUNNEL_LABELS, "stat"],
    )
    loss = GaugeMetricFamily(
        "govnet_tunnel_loss_ratio",
        "Share of ICMP echoes lost across a mission's IPsec tunnel (0 to 1).",
        labels=TUNNEL_LABELS,
    )
    for target in cycle.tunnels:
        result = cycle.tunnel_icmp.get(target.name)
        if result is None:
            continue
        labels = [target.name, target.site, target.province]
        loss.add_metric(labels, result.loss_ratio)
        for stat, value in (
            ("min", result.rtt_min),
            ("avg", result.rtt_avg),
            ("max", result.rtt_max),
        ):
            if value is not None:
                rtt.add_metric([*labels, stat], value)
    yield from (rtt, loss)

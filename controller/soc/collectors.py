"""Regional collectors and the central long-term store (pure configuration).

A collector is a probe shard (``govnet probe serve --collector NAME``) and a Prometheus in
agent mode beside it that scrapes it on the collector's own loopback and remote-writes to
the central store. The agent's write-ahead log is the on-disk buffer: while the uplink is
down the agent keeps scraping and the remote-write queue retries, and when it heals the
backlog is sent in order — the store receives every sample, late but whole.

The central store is the SOC's Prometheus with the remote-write receiver and the SLA
retention (``collectors.store.retention``, at least 400 days), loading every rule file of
``soc/rules`` as before. In a lab each daemon runs in its node's network namespace and
listens on the node's loopback address (the store) or on the namespace's 127.0.0.1 (a
collector's probe and agent); without a lab, everything is on 127.0.0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.errors import UsageError
from controller.inventory.model import Collector, Collectors, Inventory
from controller.soc.config import probe_jobs
from controller.soc.settings import LOOPBACK

AGENT_JOB = "govnet-agent"
# The remote-write queue: retries forever on connection errors (the samples stay in the
# WAL), at most 30 s between tries, so a healed uplink is noticed within half a minute.
QUEUE_CONFIG = {
    "capacity": 10000,
    "max_shards": 10,
    "min_shards": 1,
    "max_samples_per_send": 2000,
    "batch_send_deadline": "5s",
    "min_backoff": "1s",
    "max_backoff": "30s",
}


@dataclass(frozen=True)
class Placement:
    """Where the daemons run: a lab's node namespaces (``clab-<lab>-<device>``), or this
    machine's loopback (``lab`` None)."""

    inventory: Inventory
    lab: str | None = None

    @property
    def section(self) -> Collectors:
        if self.inventory.collectors is None:
            raise UsageError(
                f"inventory {self.inventory.network.name!r} has no collectors section"
                " (see inventory/lab/collectors.yaml)"
            )
        return self.inventory.collectors

    def netns(self, device: str) -> str | None:
        return f"clab-{self.lab}-{device}" if self.lab else None

    def address(self, device: str) -> str:
        """The address others reach a daemon of ``device`` on: its loopback in a lab."""
        if self.lab is None:
            return LOOPBACK
        found = self.inventory.device(device)
        return str(found.loopback or found.mgmt)

    def store_listen(self, loopback_port: int) -> tuple[str, int]:
        store = self.section.store
        if self.lab is None:
            return LOOPBACK, loopback_port
        return self.address(store.device), store.port

    def remote_write_url(self, loopback_port: int) -> str:
        host, port = self.store_listen(loopback_port)
        return f"http://{host}:{port}/api/v1/write"


def agent_config(
    collector: Collector, remote_write_url: str, interval: int, events_interval: int
) -> dict[str, Any]:
    """The agent beside a probe shard: scrape it (its cycles' results every ``interval``,
    its trap and syslog counters every ``events_interval``) and itself on loopback,
    remote-write everything, labelled with the collector's name."""
    scrape = f"{interval}s"
    return {
        "global": {
            "scrape_interval": scrape,
            "scrape_timeout": f"{min(interval, 10)}s",
            "external_labels": {"collector": collector.name},
        },
        "scrape_configs": [
            *probe_jobs(
                {"static_configs": [{"targets": [f"{LOOPBACK}:{collector.probe_port}"]}]},
                interval,
                events_interval,
            ),
            {
                "job_name": AGENT_JOB,
                "static_configs": [{"targets": [f"{LOOPBACK}:{collector.agent_port}"]}],
            },
        ],
        "remote_write": [
            {
                "url": remote_write_url,
                "name": "central",
                "remote_timeout": "30s",
                "queue_config": dict(QUEUE_CONFIG),
                "metadata_config": {"send": True, "send_interval": "1m"},
            }
        ],
    }


def agent_argv(
    prometheus: str, collector: Collector, config: str, wal: str, max_buffer: str = "72h"
) -> list[str]:
    """Prometheus in agent mode; ``max_buffer``: the longest uplink cut it outlasts."""
    return [
        prometheus,
        "--enable-feature=agent",
        f"--config.file={config}",
        f"--storage.agent.path={wal}",
        "--storage.agent.wal-compression",
        f"--storage.agent.retention.max-time={max_buffer}",
        f"--web.listen-address={LOOPBACK}:{collector.agent_port}",
    ]


def probe_argv(
    python: str,
    inventory: str,
    collector: Collector,
    interval: int,
    netns: str | None,
    traps_file: str,
    ipsec_dir: str | None = None,
) -> list[str]:
    """``govnet probe serve`` for one collector (its probe shard, /metrics on loopback;
    with ``ipsec_dir``, the missions' IPsec tunnels too)."""
    return [
        python,
        "-m",
        "controller.cli",
        "probe",
        "serve",
        "-i",
        inventory,
        "--collector",
        collector.name,
        "--interval",
        str(interval),
        "--listen",
        f"{LOOPBACK}:{collector.probe_port}",
        *(["--netns", netns] if netns else []),
        "--traps-listen",
        "off",
        "--syslog-listen",
        "off",
        "--traps-file",
        traps_file,
        *(["--ipsec-dir", ipsec_dir] if ipsec_dir else []),
    ]

"""What the operator chose for the SOC back end, validated once."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from controller.errors import UsageError
from controller.resources import bundled

RULES_DIR = bundled("soc", "rules")
ALERTMANAGER_CONFIG = bundled("soc", "alertmanager.yml")
LOOPBACK = "127.0.0.1"

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_RETENTION = re.compile(r"^[1-9][0-9]{0,5}(ms|s|m|h|d|w|y)$")
_SIZE = re.compile(r"^[1-9][0-9]{0,5}(B|KB|MB|GB|TB|PB)$")


def is_rule_test(path: Path) -> bool:
    """promtool unit-test files: ``tests/*.test.yml`` (ours) or ``*_test.yml`` beside the rules."""
    return path.name.endswith(("_test.yml", ".test.yml"))


def rule_files(rules_dir: Path) -> list[Path]:
    """The rule files Prometheus loads: ``*.yml`` of the rules directory, tests excluded."""
    return sorted(p for p in rules_dir.glob("*.yml") if not is_rule_test(p))


def rule_test_files(rules_dir: Path) -> list[Path]:
    """Every promtool unit-test file of the rules directory."""
    found = [*rules_dir.glob("tests/*.test.yml"), *rules_dir.glob("*.yml")]
    return sorted(p for p in found if is_rule_test(p))


def parse_target(text: str, option: str = "--probe") -> str:
    """A scrape target ``HOST:PORT`` (IPv4 address or DNS name) → normalised text."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise UsageError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9500")
    port = int(port_text)
    if not 0 < port < 65536:
        raise UsageError(f"{option} {text!r}: port must be 1-65535")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        if not _HOSTNAME.match(host):
            raise UsageError(
                f"{option} {text!r}: {host!r} is not an IPv4 address or host name"
            ) from None
    return f"{host}:{port}"


def check_port(port: int, option: str) -> int:
    if not 1024 <= port <= 65535:
        raise UsageError(f"{option} {port}: choose a port between 1024 and 65535")
    return port


@dataclass(frozen=True)
class SocSettings:
    """The SOC back end: where it keeps its state, which ports it listens on (always
    127.0.0.1), what it scrapes and how long it keeps data."""

    state_dir: Path = Path(".govnet")
    probes: tuple[str, ...] = ()
    probes_file: Path | None = None
    drift_files: tuple[Path, ...] = ()
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    textfile_port: int = 9501
    scrape_interval: int = 10
    evaluation_interval: int = 10
    # The probes' trap and syslog counters (/metrics/events): small, and what the trap
    # path waits for, so scraped apart and more often than the cycles' results (never
    # less often: see ``controller.soc.config.probe_jobs``).
    events_interval: int = 2
    retention: str = "15d"
    retention_size: str | None = None
    alert_retention: str = "120h"
    rules_dir: Path = RULES_DIR
    alertmanager_config: Path = ALERTMANAGER_CONFIG
    # High availability: more Alertmanagers (web on the ports after alertmanager_port
    # unless alertmanager_ports names them), in a gossip cluster on loopback so that each
    # alert group is notified once; Prometheus sends every alert to all of them.
    alertmanagers: int = 1
    alertmanager_ports: tuple[int, ...] = ()  # default: alertmanager_port, +1, +2
    cluster_ports: tuple[int, ...] = ()  # gossip; default: 9094, 9095, 9096
    peer_timeout: str = "15s"  # how long a peer waits for the one before it to notify
    # Regional collectors (the inventory's collectors section): Prometheus becomes the
    # central store they remote-write to; in a lab (its name), on the store's node.
    collectors: bool = False
    lab: str | None = None
    # In a lab with missions: its directory (<lab-dir>/<node>/ipsec/), from which the
    # collector that pings the missions' tunnels also exports their IPsec state.
    ipsec_dir: Path | None = None

    def __post_init__(self) -> None:
        for option, port in (
            ("--prometheus-port", self.prometheus_port),
            ("--alertmanager-port", self.alertmanager_port),
            ("--textfile-port", self.textfile_port),
        ):
            check_port(port, option)
        if not 1 <= self.alertmanagers <= 5:
            raise UsageError(f"--alertmanagers {self.alertmanagers}: choose 1 to 5")
        for option, given in (
            ("alertmanager ports", self.alertmanager_ports),
            ("cluster ports", self.cluster_ports),
        ):
            if given and len(given) != self.alertmanagers:
                raise UsageError(f"{option}: {len(given)} given for {self.alertmanagers} peers")
            for port in given:
                check_port(port, option)
        if not _RETENTION.match(self.peer_timeout):
            raise UsageError(f"--peer-timeout {self.peer_timeout!r}: a duration such as 15s")
        ports = [self.prometheus_port, self.textfile_port, *self.am_ports]
        ports += list(self.gossip_ports) if self.alertmanagers > 1 else []
        if len(set(ports)) != len(ports):
            raise UsageError(
                "Prometheus, each Alertmanager (web and gossip) and the textfile exporter"
                " need different ports"
            )
        for option, seconds in (
            ("--scrape-interval", self.scrape_interval),
            ("--eval-interval", self.evaluation_interval),
            ("--events-interval", self.events_interval),
        ):
            if not 1 <= seconds <= 300:
                raise UsageError(f"{option} {seconds}: choose 1 to 300 seconds")
        if not _RETENTION.match(self.retention):
            raise UsageError(f"--retention {self.retention!r}: a duration such as 15d or 720h")
        if not _RETENTION.match(self.alert_retention):
            raise UsageError(f"--alert-retention {self.alert_retention!r}: a duration such as 120h")
        if self.retention_size is not None and not _SIZE.match(self.retention_size):
            raise UsageError(
                f"--retention-size {self.retention_size!r}: a size such as 2GB or 500MB"
            )
        for target in self.probes:
            parse_target(target)
        if not self.rules_dir.is_dir():
            raise UsageError(f"{self.rules_dir}: no rules directory")
        if not self.alertmanager_config.is_file():
            raise UsageError(f"{self.alertmanager_config}: no Alertmanager configuration")

    @property
    def soc_dir(self) -> Path:
        return self.state_dir / "soc"

    @property
    def textfile_dir(self) -> Path:
        return self.soc_dir / "textfile"

    @property
    def prometheus_url(self) -> str:
        return f"http://{LOOPBACK}:{self.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://{LOOPBACK}:{self.am_ports[0]}"

    @property
    def am_ports(self) -> tuple[int, ...]:
        """Each Alertmanager's web port (the first is ``alertmanager_port``)."""
        if self.alertmanager_ports:
            return self.alertmanager_ports
        return tuple(self.alertmanager_port + i for i in range(self.alertmanagers))

    @property
    def gossip_ports(self) -> tuple[int, ...]:
        return self.cluster_ports or tuple(9094 + i for i in range(self.alertmanagers))

    @property
    def alertmanager_names(self) -> tuple[str, ...]:
        """Component names: ``alertmanager``, then ``alertmanager-2`` …"""
        return tuple(
            "alertmanager" if i == 0 else f"alertmanager-{i + 1}" for i in range(self.alertmanagers)
        )

    @property
    def textfile_url(self) -> str:
        return f"http://{LOOPBACK}:{self.textfile_port}"

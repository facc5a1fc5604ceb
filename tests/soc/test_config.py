"""Pure configuration: settings validation, prometheus.yml, file_sd, inventory info."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.errors import UsageError
from controller.inventory import load_inventory
from controller.inventory.model import Collector
from controller.soc.collectors import agent_config
from controller.soc.config import file_sd, probe_targets, prometheus_config, read_probes_file
from controller.soc.info import inventory_textfile, link_info
from controller.soc.settings import SocSettings, rule_files, rule_test_files
from tests.conftest import ROOT


def test_prometheus_config_scrapes_shards_textfile_and_itself_on_loopback(tmp_path: Path) -> None:
    settings = SocSettings(state_dir=tmp_path, probes=("127.0.0.1:9500",), scrape_interval=15)
    config = prometheus_config(settings, tmp_path / "probes.json", tmp_path / "rules")
    assert config["global"]["scrape_interval"] == "15s"
    assert config["global"]["scrape_timeout"] == "10s"
    assert config["rule_files"] == [str((tmp_path / "rules").resolve() / "*.yml")]
    (am,) = config["alerting"]["alertmanagers"]
    assert am["static_configs"][0]["targets"] == ["127.0.0.1:9093"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {
        "govnet-probes",
        "govnet-events",
        "govnet-textfile",
        "prometheus",
        "alertmanager",
    }
    for name in ("govnet-probes", "govnet-events"):
        assert jobs[name]["file_sd_configs"][0]["files"] == [
            str((tmp_path / "probes.json").resolve())
        ]
    for name in ("govnet-textfile", "prometheus", "alertmanager"):
        assert jobs[name]["static_configs"][0]["targets"][0].startswith("127.0.0.1:")


def test_the_probes_trap_and_syslog_counters_are_scraped_apart_and_more_often(
    tmp_path: Path,
) -> None:
    """What a trap-driven alert waits for is scraped every --events-interval (2 s), apart
    from the cycles' results: the same shards, two paths, no series in both."""
    settings = SocSettings(state_dir=tmp_path, probes=("127.0.0.1:9500",), scrape_interval=15)
    config = prometheus_config(settings, tmp_path / "probes.json", tmp_path / "rules")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["govnet-probes"]["metrics_path"] == "/metrics/polls"
    assert "scrape_interval" not in jobs["govnet-probes"]  # the global 15 s
    events = jobs["govnet-events"]
    assert events["metrics_path"] == "/metrics/events"
    assert (events["scrape_interval"], events["scrape_timeout"]) == ("2s", "2s")
    slower = SocSettings(state_dir=tmp_path, scrape_interval=30, events_interval=5)
    config = prometheus_config(slower, tmp_path / "probes.json", tmp_path / "rules")
    (events,) = [j for j in config["scrape_configs"] if j["job_name"] == "govnet-events"]
    assert events["scrape_interval"] == "5s"
    fast = SocSettings(state_dir=tmp_path, scrape_interval=1, evaluation_interval=1)
    config = prometheus_config(fast, tmp_path / "probes.json", tmp_path / "rules")
    (events,) = [j for j in config["scrape_configs"] if j["job_name"] == "govnet-events"]
    assert events["scrape_interval"] == "1s"  # never less often than the rest


def test_probe_shards_from_options_and_a_file(tmp_path: Path) -> None:
    listing = tmp_path / "probes.txt"
    listing.write_text("# shards\n127.0.0.1:9501\n\nnms-dr.gov.kh:9500  # at DR\n127.0.0.1:9500\n")
    settings = SocSettings(state_dir=tmp_path, probes=("127.0.0.1:9500",), probes_file=listing)
    targets = probe_targets(settings)
    assert targets == ["127.0.0.1:9500", "127.0.0.1:9501", "nms-dr.gov.kh:9500"]
    assert file_sd(targets)[2] == {"targets": ["nms-dr.gov.kh:9500"], "labels": {"shard": "3"}}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("9500", "expected HOST:PORT"),
        ("127.0.0.1:99999", "port must be 1-65535"),
        ("bad host!:9500", "not an IPv4 address or host name"),
    ],
)
def test_a_bad_probes_file_line_is_located(tmp_path: Path, line: str, message: str) -> None:
    listing = tmp_path / "probes.txt"
    listing.write_text(f"127.0.0.1:9500\n{line}\n")
    with pytest.raises(UsageError, match=rf"probes.txt:2:.*{message}"):
        read_probes_file(listing)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"prometheus_port": 80}, "between 1024 and 65535"),
        ({"prometheus_port": 9093}, "need different ports"),
        ({"scrape_interval": 0}, "1 to 300 seconds"),
        ({"events_interval": 0}, "--events-interval 0: choose 1 to 300 seconds"),
        ({"retention": "forever"}, "a duration such as 15d"),
        ({"retention_size": "lots"}, "a size such as 2GB"),
        ({"probes": ("nowhere",)}, "expected HOST:PORT"),
        ({"rules_dir": Path("/nonexistent")}, "no rules directory"),
    ],
)
def test_settings_are_validated(tmp_path: Path, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        SocSettings(state_dir=tmp_path, **overrides)  # type: ignore[arg-type]


def test_rule_and_test_files_are_told_apart() -> None:
    rules = {p.name for p in rule_files(ROOT / "soc/rules")}
    assert {"sites.yml", "links.yml", "security.yml", "platform.yml", "static.yml"} <= rules
    assert not any(name.endswith(("_test.yml", ".test.yml")) for name in rules)
    tests = {p.name for p in rule_test_files(ROOT / "soc/rules")}
    assert {"sites.test.yml", "links.test.yml"} <= tests


def test_link_info_carries_the_served_end() -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    lines = list(link_info(inv))
    uplink = [line for line in lines if 'link="core-1:eth5--pr-kh2:eth1"' in line]
    assert len(uplink) == 2  # one series per end
    for line in uplink:
        assert (
            'province="KH-2"' in line
            and 'site="KH-2"' in line
            and 'link_kind="province-core"' in line
        )
    assert any('device="core-1",ifname="eth5"' in line for line in uplink)
    ndc_dr = next(line for line in lines if 'link_kind="dc-interconnect"' in line)
    assert 'site="DR"' in ndc_dr
    mef = next(line for line in lines if 'peer="mr-mef"' in line)
    assert 'tenant="MEF"' in mef
    commune = next(line for line in lines if 'peer="cpe-020301"' in line)
    assert 'site="020301"' in commune and 'province="KH-2"' in commune


def test_the_inventory_textfile_parses_as_prometheus_text() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    text = inventory_textfile(load_inventory(ROOT / "inventory/lab"))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert len(families["govnet_device_info"].samples) == 25
    assert len(families["govnet_link_info"].samples) == 2 * 24


def test_a_collectors_agent_scrapes_its_shards_two_paths_and_itself() -> None:
    collector = Collector(name="east", device="nms-1", probe_port=9600, agent_port=9601)
    config = agent_config(collector, "http://10.0.0.1:9090/api/v1/write", 10, 2)
    assert config["global"]["external_labels"] == {"collector": "east"}
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["govnet-probes"]["metrics_path"] == "/metrics/polls"
    assert jobs["govnet-events"]["metrics_path"] == "/metrics/events"
    assert jobs["govnet-events"]["scrape_interval"] == "2s"
    for name in ("govnet-probes", "govnet-events"):
        assert jobs[name]["static_configs"] == [{"targets": ["127.0.0.1:9600"]}]
    assert jobs["govnet-agent"]["static_configs"] == [{"targets": ["127.0.0.1:9601"]}]
    (remote,) = config["remote_write"]
    assert remote["url"] == "http://10.0.0.1:9090/api/v1/write"

"""`govnet probe targets|traps` and option errors, through the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import ROOT
from tests.probes.conftest import CPES, ENV, govnet, govnet_argv, write_inventory


def test_targets_json_lists_parents_and_profiles() -> None:
    result = govnet("probe", "targets", "--json", "-i", str(ROOT / "inventory/lab"))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["shard"] == "1/1" and len(data["targets"]) == 23
    pr = next(t for t in data["targets"] if t["device"] == "pr-kh17")
    assert pr["parents"] == ["core-1", "dr-1"] and pr["snmp_version"] == "3"


def test_targets_of_a_shard() -> None:
    counts = []
    for i in (1, 2, 3):
        result = govnet("probe", "targets", "--json", "--shard", f"{i}/3", "-i", "inventory/lab")
        assert result.returncode == 0, result.stderr
        counts.append(len(json.loads(result.stdout)["targets"]))
    assert sum(counts) == 23


def test_targets_table_is_readable() -> None:
    result = govnet("probe", "targets", "-i", "inventory/lab")
    assert result.returncode == 0, result.stderr
    assert "pr-kh17" in result.stdout and "23 targets (shard 1/1)" in result.stdout


def test_traps_without_a_trap_file_is_one_line(tmp_path: Path) -> None:
    result = govnet("probe", "traps", "--file", str(tmp_path / "none.json"))
    assert result.returncode == 2 and "no trap file" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_traps_reads_events(tmp_path: Path) -> None:
    path = tmp_path / "traps.json"
    event = {
        "time": 1.0,
        "source": "10.0.0.1",
        "device": "pr-kh2",
        "site": "KH-2",
        "province": "KH-2",
        "trap": "linkDown",
        "oid": "1.3.6.1.6.3.1.1.5.3",
        "version": "2c",
        "detail": {},
    }
    path.write_text(json.dumps({"generated": 2.0, "events": [event]}))
    table = govnet("probe", "traps", "--file", str(path))
    assert table.returncode == 0 and "linkDown" in table.stdout and "pr-kh2" in table.stdout
    assert "refused SNMP requests" not in table.stdout
    as_json = govnet("probe", "traps", "--json", "--file", str(path))
    assert json.loads(as_json.stdout) == {"events": [event], "snmp_auth_failures": []}


def test_traps_shows_the_refused_snmp_requests_by_requester(tmp_path: Path) -> None:
    path = tmp_path / "traps.json"
    refused = {
        "time": 1.0,
        "device": "pr-kh12",
        "site": "KH-12",
        "province": "KH-12",
        "source": "198.51.100.7",
        "zone": "outside",
    }
    path.write_text(json.dumps({"generated": 2.0, "events": [], "snmp_auth_failures": [refused]}))
    table = govnet("probe", "traps", "--file", str(path))
    assert table.returncode == 0, table.stderr
    assert "refused SNMP requests" in table.stdout and "198.51.100.7" in table.stdout
    as_json = govnet("probe", "traps", "--json", "--file", str(path))
    assert json.loads(as_json.stdout)["snmp_auth_failures"] == [refused]


def test_a_missing_secret_is_one_line_naming_the_reference(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, CPES)  # loopback only: nothing could leave
    env = {k: v for k, v in os.environ.items() if k != "GOVNET_TEST_SNMP_AUTH"}
    env.update({k: v for k, v in ENV.items() if k != "GOVNET_TEST_SNMP_AUTH"})
    result = subprocess.run(
        govnet_argv("probe", "run", "-i", str(inventory)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.strip().endswith(
        "credentials.snmp.v3.auth: env:GOVNET_TEST_SNMP_AUTH: environment variable "
        "GOVNET_TEST_SNMP_AUTH is not set"
    )
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_bad_numeric_options_are_one_line(tmp_path: Path) -> None:
    inventory = write_inventory(tmp_path, CPES)
    result = govnet("probe", "run", "-i", str(inventory), "--snmp-timeout", "0")
    assert result.returncode == 2 and "--snmp-timeout" in result.stderr


def _unstarted_lab(tmp_path: Path) -> Path:
    """The shipped lab topology under a lab name that is never up."""
    text = (ROOT / "topologies/lab.clab.yml").read_text(encoding="utf-8")
    path = tmp_path / "notup.clab.yml"
    path.write_text(text.replace("name: lab\n", "name: gvnotup\n", 1), encoding="utf-8")
    return path


def test_lab_means_from_the_labs_nms_namespace_with_its_secret_defaults(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVNET_LAB_")}
    result = subprocess.run(
        govnet_argv("probe", "run", "-i", "inventory/lab", "--lab", str(_unstarted_lab(tmp_path))),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    # No lab secret missing (the topology's defaults): it goes for the lab's NMS node.
    assert result.returncode == 2, result.stderr
    assert "--netns clab-gvnotup-nms-1: no such network namespace" in result.stderr
    assert "GOVNET_LAB_" not in result.stderr and "Traceback" not in result.stderr


def test_lab_and_no_netns_exclude_each_other(tmp_path: Path) -> None:
    lab = str(_unstarted_lab(tmp_path))
    result = govnet("probe", "run", "-i", "inventory/lab", "--lab", lab, "--no-netns")
    assert result.returncode == 2 and "--lab and --no-netns exclude each other" in result.stderr


def test_targets_of_a_collector_are_its_regions_sites() -> None:
    result = govnet(
        "probe", "targets", "--json", "--collector", "battambang", "-i", "inventory/lab"
    )
    assert result.returncode == 0, result.stderr
    names = sorted(t["device"] for t in json.loads(result.stdout)["targets"])
    assert names == ["cpe-020101", "cpe-020102", "cpe-020301", "cpe-020302", "pr-kh2"]


def test_collector_and_shard_exclude_each_other_in_one_line() -> None:
    result = govnet("probe", "serve", "--collector", "ndc", "--shard", "1/2", "-i", "inventory/lab")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --collector and --shard exclude each other"

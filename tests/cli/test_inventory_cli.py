"""`govnet inventory …` as a user runs it: exit codes, one-line errors, JSON, exports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

from controller.cli.main import app
from tests.conftest import ROOT, require

runner = CliRunner()
GOVNET = [sys.executable, "-c", "from controller.cli.main import run; run()"]


def govnet(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess (the error boundary included)."""
    return subprocess.run(
        [*GOVNET, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_validate_a_clean_inventory_prints_one_summary_line_and_exits_0() -> None:
    result = govnet("inventory", "validate", "-i", "inventory/cambodia")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert "25 provinces, 1652 communes, 29 tenants" in lines[0]


def test_validate_a_bad_inventory_lists_every_problem_and_exits_1() -> None:
    result = govnet("inventory", "validate", "-i", "tests/inventory/errors/vlan_problems.yaml")
    assert result.returncode == 1
    expected = (ROOT / "tests/inventory/errors/vlan_problems.log").read_text()
    assert result.stdout == expected
    assert "4 problems" in result.stderr and "Traceback" not in result.stderr


def test_the_global_inventory_option_and_its_environment_variable() -> None:
    by_env = govnet("inventory", "validate", env={"GOVNET_INVENTORY": "inventory/lab"})
    by_flag = govnet("-i", "inventory/lab", "inventory", "validate")
    assert by_env.returncode == by_flag.returncode == 0
    assert "12 communes" in by_env.stdout and "12 communes" in by_flag.stdout


def test_a_command_on_a_broken_inventory_fails_with_located_lines_not_a_traceback() -> None:
    result = govnet("inventory", "show", "-i", "tests/inventory/errors/inline_secrets.yaml")
    assert result.returncode == 1
    assert "inline_secrets.yaml:46: credentials.snmp.v3.auth" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_missing_inventory_is_a_one_line_error() -> None:
    result = govnet("inventory", "show", "-i", "no/such/place")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "error: the inventory has 1 problem(s)"
    assert "no/such/place: no such file or folder" in result.stderr


def test_show_json_counts_by_kind_and_province() -> None:
    result = runner.invoke(app, ["inventory", "show", "--json", "-i", str(ROOT / "inventory/lab")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["communes"] == 12
    by_code = {p["code"]: p for p in data["provinces"]}
    assert by_code["KH-12"]["communes"] == 4 and by_code["KH-12"]["sangkats"] == 4


def test_show_prints_tables_for_people() -> None:
    result = runner.invoke(app, ["inventory", "show", "-i", str(ROOT / "inventory/lab")])
    assert result.exit_code == 0
    assert "Phnom Penh" in result.stdout and "province-router" in result.stdout


def test_validate_json_reports_problems_as_objects() -> None:
    case = ROOT / "tests/inventory/errors/rack_unit_collision.yaml"
    result = runner.invoke(app, ["inventory", "validate", "--json", "-i", str(case)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert {p["field"] for p in data["problems"]} == {"hosting[h-2].first_u", "hosting[h-3].units"}


def test_export_ansible_is_accepted_by_ansible_inventory(tmp_path: Path) -> None:
    out = tmp_path / "hosts.yml"
    result = govnet("inventory", "export", "ansible", "-i", "inventory/cambodia", "-o", str(out))
    assert result.returncode == 0, result.stderr
    tool = Path(sys.executable).parent / "ansible-inventory"
    require(tool.exists(), "ansible-inventory (ansible-core) is not installed")
    listed = subprocess.run(
        [str(tool), "-i", str(out), "--list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
            "ANSIBLE_LOCAL_TEMP": str(tmp_path),
        },
    )
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert len(data["_meta"]["hostvars"]) == 1785
    assert "pr-kh12" in data["role_province_router"]["hosts"]
    assert "cpe-120101" in data["province_kh_12"]["hosts"]
    assert data["_meta"]["hostvars"]["mr-mef"]["govnet_tenant"] == "MEF"


def test_export_writes_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    out = tmp_path / "hosts.yml"
    result = runner.invoke(
        app, ["inventory", "export", "ansible", "-i", str(ROOT / "inventory/lab"), "-o", str(out)]
    )
    assert result.exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["hosts.yml"]
    assert "core-1" in yaml.safe_load(out.read_text())["all"]["hosts"]


def test_schema_is_json_schema_for_the_whole_inventory() -> None:
    result = runner.invoke(app, ["inventory", "schema"])
    schema = json.loads(result.stdout)
    assert {"devices", "links", "pools", "credentials"} <= set(schema["properties"])


def test_version_and_help() -> None:
    assert runner.invoke(app, ["--version"]).stdout.startswith("govnet ")
    helped = runner.invoke(app, ["inventory", "--help"])
    assert "validate" in helped.stdout and "export" in helped.stdout

"""`govnet hosting …` as an engineer and a focal officer use it: the workflow, JSON
everywhere, one red line for every mistake, and nothing written when input is bad."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from controller.cli import hosting
from controller.inventory import validate_inventory
from tests.hosting.conftest import LAB_INVENTORY, REQUEST_OPTIONS, Workspace

runner = CliRunner()
root = typer.Typer()
root.add_typer(hosting.app, name="hosting")


@root.callback()
def _root() -> None:
    """Test root."""


GOOD = REQUEST_OPTIONS


def run(ws: Workspace, *args: str) -> Any:
    """An in-process CLI call that must succeed; its --json output."""
    command, rest = args[0], args[1:]
    result = runner.invoke(
        root,
        [
            "hosting",
            command,
            "-i",
            str(ws.inventory),
            "--state-dir",
            str(ws.state),
            *rest,
            "--json",
        ],
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def db_rows(ws: Workspace) -> list[tuple[object, ...]]:
    path = ws.state / "hosting.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        return [
            *conn.execute("SELECT * FROM requests ORDER BY id"),
            *conn.execute("SELECT * FROM events ORDER BY id"),
            *conn.execute("SELECT * FROM allocations ORDER BY id"),
        ]


def test_request_list_show_approve_then_the_inventory_still_validates(lab_copy: Workspace) -> None:
    before = lab_copy.hosting_yaml.read_text()
    made = run(lab_copy, "request", *GOOD, "--site", "both")
    assert isinstance(made, dict)
    assert (made["id"], made["state"], made["site"], made["units"]) == (1, "submitted", "both", 2)
    assert made["created_by"] and made["events"][0]["action"] == "submit"
    listed = run(lab_copy, "list")
    assert [(r["id"], r["state"]) for r in listed] == [(1, "submitted")]

    approved = run(lab_copy, "approve", "1", "--reason", "fits the plan")
    assert isinstance(approved, dict)
    assert approved["state"] == "approved"
    allocs = approved["allocations"]
    assert [(a["id"], a["datacentre"], a.get("mirror_of")) for a in allocs] == [
        ("h-0003", "NDC", None),
        ("h-0004", "DR", "h-0003"),
    ]
    last = approved["events"][-1]
    assert (last["action"], last["from"], last["to"], last["why"]) == (
        "approve",
        "submitted",
        "approved",
        "fits the plan",
    )
    after = lab_copy.hosting_yaml.read_text()
    assert after.startswith(before)
    assert after[len(before) :].count("  - {id: h-") == 2
    assert validate_inventory(lab_copy.inventory).ok
    shown = run(lab_copy, "show", "1")
    assert shown == {**approved, "updated_at": shown["updated_at"]}
    assert not list(lab_copy.inventory.glob(".hosting.yaml.*.tmp"))


def test_reject_needs_a_reason_and_ends_the_request(lab_copy: Workspace) -> None:
    run(lab_copy, "request", *GOOD)
    result = runner.invoke(
        root,
        [
            "hosting",
            "reject",
            "1",
            "-i",
            str(lab_copy.inventory),
            "--state-dir",
            str(lab_copy.state),
            "--reason",
            " ",
        ],
    )
    assert result.exit_code != 0 and "reason: is required" in str(result.exception)
    rejected = run(lab_copy, "reject", "1", "--reason", "use the shared cluster")
    assert rejected["state"] == "rejected"
    assert rejected["events"][-1]["why"] == "use the shared cluster"
    again = lab_copy.cli("approve", "1")
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "error: request 1 is rejected: only a request that is submitted can be approved"
    )


def test_a_request_that_does_not_fit_stays_submitted_and_says_why(lab_copy: Workspace) -> None:
    before = lab_copy.hosting_yaml.read_bytes()
    big = [*GOOD]
    big[big.index("--power") + 1] = "9"  # racks have 8 kW
    run(lab_copy, "request", *big)
    result = lab_copy.cli("approve", "1")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: no rack in NDC has 2 contiguous free U with 9.0 kW headroom: "
        "best is A02 with 42 U free and 8.0 kW headroom"
    )
    assert "Traceback" not in result.stderr
    assert lab_copy.hosting_yaml.read_bytes() == before
    shown = run(lab_copy, "show", "1")
    assert shown["state"] == "submitted"
    refused = shown["events"][-1]
    assert refused["action"] == "approve-refused" and "best is A02" in refused["why"]


BAD_INPUT = {
    "negative units": (["--units", "-3"], "--units: must be at least 1"),
    "power not a number": (["--power", "lots"], "--power: must be a number"),
    "oversized contact": (["--contact", "x" * 5000], "--contact: must be at most 200 characters"),
    "script tag": (
        ["--justification", "<script>alert('x')</script> we need servers"],
        "--justification: looks like HTML markup (<…>); write plain text",
    ),
    "unknown tenant": (
        ["--tenant", "MoX"],
        "--tenant: unknown tenant 'MoX' (known: MEF, MPTC, MoH)",
    ),
    "unknown service": (["--service", "Payroll"], "--service: MoH has no service 'Payroll'"),
    "control characters only": (["--contact", "\x1b\x07"], "--contact: is required"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_red_line_and_nothing_is_written(lab_copy: Workspace, case: str) -> None:
    run(lab_copy, "request", *GOOD)  # the database exists and holds a request
    yaml_before = lab_copy.hosting_yaml.read_bytes()
    rows_before = db_rows(lab_copy)
    change, expected = BAD_INPUT[case]
    args = [*GOOD]
    for i in range(0, len(change), 2):
        args[args.index(change[i]) + 1] = change[i + 1]
    result = lab_copy.cli("request", *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid hosting request: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
    assert lab_copy.hosting_yaml.read_bytes() == yaml_before
    assert db_rows(lab_copy) == rows_before


def test_bad_input_on_a_fresh_state_dir_creates_no_database(lab_copy: Workspace) -> None:
    args = [*GOOD]
    args[args.index("--units") + 1] = "0"
    assert lab_copy.cli("request", *args).returncode == 2
    assert not (lab_copy.state / "hosting.db").exists()


def test_unknown_requests_and_other_inventories_are_refused(
    lab_copy: Workspace, tmp_path: Path
) -> None:
    missing = lab_copy.cli("show", "99")
    assert missing.returncode == 2 and missing.stderr.strip() == "error: no hosting request 99"
    run(lab_copy, "request", *GOOD)
    other = Workspace(lab_copy.inventory.parent / "other", lab_copy.state)
    shutil.copytree(LAB_INVENTORY, other.inventory)
    wrong = other.cli("approve", "1")
    assert wrong.returncode == 1
    assert "request 1 was made for the inventory" in wrong.stderr
    assert other.hosting_yaml.read_bytes() == (LAB_INVENTORY / "hosting.yaml").read_bytes()


def test_decommission_before_provisioning_frees_the_capacity_and_ids_are_not_reused(
    lab_copy: Workspace,
) -> None:
    original = lab_copy.hosting_yaml.read_text()
    free_before = run(lab_copy, "capacity")
    run(lab_copy, "request", *GOOD)
    run(lab_copy, "approve", "1")
    used = run(lab_copy, "capacity")
    assert used != free_before
    result = run(lab_copy, "decommission", "1", "--reason", "project cancelled")
    assert result["request"]["state"] == "decommissioned"
    assert result["run"] is None
    assert result["note"] == "never provisioned: nothing to remove from the gateways"
    assert result["request"]["allocations"] == []
    assert lab_copy.hosting_yaml.read_text() == original
    assert run(lab_copy, "capacity") == free_before
    run(lab_copy, "request", *GOOD)
    second = run(lab_copy, "approve", "2")
    assert [a["id"] for a in second["allocations"]] == ["h-0004"]


def test_list_filters_by_tenant_and_state(lab_copy: Workspace) -> None:
    run(lab_copy, "request", *GOOD)
    mef = [*GOOD]
    mef[mef.index("--tenant") + 1] = "MEF"
    mef[mef.index("--service") + 1] = "CamDX"
    run(lab_copy, "request", *mef)
    run(lab_copy, "approve", "2")
    assert [r["id"] for r in run(lab_copy, "list", "--tenant", "MEF")] == [2]
    assert [r["id"] for r in run(lab_copy, "list", "--state", "submitted")] == [1]
    assert [r["id"] for r in run(lab_copy, "list")] == [2, 1]


def test_tables_print_without_markup_injection(lab_copy: Workspace) -> None:
    args = [*GOOD]
    args[args.index("--contact") + 1] = "[bold red]Dara[/] [link=http://x]y[/link]"
    run(lab_copy, "request", *args)
    result = runner.invoke(
        root,
        ["hosting", "show", "1", "-i", str(lab_copy.inventory), "--state-dir", str(lab_copy.state)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0
    assert "[bold red]Dara[/]" in result.stdout  # shown as typed, not interpreted

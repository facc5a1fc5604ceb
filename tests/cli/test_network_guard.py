"""A network guard for every client: `link`, `config`, `playbook` and `hosting provision`
refuse, before opening any socket, to reach a non-loopback address from this machine's
namespace unless the operator says `--production` (or the inventory does). No lab needed:
socket creation is patched in-process, so these tests would see any connection attempt —
and none leaves the machine either way."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from controller.netguard import Destination, NetworkGuardError, check_reach
from tests.conftest import ROOT

NATIONAL = ROOT / "inventory/cambodia"
runner = CliRunner()


class Attempts:
    """Every socket the code under test tried to create or connect (none is made)."""

    def __init__(self) -> None:
        self.seen: list[Any] = []


@pytest.fixture()
def sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Attempts]:
    attempts = Attempts()

    def no_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.seen.append(address)
        raise OSError(101, "test: no socket may be opened")

    class NoSocket(socket.socket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            attempts.seen.append(("socket", args))
            raise OSError(101, "test: no socket may be opened")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    monkeypatch.setattr(socket, "socket", NoSocket)
    yield attempts


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env={"COLUMNS": "400"})


def one_line(output: str) -> str:
    return " ".join(output.split())


GUARDED = [
    ["link", "plan", "--all"],
    ["link", "apply", "--all"],
    ["config", "backup"],
    ["config", "drift"],
    ["config", "drift", "--diff", "--json"],
    ["config", "compliance"],
    ["playbook", "run", "ntp_syslog", "--all"],
]


@pytest.mark.parametrize("command", GUARDED, ids=" ".join)
def test_a_client_refuses_the_national_network_without_production_and_opens_no_socket(
    command: list[str], sockets: Attempts, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    result = invoke("-i", str(NATIONAL), *command, "--state-dir", str(state))
    assert isinstance(result.exception, NetworkGuardError), result.output
    assert result.exception.exit_code == 2
    message = one_line(str(result.exception))
    assert message.startswith("refusing to reach core-1 at 172.20.20.11 (and ")
    assert "--production is missing" in message and "--lab TOPOLOGY" in message
    assert sockets.seen == []
    assert not (state / "ansible").exists(), "Ansible never started"
    assert not (state / "audit.log").exists()


def test_the_console_entry_prints_the_refusal_as_one_line_naming_flag_and_address(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from controller.cli.main import run; run()",
            "-i",
            str(NATIONAL),
            "link",
            "plan",
            "--all",
            "--state-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "400"},
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: refusing to reach core-1 at 172.20.20.11")
    assert "--production is missing" in lines[0]
    assert "Traceback" not in done.stderr


def test_with_production_the_client_goes_on_to_connect(
    sockets: Attempts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVNET_SSH_PASSWORD", "national-test-pw")
    result = invoke(
        "-i",
        str(NATIONAL),
        "link",
        "plan",
        "-d",
        "core-1",
        "--production",
        "--json",
        "--state-dir",
        str(tmp_path),
    )
    assert result.exit_code == 1, result.output
    assert sockets.seen == [("172.20.20.11", 22)]
    assert "national-test-pw" not in result.output


def copy_inventory(source: Path, target: Path, old: str = "", new: str = "") -> Path:
    shutil.copytree(source, target)
    if old:
        for path in target.rglob("*.yaml"):
            path.write_text(path.read_text().replace(old, new))
    return target


def test_network_production_true_in_the_inventory_counts_as_production(
    sockets: Attempts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = copy_inventory(
        ROOT / "inventory/lab",
        tmp_path / "inv",
        "  name: lab\n",
        "  name: lab\n  production: true\n",
    )
    assert "production: true" in (inv / "network.yaml").read_text()
    monkeypatch.setenv("GOVNET_LAB_SSH_PASSWORD", "lab-test-pw")
    result = invoke("-i", str(inv), "link", "plan", "-d", "core-1", "--state-dir", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert sockets.seen == [("172.20.20.11", 22)]


def test_network_production_must_be_a_boolean(tmp_path: Path) -> None:
    inv = copy_inventory(
        ROOT / "inventory/lab",
        tmp_path / "inv",
        "  name: lab\n",
        "  name: lab\n  production: maybe\n",
    )
    result = invoke("inventory", "validate", "-i", str(inv))
    assert result.exit_code != 0
    assert "network.yaml" in result.output and "production" in result.output


def test_loopback_targets_are_still_allowed_without_production(
    sockets: Attempts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = copy_inventory(ROOT / "inventory/lab", tmp_path / "inv", "172.20.20.", "127.0.20.")
    monkeypatch.setenv("GOVNET_LAB_SSH_PASSWORD", "lab-test-pw")
    result = invoke("-i", str(inv), "link", "plan", "-d", "core-1", "--state-dir", str(tmp_path))
    assert result.exit_code == 1, result.output  # the patched socket refuses the connection
    assert sockets.seen == [("127.0.20.11", 22)]


def test_the_guard_passes_loopback_a_namespace_or_production_and_names_the_first_address() -> None:
    local = [Destination("r1", "127.0.0.1"), Destination("r2", "::1")]
    check_reach(local, namespace=None, production=False)
    real = [
        Destination("r1", "127.0.0.1"),
        Destination("r2", "10.0.0.2"),
        Destination("r3", "10.0.0.3"),
    ]
    check_reach(real, namespace="clab-lab-mgmt", production=False)
    check_reach(real, namespace=None, production=True)
    with pytest.raises(NetworkGuardError) as refused:
        check_reach(real, namespace=None, production=False)
    assert str(refused.value).startswith("refusing to reach r2 at 10.0.0.2 (and 1 more) ")


def test_hosting_provision_refuses_the_national_gateways_and_records_nothing(
    sockets: Attempts, tmp_path: Path
) -> None:
    inv = copy_inventory(NATIONAL, tmp_path / "inv")
    state = tmp_path / "state"
    common = ["-i", str(inv), "--state-dir", str(state)]
    made = invoke(
        "hosting",
        "request",
        *common,
        "--tenant",
        "MoH",
        "--service",
        "Donor Data Management System",
        "--units",
        "2",
        "--servers",
        "2",
        "--power",
        "1.5",
        "--prefix",
        "/28",
        "--contact",
        "Dara Chan, dara@moh.gov.kh",
        "--justification",
        "HMIS reporting servers",
    )
    assert made.exit_code == 0, made.output
    approved = invoke("hosting", "approve", "1", *common, "--reason", "fits")
    assert approved.exit_code == 0, approved.output
    for check in ([], ["--check"]):
        result = invoke("hosting", "provision", "1", *common, *check)
        assert isinstance(result.exception, NetworkGuardError), result.output
        message = one_line(str(result.exception))
        assert message.startswith("refusing to reach ndc-1 at ")
        assert "--production is missing" in message
    shown = invoke("hosting", "show", "1", *common, "--json")
    assert '"state": "approved"' in shown.output
    assert sockets.seen == []
    assert not (state / "ansible").exists()

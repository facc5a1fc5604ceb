"""No lab secret in any output of the provisioning commands (root; lab tier).

Spec: with the lab's secret values planted in a router's running configuration — as OSPF
message-digest keys (masked by pattern and by value) and inside interface descriptions
(only the value net can catch those) — `link plan`, `link apply`, `config backup` and
`config drift --diff`, each with and without `--json`, print none of the values in
`topologies/lab.env` on stdout or stderr, and write none to any file of the state dir
except the restorable backups, which are mode 0600 in 0700 directories (and do hold them:
the secrets really were there to leak).
"""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, lab_env
from tests.provision.test_provision_lab import govnet, vtysh

pytestmark = pytest.mark.lab

ROUTER = "pr-kh2"
INVENTORY = ROOT / "inventory/lab"


def planted_commands() -> list[str]:
    env = lab_env()
    return [
        "configure terminal",
        "interface eth1",
        f"ip ospf message-digest-key 1 md5 {env['GOVNET_LAB_SNMP_AUTH']}",
        f"ip ospf message-digest-key 2 md5 {env['GOVNET_LAB_SNMP_PRIV']}",
        "exit",
        "interface eth3",
        f"description ro {env['GOVNET_LAB_SNMP_COMMUNITY']} ssh {env['GOVNET_LAB_SSH_PASSWORD']}",
    ]


def plant() -> None:
    vtysh(ROUTER, *planted_commands())
    running = vtysh(ROUTER, "show running-config")
    for value in (lab_env()["GOVNET_LAB_SNMP_AUTH"], lab_env()["GOVNET_LAB_SNMP_COMMUNITY"]):
        assert value in running, "the secret must really be in the running config"


@pytest.fixture()
def planted(lab_network: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    plant()
    try:
        yield
    finally:  # the shipped inventory takes the planted lines out again
        restore = govnet(
            "link",
            "apply",
            "-d",
            ROUTER,
            "--trust-on-first-use",
            state=tmp_path_factory.mktemp("restore"),
            inventory=INVENTORY,
        )
        assert restore.returncode == 0, restore.stdout + restore.stderr


def leaks(text: str) -> list[str]:
    return sorted(name for name, value in lab_env().items() if value in text)


def test_no_lab_secret_reaches_stdout_stderr_or_the_state_dir(
    planted: None, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    runs: list[tuple[list[str], subprocess.CompletedProcess[str]]] = []

    def run(*args: str, expect: int) -> None:
        done = govnet(*args, "-d", ROUTER, "--trust-on-first-use", state=state, inventory=INVENTORY)
        runs.append((list(args), done))
        assert done.returncode == expect, (args, done.stdout, done.stderr)

    for json_out in ([], ["--json"]):
        run("link", "plan", *json_out, expect=0)
        run("config", "backup", *json_out, expect=0)
        run("config", "drift", "--diff", *json_out, expect=3)
    run("link", "apply", expect=0)
    plant()
    run("link", "apply", "--json", expect=0)
    run("config", "drift", "--diff", "--json", expect=0)  # apply took the planted lines out

    for args, done in runs:
        assert leaks(done.stdout) == [], (args, done.stdout)
        assert leaks(done.stderr) == [], (args, done.stderr)
    plan_out = runs[0][1].stdout + runs[3][1].stdout
    assert "ip ospf message-digest-key 1 md5 <masked>" in plan_out  # the change stays readable

    restore_root = state / "restore"
    restorable = sorted(restore_root.rglob("*.conf"))
    assert len(restorable) == 4, "2 backups + 2 applies keep a restorable copy each"
    assert stat.S_IMODE(restore_root.stat().st_mode) == 0o700
    for path in restorable:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert any(leaks(p.read_text()) for p in restorable), "the restorable copy is whole"

    checked = [p for p in state.rglob("*") if p.is_file() and restore_root not in p.parents]
    assert {p.relative_to(state).parts[0] for p in checked} >= {"audit.log", "backups"}
    for path in checked:
        assert leaks(path.read_text(errors="replace")) == [], path
    readable = sorted((state / "backups" / ROUTER).glob("*.conf"))
    assert len(readable) == 4 and all("<masked>" in p.read_text() for p in readable)

"""Lab tier: ntp_syslog.yml through ansible-runner against real FRR nodes over SSH.

The module brings up its own copy of topologies/lab.clab.yml named ``gvans`` (namespaces
``clab-gvans-*``) in a world-traversable temp dir, so it never touches a lab someone else
is using, and tears it down at the end (only if it brought it up). Three routers keep the
module well under a minute on 2 vCPUs; `govnet playbook run … --all` covers all nine.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.ansible import find_playbook, run_playbook
from controller.ansible.lab import lab_target
from controller.ansible.plan import run_spec, select_hosts
from controller.ansible.runner import IDENT, PlaybookRun
from controller.ansible.scrub import MASK
from controller.cli.provisioning import lab_name
from controller.inventory import Inventory
from controller.provision.store import AuditLog
from simulations.accounts import lab_account
from simulations.lab import Lab
from simulations.procs import pids_in_netns
from tests.ansible.conftest import LAB_INVENTORY, govnet
from tests.conftest import ROOT, require
from tests.lab.conftest import require_lab_prerequisites

pytestmark = pytest.mark.lab
NAME = "gvans"
ROUTERS = ["core-1", "mr-mptc", "pr-kh12"]
PASSWORD = "govnet-lab"  # the lab default (topologies/lab.env)


@dataclass(frozen=True)
class AnsibleLab:
    lab: Lab
    topology: Path
    state: Path


def _topology_copy(base: Path) -> Path:
    """topologies/lab.clab.yml renamed, with bind sources made absolute."""
    text = (ROOT / "topologies/lab.clab.yml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^name: lab$", f"name: {NAME}", text, count=1)
    text = re.sub(r"(?m)^(\s+- )lab/", rf"\g<1>{ROOT}/topologies/lab/", text)
    path = base / f"{NAME}.clab.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ansible_lab() -> Iterator[AnsibleLab]:
    require_lab_prerequisites()
    require(shutil.which("ssh") is not None, "missing binary: ssh (package openssh-client)")
    base = Path(tempfile.mkdtemp(prefix="govnet-ansible-lab-"))
    base.chmod(0o755)  # the Ansible user must reach <lab-dir>/nodes/<node>/
    topology = _topology_copy(base)
    lab_name(topology)  # the topology's ${VAR:=default}s, as the CLI does
    lab = Lab(topology)
    brought_up = False
    try:
        brought_up = not lab.up().already_up
        yield AnsibleLab(lab, topology, base / "state")
    finally:
        if brought_up:
            lab.down()
        shutil.rmtree(base, ignore_errors=True)


def _running(lab: Lab, router: str) -> str:
    instance = lab.plan.node(router).frr_instance
    proc = lab.exec(router, ["vtysh", "-N", instance, "-c", "show running-config"])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _run(env: AnsibleLab, lab_inv: Inventory, *, check: bool, tofu: bool = True) -> PlaybookRun:
    target = lab_target(env.topology)
    scope = select_hosts(lab_inv, ROUTERS, False, target)
    spec = run_spec(
        lab_inv,
        find_playbook("ntp_syslog"),
        scope,
        target,
        check=check,
        state_dir=env.state,
        trust_on_first_use=tofu,
    )
    return run_playbook(spec)


def test_an_unknown_host_key_is_refused_without_trust_on_first_use(
    ansible_lab: AnsibleLab, tmp_path: Path
) -> None:
    args = ["-i", str(LAB_INVENTORY), "playbook", "run", "ntp_syslog", "-d", "core-1"]
    proc = govnet(*args, "--lab", str(ansible_lab.topology), "--state-dir", str(tmp_path), "--json")
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    (host,) = result["hosts"]
    assert host["status"] == "unreachable" and result["status"] == "refused"
    assert "unknown SSH host key" in host["messages"][0]
    assert not (tmp_path / "known_hosts").exists()
    assert not (Path(result["run_dir"]) / "artifacts").exists()  # ansible never started


def test_check_then_apply_then_nothing_left_to_do(
    ansible_lab: AnsibleLab, lab_inv: Inventory
) -> None:
    lab = ansible_lab.lab
    for router in ROUTERS:  # take away what the playbook ensures
        instance = lab.plan.node(router).frr_instance
        cmds = [
            "configure terminal",
            "no log syslog informational",
            "interface lo",
            "no description",
        ]
        argv = ["vtysh", "-N", instance, *(x for c in cmds for x in ("-c", c))]
        assert lab.exec(router, argv).returncode == 0
    before = {r: _running(lab, r) for r in ROUTERS}
    assert not any("log syslog informational" in text for text in before.values())

    planned = _run(ansible_lab, lab_inv, check=True)
    assert not planned.failed, [h.as_dict() for h in planned.hosts]
    assert [h.host for h in planned.hosts] == ROUTERS
    for host in planned.hosts:
        assert host.changed == 2, host.as_dict()  # banner + FRR lines (both would change)
        text = "".join(host.diffs)
        assert "+ log syslog informational" in text and "MPTC" in text
        assert f"+ description {host.host} loopback (MPTC)" in text
    assert {r: _running(lab, r) for r in ROUTERS} == before  # check mode changed nothing
    assert not any((lab.plan.lab_dir / "nodes" / r / "motd").exists() for r in ROUTERS)

    applied = _run(ansible_lab, lab_inv, check=False)
    assert not applied.failed, [h.as_dict() for h in applied.hosts]
    assert all(h.changed == 2 for h in applied.hosts), [h.as_dict() for h in applied.hosts]
    for router in ROUTERS:
        running = _running(lab, router)
        assert "log syslog informational" in running
        assert re.search(rf"(?m)^interface lo\n(?: .*\n)*? description {router} loopback", running)
        saved = Path("/etc/frr", lab.plan.node(router).frr_instance, "frr.conf").read_text()
        assert "log syslog informational" in saved  # write memory
        motd = lab.plan.lab_dir / "nodes" / router / "motd"
        assert "MPTC" in motd.read_text() and f"Device: {router}" in motd.read_text()
        ansible_login = lab_account(lab.plan.lab_dir, "govnet-ansible")  # no host account
        assert ansible_login is not None and motd.stat().st_uid == ansible_login.uid

    again = _run(ansible_lab, lab_inv, check=False)
    assert not again.failed
    assert [(h.host, h.changed) for h in again.hosts] == [(r, 0) for r in ROUTERS]
    assert all(h.ok >= 3 for h in again.hosts)

    # no ssh left behind in the management namespace (ControlPersist is off)
    assert not any(pids_in_netns([lab.plan.mgmt_netns]).values())
    # every run audited; artifacts kept; the password never written
    records = AuditLog(ansible_lab.state / "audit.log").records()
    assert [(r["mode"], r["status"]) for r in records] == [
        ("check", "successful"),
        ("run", "successful"),
        ("run", "successful"),
    ]
    for run in (planned, applied, again):
        assert run.run_dir.parent == ansible_lab.state / "ansible" / "runs"
        hosts_yml = (run.run_dir / "inventory" / "hosts.yml").read_text()
        assert "lookup('env', 'GOVNET_LAB_SSH_PASSWORD')" in hosts_yml.replace("''", "'")
        command = json.loads((run.run_dir / "artifacts" / IDENT / "command").read_text())
        assert command["env"]["GOVNET_LAB_SSH_PASSWORD"] == MASK
        assert list((run.run_dir / "artifacts" / IDENT / "job_events").glob("*.json"))
        for path in run.run_dir.rglob("*"):
            if path.is_file():
                assert PASSWORD.encode() not in path.read_bytes(), path

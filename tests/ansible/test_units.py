"""Unit tier (no root, no lab): inventory generation, events → results, secrets on disk,
playbook discovery, the CLI's bad-input lines, a run through a fake ansible-runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.ansible import find_playbook, list_playbooks, run_playbook
from controller.ansible.errors import PlaybookError, UnknownPlaybookError
from controller.ansible.events import Aggregator, TaskEvent, render_diff
from controller.ansible.inventory import Login, build_inventory, lookup_expr
from controller.ansible.lab import lab_login, lab_target
from controller.ansible.plan import run_spec, select_hosts
from controller.ansible.preflight import Refusal
from controller.ansible.runner import (
    IDENT,
    RunnerCall,
    RunnerOutcome,
    RunSpec,
)
from controller.ansible.scrub import MASK, mask_command_artifact, scrub_tree
from controller.errors import SecretError, UsageError
from controller.inventory import Inventory
from controller.netguard import NetworkGuardError
from controller.provision.store import AuditLog
from tests.ansible.conftest import LAB_ROUTERS, fake_lab, govnet
from tests.conftest import ROOT

SECRET = "s3cret-Lab-Pw"


# --------------------------------------------------------------------------- inventory


def test_lab_inventory_selects_hosts_and_switches_to_a_shell_login(
    lab_inv: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVNET_LAB_SSH_PASSWORD", SECRET)
    monkeypatch.delenv("ANSIBLE_PASSWORD", raising=False)
    monkeypatch.delenv("SSH_PASSWORD", raising=False)
    monkeypatch.delenv("ANSIBLE_USER", raising=False)
    lab = fake_lab(tmp_path / "clab-t")
    scope = select_hosts(lab_inv, ["core-1", "pr-kh12", "cpe-120101"], False, lab)
    assert [d.name for d in scope.devices] == ["core-1", "pr-kh12"]
    assert scope.notes == ["not configured by govnet (not routers): 1 cpe"]
    spec = run_spec(
        lab_inv, find_playbook("ntp_syslog"), scope, lab, check=True, state_dir=tmp_path
    )
    hosts = spec.inventory["all"]["hosts"]
    assert sorted(hosts) == ["core-1", "pr-kh12"]
    core = hosts["core-1"]
    assert core["ansible_host"] == "172.20.20.11"
    assert core["ansible_connection"] == "ssh"
    assert core["ansible_user"] == "govnet-ansible"
    assert core["ansible_password"] == "{{ lookup('env', 'GOVNET_LAB_SSH_PASSWORD') }}"
    assert core["ansible_python_interpreter"] == "/usr/bin/python3"
    assert core["govnet_frr_instance"] == "clab-t-core-1"
    assert core["govnet_node_dir"] == str(tmp_path / "clab-t/nodes/core-1")
    assert core["ansible_remote_tmp"].startswith(core["govnet_node_dir"] + "/")
    assert core["govnet_role"] == "core" and "ansible_network_os" not in core
    groups = spec.inventory["all"]["children"]
    assert groups["role_core"] == {"hosts": {"core-1": None}}
    assert groups["role_province_router"] == {"hosts": {"pr-kh12": None}}  # only selected hosts
    assert all(set(g["hosts"]) <= {"core-1", "pr-kh12"} for g in groups.values())
    assert spec.netns == "clab-t-mgmt" and spec.lab == "t"
    assert spec.extravars == {
        "govnet_network": "lab",
        "govnet_operator": "MPTC",
        "govnet_lab_dir": str(tmp_path / "clab-t"),
    }
    assert spec.secret_refs == frozenset({"env:GOVNET_LAB_SSH_PASSWORD"})
    assert SECRET not in yaml.safe_dump(spec.inventory) + json.dumps(spec.extravars)


def test_lab_login_follows_the_lab_runner() -> None:
    from controller.inventory import load_inventory

    inv = load_inventory(ROOT / "inventory/lab")
    core = next(d for d in inv.devices if d.name == "core-1")
    assert lab_login(inv, core, {}) == Login("govnet-ansible", "env:GOVNET_LAB_SSH_PASSWORD", None)
    assert lab_login(inv, core, {"SSH_PASSWORD": "x"}).password_ref == "env:SSH_PASSWORD"
    env = {"SSH_PASSWORD": "x", "ANSIBLE_PASSWORD": "y", "ANSIBLE_USER": "ops"}
    assert lab_login(inv, core, env) == Login("ops", "env:ANSIBLE_PASSWORD", None)


def test_selection_errors_and_notes(lab_inv: Inventory, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no device 'nope'"):
        select_hosts(lab_inv, ["nope"], False, None)
    with pytest.raises(UsageError, match="name links, --device D, or --all"):
        select_hosts(lab_inv, [], False, None)
    small = fake_lab(tmp_path, "small")
    small = type(small)(small.name, small.mgmt_netns, small.lab_dir, {"core-1": "x"})
    scope = select_hosts(lab_inv, [], True, small)
    assert [d.name for d in scope.devices] == ["core-1"]
    assert any("not FRR routers of lab 'small'" in n for n in scope.notes)
    with pytest.raises(UsageError, match="none of the selected devices"):
        select_hosts(lab_inv, ["dr-1"], False, small)
    with pytest.raises(NetworkGuardError, match="--production is missing"):
        select_hosts(lab_inv, [], True, None)  # no lab: real addresses need --production
    # no lab, production: the routers (all FRR here)
    everything = select_hosts(lab_inv, [], True, None, production=True)
    assert sorted(d.name for d in everything.devices) == sorted(LAB_ROUTERS)


def test_lookups_only_for_plain_references() -> None:
    assert lookup_expr("env:A_B1", "f") == "{{ lookup('env', 'A_B1') }}"
    assert lookup_expr("file:/run/secrets/pw", "f") == "{{ lookup('file', '/run/secrets/pw') }}"
    for bad in ("env:A-B", "env:{{x}}", "file:/tmp/it's", "vault:x"):
        with pytest.raises(UsageError):
            lookup_expr(bad, "f")


def test_inventory_without_a_lab_uses_the_inventory_credential(lab_inv: Inventory) -> None:
    devices = [d for d in lab_inv.devices if d.name == "ndc-1"]
    logins = {"ndc-1": Login("govnet", "env:GOVNET_LAB_SSH_PASSWORD", "file:/keys/id")}
    host = build_inventory(lab_inv, devices, logins)["all"]["hosts"]["ndc-1"]
    assert host["ansible_user"] == "govnet"
    assert host["ansible_ssh_private_key_file"] == "/keys/id"
    assert "govnet_frr_instance" not in host and "ansible_python_interpreter" not in host


# --------------------------------------------------------------------------- events


def _ev(kind: str, host: str = "", task: str = "", **data: Any) -> dict[str, Any]:
    return {"event": kind, "event_data": {"host": host, "task": task, **data}}


def test_events_become_per_host_results() -> None:
    agg = Aggregator(["r1", "r2", "r3"])
    seen = [
        agg.feed(_ev("runner_on_start", "r1", "banner")),
        agg.feed(
            _ev(
                "runner_on_ok",
                "r1",
                "banner",
                res={"changed": True, "diff": {"before": "", "after": "hi\n"}},
            )
        ),
        agg.feed(_ev("runner_on_ok", "r2", "banner", res={"changed": False})),
        agg.feed(
            _ev(
                "runner_on_failed",
                "r2",
                "vtysh",
                res={"msg": "non-zero return code", "stderr": "% Unknown command\nmore"},
            )
        ),
        agg.feed(_ev("runner_on_failed", "r1", "probe", ignore_errors=True, res={"msg": "x"})),
        agg.feed(_ev("runner_on_unreachable", "r3", "banner", res={"msg": "Permission denied"})),
        agg.feed(
            _ev(
                "runner_on_ok",
                "r1",
                "would add",
                task_action="ansible.builtin.debug",
                res={"changed": True, "msg": ["+ log syslog informational"]},
            )
        ),
        agg.feed(_ev("runner_on_skipped", "r1", "apply")),
        agg.feed({"event": "verbose", "stdout": "noise"}),
    ]
    assert seen[0] == TaskEvent("r1", "banner", "started")
    assert [e.status for e in seen if e] == [
        "started",
        "changed",
        "ok",
        "failed",
        "ignored",
        "unreachable",
        "changed",
        "skipped",
    ]
    r1, r2, r3 = agg.results()
    assert (r1.status, r1.ok, r1.changed, r1.ignored, r1.skipped) == ("changed", 2, 2, 1, 1)
    assert r1.changes == ["banner", "would add"]
    assert "+hi" in r1.diffs[0] and "+ log syslog informational" in r1.diffs[1]
    assert r2.status == "failed" and r2.bad
    assert r2.messages == ["vtysh: non-zero return code: % Unknown command"]
    assert r3.status == "unreachable" and r3.messages == ["banner: Permission denied"]


def test_the_stats_event_is_authoritative() -> None:
    agg = Aggregator(["r1", "r2"])
    agg.feed(_ev("runner_on_ok", "r1", "t", res={"changed": True}))
    stats = {"ok": {"r1": 4, "r2": 3}, "changed": {"r1": 1}, "failures": {}, "dark": {}}
    agg.feed(
        {"event": "playbook_on_stats", "event_data": {**stats, "processed": {"r1": 1, "r2": 1}}}
    )
    r1, r2 = agg.results()
    assert (r1.ok, r1.changed, r2.ok, r2.changed, r2.failed) == (4, 1, 3, 0, 0)
    assert agg.stats_seen


def test_render_diff_handles_dicts_lists_and_prepared() -> None:
    text = render_diff(
        [{"before": {"state": "absent"}, "after": {"state": "file"}}, {"prepared": "+x"}], "h"
    )
    assert '-  "state": "absent"' in text and '+  "state": "file"' in text and "+x" in text
    assert render_diff({"before": "a", "after": "a"}, "h") == ""


# --------------------------------------------------------------------------- secrets on disk


def test_command_artifact_is_masked(tmp_path: Path) -> None:
    path = tmp_path / "command"
    env = {"GOVNET_LAB_SSH_PASSWORD": SECRET, "MY_VAR": SECRET, "SNMP_AUTH": "a", "HOME": "/root"}
    path.write_text(json.dumps({"command": ["ansible-playbook"], "env": env}))
    mask_command_artifact(path, {"GOVNET_LAB_SSH_PASSWORD"}, {SECRET})
    masked = json.loads(path.read_text())["env"]
    assert masked == {
        "GOVNET_LAB_SSH_PASSWORD": MASK,
        "MY_VAR": MASK,
        "SNMP_AUTH": "a",  # the name decides only with the name list given
        "HOME": "/root",
    }
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_scrub_tree_replaces_values_everywhere(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/x.json").write_text(json.dumps({"v": f'{SECRET}"q'}))
    (tmp_path / "b.txt").write_text(f"pw={SECRET}\n")
    (tmp_path / "c.txt").write_text("clean\n")
    changed = scrub_tree(tmp_path, {SECRET, f'{SECRET}"q', "ab"})
    assert sorted(p.name for p in changed) == ["b.txt", "x.json"]
    for path in tmp_path.rglob("*.*"):
        assert SECRET not in path.read_text()


# --------------------------------------------------------------------------- a run (fake runner)


def _fake_runner(events: list[dict[str, Any]], status: str = "successful", rc: int = 0) -> Any:
    calls: list[RunnerCall] = []

    def run(call: RunnerCall) -> RunnerOutcome:
        calls.append(call)
        artifacts = call.private_data_dir / "artifacts" / IDENT
        artifacts.mkdir(parents=True)
        env = dict(os.environ, **call.envvars)
        (artifacts / "command").write_text(json.dumps({"command": ["x"], "env": env}))
        call.status_handler({"status": "running"}, None)
        (artifacts / "stdout").write_text(f"echo {os.environ['GOVNET_LAB_SSH_PASSWORD']}\n")
        for event in events:
            assert call.event_handler(event) is True
        return RunnerOutcome(status, rc)

    run.calls = calls  # type: ignore[attr-defined]
    return run


def _spec(lab_inv: Inventory, tmp_path: Path, check: bool = False) -> RunSpec:
    lab = fake_lab(tmp_path / "clab-t")
    scope = select_hosts(lab_inv, ["core-1", "dr-1", "ndc-1"], False, lab)
    spec = run_spec(
        lab_inv, find_playbook("ntp_syslog"), scope, lab, check=check, state_dir=tmp_path / "st"
    )
    return RunSpec(**{**spec.__dict__, "netns": None})  # no namespace switch in unit tests


def test_a_run_keeps_artifacts_masks_secrets_and_is_audited(
    lab_inv: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVNET_LAB_SSH_PASSWORD", SECRET)
    events = [
        _ev("runner_on_ok", "core-1", "banner", res={"changed": True}),
        _ev("runner_on_ok", "ndc-1", "banner", res={"changed": False}),
        {
            "event": "playbook_on_stats",
            "event_data": {"ok": {"core-1": 1, "ndc-1": 1}, "changed": {"core-1": 1}},
        },
    ]
    fake = _fake_runner(events)
    seen: list[TaskEvent] = []
    refusal = Refusal("dr-1", "dr-1: unknown SSH host key ssh-ed25519 … — refusing")
    run = run_playbook(
        _spec(lab_inv, tmp_path, check=True),
        seen.append,
        runner=fake,
        check_keys=lambda hosts: {"dr-1": refusal},
    )
    call: RunnerCall = fake.calls[0]
    assert call.cmdline == "--check --diff" and call.limit == "core-1,ndc-1" and call.forks == 2
    assert "ControlPersist=no" in call.envvars["ANSIBLE_SSH_ARGS"]
    assert "StrictHostKeyChecking=yes" in call.envvars["ANSIBLE_SSH_ARGS"]
    assert [(h.host, h.status) for h in run.hosts] == [
        ("core-1", "changed"),
        ("dr-1", "unreachable"),
        ("ndc-1", "ok"),
    ]
    assert run.failed and run.status == "successful"
    assert seen[0] == TaskEvent("dr-1", "host key", "unreachable", refusal.message)
    run_dir = run.run_dir
    assert run_dir.parent == tmp_path / "st/ansible/runs" and run_dir.name.endswith("-ntp_syslog")
    for name in ("inventory/hosts.yml", "project/ntp_syslog.yml", "env/extravars", "env/envvars"):
        assert (run_dir / name).is_file(), name
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path
    env = json.loads((run_dir / "artifacts" / IDENT / "command").read_text())["env"]
    assert env["GOVNET_LAB_SSH_PASSWORD"] == MASK
    (record,) = AuditLog(tmp_path / "st/audit.log").records()
    assert record["event"] == "playbook" and record["mode"] == "check"
    assert record["hosts"] == ["core-1", "dr-1", "ndc-1"] and record["failed"] is True
    assert record["results"]["core-1"]["changed"] == 1 and record["who"]


def test_a_run_that_never_reached_a_host_is_an_error(
    lab_inv: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVNET_LAB_SSH_PASSWORD", SECRET)
    error = {"event": "error", "stdout": "ERROR! couldn't resolve module/action 'nope'"}
    with pytest.raises(PlaybookError, match="couldn't resolve module"):
        run_playbook(
            _spec(lab_inv, tmp_path),
            runner=_fake_runner([error], "failed", 4),
            check_keys=lambda hosts: {},
        )
    (record,) = AuditLog(tmp_path / "st/audit.log").records()
    assert record["status"] == "failed" and record["rc"] == 4


def test_an_unset_password_variable_is_refused_before_anything_runs(
    lab_inv: Inventory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOVNET_LAB_SSH_PASSWORD", raising=False)
    with pytest.raises(SecretError, match="GOVNET_LAB_SSH_PASSWORD is not set"):
        run_playbook(_spec(lab_inv, tmp_path), runner=_fake_runner([]))
    assert not (tmp_path / "st").exists()


# --------------------------------------------------------------------------- playbooks, CLI


def test_playbooks_are_listed_with_their_summary(tmp_path: Path) -> None:
    names = {p.name: p.summary for p in list_playbooks()}
    assert names["ntp_syslog"].startswith("Login banner, syslog")
    (tmp_path / "b.yml").write_text("---\n# second\n- hosts: all\n")
    (tmp_path / "a.yaml").write_text("- hosts: all\n")
    assert [(p.name, p.summary) for p in list_playbooks(tmp_path)] == [("a", ""), ("b", "second")]
    assert find_playbook("b.yml", tmp_path).path == (tmp_path / "b.yml").resolve()
    with pytest.raises(UnknownPlaybookError, match=r"no playbook 'zz'.*\(playbooks: a, b\)"):
        find_playbook("zz", tmp_path)


def test_the_shipped_playbook_passes_ansible_syntax_check() -> None:
    binary = Path(sys.executable).parent / "ansible-playbook"
    if not binary.exists():
        binary = Path(shutil.which("ansible-playbook") or "ansible-playbook")
    proc = subprocess.run(
        [str(binary), "--syntax-check", "-i", "localhost,", "playbooks/ntp_syslog.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_list_and_bad_input_are_one_red_line(tmp_path: Path) -> None:
    listed = govnet("playbook", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "ntp_syslog" in [p["name"] for p in json.loads(listed.stdout)]
    cases = [
        (["run", "nope", "--all"], "error: no playbook 'nope'"),
        (["run", "ntp_syslog", "-d", "nope"], "error: no device 'nope' in the inventory"),
        (["run", "ntp_syslog", "--all", "--lab", "missing.clab.yml"], "missing.clab.yml: no such"),
    ]
    for args, message in cases:
        proc = govnet("-i", "inventory/lab", "playbook", *args, "--state-dir", str(tmp_path))
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], proc.stderr
        assert lines[0].startswith("error: ")


def test_no_lab_namespace_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVNET_MINI_LAB", "ghost-never-up")  # the fixture's ${…:=mini}
    with pytest.raises(UsageError, match="'clab-ghost-never-up-mgmt' does not exist"):
        lab_target(ROOT / "tests/lab/fixtures/mini.clab.yml")


def test_the_result_table_and_live_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controller.ansible.events import HostResult
    from controller.ansible.runner import PlaybookRun
    from controller.cli import output
    from controller.cli.playbook import host_progress, print_run

    hosts = [
        HostResult("core-1", ok=4, changed=2, changes=["banner", "FRR"], diffs=["+ x\n"]),
        HostResult("dr-1", unreachable=1, messages=["dr-1: unknown SSH host key — refusing"]),
    ]
    run = PlaybookRun("ntp_syslog", True, tmp_path, "successful", 0, 1.5, hosts)
    monkeypatch.setattr(output.console, "width", 220)
    with output.console.capture() as captured:
        print_run(run)
    text = captured.get()
    assert "ntp_syslog (check)" in text and "banner; FRR" in text and "unknown SSH host key" in text
    assert "1 of 2 host(s) would change, 1 failed or unreachable" in text
    with output.err_console.capture(), host_progress(["core-1"], True) as progress:
        progress(TaskEvent("core-1", "banner [x]", "changed"))  # markup in names is escaped
        progress(TaskEvent("elsewhere", "t", "ok"))  # unknown hosts are ignored

"""Rehearsal bookkeeping and the probe gate, without a lab: sites from probe answers, the
gate's verdict, the rehearsal kept on the change record by inventory content, and
`link apply --change` refused before any connection when no rehearsal of this very
inventory succeeded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from controller.change.gate import ProbeGate, SiteChange, changed_sites, site_states, summary
from controller.change.impact import Failure, Network
from controller.change.records import (
    ChangeStore,
    NotRehearsed,
    Rehearsal,
    Window,
    require_rehearsal,
)
from controller.change.revision import inventory_digest
from controller.change.service import rehearsal_of
from controller.cli.main import app
from controller.errors import UsageError
from controller.inventory import load_inventory
from controller.provision.engine import DeviceResult
from tests.cli.test_inventory_cli import govnet
from tests.conftest import ROOT

SITES = {"pr-kh2": "KH-2", "cpe-020101": "020101", "cpe-020102": "020102", "core-1": "KH-12"}
ALL_UP = dict.fromkeys(SITES, True)
runner = CliRunner()


def test_a_site_is_up_only_when_every_probed_device_there_answers() -> None:
    sites = SITES | {"pr-kh12": "KH-12"}
    answered = dict.fromkeys(sites, True) | {"pr-kh12": False}
    states = site_states(sites, answered)
    assert states == {"KH-2": True, "020101": True, "020102": True, "KH-12": False}


def test_a_commune_lost_after_the_change_is_a_site_change_that_fails_the_gate() -> None:
    after = ALL_UP | {"cpe-020101": False}
    changes = changed_sites(SITES, ALL_UP, after)
    assert changes == [SiteChange("020101", "up", "down", ("cpe-020101",))]
    assert changes[0].lost
    assert summary(changes) == "1 site(s) up before are not after: 020101"


def test_a_site_that_comes_up_is_reported_but_does_not_fail_the_gate() -> None:
    before = ALL_UP | {"cpe-020102": False}
    changes = changed_sites(SITES, before, ALL_UP)
    assert [(c.site, c.before, c.after, c.lost) for c in changes] == [
        ("020102", "down", "up", False)
    ]
    assert summary(changes) == "no site lost; 1 site(s) changed: 020102"
    assert summary([]) == "every site answers as before"


def test_the_probe_gate_polls_once_before_and_once_after_and_names_lost_sites() -> None:
    cycles = iter([ALL_UP, ALL_UP | {"pr-kh2": False, "cpe-020101": False}])
    gate = ProbeGate(lambda: next(cycles), SITES)
    gate.before()
    problems = gate.after()
    assert problems == [
        "probe gate: site 020101 up → down (cpe-020101)",
        "probe gate: site KH-2 up → down (pr-kh2)",
    ]
    assert gate.report()["sites_lost"] == ["020101", "KH-2"]


def test_a_probe_gate_that_sees_every_site_as_before_passes() -> None:
    gate = ProbeGate(lambda: ALL_UP, SITES)
    gate.before()
    assert gate.after() == []
    assert gate.report()["summary"] == "every site answers as before"


def test_the_inventory_digest_is_its_content_wherever_it_lives(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "inventory/lab", copy)
    assert inventory_digest(copy) == inventory_digest(ROOT / "inventory/lab")
    with (copy / "links.yaml").open("a") as handle:
        handle.write("# a comment is an edit too\n")
    assert inventory_digest(copy) != inventory_digest(ROOT / "inventory/lab")
    assert inventory_digest(copy).startswith("sha256:")


def record(tmp_path: Path) -> tuple[ChangeStore, int]:
    from datetime import UTC, datetime, timedelta

    store = ChangeStore(tmp_path / "state")
    network = Network(load_inventory(ROOT / "inventory/lab"))
    start = datetime.now(UTC) + timedelta(hours=1)
    created = store.create(
        title="Battambang uplink description",
        reason="",
        author="test",
        window=Window(start, start + timedelta(hours=2)),
        impact=network.impact(Failure(links=("core-1:eth5--pr-kh2:eth1",))),
        inventory=str(ROOT / "inventory/lab"),
        revision="",
    )
    return store, created.id


def rehearsal(digest: str, ok: bool) -> Rehearsal:
    return Rehearsal("2026-12-01T12:00:00+00:00", "t", "lab", "", digest, ok, {"summary": "s"})


def test_a_rehearsal_is_kept_with_the_change_and_in_its_history(tmp_path: Path) -> None:
    store, ident = record(tmp_path)
    store.rehearsed(ident, rehearsal("sha256:aa", ok=False))
    after = store.rehearsed(ident, rehearsal("sha256:bb", ok=True))
    assert [(r.digest, r.ok) for r in store.rehearsals(ident)] == [
        ("sha256:aa", False),
        ("sha256:bb", True),
    ]
    assert [e["step"] for e in after.events] == ["new", "rehearse", "rehearse"]
    assert after.events[1]["detail"] == "FAILED in lab: s"


def test_apply_needs_the_latest_rehearsal_of_the_same_inventory_to_have_succeeded(
    tmp_path: Path,
) -> None:
    store, ident = record(tmp_path)
    change = store.get(ident)
    with pytest.raises(NotRehearsed, match="never rehearsed with this inventory"):
        require_rehearsal(change, [], "sha256:aa")
    with pytest.raises(NotRehearsed, match=r"\(1 rehearsal\(s\) of other content\)"):
        require_rehearsal(change, [rehearsal("sha256:bb", True)], "sha256:aa")
    failed_last = [rehearsal("sha256:aa", True), rehearsal("sha256:aa", False)]
    with pytest.raises(NotRehearsed, match="failed"):
        require_rehearsal(change, failed_last, "sha256:aa")
    good = rehearsal("sha256:aa", True)
    assert require_rehearsal(change, [rehearsal("sha256:aa", False), good], "sha256:aa") is good


def test_a_finished_change_cannot_be_applied_even_when_rehearsed(tmp_path: Path) -> None:
    store, ident = record(tmp_path)
    store.start(ident, "t", [])
    finished = store.finish(ident, "t")
    with pytest.raises(UsageError, match="is finished"):
        require_rehearsal(finished, [rehearsal("sha256:aa", True)], "sha256:aa")


def result(device: str, status: str) -> DeviceResult:
    return DeviceResult(device, status)


def test_a_rehearsal_succeeds_when_every_router_verified_and_no_site_was_lost() -> None:
    gate = {"summary": "every site answers as before", "sites_lost": []}
    made = rehearsal_of(
        [result("pr-kh2", "rehearsed"), result("core-1", "unchanged")],
        gate,
        lab="lab",
        revision="abc",
        digest="sha256:aa",
        who="t",
    )
    assert made.ok and made.report["summary"] == "every site answers as before"
    assert made.report["devices"] == {"pr-kh2": "rehearsed", "core-1": "unchanged"}


def test_a_rehearsal_fails_on_a_lost_site_or_a_router_that_did_not_verify() -> None:
    lost = {"summary": "1 site(s) up before are not after: 020101", "sites_lost": ["020101"]}
    rolled = DeviceResult("pr-kh2", "rolled-back", "probe gate: site 020101 up → down (x)")
    gated = rehearsal_of([rolled], lost, lab="l", revision="", digest="d", who="t")
    assert not gated.ok and gated.report["summary"] == lost["summary"]
    unverified = rehearsal_of(
        [result("pr-kh2", "rolled-back")],
        {"summary": "the change was not probed", "sites_lost": []},
        lab="l",
        revision="",
        digest="d",
        who="t",
    )
    assert not unverified.ok and unverified.report["summary"] == "did not verify on pr-kh2"
    both = rehearsal_of(
        [result("pr-kh2", "rolled-back")], lost, lab="l", revision="", digest="d", who="t"
    )
    assert both.report["summary"] == f"did not verify on pr-kh2; {lost['summary']}"
    nothing = rehearsal_of(
        [result("pr-kh2", "unchanged")], {}, lab="l", revision="", digest="d", who="t"
    )
    assert nothing.ok and nothing.report["summary"].startswith("nothing to change")


def test_link_apply_of_an_unrehearsed_change_is_refused_before_any_connection(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    inv = str(ROOT / "inventory/lab")
    made = runner.invoke(
        app,
        [
            "-i", inv, "change", "new", "--title", "optic", "--window",
            "2030-01-05T22:00..02:00", "--link", "core-1:eth5--pr-kh2:eth1",
            "--state-dir", str(state), "--json",
        ],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    ident = json.loads(made.stdout)["id"]
    # a topology that does not exist: the refusal must come before the lab is even looked at
    refused = govnet(
        "-i", inv, "link", "apply", "--all", "--change", str(ident),
        "--lab", str(tmp_path / "no-such.clab.yml"), "--state-dir", str(state),
    )  # fmt: skip
    assert refused.returncode == 5
    assert f"change {ident} was never rehearsed with this inventory" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert not (state / "known_hosts").exists() and not (state / "audit.log").exists()

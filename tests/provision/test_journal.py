"""The change journal on disk: private, atomic, and in the way until it is closed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.provision import confirm
from controller.provision.errors import ProvisionError
from controller.provision.journal import (
    DeviceEntry,
    Journal,
    JournalError,
    OpenChangeError,
    digest,
)

PRE = "hostname core-1\n"


def entries() -> dict[str, DeviceEntry]:
    return {"core-1": DeviceEntry("frr", "/s/restore/core-1/x.conf", digest(PRE), ["exit"])}


def test_a_journal_is_written_owner_only_with_author_configs_and_commands(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    change = journal.open(entries(), {"state_dir": str(tmp_path), "lab": "/x/lab.clab.yml"})
    path = journal.path(change)
    assert path.stat().st_mode & 0o777 == 0o600
    data = json.loads(path.read_text())
    assert data["state"] == "open" and data["author"]
    assert data["devices"]["core-1"] == {
        "platform": "frr",
        "phase": "planned",
        "note": "",
        "commands": ["exit"],
        "pre_file": "/s/restore/core-1/x.conf",
        "pre_sha256": digest(PRE),
        "timer": {},
    }
    assert [p.name for p in tmp_path.joinpath("changes").iterdir()] == [path.name]


def test_an_open_journal_refuses_the_next_apply_naming_it_and_the_command(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    context = {"state_dir": "/s", "inventory": "/i", "lab": "/l", "production": "true"}
    change = journal.open(entries(), context)
    journal.set_phase(change, "core-1", "pushed")
    with pytest.raises(OpenChangeError) as raised:
        journal.refuse_if_open()
    message = str(raised.value)
    assert str(journal.path(change)) in message
    assert "`govnet link recover --state-dir /s --inventory /i --lab /l --production`" in message
    assert raised.value.exit_code == 4
    assert journal.load(journal.path(change)).devices["core-1"].phase == "pushed"


def test_a_closed_journal_is_kept_as_history_and_refuses_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    change = journal.open(entries())
    journal.close(change, "applied")
    journal.refuse_if_open()
    assert journal.open_changes() == []
    kept = journal.load(journal.path(change))
    assert kept.state == "closed" and kept.outcome == "applied" and kept.closed


def test_only_one_apply_or_recover_holds_a_state_dir_at_a_time(tmp_path: Path) -> None:
    with Journal(tmp_path).exclusive("apply"):
        assert (tmp_path / "changes").stat().st_mode & 0o777 == 0o700
        second = Journal(tmp_path).exclusive("recover")
        with pytest.raises(JournalError, match="recover refused"):
            second.__enter__()
    with Journal(tmp_path).exclusive("recover"):
        pass  # free again once the first is done


def test_an_unreadable_journal_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "changes").mkdir()
    bad = tmp_path / "changes" / "20261201T000000Z-abcdef.json"
    bad.write_text("{not json")
    with pytest.raises(JournalError, match=str(bad)):
        Journal(tmp_path).refuse_if_open()


def test_the_pre_change_config_is_read_back_only_if_unaltered(tmp_path: Path) -> None:
    copy = tmp_path / "pre.conf"
    copy.write_text(PRE)
    entry = DeviceEntry("frr", str(copy), digest(PRE), [])
    assert entry.pre() == PRE
    copy.write_text(PRE + "username x secret y\n")
    with pytest.raises(JournalError, match="altered"):
        entry.pre()
    copy.unlink()
    with pytest.raises(JournalError, match="unreadable"):
        entry.pre()


def test_an_armed_timer_is_journalled_so_recover_can_end_it_after_a_kill(tmp_path: Path) -> None:
    """A killed apply leaves the device's undo timer counting; unless recover ends it,
    it would undo whatever the next change did on that device."""
    clock = [1000.0]
    seconds = confirm.FRR_MECHANISM.timer(30.0)
    armed = confirm.Armed(
        confirm.FRR_MECHANISM,
        seconds,
        1000.0 + seconds,
        confirm.template_values(seconds) | {"dir": "/lab/pr-kh2/tmp/govnet-confirm.Ab12"},
    )
    record = confirm.journal_record(armed, clock=lambda: clock[0])
    assert record["dir"] == "/lab/pr-kh2/tmp/govnet-confirm.Ab12"
    assert "script" not in record, "the script is the code's, not the journal's"

    journal = Journal(tmp_path)
    change = journal.open(entries())
    journal.set_phase(change, "core-1", "pushing", timer=record)
    (path,) = tmp_path.joinpath("changes").glob("*.json")
    kept = journal.load(path).devices["core-1"].timer
    assert kept == record

    again = confirm.from_journal(confirm.FRR_MECHANISM, kept, clock=lambda: 50.0)
    assert again is not None and again.fill("{dir}") == record["dir"]
    assert again.seconds == seconds and 50.0 < again.expires <= 50.0 + seconds
    assert "base64 -d" in again.fill(confirm.FRR_MECHANISM.arm[0].commands[0])

    expired = record | {"expires": "1.0"}
    assert confirm.from_journal(confirm.FRR_MECHANISM, expired) is None, "undone already"
    assert confirm.from_journal(confirm.FRR_MECHANISM, {}) is None
    with pytest.raises(ProvisionError, match="timer is unreadable"):
        confirm.from_journal(confirm.FRR_MECHANISM, record | {"expires": "soon"})

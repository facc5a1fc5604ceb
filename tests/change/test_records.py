"""Change records: windows read as Cambodia's time unless an offset is given, the impact
kept as computed when the change was recorded, text kept exactly, bad input refused."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.change.impact import Failure
from controller.change.records import ChangeStore, UnknownChange, parse_window
from controller.errors import UsageError
from tests.change.test_impact import BATTAMBANG_UPLINK, lab
from tests.cli.test_inventory_cli import govnet
from tests.conftest import ROOT

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_a_window_without_an_offset_is_cambodia_time_and_stored_in_utc() -> None:
    window = parse_window("2026-12-05T22:00..2026-12-06T02:00", NOW)
    assert window.start == datetime(2026, 12, 5, 15, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 12, 5, 19, 0, tzinfo=UTC)


def test_an_end_given_as_a_time_of_day_is_the_next_such_time() -> None:
    window = parse_window("2026-12-05T22:00..02:00", NOW)
    assert window.end == datetime(2026, 12, 5, 19, 0, tzinfo=UTC)  # 02:00 ICT next day


def test_explicit_offsets_are_honoured() -> None:
    window = parse_window("2026-12-06T01:00Z..2026-12-06T10:00+07:00", NOW)
    assert (window.start.hour, window.end.hour) == (1, 3)


def test_a_window_may_start_now_and_be_given_as_a_length() -> None:
    window = parse_window("now..+2h", NOW)
    assert (window.start, window.end) == (NOW, datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    assert parse_window("2026-12-05T22:00..+90m", NOW).end == datetime(
        2026, 12, 5, 16, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tomorrow night", "expected START..END"),
        ("2026-12-05 22h..02:00", "expected a date and time"),
        ("2026-12-05T22:00..2026-12-05T21:00", "the end is not after the start"),
        ("2026-12-05T22:00..2026-12-20T22:00", "longer than 7 days"),
        ("2026-11-01T22:00..23:00", "already over"),
        ("2026-02-30T22:00..23:00", "day is out of range"),
        ("now..+0m", "the end is not after the start"),
        ("now..+200h", "longer than 7 days"),
        ("later..+2h", "expected a date and time"),
    ],
)
def test_bad_windows_are_one_located_error(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_window(text, NOW)
    assert str(caught.value).startswith("--window ")


def _store(tmp_path: Path) -> ChangeStore:
    return ChangeStore(tmp_path)


def test_a_change_keeps_its_impact_its_author_and_its_history(backend: str, tmp_path: Path) -> None:
    impact = lab().impact(Failure(links=(BATTAMBANG_UPLINK,)))
    store = _store(tmp_path)
    record = store.create(
        title="Replace Battambang's uplink optics",
        reason="CRC errors on core-1:eth5",
        author="cli:sokha",
        window=parse_window("2030-12-05T22:00..02:00"),
        impact=impact,
        inventory="inventory/lab",
        revision="abc123",
    )
    again = store.get(record.id)
    assert again.as_dict() == record.as_dict()
    assert [d["device"] for d in again.impact["isolated"]][-1] == "pr-kh2"
    assert again.failure == Failure(links=(BATTAMBANG_UPLINK,))
    assert (again.state, again.author, again.revision) == ("planned", "cli:sokha", "abc123")
    assert [e["step"] for e in again.events] == ["new"]
    assert [r.id for r in store.list()] == [record.id]


def test_khmer_text_is_kept_byte_for_byte_and_the_file_is_private(tmp_path: Path) -> None:
    title = "ថែទាំ\u200bខ្សែ\u200cកាប core-1"  # ZWSP and ZWNJ inside
    record = _store(tmp_path).create(
        title=title,
        reason="",
        author="cli:x",
        window=parse_window("2030-12-05T22:00..02:00"),
        impact=lab().impact(Failure(devices=("core-1",))),
        inventory="inventory/lab",
        revision="",
    )
    assert _store(tmp_path).get(record.id).title == title
    assert oct(os.stat(tmp_path / "changes.db").st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("ident", [0, 7, 2**63])
def test_an_unknown_change_is_a_clear_error(tmp_path: Path, ident: int) -> None:
    with pytest.raises(UnknownChange, match=f"no change {ident}"):
        _store(tmp_path).get(ident)


def test_cli_new_list_show(tmp_path: Path) -> None:
    inv, state = str(ROOT / "inventory/lab"), str(tmp_path)
    made = govnet(
        "change", "new", "-i", inv, "--state-dir", state, "--title", "Optics",
        "--window", "2030-12-05T22:00..02:00", "--link", BATTAMBANG_UPLINK, "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    record = json.loads(made.stdout)
    assert record["elements"]["links"] == [BATTAMBANG_UPLINK]
    assert record["window"]["start"] == "2030-12-05T15:00:00+00:00"
    listed = json.loads(govnet("change", "list", "--state-dir", state, "--json").stdout)
    assert [r["id"] for r in listed] == [record["id"]]
    shown = govnet("change", "show", str(record["id"]), "--state-dir", state)
    assert shown.returncode == 0 and "Optics" in shown.stdout
    missing = govnet("change", "show", "42", "--state-dir", state)
    assert missing.returncode == 1 and "no change 42" in missing.stderr
    bad = govnet(
        "change", "new", "-i", inv, "--state-dir", state, "--title", "x",
        "--window", "nope", "--device", "core-1",
    )  # fmt: skip
    assert bad.returncode == 2 and "--window 'nope'" in bad.stderr and not bad.stdout

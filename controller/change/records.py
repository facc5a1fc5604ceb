"""Change records: a planned change to the network — title, reason, author, window, the
elements it touches and the impact computed from the inventory when it was recorded —
and every step taken on it, kept in the state store (``<state-dir>/changes.db``).

Windows are given as ``START..END``: ISO dates and times, with an offset (``Z``,
``+07:00``) or without one, then read as Cambodia's time (ICT, UTC+07:00, no daylight
saving); stored in UTC.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from controller.change.impact import Failure, Impact, to_json
from controller.errors import GovnetError, UsageError
from controller.hosting.request import clean_text
from controller.store import Connection, Row, open_database

ICT = timezone(timedelta(hours=7), "ICT")
MAX_WINDOW = timedelta(days=7)
SQLITE_MAX_ID = 2**63 - 1
STATES = ("planned", "running", "finished", "cancelled")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$")


class UnknownChange(GovnetError):
    exit_code = 1


class NotRehearsed(GovnetError):
    """An apply of a change that has no successful rehearsal of this inventory."""

    exit_code = 5


@dataclass(frozen=True)
class Rehearsal:
    """One rehearsal of a change in a lab twin (``report``: what was seen there)."""

    at: str
    who: str
    lab: str
    revision: str
    digest: str
    ok: bool
    report: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "who": self.who,
            "lab": self.lab,
            "revision": self.revision,
            "digest": self.digest,
            "ok": self.ok,
            "report": self.report,
        }


def require_rehearsal(record: ChangeRecord, rehearsals: list[Rehearsal], digest: str) -> Rehearsal:
    """The rehearsal that allows applying ``record`` with the inventory of ``digest``: the
    latest rehearsal of exactly that inventory, which must have succeeded."""
    if record.state in ("finished", "cancelled"):
        raise UsageError(f"change {record.id} is {record.state}: nothing to apply")
    same = [r for r in rehearsals if r.digest == digest]
    if not same:
        tried = f" ({len(rehearsals)} rehearsal(s) of other content)" if rehearsals else ""
        raise NotRehearsed(
            f"change {record.id} was never rehearsed with this inventory{tried}:"
            f" run govnet change rehearse {record.id} --lab TOPOLOGY first"
        )
    latest = same[-1]
    if not latest.ok:
        raise NotRehearsed(
            f"change {record.id}: its rehearsal of this inventory in {latest.lab} at"
            f" {latest.at} failed ({latest.report.get('summary', 'see govnet change show')});"
            " fix the inventory and rehearse again"
        )
    return latest


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def as_text(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def parse_time(text: str, option: str = "--window") -> datetime:
    value = text.strip()
    if not _TIME.match(value):
        raise UsageError(
            f"{option} {text!r}: expected a date and time such as 2026-12-05T22:00"
            " (Cambodia time) or 2026-12-05T15:00Z"
        )
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"{option} {text!r}: {exc}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ICT)
    return moment.astimezone(UTC)


def parse_window(text: str, now: datetime | None = None) -> Window:
    """``START..END`` → a window in UTC; the end after the start, at most 7 days long, and
    not over yet. START may be ``now``; END a time of day (the next one after START) or a
    length, ``+90m`` / ``+2h``."""
    start_text, sep, end_text = text.partition("..")
    if not sep:
        raise UsageError(f"--window {text!r}: expected START..END, e.g. 2026-12-05T22:00..02:00")
    now = now or datetime.now(UTC)
    start = now if start_text.strip() == "now" else parse_time(start_text)
    duration = re.fullmatch(r"\+(\d{1,4})([mh])", end_text.strip())
    if duration:  # END as a length: +90m, +2h
        amount, unit = int(duration.group(1)), duration.group(2)
        end = start + (timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount))
    elif re.fullmatch(r"\d{2}:\d{2}", end_text.strip()):  # END as a time: the next such time
        local = start.astimezone(ICT)
        hour, minute = (int(p) for p in end_text.strip().split(":"))
        end_local = local.replace(hour=hour, minute=minute, second=0)
        if end_local <= local:
            end_local += timedelta(days=1)
        end = end_local.astimezone(UTC)
    else:
        end = parse_time(end_text)
    if end <= start:
        raise UsageError(f"--window {text!r}: the end is not after the start")
    if end - start > MAX_WINDOW:
        raise UsageError(f"--window {text!r}: longer than {MAX_WINDOW.days} days")
    if end <= now:
        raise UsageError(f"--window {text!r}: the window is already over")
    return Window(start, end)


@dataclass(frozen=True)
class ChangeRecord:
    id: int
    title: str
    reason: str
    author: str
    window: Window
    failure: Failure
    impact: dict[str, Any]
    inventory: str
    revision: str
    state: str
    created_at: str
    events: tuple[dict[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "reason": self.reason,
            "author": self.author,
            "window": {
                "start": self.window.start.isoformat(),
                "end": self.window.end.isoformat(),
            },
            "elements": self.impact["failure"],
            "impact": {k: v for k, v in self.impact.items() if k != "failure"},
            "inventory": self.inventory,
            "revision": self.revision,
            "state": self.state,
            "created_at": self.created_at,
            "events": list(self.events),
        }


class ChangeStore:
    def __init__(self, state_dir: Path) -> None:
        self.db = open_database(state_dir / "changes.db", "changes")

    def create(
        self,
        *,
        title: str,
        reason: str,
        author: str,
        window: Window,
        impact: Impact,
        inventory: str,
        revision: str,
    ) -> ChangeRecord:
        title = clean_text(title)
        if not 1 <= len(title) <= 200:
            raise UsageError("--title: say what the change is, in 1 to 200 characters")
        reason = clean_text(reason, multiline=True)
        if len(reason) > 4000:
            raise UsageError("--reason: at most 4,000 characters")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        computed = to_json(impact)
        with self.db.transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO changes (title, reason, author, window_start, window_end,"
                " elements, impact, inventory, revision, state, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    title,
                    reason,
                    author,
                    window.start.isoformat(),
                    window.end.isoformat(),
                    json.dumps(computed["failure"]),
                    json.dumps(computed),
                    inventory,
                    revision,
                    "planned",
                    now,
                ),
            )
            ident = cursor.lastrowid
            assert ident is not None
            _event(tx, ident, author, "new", f"window {window.as_text()}")
        return self.get(ident)

    def get(self, ident: int) -> ChangeRecord:
        if not 1 <= ident <= SQLITE_MAX_ID:
            raise UnknownChange(f"no change {ident}")
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM changes WHERE id = ?", (ident,)).fetchone()
            if row is None:
                raise UnknownChange(f"no change {ident} (govnet change list shows them)")
            events = conn.execute(
                "SELECT at, who, step, detail FROM change_events WHERE change_id = ? ORDER BY id",
                (ident,),
            ).fetchall()
        return _record(
            row, tuple({k: str(e[k]) for k in ("at", "who", "step", "detail")} for e in events)
        )

    def start(self, ident: int, who: str, silence_ids: list[str]) -> ChangeRecord:
        """planned → running, with the silences created for it."""
        with self.db.transaction() as tx:
            self._move(tx, ident, "planned", "running")
            tx.executemany(
                "INSERT INTO change_silences (change_id, silence_id) VALUES (?, ?)",
                [(ident, s) for s in silence_ids],
            )
            _event(tx, ident, who, "start", f"{len(silence_ids)} silence(s)")
        return self.get(ident)

    def finish(self, ident: int, who: str) -> ChangeRecord:
        """running → finished (the caller expired the silences)."""
        with self.db.transaction() as tx:
            self._move(tx, ident, "running", "finished")
            _event(tx, ident, who, "finish", "silences removed")
        return self.get(ident)

    def rehearsed(self, ident: int, rehearsal: Rehearsal) -> ChangeRecord:
        """Record a rehearsal of the change (and a ``rehearse`` step in its history)."""
        with self.db.transaction() as tx:
            row = tx.execute("SELECT state FROM changes WHERE id = ?", (ident,)).fetchone()
            if row is None:
                raise UnknownChange(f"no change {ident} (govnet change list shows them)")
            tx.execute(
                "INSERT INTO change_rehearsals (change_id, at, who, lab, revision, digest, ok,"
                " report) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ident,
                    rehearsal.at,
                    rehearsal.who,
                    rehearsal.lab,
                    rehearsal.revision,
                    rehearsal.digest,
                    1 if rehearsal.ok else 0,
                    json.dumps(rehearsal.report),
                ),
            )
            verdict = "ok" if rehearsal.ok else "FAILED"
            summary = rehearsal.report.get("summary", "")
            _event(tx, ident, rehearsal.who, "rehearse", f"{verdict} in {rehearsal.lab}: {summary}")
        return self.get(ident)

    def rehearsals(self, ident: int) -> list[Rehearsal]:
        """The change's rehearsals, oldest first."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT at, who, lab, revision, digest, ok, report FROM change_rehearsals"
                " WHERE change_id = ? ORDER BY id",
                (ident,),
            ).fetchall()
        return [
            Rehearsal(
                str(r["at"]),
                str(r["who"]),
                str(r["lab"]),
                str(r["revision"]),
                str(r["digest"]),
                bool(r["ok"]),
                json.loads(str(r["report"])),
            )
            for r in rows
        ]

    def note(self, ident: int, who: str, step: str, detail: str) -> None:
        """A step in the change's history (e.g. an apply of it)."""
        with self.db.transaction() as tx:
            _event(tx, ident, who, step, detail)

    def silences(self, ident: int) -> list[str]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT silence_id FROM change_silences WHERE change_id = ? ORDER BY silence_id",
                (ident,),
            ).fetchall()
        return [str(r["silence_id"]) for r in rows]

    def _move(self, tx: Connection, ident: int, source: str, target: str) -> None:
        row = tx.execute("SELECT state FROM changes WHERE id = ?", (ident,)).fetchone()
        if row is None:
            raise UnknownChange(f"no change {ident} (govnet change list shows them)")
        if str(row["state"]) != source:
            raise UsageError(f"change {ident} is {row['state']}, not {source}")
        tx.execute("UPDATE changes SET state = ? WHERE id = ?", (target, ident))

    def list(self) -> list[ChangeRecord]:
        with self.db.connect() as conn:
            rows = conn.execute("SELECT * FROM changes ORDER BY window_start, id").fetchall()
        return [_record(row) for row in rows]


def _event(tx: Connection, ident: int, who: str, step: str, detail: str) -> None:
    tx.execute(
        "INSERT INTO change_events (change_id, at, who, step, detail) VALUES (?, ?, ?, ?, ?)",
        (ident, datetime.now(UTC).isoformat(timespec="seconds"), who, step, detail),
    )


def _record(row: Row, events: tuple[dict[str, str], ...] = ()) -> ChangeRecord:
    elements = json.loads(str(row["elements"]))
    return ChangeRecord(
        id=int(row["id"]),
        title=str(row["title"]),
        reason=str(row["reason"]),
        author=str(row["author"]),
        window=Window(
            datetime.fromisoformat(str(row["window_start"])),
            datetime.fromisoformat(str(row["window_end"])),
        ),
        failure=Failure(
            tuple(elements["links"]), tuple(elements["devices"]), tuple(elements["sites"])
        ),
        impact=json.loads(str(row["impact"])),
        inventory=str(row["inventory"]),
        revision=str(row["revision"]),
        state=str(row["state"]),
        created_at=str(row["created_at"]),
        events=events,
    )

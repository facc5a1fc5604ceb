"""Starting and finishing a change: the steps that talk to Alertmanager, on the records.

``start`` creates the change's silences (matchers from :mod:`controller.change.silences`,
ending with the window) and records them; if any silence cannot be made, those already
made are removed again and nothing is recorded. ``finish`` removes them early."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

from controller.change.records import ChangeRecord, ChangeStore
from controller.change.silences import silence_matchers
from controller.errors import GovnetError, UsageError
from controller.soc.backends import Alertmanager


def start_change(
    store: ChangeStore, ident: int, alertmanager: Alertmanager, who: str
) -> ChangeRecord:
    record = store.get(ident)
    if record.state != "planned":
        raise UsageError(f"change {ident} is {record.state}, not planned")
    if record.window.end <= datetime.now(UTC):
        raise UsageError(f"change {ident}: its window ended at {record.window.end.isoformat()}")
    comment = f"govnet change {record.id}: {record.title}"
    made: list[str] = []
    try:
        for matchers in silence_matchers(record.impact):
            made.append(alertmanager.create_silence(matchers, record.window.end, who, comment))
        return store.start(ident, who, made)
    except BaseException:
        for silence in made:
            with contextlib.suppress(GovnetError):
                alertmanager.expire_silence(silence)
        raise


def finish_change(
    store: ChangeStore, ident: int, alertmanager: Alertmanager, who: str
) -> ChangeRecord:
    record = store.get(ident)
    if record.state != "running":
        raise UsageError(f"change {ident} is {record.state}, not running")
    for silence in store.silences(ident):
        if alertmanager.silence_state(silence) in {None, "expired"}:
            continue  # its window ended, someone expired it, or Alertmanager lost it
        alertmanager.expire_silence(silence)
    return store.finish(ident, who)

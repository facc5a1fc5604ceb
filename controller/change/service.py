"""Steps on change records: starting and finishing (they talk to Alertmanager), and the
record of a rehearsal.

``start`` creates the change's silences (matchers from :mod:`controller.change.silences`,
ending with the window) and records them; if any silence cannot be made, those already
made are removed again and nothing is recorded. ``finish`` removes them early.
``rehearsal_of`` turns a rehearsal in a lab twin (its per-device results and the probe
gate's report) into the record kept with the change."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from controller.change.records import ChangeRecord, ChangeStore, Rehearsal
from controller.change.silences import silence_matchers
from controller.errors import GovnetError, UsageError
from controller.provision.engine import DeviceResult
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


def rehearsal_of(
    results: Sequence[DeviceResult],
    gate: Mapping[str, Any],
    *,
    lab: str,
    revision: str,
    digest: str,
    who: str,
) -> Rehearsal:
    """The record of one rehearsal: it succeeded when every changed device verified (and
    was restored) and no site that answered the probes before stopped answering.

    ``gate`` is :meth:`controller.change.gate.ProbeGate.report`; ``results`` the
    rehearsal's per-device results (``rehearsed``/``unchanged`` when all went well)."""
    failed = sorted(r.device for r in results if r.status not in ("rehearsed", "unchanged"))
    changed = sorted(r.device for r in results if r.status != "unchanged")
    lost = list(gate.get("sites_lost", []))
    ok = not failed and not lost
    if not changed:
        text = "nothing to change: the lab already runs this inventory"
    else:
        # rolled back by the probe gate alone: its summary says it all
        unverified = [
            r.device
            for r in results
            if r.device in failed and not r.message.startswith("probe gate:")
        ]
        parts = [f"did not verify on {', '.join(unverified)}"] if unverified else []
        if lost or not unverified:
            parts.append(str(gate.get("summary", "")))
        text = "; ".join(parts)
    report = dict(gate) | {
        "summary": text,
        "devices": {r.device: r.status for r in results},
        "failed_devices": failed,
    }
    return Rehearsal(
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        who=who,
        lab=lab,
        revision=revision,
        digest=digest,
        ok=ok,
        report=report,
    )

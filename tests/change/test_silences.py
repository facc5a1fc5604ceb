"""During a change's window its predicted alerts are silenced — exactly those: an alert on
a site outside the predicted impact pages as usual. Checked against a real Alertmanager."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.change.impact import Failure, to_json
from controller.change.records import ChangeStore, Window
from controller.change.service import finish_change, start_change
from controller.change.silences import silence_matchers
from controller.errors import UsageError
from controller.soc.backends import HttpAlertmanager
from tests.change.test_impact import BATTAMBANG_UPLINK, lab
from tests.soc.helpers import am_alert, am_get, push_alerts, real_stack, wait_until


def battambang() -> dict[str, Any]:
    return to_json(lab().impact(Failure(links=(BATTAMBANG_UPLINK,))))


def matches(silences: list[list[dict[str, Any]]], labels: dict[str, str]) -> bool:
    return any(
        all(
            m["name"] in labels and re.fullmatch(str(m["value"]), labels[m["name"]])
            for m in matchers
        )
        for matchers in silences
    )


def test_the_matchers_cover_the_predicted_alerts_and_nothing_else() -> None:
    silences = silence_matchers(battambang())
    assert matches(silences, {"alertname": "GovnetProvinceDown", "device": "pr-kh2"})
    assert matches(silences, {"alertname": "GovnetSiteDown", "device": "cpe-020301"})
    assert matches(silences, {"alertname": "GovnetUplinkDown", "link": BATTAMBANG_UPLINK})
    assert matches(silences, {"alertname": "GovnetProvinceIsolated", "province": "KH-2"})
    assert not matches(silences, {"alertname": "GovnetSiteDown", "device": "cpe-170101"})
    assert not matches(silences, {"alertname": "GovnetProvinceIsolated", "province": "KH-17"})
    assert not matches(
        silences, {"alertname": "GovnetLinkDown", "link": "core-1:eth6--mr-mef:eth1"}
    )
    assert not matches(silences, {"alertname": "GovnetHighLoss", "province": "KH-2"})


def test_long_lists_are_split_into_several_silences() -> None:
    from tests.change.test_impact import national

    impact = to_json(national().impact(Failure(devices=("pr-kh2",))))
    silences = silence_matchers(impact)
    device_silences = [s for s in silences if s[0]["name"] == "device"]
    assert len(device_silences) == 2  # 102 communes + the router: 100 a silence
    assert all(s[0]["value"].count("|") < 100 for s in silences)


ALERTS = {
    "predicted: the province router": {"alertname": "GovnetProvinceDown", "device": "pr-kh2"},
    "predicted: a commune behind it": {"alertname": "GovnetSiteDown", "device": "cpe-020101"},
    "predicted: the uplink itself": {"alertname": "GovnetUplinkDown", "link": BATTAMBANG_UPLINK},
    "predicted: the province": {"alertname": "GovnetProvinceIsolated", "province": "KH-2"},
    "outside: a Siem Reap commune": {"alertname": "GovnetSiteDown", "device": "cpe-170101"},
}


def _state(status: dict[str, Any]) -> str:
    if status.get("silencedBy"):
        return "silenced"
    return "inhibited" if status.get("inhibitedBy") else status["state"]


def _states(url: str) -> dict[str, str]:
    """silenced (by a silence), inhibited (by the topology's inhibit rules), or active."""
    alerts = am_get(url, "/api/v2/alerts")
    by_name = {a["labels"].get("case"): _state(a["status"]) for a in alerts}
    return {case: by_name.get(case, "absent") for case in ALERTS}


def test_start_silences_the_predicted_alerts_only_and_finish_lifts_them(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    store = ChangeStore(tmp_path / "state")
    record = store.create(
        title="Battambang optics",
        reason="",
        author="cli:test",
        window=Window(now - timedelta(minutes=1), now + timedelta(hours=1)),
        impact=lab().impact(Failure(links=(BATTAMBANG_UPLINK,))),
        inventory="inventory/lab",
        revision="",
    )
    with real_stack(tmp_path / "soc") as settings:
        url = settings.alertmanager_url
        alertmanager = HttpAlertmanager(url)
        alerts = []
        for case, labels in ALERTS.items():
            base = {"severity": "critical", "team": "noc", "province": "KH-2", "case": case}
            alerts.append(am_alert({**base, **labels}))
        started = start_change(store, record.id, alertmanager, "cli:test")
        assert started.state == "running" and len(store.silences(record.id)) == 3
        push_alerts(url, alerts)
        expected = {
            case: "silenced" if case.startswith("predicted") else "active" for case in ALERTS
        }
        wait_until(lambda: _states(url) == expected, 30, f"states {expected}")
        finished = finish_change(store, record.id, alertmanager, "cli:test")
        assert finished.state == "finished"
        # Nothing silenced any more; the province alert stays inhibited by the province
        # router's own alert (the topology's inhibit rule), as outside any change.
        after = {case: "active" for case in ALERTS} | {"predicted: the province": "inhibited"}
        wait_until(lambda: _states(url) == after, 30, f"states {after}")
    assert [e["step"] for e in store.get(record.id).events] == ["new", "start", "finish"]


def test_a_change_cannot_start_twice_or_finish_before_it_started(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    store = ChangeStore(tmp_path)
    record = store.create(
        title="x",
        reason="",
        author="cli:test",
        window=Window(now, now + timedelta(hours=1)),
        impact=lab().impact(Failure(links=(BATTAMBANG_UPLINK,))),
        inventory="inventory/lab",
        revision="",
    )
    unreachable = HttpAlertmanager("http://127.0.0.1:9")  # never asked: refused before
    with pytest.raises(UsageError, match="is planned, not running"):
        finish_change(store, record.id, unreachable, "cli:test")


def test_finish_expires_what_is_still_active_and_passes_over_silences_already_gone(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    store = ChangeStore(tmp_path / "state")
    record = store.create(
        title="Battambang optics",
        reason="",
        author="cli:test",
        window=Window(now - timedelta(minutes=1), now + timedelta(hours=1)),
        impact=lab().impact(Failure(links=(BATTAMBANG_UPLINK,))),
        inventory="inventory/lab",
        revision="",
    )
    with real_stack(tmp_path / "soc") as settings:
        alertmanager = HttpAlertmanager(settings.alertmanager_url)
        start_change(store, record.id, alertmanager, "cli:test")
        first, *others = store.silences(record.id)
        alertmanager.expire_silence(first)  # a duty officer lifted one by hand
        assert alertmanager.silence_state(first) == "expired"
        assert alertmanager.silence_state("00000000-0000-0000-0000-000000000000") is None
        assert {alertmanager.silence_state(s) for s in others} == {"active"}
        assert finish_change(store, record.id, alertmanager, "cli:test").state == "finished"
        assert {alertmanager.silence_state(s) for s in others} == {"expired"}

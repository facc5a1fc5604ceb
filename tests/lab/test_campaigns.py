"""Fault campaigns, the pure parts: the shipped campaigns load and name what they assert;
alert expectations are judged against Alertmanager's alert list (raise, suppressed,
quiet, resolved; held or awaited); bad campaigns are refused with their location.
The campaigns themselves run against the lab in tests/lab/test_campaigns_lab.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from simulations.alerts import judge, parse_alerts
from simulations.errors import LabError
from simulations.scenario import SCENARIO_DIR, check_alerts, is_campaign, load_scenario

CAMPAIGNS = {
    "province-cut",
    "dual-homed-uplink-loss",
    "core-node-loss",
    "ministry-link-loss",
    "flapping-commune",
    "soc-drill",
}


def alert(name: str, state: str = "active", **labels: str) -> dict[str, Any]:
    return {"labels": {"alertname": name, **labels}, "status": {"state": state}}


PROVINCE_CUT = [
    alert("GovnetProvinceDown", province="KH-2", severity="critical"),
    alert("GovnetProvinceIsolated", "suppressed", province="KH-2", severity="critical"),
    alert("GovnetUplinkDown", "suppressed", province="KH-2", severity="warning"),
]


def test_the_shipped_campaigns_load_and_each_asserts_alerts() -> None:
    shipped = {p.stem for p in SCENARIO_DIR.glob("*.yaml")}
    assert shipped >= CAMPAIGNS
    for name in CAMPAIGNS:
        data = load_scenario(f"{name}.yaml")
        assert is_campaign(data), name
    assert not is_campaign(load_scenario("province-uplink-cut.yaml"))


def test_a_province_cut_pages_once_with_its_consequences_suppressed() -> None:
    want = parse_alerts(
        {
            "raise": [{"alertname": "GovnetProvinceDown", "province": "KH-2"}],
            "suppressed": [{"alertname": "~GovnetProvinceIsolated|GovnetUplinkDown"}],
            "quiet": [{"province": "KH-17"}],
        },
        "t",
    )
    assert judge(want, PROVINCE_CUT) == (True, [])


def test_an_inhibited_alert_does_not_count_as_raised_and_a_paging_one_breaks_suppressed() -> None:
    want = parse_alerts(
        {
            "raise": [{"alertname": "GovnetUplinkDown"}],
            "suppressed": [{"alertname": "GovnetProvinceDown"}],
        },
        "t",
    )
    ok, problems = judge(want, PROVINCE_CUT)
    assert not ok
    assert problems == [
        "raise {alertname=GovnetUplinkDown}: no active alert (1 suppressed)",
        "suppressed {alertname=GovnetProvinceDown}: pages: GovnetProvinceDown",
    ]


def test_suppressed_needs_the_alert_to_exist_while_quiet_does_not() -> None:
    want = parse_alerts(
        {"suppressed": [{"alertname": "GovnetSiteDown"}], "quiet": [{"alertname": "X"}]}, "t"
    )
    assert judge(want, []) == (False, ["suppressed {alertname=GovnetSiteDown}: no such alert"])


def test_resolved_means_gone_in_every_state() -> None:
    want = parse_alerts({"resolved": [{"province": "KH-2"}]}, "t")
    assert judge(want, PROVINCE_CUT[1:2])[1] == [
        "resolved {province=KH-2}: still there: GovnetProvinceIsolated"
    ]
    assert judge(want, [])[0]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_an_alerts_step_waits_until_the_page_arrives() -> None:
    clock = Clock()
    polls = iter([[], [], PROVINCE_CUT])
    spec = {"raise": [{"alertname": "GovnetProvinceDown"}], "timeout": 60}
    ok, detail = check_alerts(spec, lambda: next(polls), "t", clock, clock.sleep)
    assert ok and detail.startswith("held after 4 s")


def test_an_alerts_step_that_times_out_lists_what_alertmanager_had() -> None:
    clock = Clock()
    spec = {"raise": [{"alertname": "GovnetCoreOutage"}], "timeout": 10}
    ok, detail = check_alerts(spec, lambda: PROVINCE_CUT[:1], "t", clock, clock.sleep)
    assert not ok
    assert "raise {alertname=GovnetCoreOutage}: no active alert" in detail
    assert "(alerts: GovnetProvinceDown{KH-2,} active)" in detail


def test_a_held_expectation_fails_at_the_first_poll_that_breaks_it() -> None:
    clock = Clock()
    flapping = iter([[], [], [alert("GovnetSiteDown", site="020101")], []])
    spec = {"quiet": [{"alertname": "GovnetSiteDown"}], "hold": 100}
    ok, detail = check_alerts(spec, lambda: next(flapping), "t", clock, clock.sleep)
    assert not ok and detail.startswith("after 4 s: quiet {alertname=GovnetSiteDown}: pages")


def test_a_held_expectation_passes_when_it_held_for_the_whole_time() -> None:
    clock = Clock()
    spec = {"quiet": [{"alertname": "GovnetSiteDown"}], "hold": 10}
    ok, detail = check_alerts(spec, lambda: [], "t", clock, clock.sleep)
    assert ok and clock.now >= 10 and detail.startswith("held for 1")


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"alerts": {"raised": []}}, "step 1: alerts: unknown key(s) raised"),
        ({"alerts": {"raise": [{"alertname": "~("}]}}, "step 1: alerts.raise: bad regex"),
        ({"alerts": {"timeout": 5}}, "step 1: alerts needs at least one of raise"),
        ({"alerts": {"quiet": "GovnetSiteDown"}}, "alerts.quiet must be a list"),
        ({"alerts": {}, "wait": 1}, "step 1: needs exactly one of fault, wait, check, alerts"),
    ],
)
def test_a_bad_campaign_is_refused_with_its_file_and_step(
    tmp_path: Path, step: dict[str, Any], message: str
) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"steps": [step]}))
    with pytest.raises(LabError, match=re.escape(message)):
        load_scenario(path)


def test_a_campaign_without_the_soc_is_refused_in_one_line_before_any_fault() -> None:
    from tests.cli.test_inventory_cli import govnet

    done = govnet("lab", "scenario", "run", "topologies/lab.clab.yml", "province-cut.yaml")
    assert done.returncode != 0
    assert "scenario province-cut asserts alerts: it needs the SOC" in done.stderr
    assert "Traceback" not in done.stderr


class _RecordedFaults:
    """Stands in for the lab's fault layer: records what apply_fault asked of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def impair(self, target: str, impairment: object) -> None:
        self.calls.append(("impair", target, impairment))


def test_an_impair_mapping_takes_delay_and_loss_as_its_options_not_as_faults() -> None:
    from simulations.faults import Impairment
    from simulations.scenario import apply_fault

    faults = _RecordedFaults()
    spec = {"impair": "r1:eth1", "delay": "40ms", "loss": "1%"}
    said = apply_fault(faults, spec)  # type: ignore[arg-type]
    assert faults.calls == [("impair", "r1:eth1", Impairment.parse("40ms", None, "1%", None))]
    assert said.startswith("impair r1:eth1")

"""The alert rules: promtool checks them and runs their unit tests (soc/rules/tests/);
every alert has a test that expects it to fire, with the labels every alert must carry."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import yaml

from controller.soc.settings import rule_files, rule_test_files
from tests.conftest import ROOT, require

RULES = ROOT / "soc/rules"
REQUIRED_LABELS = {"province", "site", "tenant", "severity", "team"}
# The SOC's own rule files; other teams may add theirs to soc/rules/ (checked and unit-
# tested by promtool below, but held to their own label conventions).
SOC_RULES = (
    "static.yml",
    "sites.yml",
    "links.yml",
    "security.yml",
    "platform.yml",
    "missions.yml",
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    require(shutil.which("promtool") is not None, "promtool is not installed (deps/apt-soc.txt)")
    return subprocess.run(
        ["promtool", *args], capture_output=True, text=True, timeout=120, check=False
    )


def alerts() -> dict[str, dict[str, Any]]:
    found = {}
    for path in (RULES / name for name in SOC_RULES):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", *map(str, rule_files(RULES)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests() -> None:
    result = promtool("test", "rules", *map(str, rule_test_files(RULES)))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_with_the_required_labels() -> None:
    fired: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((RULES / "tests").glob("*.test.yml")):
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                for expected in check.get("exp_alerts") or []:
                    fired.setdefault(check["alertname"], []).append(expected["exp_labels"])
    names = set(alerts())
    assert names - set(fired) == set(), "alerts without a firing test"
    assert set(fired) - names == set(), "tests of alerts that do not exist"
    for name, label_sets in fired.items():
        for labels in label_sets:
            missing = REQUIRED_LABELS - set(labels)
            assert not missing, f"{name} fires without {sorted(missing)}: {labels}"


def test_every_alert_documents_itself_and_has_a_scope() -> None:
    for name, rule in alerts().items():
        assert name.startswith("Govnet"), name
        assert rule["annotations"].get("summary"), name
        assert rule["annotations"].get("description"), name
        labels = rule.get("labels", {})
        assert labels.get("severity") in {"critical", "major", "warning", "info"}, name
        # scope and team come from the rule, or from govnet:role_info (per role)
        joined = "govnet:role_info" in rule["expr"]
        assert joined or {"scope", "team"} <= set(labels), name


def test_site_down_rules_never_fire_behind_a_dead_upstream() -> None:
    for name in (
        "GovnetSiteDown",
        "GovnetProvinceDown",
        "GovnetMinistryDown",
        "GovnetDatacentreDown",
    ):
        assert "unless on(device) govnet_site_upstream_down == 1" in alerts()[name]["expr"], name

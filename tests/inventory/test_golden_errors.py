"""Bad inventories fail with exactly the located messages in their ``.log`` files.

Each file in ``tests/inventory/errors/`` is a small inventory with one class of
mistake; ``scripts/regen_golden.py`` rewrites the expectations for review.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.inventory import validate_inventory
from tests.conftest import ROOT

CASES = sorted((ROOT / "tests/inventory/errors").glob("*.yaml"))


def test_there_is_a_golden_case_for_every_error_class() -> None:
    names = {case.stem for case in CASES}
    assert {
        "yaml_syntax",
        "unknown_keys",
        "wrong_types",
        "dangling_references",
        "duplicate_names",
        "duplicate_addresses",
        "duplicate_interface_use",
        "overlapping_prefixes",
        "prefix_outside_pool",
        "vlan_problems",
        "rack_unit_collision",
        "rack_power_over_budget",
        "inline_secrets",
        "mission_problems",
    } <= names


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_inventory_reports_exactly_the_expected_problems(case: Path, at_root: Path) -> None:
    expected = case.with_suffix(".log").read_text().splitlines()
    result = validate_inventory(case.relative_to(ROOT))
    assert [str(p) for p in result.problems] == expected
    assert expected, "a golden error case must expect at least one problem"


def test_the_golden_base_inventory_is_clean(at_root: Path) -> None:
    result = validate_inventory(Path("tests/inventory/base.yaml"))
    assert result.problems == []


def test_inline_secret_values_are_never_echoed(at_root: Path) -> None:
    result = validate_inventory(Path("tests/inventory/errors/inline_secrets.yaml"))
    text = "\n".join(str(p) for p in result.problems)
    assert "hunter2" not in text and "s3cr3t" not in text
    assert "inline secret refused" in text

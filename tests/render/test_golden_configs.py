"""Rendered device configurations match their reviewed golden files.

The Cisco IOS and Huawei VRP templates are golden-file tested only (no such
device exists in the lab); FRR is also live-tested in the lab.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.inventory import load_inventory
from controller.inventory.model import Platform
from controller.provision.dialects import DIALECTS
from controller.provision.tree import commands, parse
from controller.render.intent import build_intents
from controller.render.templates import RenderError, render
from tests.conftest import ROOT

GOLDEN = sorted((ROOT / "tests/render/golden").rglob("*.conf"))


@pytest.fixture(scope="module")
def intents() -> dict[str, object]:
    return dict(build_intents(load_inventory(ROOT / "inventory/cambodia")))


@pytest.mark.parametrize("golden", GOLDEN, ids=[f"{g.parent.name}/{g.stem}" for g in GOLDEN])
def test_rendered_config_matches_golden_file(golden: Path, intents: dict[str, object]) -> None:
    intent = intents[golden.stem]
    assert render(intent).splitlines() == golden.read_text().splitlines()  # type: ignore[arg-type]


def test_every_template_platform_has_a_golden_file() -> None:
    platforms = {g.parent.name for g in GOLDEN}
    assert {"cisco_ios", "huawei_vrp"} <= platforms


@pytest.mark.parametrize("golden", GOLDEN, ids=[f"{g.parent.name}/{g.stem}" for g in GOLDEN])
def test_a_rendered_config_needs_no_change_against_itself(golden: Path) -> None:
    dialect = DIALECTS[Platform(golden.parent.name)]
    tree = parse(golden.read_text(), dialect)
    assert commands(tree, tree, dialect) == []


def test_huawei_sub_interfaces_carry_their_vlan_and_commune(intents: dict[str, object]) -> None:
    text = render(intents["pr-kh23"])  # type: ignore[arg-type]
    assert "interface eth3.1000\n description Kbal Ampov (230101) to cpe-230101 wan0\n" in text
    assert " dot1q termination vid 1000\n" in text


def test_a_platform_without_templates_is_a_clear_error(intents: dict[str, object]) -> None:
    with pytest.raises(RenderError, match=r"no template linux/config\.j2"):
        render(intents["nms-1"])  # type: ignore[arg-type]

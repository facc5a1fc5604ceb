"""The README's promises hold: its first commands, and every command of its tour exists."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from controller.cli.main import app
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
runner = CliRunner()


def tour_commands() -> list[list[str]]:
    block = README.split("## Command tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands: list[list[str]] = []
    for line in block.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or words[0] != "govnet" or words[1].startswith("-"):
            continue
        group = words[1]
        for name in words[2].split("|") if len(words) > 2 and not words[2].startswith("-") else []:
            commands.append([group, name])
        if len(words) == 2:
            commands.append([group])
    return commands


def test_the_readme_opens_with_exactly_the_two_commands() -> None:
    first = README.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first.strip().splitlines()]
    assert commands == ["make demo", "make test"]


@pytest.mark.parametrize("command", tour_commands(), ids=lambda c: " ".join(c))
def test_every_command_in_the_tour_exists(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_the_tour_covers_every_command_group() -> None:
    groups = {c[0] for c in tour_commands()}
    registered = {g.name for g in app.registered_groups}
    assert registered <= groups | {"soc", "hosting"}, registered - groups


def test_lab_commands_in_the_readme_name_shipped_topologies() -> None:
    for path in re.findall(r"topologies/[\w.-]+\.clab\.yml", README):
        assert (ROOT / path).exists(), path

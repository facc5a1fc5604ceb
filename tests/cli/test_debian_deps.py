"""`make deps` leaves the daemons it installed disabled (scripts/install-debian-deps.sh).

Run against a directory tree, never the machine: a fake dpkg database and systemd unit
tree under tmp_path, acted on by the real `systemctl --root` and `dpkg-query --admindir`
(GOVNET_DEPS_ROOT). Package `govnet-test-new` stands for one make deps installed,
`govnet-test-had` for one the machine already had.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, require

SCRIPT = ROOT / "scripts/install-debian-deps.sh"
UNITS = Path("lib/systemd/system")
NEW, HAD = "govnet-test-new", "govnet-test-had"
NEW_UNITS = {
    "gtn-daemon.service": "multi-user.target",
    "gtn-daemon.socket": "sockets.target",
    "gtn-worker@.service": "multi-user.target",  # a template: never enabled as such
    "gtn-static.service": None,  # no [Install]: static
}
HAD_UNITS = {"gth-daemon.service": "multi-user.target"}


@dataclass
class Tree:
    root: Path
    state: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "GOVNET_DEPS_ROOT": str(self.root),
            "GOVNET_DEPS_STATE": str(self.state),
        }
        return subprocess.run(
            ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
        )

    def enabled(self, unit: str) -> str:
        out = subprocess.run(
            ["systemctl", f"--root={self.root}", "is-enabled", unit],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return out.stdout.strip()

    def wants_links(self) -> list[str]:
        etc = self.root / "etc/systemd/system"
        return sorted(str(p.relative_to(etc)) for p in etc.rglob("*") if p.is_symlink())

    def state_lines(self) -> list[str]:
        return self.state.read_text().splitlines() if self.state.exists() else []


def _package(root: Path, name: str, units: dict[str, str | None]) -> str:
    files = ["/.", "/lib", "/lib/systemd", "/lib/systemd/system"]
    for unit, wanted_by in units.items():
        text = f"[Unit]\nDescription={unit}\n"
        text += "[Socket]\nListenStream=0.0.0.0:9\n" if unit.endswith(".socket") else ""
        text += "[Service]\nExecStart=/bin/true\n" if unit.endswith(".service") else ""
        if wanted_by:
            text += f"[Install]\nWantedBy={wanted_by}\n"
        (root / UNITS / unit).write_text(text)
        files.append(f"/lib/systemd/system/{unit}")
        if wanted_by and "@" not in unit:  # enabled, as the package's postinst does
            wants = root / "etc/systemd/system" / f"{wanted_by}.wants"
            wants.mkdir(parents=True, exist_ok=True)
            (wants / unit).symlink_to(f"/lib/systemd/system/{unit}")
    (root / "var/lib/dpkg/info" / f"{name}.list").write_text("\n".join(files) + "\n")
    return (
        f"Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: net\n"
        f"Maintainer: govnet <govnet@example.org>\nArchitecture: all\nVersion: 1.0\n"
        f"Description: {name}\n\n"
    )


@pytest.fixture()
def tree(tmp_path: Path) -> Tree:
    require(shutil.which("systemctl") is not None, "systemctl is not installed")
    require(shutil.which("dpkg-query") is not None, "dpkg-query is not installed")
    root = tmp_path / "root"
    (root / UNITS).mkdir(parents=True)
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    status = _package(root, NEW, NEW_UNITS) + _package(root, HAD, HAD_UNITS)
    (root / "var/lib/dpkg/status").write_text(status)
    return Tree(root, tmp_path / "state" / "debian-deps.state")


def test_units_of_a_package_make_deps_installed_are_disabled_others_left(tree: Tree) -> None:
    assert tree.enabled("gtn-daemon.service") == "enabled"
    result = tree.run("--adopt", NEW)
    assert result.returncode == 0, result.stderr
    assert tree.enabled("gtn-daemon.service") == "disabled"
    assert tree.enabled("gtn-daemon.socket") == "disabled"
    assert tree.enabled("gth-daemon.service") == "enabled"  # the machine already had it
    assert tree.wants_links() == ["multi-user.target.wants/gth-daemon.service"]
    assert tree.state_lines() == [
        f"installed {NEW}",
        "disabled gtn-daemon.service",
        "disabled gtn-daemon.socket",
        f"done {NEW}",
    ]
    assert "disabled gtn-daemon.service (package govnet-test-new)" in result.stdout


def test_a_rerun_changes_nothing_and_keeps_an_admins_later_enable(tree: Tree) -> None:
    assert tree.run("--adopt", NEW).returncode == 0
    first = tree.state_lines()
    again = tree.run("--adopt", NEW)
    assert again.returncode == 0 and again.stdout == ""
    assert tree.state_lines() == first
    subprocess.run(
        ["systemctl", f"--root={tree.root}", "enable", "gtn-daemon.service"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    assert tree.run("--adopt", NEW).returncode == 0
    assert tree.enabled("gtn-daemon.service") == "enabled"  # handled once; admin's choice
    assert tree.state_lines() == first


def test_a_run_that_stopped_after_installing_is_finished_by_the_next(tree: Tree) -> None:
    tree.state.parent.mkdir(parents=True)
    tree.state.write_text(f"installed {HAD}\ninstalled not-yet-installed\n")
    result = tree.run("--adopt")
    assert result.returncode == 0, result.stderr
    assert tree.enabled("gth-daemon.service") == "disabled"
    assert tree.state_lines() == [
        f"installed {HAD}",
        "installed not-yet-installed",  # waits until it is installed
        "disabled gth-daemon.service",
        f"done {HAD}",
    ]


def test_adopting_a_package_that_is_not_installed_is_a_clear_error(tree: Tree) -> None:
    result = tree.run("--adopt", "no-such-package")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: --adopt no-such-package: package no-such-package is not installed"
    )
    assert not tree.state.exists()


def test_a_test_root_never_installs_anything(tree: Tree) -> None:
    result = tree.run()
    assert result.returncode == 2
    assert "only --adopt acts on another root; nothing installed" in result.stderr
    assert tree.enabled("gtn-daemon.service") == "enabled" and not tree.state.exists()

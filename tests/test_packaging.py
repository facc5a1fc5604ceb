"""A non-editable install finds what govnet ships: `pip install` of the source into a fresh
virtualenv, then — from a directory outside the repository — `govnet playbook list` lists
the shipped playbooks and `govnet soc up` runs Prometheus and Alertmanager on loopback
with the shipped rules and Alertmanager configuration; `govnet soc down` stops them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, require
from tests.soc.helpers import free_ports, own_pids_alive, require_soc_binaries


def source_copy(target: Path) -> Path:
    """The working tree's files as git sees them (tracked and new, not ignored), links
    kept as links — built out of the repository so no build/ lands in it."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        relative = os.fsdecode(raw)
        source, copy = ROOT / relative, target / relative
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            copy.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, copy)
    return target


def run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GOVNET_PLAYBOOKS")}
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_an_installed_govnet_finds_its_playbooks_and_soc_files(tmp_path: Path) -> None:
    require_soc_binaries()
    require(shutil.which("git") is not None, "git is needed to list the source files")
    source = source_copy(tmp_path / "src")
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    assert made.returncode == 0, made.stderr
    # As make deps does: every dependency from the lock (hashes checked), then govnet
    # itself without resolving anything again — a new upstream release changes nothing.
    lock = str(source / "deps/requirements.lock")
    for argv in (
        ["install", "-q", "--no-compile", "--require-hashes", "-r", lock],
        ["install", "-q", "--no-compile", "--no-deps", str(source)],
    ):
        pip = run([str(venv / "bin/pip"), *argv], tmp_path, 300)
        assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    shutil.rmtree(source)  # nothing of the source is left to fall back on

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    govnet = str(venv / "bin/govnet")
    where = run(
        [str(venv / "bin/python"), "-c", "import controller; print(controller.__file__)"], outside
    )
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr

    listing = run([govnet, "playbook", "list", "--json"], outside)
    assert listing.returncode == 0, listing.stderr
    playbooks = {p["name"]: p for p in json.loads(listing.stdout)}
    assert {"ntp_syslog", "hosting_provision", "hosting_decommission"} <= set(playbooks)
    assert all(p["path"].startswith(str(venv)) for p in playbooks.values())

    # the console's catalogs (only the .po ship: compiled in memory at first use)
    khmer = run(
        [
            str(venv / "bin/python"),
            "-c",
            "from controller.web import i18n; import controller.web.templating as t; "
            "print(i18n.catalog_path('km')); "
            "print(t.environment(language='km').get_template('login.html')"
            ".render(request=None, user=None, nav=[], csrf_field=lambda: '', flash=None, "
            "network='lab', path='/login', here='/login', next='/', error=None, title='x'))",
        ],
        outside,
    )
    assert khmer.returncode == 0, khmer.stderr
    assert khmer.stdout.startswith(str(venv)), khmer.stdout
    assert "<h1>ចូលប្រើ</h1>" in khmer.stdout  # Sign in, from the installed km catalog

    prometheus, alertmanager, textfile = free_ports(3)
    state = ["--state-dir", str(outside / "state")]
    pids: list[int] = []
    try:
        up = run(
            [
                govnet,
                "soc",
                "up",
                "-i",
                str(ROOT / "inventory/lab"),
                "--probe",
                "127.0.0.1:1",
                "--prometheus-port",
                str(prometheus),
                "--alertmanager-port",
                str(alertmanager),
                "--textfile-port",
                str(textfile),
                "--json",
                *state,
            ],
            outside,
        )
        assert up.returncode == 0, up.stderr
        started = json.loads(up.stdout)
        pids = [s["pid"] for s in started]
        assert [s["state"] for s in started] == ["started"] * 3
        rules = sorted(p.name for p in (outside / "state/soc/rules").glob("*.yml"))
        assert rules == sorted(
            p.name for p in (ROOT / "soc/rules").glob("*.yml") if not p.name.endswith("_test.yml")
        )
        shipped_am = (ROOT / "soc/alertmanager.yml").read_text()
        assert (outside / "state/soc/alertmanager.yml").read_text() == shipped_am
    finally:
        down = run([govnet, "soc", "down", "--json", *state], outside)
    assert down.returncode == 0, down.stderr
    assert [s["state"] for s in json.loads(down.stdout)] == ["stopped"] * 3
    assert not list((outside / "state/soc").glob("*.pid"))
    assert own_pids_alive(pids) == []

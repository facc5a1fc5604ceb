"""`govnet soc …` as users run it: bad input is one red line and exit 2, never a
traceback; users are added from a password file and listed without hashes; up, status
and down work end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.soc.helpers import free_ports, govnet, require_soc_binaries


def one_red_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["soc", "up", "--prometheus-port", "80"], "choose a port between 1024 and 65535"),
        (["soc", "up", "--probe", "nowhere"], "expected HOST:PORT"),
        (["soc", "up", "--retention", "forever"], "a duration such as 15d"),
        (["soc", "up", "--probes-file", "/nonexistent"], "no such file"),
        (["soc", "up", "--lab", "topologies/lab.clab.yml"], "--lab goes with --collectors"),
        (["soc", "up", "--collectors"], "has no collectors section"),
        (["soc", "serve", "--host", "0.0.0.0"], "listens on loopback only"),
        (["soc", "serve", "--host", "example.org"], "an IP address"),
        (["soc", "serve", "--port", "22"], "choose a port between 1024 and 65535"),
        (["soc", "serve", "--tls-cert", "/etc/hostname"], "go together"),
        (["soc", "user", "add", "Bad Name", "--role", "soc"], "user name 'Bad Name'"),
        (["soc", "user", "add", "mef", "--role", "focal"], "needs --tenant"),
        (
            ["soc", "user", "add", "mef", "--role", "focal", "--tenant", "XYZ"],
            "not in the inventory",
        ),
        (["soc", "user", "passwd", "ghost"], "no user 'ghost'"),
        (["soc", "user", "remove", "ghost"], "no user 'ghost'"),
    ],
)
def test_bad_input_is_one_red_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = (
        govnet(*args, "--state-dir", str(tmp_path), "-i", "inventory/lab")
        if args[1] == "user" and args[2] == "add"
        else govnet(*args, "--state-dir", str(tmp_path))
    )
    assert result.returncode == 2, result.stderr
    assert message in one_red_line(result.stderr)


def test_users_from_a_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a very long password\n")
    result = govnet(
        "soc",
        "user",
        "add",
        "mef-focal",
        "--role",
        "focal",
        "--tenant",
        "MEF",
        "--password-file",
        str(secret),
        "-i",
        "inventory/lab",
        "--state-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "added mef-focal (focal, MEF)" in result.stdout
    again = govnet(
        "soc",
        "user",
        "add",
        "mef-focal",
        "--role",
        "soc",
        "--password-file",
        str(secret),
        "--state-dir",
        str(tmp_path),
    )
    assert again.returncode == 2 and "exists" in again.stderr
    short = tmp_path / "short"
    short.write_text("short\n")
    weak = govnet(
        "soc",
        "user",
        "add",
        "bob",
        "--role",
        "soc",
        "--password-file",
        str(short),
        "--state-dir",
        str(tmp_path),
    )
    assert weak.returncode == 2 and "at least 12 characters" in one_red_line(weak.stderr)
    listing = govnet("soc", "user", "list", "--json", "--state-dir", str(tmp_path))
    assert json.loads(listing.stdout) == [
        {"username": "mef-focal", "role": "focal", "tenant": "MEF", "language": None}
    ]
    stored = (tmp_path / "soc" / "users.json").read_text()
    assert "a very long password" not in stored and "scrypt$" in stored
    prompted = govnet(
        "soc",
        "user",
        "passwd",
        "mef-focal",
        "--state-dir",
        str(tmp_path),
        input="another long password\nanother long password\n",
    )
    assert prompted.returncode == 0, prompted.stderr


def test_a_users_language_is_set_at_add_or_later_and_listed(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("a very long password\n")
    state = ["--state-dir", str(tmp_path)]
    added = govnet(
        "soc", "user", "add", "sokha", "--role", "soc", "--language", "km",
        "--password-file", str(secret), *state,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listing = govnet("soc", "user", "list", "--json", *state)
    assert json.loads(listing.stdout)[0]["language"] == "km"
    changed = govnet("soc", "user", "language", "sokha", "en", *state)
    assert changed.returncode == 0 and "sokha reads the console in en" in changed.stdout
    assert json.loads(govnet("soc", "user", "list", "--json", *state).stdout)[0]["language"] == "en"
    wrong = govnet("soc", "user", "language", "sokha", "fr", *state)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    nobody = govnet("soc", "user", "language", "nobody", "km", *state)
    assert nobody.returncode == 2 and "no user 'nobody'" in one_red_line(nobody.stderr)
    removed = govnet("soc", "user", "remove", "sokha", *state)
    assert removed.returncode == 0
    from controller.web.profiles import ProfileStore

    assert ProfileStore(tmp_path / "soc" / "profiles.db").language("sokha") is None


def test_up_status_down(tmp_path: Path) -> None:
    require_soc_binaries()
    prometheus, alertmanager, textfile = free_ports(3)
    ports = [
        "--prometheus-port",
        str(prometheus),
        "--alertmanager-port",
        str(alertmanager),
        "--textfile-port",
        str(textfile),
    ]
    common = ["--state-dir", str(tmp_path)]
    try:
        up = govnet(
            "soc", "up", "-i", "inventory/lab", "--probe", "127.0.0.1:1", *ports, *common, "--json"
        )
        assert up.returncode == 0, up.stderr
        assert [s["state"] for s in json.loads(up.stdout)] == ["started"] * 3
        status = govnet("soc", "status", "--json", *common)
        assert status.returncode == 0, status.stderr
        assert all(s["ready"] for s in json.loads(status.stdout))
    finally:
        down = govnet("soc", "down", "--json", *common)
    assert down.returncode == 0, down.stderr
    assert [s["state"] for s in json.loads(down.stdout)] == ["stopped"] * 3
    assert govnet("soc", "status", *common).returncode == 3

"""The users file: scrypt hashes with per-user salts, atomic 0600 writes, validation."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from controller.web.users import UserError, UserStore, hash_password, verify_password
from tests.web.conftest import FAST_SCRYPT


def test_passwords_are_salted_scrypt_hashes(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json", FAST_SCRYPT)
    store.add("alice", "soc", None, "a long enough password")
    store.add("bob", "soc", None, "a long enough password")
    path = tmp_path / "users.json"
    text = path.read_text()
    assert "a long enough password" not in text
    data = json.loads(text)["users"]
    a, b = data["alice"]["password"], data["bob"]["password"]
    assert a.startswith(f"scrypt${FAST_SCRYPT}$8$1$") and a != b  # same password, other salt
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.authenticate("alice", "a long enough password") is not None
    assert store.authenticate("alice", "a long enough passwore") is None
    assert store.authenticate("nobody", "a long enough password") is None
    assert store.authenticate("BAD NAME", "x") is None


def test_hash_parameters_travel_with_the_hash() -> None:
    stored = hash_password("correct horse battery", n=2**11)
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse battery!", stored)
    assert not verify_password("x", "md5$abc")
    assert not verify_password("x", "scrypt$notanumber$8$1$AA==$AA==")
    assert not verify_password("x" * 5000, stored)


@pytest.mark.parametrize(
    ("name", "role", "tenant", "password", "message"),
    [
        ("Alice", "soc", None, "a long enough password", "user name 'Alice'"),
        ("a", "soc", None, "a long enough password", "2-32 characters"),
        ("alice", "admin", None, "a long enough password", "choose soc, engineer or focal"),
        ("alice", "focal", None, "a long enough password", "a focal user needs --tenant"),
        ("alice", "soc", "MEF", "a long enough password", "--tenant is only for focal users"),
        ("alice", "focal", "M E F", "a long enough password", "a code such as MEF"),
        ("alice", "soc", None, "short", "at least 12 characters"),
    ],
)
def test_invalid_users_are_refused(
    tmp_path: Path, name: str, role: str, tenant: str | None, password: str, message: str
) -> None:
    store = UserStore(tmp_path / "users.json", FAST_SCRYPT)
    with pytest.raises(UserError, match=message):
        store.add(name, role, tenant, password)
    assert not (tmp_path / "users.json").exists()


def test_add_twice_passwd_and_remove(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json", FAST_SCRYPT)
    store.add("mef-focal", "focal", "MEF", "a long enough password")
    with pytest.raises(UserError, match="exists"):
        store.add("mef-focal", "soc", None, "a long enough password")
    store.set_password("mef-focal", "another long password")
    assert store.authenticate("mef-focal", "another long password") is not None
    assert [(u.username, u.role, u.tenant) for u in store.list()] == [("mef-focal", "focal", "MEF")]
    store.remove("mef-focal")
    assert store.list() == []
    with pytest.raises(UserError, match="no user"):
        store.remove("mef-focal")
    with pytest.raises(UserError, match="no user"):
        store.set_password("ghost", "a long enough password")


def test_an_unreadable_users_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text("{not json")
    with pytest.raises(UserError, match="unreadable users file"):
        UserStore(path, FAST_SCRYPT).list()

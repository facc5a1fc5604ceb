"""The lab's SSH logins are lab-only accounts: pure file contents, the legacy-account
signature, and (as root) the private mount namespace the lab's sshd starts in."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from controller.errors import GovnetError
from simulations import accounts, services
from simulations.accounts import LabAccount
from simulations.plan import build_plan
from simulations.topology import load_topology
from tests.conftest import require
from tests.lab.conftest import MINI

HOST_PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "sshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n"
    "frr:x:102:104:Frr routing suite,,,:/nonexistent:/usr/sbin/nologin\n"
    "big:x:65536:1000::/home/big:/bin/bash\n"
    "govnet:x:998:998::/:/usr/local/libexec/govnet/lab-vtysh-shell\n"
)
HOST_GROUP = "root:x:0:\nfrr:x:104:\nfrrvty:x:105:alice\ngidtaken:x:65537:\ngovnet:x:998:\n"
LAB = [
    LabAccount("govnet", 65538, str(services.LOGIN_SHELL)),
    LabAccount("govnet-ansible", 65539, "/bin/bash"),
]


def test_lab_ids_are_free_on_the_host_as_uid_and_as_gid() -> None:
    assert accounts.free_ids(HOST_PASSWD, HOST_GROUP, 2) == [65538, 65539]


def test_lab_passwd_is_the_hosts_plus_the_lab_users_marked() -> None:
    text = accounts.passwd_text(HOST_PASSWD, LAB)
    lines = text.splitlines()
    assert lines[:4] == HOST_PASSWD.splitlines()[:4]  # sshd (privsep) and frr are needed
    assert "govnet:x:998" not in text  # a host line with a lab user's name is left out
    assert lines[-2:] == [
        f"govnet:x:65538:65538:govnet lab login:/:{services.LOGIN_SHELL}",
        "govnet-ansible:x:65539:65539:govnet lab login:/:/bin/bash",
    ]


def test_lab_users_join_frr_and_frrvty_and_get_their_own_groups() -> None:
    lines = accounts.group_text(HOST_GROUP, LAB).splitlines()
    assert "frr:x:104:govnet,govnet-ansible" in lines
    assert "frrvty:x:105:alice,govnet,govnet-ansible" in lines
    assert "govnet:x:998:" not in lines
    assert lines[-2:] == ["govnet:x:65538:", "govnet-ansible:x:65539:"]


def test_a_host_without_frr_groups_is_a_clear_error() -> None:
    with pytest.raises(GovnetError, match="frr, frrvty missing"):
        accounts.group_text("root:x:0:\n", LAB)


def test_lab_shadow_holds_only_the_lab_users() -> None:
    text = accounts.shadow_text([("govnet", "$6$a$b"), ("govnet-ansible", "$6$c$d")], 20000)
    assert text == "govnet:$6$a$b:20000::::::\ngovnet-ansible:$6$c$d:20000::::::\n"


def test_password_hash_is_sha512_crypt_that_openssl_verifies() -> None:
    require(shutil.which("openssl") is not None, "openssl is not installed")
    hashed = accounts.hash_password("govnet-lab")
    salt = hashed.split("$")[2]
    again = subprocess.run(
        ["openssl", "passwd", "-6", "-salt", salt, "-stdin"],
        input="govnet-lab\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert hashed.startswith("$6$") and again == hashed
    assert "govnet-lab" not in hashed


def _entry(name: str, uid: int, gecos: str, home: str, shell: str) -> pwd.struct_passwd:
    return pwd.struct_passwd((name, "x", uid, uid, gecos, home, shell))


MEMBERS = {"frr": {"govnet", "govnet-ansible", "ops"}, "frrvty": {"govnet", "govnet-ansible"}}
VTYSH = str(services.LOGIN_SHELL)


@pytest.mark.parametrize(
    ("entry", "legacy"),
    [
        (_entry("govnet", 998, "", "/", VTYSH), True),
        (_entry("custom-vty", 990, "", "/", VTYSH), False),  # not in frr/frrvty
        (_entry("govnet-ansible", 997, "", "/", "/bin/bash"), True),
        (_entry("govnet-ansible", 997, "Ops team", "/", "/bin/bash"), False),  # a GECOS
        (_entry("govnet-ansible", 1001, "", "/", "/bin/bash"), False),  # not a system uid
        (_entry("govnet-ansible", 997, "", "/home/g", "/bin/bash"), False),  # a real home
        (_entry("govnet-ansible", 997, "", "/", "/bin/zsh"), False),  # another shell
        (_entry("ops", 996, "", "/", "/bin/bash"), False),  # bash, but not the Ansible name
        (_entry("root", 0, "", "/", VTYSH), False),
    ],
)
def test_only_accounts_an_earlier_govnet_made_count_as_legacy(
    entry: pwd.struct_passwd, legacy: bool
) -> None:
    assert accounts.is_legacy_account(entry, ["govnet-ansible"], MEMBERS) is legacy


def test_sshd_starts_in_a_mount_namespace_with_the_lab_account_files(tmp_path: Path) -> None:
    plan = build_plan(load_topology(MINI, env={}), tmp_path / "clab-mini")
    r1 = plan.node("r1")
    argv = services.sshd_start_argv(r1)
    files = services.AccountFiles.of(plan.lab_dir)
    assert argv[:4] == ["unshare", "--mount", "--propagation", "private"]
    cut = argv.index("--")
    assert argv[cut - 6 : cut] == [
        str(files.passwd),
        "/etc/passwd",
        str(files.group),
        "/etc/group",
        str(files.shadow),
        "/etc/shadow",
    ]
    assert argv[cut + 1 : cut + 3] == ["unshare", "--uts"] and "/usr/sbin/sshd" in argv[cut:]


def _probe_account_files(tmp_path: Path) -> tuple[services.AccountFiles, int]:
    """Lab account files holding one probe user (a free id), as a lab writes them."""
    files = services.AccountFiles.of(tmp_path)
    host_passwd = Path("/etc/passwd").read_text()
    host_group = Path("/etc/group").read_text()
    uid = accounts.free_ids(host_passwd, host_group, 1)[0]
    lab = [LabAccount("govnet-hyg-probe", uid, "/bin/sh")]
    files.passwd.parent.mkdir()
    files.passwd.write_text(accounts.passwd_text(host_passwd, lab))
    files.group.write_text(accounts.group_text(host_group, lab))
    files.shadow.write_text(accounts.shadow_text([("govnet-hyg-probe", "!")], 20000))
    files.shadow.chmod(0o600)
    return files, uid


def test_the_mount_namespace_shows_the_lab_users_and_leaves_the_host_files(
    tmp_path: Path,
) -> None:
    """Real unshare + bind mounts (root): inside, getent finds the lab user and the shadow
    holds only lab users; outside, nothing changed."""
    require(os.geteuid() == 0, "bind mounts need root")
    before = {p: p.read_bytes() for p in (Path("/etc/passwd"), Path("/etc/shadow"))}
    files, uid = _probe_account_files(tmp_path)
    script = "getent passwd govnet-hyg-probe; id -Gn govnet-hyg-probe; cut -d: -f1 /etc/shadow"
    inside = subprocess.run(
        services.mount_wrap(files, ["sh", "-c", script], tmp_path / "overlay"),
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout.splitlines()
    assert inside[0] == f"govnet-hyg-probe:x:{uid}:{uid}:govnet lab login:/:/bin/sh"
    assert set(inside[1].split()) == {"govnet-hyg-probe", "frr", "frrvty"}
    assert inside[2:] == ["govnet-hyg-probe"]
    with pytest.raises(KeyError):
        pwd.getpwnam("govnet-hyg-probe")
    assert {p: p.read_bytes() for p in before} == before


def test_the_lab_users_survive_the_host_replacing_its_own_passwd(tmp_path: Path) -> None:
    """useradd on the host writes a new /etc/passwd and renames it into place. With the
    lab files bind-mounted, a running sshd then saw the host's passwd and every lab login
    failed (the shared lab broke as soon as a test added a host account). Under the
    overlay the lab user stays visible inside, and the host's content is untouched."""
    require(os.geteuid() == 0, "mount namespaces need root")
    files, uid = _probe_account_files(tmp_path)
    go = tmp_path / "go"
    script = f"while [ ! -e {go} ]; do sleep 0.05; done; getent passwd govnet-hyg-probe"
    inside = subprocess.Popen(
        services.mount_wrap(files, ["timeout", "20", "sh", "-c", script], tmp_path / "ovl"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        before = Path("/etc/passwd").read_bytes()
        replacement = Path("/etc/.govnet-test-passwd")
        replacement.write_bytes(before)
        os.chmod(replacement, 0o644)
        os.replace(replacement, "/etc/passwd")  # what useradd does: a new inode, same name
        go.touch()
        out, _ = inside.communicate(timeout=30)
    finally:
        if inside.poll() is None:
            inside.kill()
    assert out.startswith(f"govnet-hyg-probe:x:{uid}:")
    assert Path("/etc/passwd").read_bytes() == before

"""The lab's SSH logins, with no host account at all.

Each node's sshd runs in a private mount namespace whose ``/etc`` is an overlay with the
lab's ``passwd``, ``group`` and ``shadow`` above the host's, copied from lab-only files
in ``<lab-dir>/.accounts/`` (``shadow`` mode 0600): the host's passwd plus the lab users,
the host's groups with the lab users added to ``frr``/``frrvty``, and a shadow that holds
only the lab users' hashes. An overlay rather than bind mounts of the files: a host that
rewrites its own /etc/passwd (useradd renames a new file into place) would otherwise
pull the lab's logins out from under its running sshds. The host's files never change —
not while a lab is up, not after a crash (the mounts die with the namespace's last
process) — and the sessions cannot read the host's password hashes either.

Lab users get ids that are free on the host, above useradd's ``UID_MAX`` (60000) and
below the subordinate-id ranges (100000+), so no host user can own their files.

Accounts that an earlier govnet made on the host with ``useradd`` are removed at
``lab up`` and ``lab down`` (:func:`remove_legacy_accounts`), identified by what that
version wrote — never any other account.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

from simulations import services
from simulations.errors import LabError
from simulations.netns import NETNS_DIR, run
from simulations.services import HOST_GROUP, HOST_PASSWD, AccountFiles

log = logging.getLogger(__name__)

LAB_GECOS = "govnet lab login"
LAB_GROUPS = ("frr", "frrvty")  # vtysh sockets, and `write memory` into /etc/frr/<instance>/
ID_FIRST = 65536
ID_LIMIT = 100000
LEGACY_HOME = "/"
LEGACY_SYS_UID_MAX = 999


@dataclass(frozen=True)
class LabAccount:
    name: str
    uid: int  # also its own group's gid
    shell: str


# --------------------------------------------------------------------------- pure


def _fields(text: str) -> list[list[str]]:
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def free_ids(passwd_text: str, group_text: str, count: int) -> list[int]:
    """The first ``count`` ids from :data:`ID_FIRST` used neither as a uid nor as a gid."""
    used = {int(f[2]) for f in _fields(passwd_text) if len(f) > 3 and f[2].isdigit()}
    used |= {int(f[3]) for f in _fields(passwd_text) if len(f) > 3 and f[3].isdigit()}
    used |= {int(f[2]) for f in _fields(group_text) if len(f) > 2 and f[2].isdigit()}
    ids = [i for i in range(ID_FIRST, ID_LIMIT) if i not in used][:count]
    if len(ids) < count:
        raise LabError(f"no free user ids in {ID_FIRST}-{ID_LIMIT - 1} for the lab logins")
    return ids


def passwd_text(host_text: str, accounts: Sequence[LabAccount]) -> str:
    """The host's passwd (system users such as ``sshd`` and ``frr`` are needed) with the
    lab users appended; a host line with a lab user's name is left out."""
    names = {a.name for a in accounts}
    lines = [line for line in host_text.splitlines() if line.split(":", 1)[0] not in names]
    lines += [f"{a.name}:x:{a.uid}:{a.uid}:{LAB_GECOS}:/:{a.shell}" for a in accounts]
    return "\n".join(lines) + "\n"


def group_text(host_text: str, accounts: Sequence[LabAccount]) -> str:
    """The host's groups, the lab users added to ``frr`` and ``frrvty``, plus one own group
    per lab user."""
    names = {a.name for a in accounts}
    lines: list[str] = []
    found: set[str] = set()
    for line in host_text.splitlines():
        parts = line.split(":")
        if len(parts) != 4 or parts[0] in names:
            if len(parts) != 4:
                lines.append(line)
            continue
        if parts[0] in LAB_GROUPS:
            found.add(parts[0])
            members = [m for m in parts[3].split(",") if m and m not in names]
            parts[3] = ",".join([*members, *(a.name for a in accounts)])
        lines.append(":".join(parts))
    missing = [g for g in LAB_GROUPS if g not in found]
    if missing:
        raise LabError(f"host group(s) {', '.join(missing)} missing (is frr installed?)")
    lines += [f"{a.name}:x:{a.uid}:" for a in accounts]
    return "\n".join(lines) + "\n"


def shadow_text(hashes: Sequence[tuple[str, str]], day: int) -> str:
    """Only the lab users: ``name:hash:lastchange::::::``."""
    return "".join(f"{name}:{hashed}:{day}::::::\n" for name, hashed in hashes)


# --------------------------------------------------------------------------- I/O


def hash_password(secret: str) -> str:
    """A SHA-512 crypt hash (``$6$``) from OpenSSL; the secret goes over stdin only."""
    try:
        proc = subprocess.run(
            ["openssl", "passwd", "-6", "-stdin"],
            input=secret + "\n",
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"cannot hash the lab password with openssl: {exc}") from None
    hashed = proc.stdout.strip()
    if proc.returncode != 0 or not hashed.startswith("$6$"):
        raise LabError("openssl passwd -6 failed to hash the lab password")
    return hashed


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_lab_accounts(lab_dir: Path, creds: services.Credentials) -> list[LabAccount]:
    """Write ``<lab-dir>/.accounts/{passwd,group,shadow}`` for the lab's two SSH logins."""
    if creds.ansible_user == creds.ssh_user:
        raise LabError(
            f"ANSIBLE_USER and SSH_USER are both {creds.ssh_user!r}; the vtysh login and the "
            f"Ansible shell login need different users"
        )
    host_passwd = HOST_PASSWD.read_text(encoding="utf-8")
    host_group = HOST_GROUP.read_text(encoding="utf-8")
    vtysh_uid, ansible_uid = free_ids(host_passwd, host_group, 2)
    accounts = [
        LabAccount(creds.ssh_user, vtysh_uid, str(services.LOGIN_SHELL)),
        LabAccount(creds.ansible_user, ansible_uid, str(services.ANSIBLE_SHELL)),
    ]
    files = AccountFiles.of(lab_dir)
    hashes = [
        (creds.ssh_user, hash_password(creds.ssh_password)),
        (creds.ansible_user, hash_password(creds.ansible_secret)),
    ]
    _write(files.passwd, passwd_text(host_passwd, accounts), 0o644)
    _write(files.group, group_text(host_group, accounts), 0o644)
    _write(files.shadow, shadow_text(hashes, int(time.time() // 86400)), 0o600)
    files.passwd.parent.chmod(0o755)
    return accounts


def lab_account(lab_dir: Path, name: str) -> LabAccount | None:
    """A lab user as the lab's sshd sees it (None if the lab has no such user)."""
    try:
        text = AccountFiles.of(lab_dir).passwd.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    for f in _fields(text):
        if len(f) == 7 and f[0] == name and f[4] == LAB_GECOS:
            return LabAccount(f[0], int(f[2]), f[6])
    return None


# --------------------------------------------------------------------------- legacy


def is_legacy_account(
    entry: pwd.struct_passwd, ansible_names: Iterable[str], members: Mapping[str, Set[str]]
) -> bool:
    """True only for what an earlier govnet's ``useradd --system --no-create-home
    --home-dir / --shell SHELL --groups frr,frrvty NAME`` made: a system uid, home ``/``,
    an empty GECOS, member of frr and frrvty (``members``: group → user names), and either
    govnet's vtysh login shell (any name) or ``/bin/bash`` under the Ansible login's name."""
    if entry.pw_dir != LEGACY_HOME or entry.pw_gecos != "" or entry.pw_uid > LEGACY_SYS_UID_MAX:
        return False
    if entry.pw_uid == 0:
        return False
    vtysh = entry.pw_shell == str(services.LOGIN_SHELL)
    ansible = entry.pw_shell == str(services.ANSIBLE_SHELL) and entry.pw_name in set(ansible_names)
    if not (vtysh or ansible):
        return False
    return all(entry.pw_name in members.get(g, set()) for g in LAB_GROUPS)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _uid_in_use(uid: int) -> bool:
    for pid in _pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                if str(uid) in line.split()[1:]:
                    return True
                break
    return False


def host_passwd_labs() -> list[int]:
    """PIDs of lab sshds (in a ``clab-*`` network namespace) that read the host's
    /etc/passwd — labs of an earlier govnet, which still need the host accounts."""
    try:
        lab_ns = {os.stat(p).st_ino for p in NETNS_DIR.iterdir() if p.name.startswith("clab-")}
        host = os.stat(HOST_PASSWD)
    except OSError:
        return []
    found: list[int] = []
    for pid in _pids():
        try:
            if Path(f"/proc/{pid}/comm").read_text(encoding="ascii").strip() != "sshd":
                continue
            if os.stat(f"/proc/{pid}/ns/net").st_ino not in lab_ns:
                continue
            seen = os.stat(f"/proc/{pid}/root{HOST_PASSWD}")
        except OSError:
            continue
        if (seen.st_dev, seen.st_ino) == (host.st_dev, host.st_ino):
            found.append(pid)
    return found


def legacy_accounts(ansible_names: Iterable[str]) -> list[str]:
    names = list(ansible_names)
    members: dict[str, Set[str]] = {}
    for group in LAB_GROUPS:
        try:
            members[group] = set(grp.getgrnam(group).gr_mem)
        except KeyError:
            members[group] = set()
    return sorted(e.pw_name for e in pwd.getpwall() if is_legacy_account(e, names, members))


def remove_legacy_accounts(ansible_names: Iterable[str] = ()) -> list[str]:
    """Delete the host accounts an earlier govnet made (see :func:`is_legacy_account`);
    returns the names removed. Skipped while a lab of that version runs (its sshd reads the
    host's passwd) and for an account that still runs a process."""
    names = {services.DEFAULT_ANSIBLE_USER, *ansible_names}
    found = legacy_accounts(names)
    if not found:
        return []
    if host_passwd_labs():
        log.warning("legacy lab accounts %s kept: a lab of an earlier govnet runs", found)
        return []
    removed: list[str] = []
    for name in found:
        if _uid_in_use(pwd.getpwnam(name).pw_uid):
            log.warning("legacy lab account %s kept: it still runs a process", name)
            continue
        proc = run(["userdel", name], timeout=30, check=False)
        if proc.returncode != 0:  # e.g. a process appeared since: never fail up/down on it
            log.warning("legacy lab account %s kept: userdel: %s", name, proc.stderr.strip())
            continue
        removed.append(name)
    return removed

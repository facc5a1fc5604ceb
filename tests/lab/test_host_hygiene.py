"""Host hygiene (lab tier): a lab plus the SOC stack listen on nothing but loopback in
the root namespace, and neither up nor down touches the host's account files; `down`
removes the accounts an earlier govnet left, and only those."""

from __future__ import annotations

import ipaddress
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.soc import procs as soc_procs
from simulations import accounts, services
from simulations.lab import Lab
from simulations.netns import NETNS_DIR, netns_connect
from simulations.procs import pids_in_netns
from tests.lab.conftest import MINI, require_lab_prerequisites
from tests.soc.helpers import real_stack, wait_until

pytestmark = pytest.mark.lab
ACCOUNT_FILES = [Path(p) for p in ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow")]
TCP_LISTEN = "0A"


@dataclass(frozen=True)
class Listener:
    table: str  # tcp, tcp6, udp, udp6
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int

    @property
    def loopback(self) -> bool:
        addr = self.address
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            return addr.ipv4_mapped.is_loopback
        return addr.is_loopback


def _address(hexaddr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    raw = bytes.fromhex(hexaddr)
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])  # one host-order (little-endian) word
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return ipaddress.IPv6Address(words)


def root_listeners() -> dict[int, Listener]:
    """Socket inode → listening TCP / bound UDP socket of *this* (the root) namespace."""
    lab_namespaces = {os.stat(p).st_ino for p in NETNS_DIR.iterdir()}
    assert os.stat("/proc/self/ns/net").st_ino not in lab_namespaces
    found: dict[int, Listener] = {}
    for table in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            if table.startswith("tcp") and state != TCP_LISTEN:
                continue
            hexaddr, hexport = local.split(":")
            found[inode] = Listener(table, _address(hexaddr), int(hexport, 16))
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def with_descendants(pids: set[int]) -> set[int]:
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    out = set(pids)
    grew = True
    while grew:
        children = {p for p, pp in parent.items() if pp in out and p not in out}
        out |= children
        grew = bool(children)
    return out


def root_sockets_of(pids: set[int]) -> dict[int, list[Listener]]:
    table = root_listeners()
    owned: dict[int, list[Listener]] = {}
    for pid in pids:
        mine = [table[i] for i in socket_inodes(pid) if i in table]
        if mine:
            owned[pid] = mine
    return owned


def govnet_accounts() -> list[str]:
    return sorted(e.pw_name for e in pwd.getpwall() if e.pw_name.startswith("govnet"))


@pytest.fixture()
def clean_host() -> dict[Path, bytes]:
    """Accounts an earlier govnet left are removed first (tested below); then the host's
    account files as they are before the lab."""
    require_lab_prerequisites()
    accounts.remove_legacy_accounts()
    return {p: p.read_bytes() for p in ACCOUNT_FILES if p.exists()}


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(MINI, tmp_path / "clab-mini", env={})
    try:
        yield lab
    finally:
        lab.down()


def test_lab_and_soc_listen_only_on_loopback_and_never_touch_the_host_accounts(
    clean_host: dict[Path, bytes], lab: Lab, tmp_path: Path
) -> None:
    import paramiko

    lab.up()
    # while the lab is up: no host account, the host's files as they were ...
    assert govnet_accounts() == []
    assert {p: p.read_bytes() for p in clean_host} == clean_host
    # ... and yet the lab's Ansible login works, seeing its lab-only account
    sock = netns_connect(lab.plan.mgmt_netns, ("172.20.20.11", 22))
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "172.20.20.11",
        username="govnet-ansible",
        password="govnet-lab",
        sock=sock,
        allow_agent=False,
        look_for_keys=False,
    )
    try:
        _, out, _ = client.exec_command("getent passwd govnet-ansible; cat /etc/shadow; echo $?")
        seen = out.read().decode().splitlines()
    finally:
        client.close()
    login = accounts.lab_account(lab.plan.lab_dir, "govnet-ansible")
    assert login is not None
    assert seen[0] == f"govnet-ansible:x:{login.uid}:{login.uid}:govnet lab login:/:/bin/bash"
    assert seen[-1] == "1"  # the session cannot read even the lab's shadow
    assert accounts.host_passwd_labs() == []  # no lab sshd sees the host's passwd

    state = lab.state()
    assert state is not None
    lab_pids = {p.pid for p in state.processes}
    lab_pids |= {p for ps in pids_in_netns(state.namespaces).values() for p in ps}
    with real_stack(tmp_path / "soc") as settings:
        soc_pids = set()
        for pid_file in settings.soc_dir.glob("*.pid"):
            record = soc_procs.read_record(pid_file)
            assert record is not None and soc_procs.is_running(record)
            soc_pids.add(record.pid)
        assert len(soc_pids) == 3  # prometheus, alertmanager, textfile exporter
        owned = root_sockets_of(with_descendants(lab_pids | soc_pids))

    exposed = {pid: [s for s in socks if not s.loopback] for pid, socks in owned.items()}
    assert not any(exposed.values()), f"non-loopback listeners in the root namespace: {exposed}"
    # the lab's daemons have no socket at all in the root namespace
    assert not set(owned) & with_descendants(lab_pids), owned
    # positive control: the scan does see the SOC's own loopback listeners
    ports = {s.port for socks in owned.values() for s in socks if s.table == "tcp"}
    assert {settings.prometheus_port, settings.alertmanager_port, settings.textfile_port} <= ports

    lab.down()
    assert govnet_accounts() == []
    assert {p: p.read_bytes() for p in clean_host} == clean_host


OLD_NETNS = "clab-hygiene-old-lab"
OLD_USERADD = ["useradd", "--system", "--no-create-home", "--home-dir", "/"]


def _useradd(name: str, shell: str, *extra: str) -> None:
    subprocess.run(
        [*OLD_USERADD, "--shell", shell, "--groups", "frr,frrvty", *extra, name],
        check=True,
        capture_output=True,
        timeout=30,
    )


def _runs_as(pid: int, uid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    line = next(x for x in status.splitlines() if x.startswith("Uid:"))
    return line.split()[1:] == [str(uid)] * 4


def test_down_removes_only_the_accounts_an_earlier_govnet_made(tmp_path: Path) -> None:
    require_lab_prerequisites()
    accounts.remove_legacy_accounts()
    legacy = ["govnet", "govnet-ansible"]  # exactly as the earlier `lab up` made them
    decoys = ["govnet-ops", "govnet-admin"]
    for name in legacy + decoys:
        if name in {e.pw_name for e in pwd.getpwall()}:
            pytest.fail(f"host account {name} exists before the test; not touching it")
    made: list[str] = []
    sleeper: subprocess.Popen[bytes] | None = None
    old_lab: subprocess.Popen[bytes] | None = None
    netns_made = False
    try:
        _useradd("govnet", str(services.LOGIN_SHELL))
        _useradd("govnet-ansible", "/bin/bash")
        made += legacy
        _useradd("govnet-ops", "/bin/bash")  # every mark but the Ansible login's name
        _useradd("govnet-admin", str(services.LOGIN_SHELL), "--comment", "MPTC admin")
        made += decoys
        lab = Lab(MINI, tmp_path / "clab-mini", env={})

        # kept while a lab of the earlier version runs: an "sshd" in a clab-* namespace
        # that sees the host's /etc/passwd (ip netns exec, no lab account files)
        old_sshd = tmp_path / "sshd"
        old_sshd.symlink_to(shutil.which("sleep") or "/bin/sleep")
        subprocess.run(["ip", "netns", "add", OLD_NETNS], check=True, timeout=10)
        netns_made = True
        old_lab = subprocess.Popen(["ip", "netns", "exec", OLD_NETNS, str(old_sshd), "30"])
        wait_until(lambda: accounts.host_passwd_labs() == [old_lab.pid], 10, "the old sshd")
        assert lab.down().legacy_accounts == []
        assert set(legacy) <= {e.pw_name for e in pwd.getpwall()}
        old_lab.send_signal(signal.SIGTERM)
        old_lab.wait(timeout=10)

        # an account that still runs a process is kept
        uid = pwd.getpwnam("govnet-ansible").pw_uid
        sleeper = subprocess.Popen(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "30"]
        )
        wait_until(lambda: _runs_as(sleeper.pid, uid), 10, "the sleeper to run as the account")
        kept = lab.down()
        assert kept.legacy_accounts == ["govnet"]
        assert "govnet-ansible" in {e.pw_name for e in pwd.getpwall()}
        sleeper.send_signal(signal.SIGTERM)
        sleeper.wait(timeout=10)

        removed = lab.down()
        assert removed.legacy_accounts == ["govnet-ansible"]
        names = {e.pw_name for e in pwd.getpwall()}
        assert not names & set(legacy) and set(decoys) <= names
        groups = Path("/etc/group").read_text()
        assert "\ngovnet:" not in groups and "\ngovnet-ansible:" not in groups
    finally:
        for proc in (sleeper, old_lab):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        if netns_made:
            subprocess.run(["ip", "netns", "del", OLD_NETNS], check=False, timeout=10)
        for name in made:
            if name in {e.pw_name for e in pwd.getpwall()}:
                subprocess.run(["userdel", name], check=False, capture_output=True, timeout=30)

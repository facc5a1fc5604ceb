"""Secrets never in an output: masking by value and per platform pattern, and the
writers that use it (audit log, backups, logs, JSON)."""

from __future__ import annotations

import io
import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller import masking
from controller.inventory import load_inventory
from controller.masking import MASK, mask_data, mask_patterns, mask_text
from controller.provision.store import AuditLog, BackupStore
from controller.secrets import resolve_secret
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    masking.KNOWN.clear()
    yield
    masking.KNOWN.clear()


# (platform, configuration line, the secret in it)
CASES = [
    ("frr", "password zebra-vty-pw", "zebra-vty-pw"),
    ("frr", "enable password en-abl3", "en-abl3"),
    ("frr", " ip ospf message-digest-key 1 md5 ospf-md5-k", "ospf-md5-k"),
    ("frr", " ip ospf authentication-key ospfk3y", "ospfk3y"),
    ("frr", " neighbor 10.0.0.1 password bgp-s3cret", "bgp-s3cret"),
    ("frr", " key-string chain-k3y", "chain-k3y"),
    ("frr", " isis password md5 isis-k3y", "isis-k3y"),
    ("frr", " area-password md5 area-k3y", "area-k3y"),
    (
        "cisco_ios",
        "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
        "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
    ),
    (
        "cisco_ios",
        "enable secret 8 $8$dsYGNam3K1SIJO$7nv/35M/qr6t",
        "$8$dsYGNam3K1SIJO$7nv/35M/qr6t",
    ),
    (
        "cisco_ios",
        "username admin privilege 15 secret 9 $9$nhEmQVczB7dqsO$X.HsgL6x1il0",
        "$9$nhEmQVczB7dqsO$X.HsgL6x1il0",
    ),
    ("cisco_ios", "username ops password 7 0822455D0A16", "0822455D0A16"),
    ("cisco_ios", "tacacs-server key 7 02050D480809", "02050D480809"),
    ("cisco_ios", " server-private 10.1.1.1 key 7 1511021F0725", "1511021F0725"),
    ("cisco_ios", "crypto isakmp key ike-psk-1 address 0.0.0.0", "ike-psk-1"),
    ("cisco_ios", " pre-shared-key local psk-local", "psk-local"),
    ("cisco_ios", " ip ospf message-digest-key 1 md5 7 070C285F4D06", "070C285F4D06"),
    ("cisco_ios", "ntp authentication-key 1 md5 104D000A0618 7", "104D000A0618"),
    ("cisco_ios", "snmp-server community n0c-ro RO 10", "n0c-ro"),
    (
        "cisco_ios",
        "snmp-server user noc NOC v3 auth sha auth-k3y priv aes 128 priv-k3y",
        "auth-k3y",
    ),
    (
        "cisco_ios",
        "snmp-server user noc NOC v3 auth sha auth-k3y priv aes 128 priv-k3y",
        "priv-k3y",
    ),
    ("huawei_vrp", " local-user admin password irreversible-cipher $1a$Zx9@Yq$", "$1a$Zx9@Yq$"),
    ("huawei_vrp", " local-user ops password cipher %^%#Vb2m%^%#", "%^%#Vb2m%^%#"),
    ("huawei_vrp", "super password level 15 cipher %@%@sup3r%@%@", "%@%@sup3r%@%@"),
    ("huawei_vrp", "snmp-agent community read cipher %^%#c0mm%^%#", "%^%#c0mm%^%#"),
    ("huawei_vrp", "snmp-agent community read plainc0mm", "plainc0mm"),
    (
        "huawei_vrp",
        "snmp-agent usm-user v3 noc authentication-mode sha cipher %#au%# "
        "privacy-mode aes128 cipher %#pr%#",
        "%#au%#",
    ),
    (
        "huawei_vrp",
        "snmp-agent usm-user v3 noc authentication-mode sha cipher %#au%# "
        "privacy-mode aes128 cipher %#pr%#",
        "%#pr%#",
    ),
    ("huawei_vrp", " ospf authentication-mode md5 1 cipher %$ospf$%", "%$ospf$%"),
    ("huawei_vrp", " ospf authentication-mode md5 1 plain ospfplain", "ospfplain"),
    (
        "huawei_vrp",
        "ntp-service authentication-keyid 1 authentication-mode md5 cipher %^ntp^%",
        "%^ntp^%",
    ),
]


@pytest.mark.parametrize(("platform", "line", "secret"), CASES, ids=lambda v: str(v)[:40])
def test_each_platform_pattern_masks_its_secret_and_keeps_the_line(
    platform: str, line: str, secret: str
) -> None:
    del platform
    masked = mask_patterns(line)
    assert secret not in masked
    assert MASK in masked
    # the keyword stays readable: an operator sees which secret changed
    assert masked.split()[0] == line.split()[0]


def test_patterns_mask_inside_a_diff_and_leave_ordinary_lines_alone() -> None:
    diff = (
        "--- core-1 (running)\n+++ core-1 (intended)\n"
        " interface eth1\n"
        "-  ip ospf message-digest-key 1 md5 old-k3y\n"
        "+  ip ospf message-digest-key 1 md5 new-k3y\n"
        "  description uplink to core-2\n"
        " service password-encryption\n"
    )
    masked = mask_patterns(diff)
    assert "old-k3y" not in masked and "new-k3y" not in masked
    assert masked.count(MASK) == 2
    assert "  description uplink to core-2\n" in masked
    assert " service password-encryption\n" in masked


def test_masking_twice_changes_nothing_more() -> None:
    once = mask_patterns("enable secret 9 $9$abc\nsnmp-server community x1y2 RO\n")
    assert mask_patterns(once) == once


def test_every_resolved_secret_is_masked_by_value_longest_first() -> None:
    env = {"SHORT": "govnet-lab", "LONG": "govnet-lab-auth"}
    resolve_secret("env:SHORT", "credentials.ssh.lab.password", env)
    resolve_secret("env:LONG", "credentials.snmp.lab-v3.auth", env)
    text = "description uses govnet-lab-auth and govnet-lab"
    assert mask_text(text) == f"description uses {MASK} and {MASK}"


def test_a_secret_file_is_masked_by_value(tmp_path: Path) -> None:
    secret = tmp_path / "ospf.key"
    secret.write_text("from-a-file-k3y\n")
    resolve_secret(f"file:{secret}", "credentials.ssh.x.password")
    assert mask_text("the key is from-a-file-k3y.") == f"the key is {MASK}."


def test_register_inventory_resolves_every_secret_reference_of_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOVNET_LAB_SNMP_AUTH", "lab-auth-value")
    monkeypatch.setenv("GOVNET_LAB_SNMP_PRIV", "lab-priv-value")
    monkeypatch.setenv("GOVNET_LAB_SNMP_COMMUNITY", "lab-community-value")
    monkeypatch.delenv("GOVNET_LAB_SSH_PASSWORD", raising=False)
    monkeypatch.setenv("GOVNET_LAB_IPSEC_PSK_FR_PAR", "lab-psk-paris")
    monkeypatch.setenv("GOVNET_LAB_IPSEC_PSK_JP_TYO", "lab-psk-tokyo")
    inv = load_inventory(ROOT / "inventory/lab")
    refs = dict(masking.secret_references(inv))
    assert refs == {
        "missions[0].tunnels[0].psk": "env:GOVNET_LAB_IPSEC_PSK_FR_PAR",
        "missions[0].tunnels[1].psk": "env:GOVNET_LAB_IPSEC_PSK_FR_PAR",
        "missions[1].tunnels[0].psk": "env:GOVNET_LAB_IPSEC_PSK_JP_TYO",
        "missions[1].tunnels[1].psk": "env:GOVNET_LAB_IPSEC_PSK_JP_TYO",
        "credentials.snmp.lab-v3.auth": "env:GOVNET_LAB_SNMP_AUTH",
        "credentials.snmp.lab-v3.priv": "env:GOVNET_LAB_SNMP_PRIV",
        "credentials.snmp.lab-v2c.community": "env:GOVNET_LAB_SNMP_COMMUNITY",
        "credentials.ssh.lab.password": "env:GOVNET_LAB_SSH_PASSWORD",
    }
    unresolved = masking.register_inventory(inv)
    assert unresolved == ["credentials.ssh.lab.password"]
    assert set(masking.KNOWN.values()) == {
        "lab-auth-value",
        "lab-priv-value",
        "lab-community-value",
        "lab-psk-paris",
        "lab-psk-tokyo",
    }


def test_mask_data_masks_values_and_keys_of_nested_json() -> None:
    masking.register("s3cret-value")
    data = {"devices": [{"diff": "+password s3cret-value", "s3cret-value": 1, "n": 2}]}
    assert mask_data(data) == {"devices": [{"diff": f"+password {MASK}", MASK: 1, "n": 2}]}


def test_the_audit_log_masks_every_secret_and_each_record_stays_one_json_line(
    tmp_path: Path,
) -> None:
    masking.register("known-ssh-pw")
    log = AuditLog(tmp_path / "audit.log")
    log.append(
        "apply",
        device="r1",
        commands=[
            "interface eth1",
            "ip ospf message-digest-key 1 md5 first-k3y",
            "ntp authentication-key 2 md5 second-k3y",
        ],
        diff='+snmp-server community "quoted" RO\n+enable secret 9 $9$third\n',
        message="login as govnet with known-ssh-pw failed",
    )
    log.append("apply", device="r2", diff="+ local-user a password irreversible-cipher $1a$x$")
    lines = (tmp_path / "audit.log").read_text().splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]  # every line valid JSON
    text = "\n".join(lines)
    for secret in ("first-k3y", "second-k3y", "$9$third", "known-ssh-pw", "$1a$x$"):
        assert secret not in text
    assert records[0]["commands"][0] == "interface eth1"
    assert records[0]["commands"][1] == f"ip ospf message-digest-key 1 md5 {MASK}"
    assert records[0]["message"] == f"login as govnet with {MASK} failed"
    assert stat.S_IMODE((tmp_path / "audit.log").stat().st_mode) == 0o600


def test_a_backup_is_masked_to_read_and_kept_whole_in_a_private_restore_copy(
    tmp_path: Path,
) -> None:
    running = "hostname r1\npassword vty-s3cret\ninterface eth1\n ip address 10.0.0.1/31\n"
    store = BackupStore(tmp_path / "backups")
    readable = store.save("r1", running)
    assert readable.parent == tmp_path / "backups/r1"
    assert "vty-s3cret" not in readable.read_text()
    assert f"password {MASK}" in readable.read_text()
    restorable = store.restorable(readable)
    assert restorable.read_text() == running
    assert stat.S_IMODE(restorable.stat().st_mode) == 0o600
    assert stat.S_IMODE(restorable.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.restore_root.stat().st_mode) == 0o700
    assert store.restore_root == tmp_path / "restore"


def test_the_logging_filter_masks_messages_and_their_arguments() -> None:
    masking.register("logged-s3cret")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    masking.install_log_filter([handler])
    logger = logging.getLogger("tests.masking")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("connecting with %s", "logged-s3cret")
        logger.warning("pushing: enable secret 9 $9$hash")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "logged-s3cret" not in out and "$9$hash" not in out
    assert out.count(MASK) == 2


def test_every_json_output_and_error_line_masks_known_secret_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from controller.cli import output

    masking.register("printed-s3cret")
    output.print_json({"message": "tried printed-s3cret", "note": "password stays"})
    output.error("login with printed-s3cret refused")
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"message": f"tried {MASK}", "note": "password stays"}
    assert "printed-s3cret" not in captured.err and MASK in captured.err


def test_a_pattern_never_reaches_into_the_next_line() -> None:
    text = "no password\nhostname r1\nsnmp-server community\n description x\n"
    assert mask_patterns(text) == text

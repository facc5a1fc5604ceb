"""A tunnel end's swanctl.conf as `link apply` manages it: planned as a whole file, read and
written over the node's shell login by commands a real sh runs, loaded with swanctl, and
put back by the FRR on-node timer when the change is not confirmed.

No charon may run outside the lab: the shell tests use a stand-in `swanctl` that records
its arguments (their names say so); the lab test (test_ipsec_lab.py) runs the real one.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from controller.inventory import load_inventory
from controller.provision import confirm, ipsec
from controller.provision.engine import ipsec_note
from controller.provision.errors import ProvisionError
from controller.provision.plan import device_specs, plan_device, select_devices
from controller.render.intent import build_intents
from controller.render.templates import render_ipsec
from tests.conftest import ROOT, require

LAB = load_inventory(ROOT / "inventory/lab")
MISSION = render_ipsec(build_intents(LAB)["ms-fr-par"])

LIST_SAS = """\
fr-par-ndc: #3, ESTABLISHED, IKEv2, 5a0e2c6f4a1b2c3d_i* 9f8e7d6c5b4a3f2e_r
  local  '198.51.100.2' @ 198.51.100.2[4500]
  remote '203.0.113.2' @ 203.0.113.2[4500]
  AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_3072
  established 12s ago, rekeying in 14100s
  fr-par-ndc: #4, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_CBC-256/HMAC_SHA2_256_128
    installed 12s ago, rekeying in 3300s, expires in 3948s
    in  c8a5e0f1,    840 bytes,    10 packets,     1s ago
    out c2b7d4e3,    840 bytes,    10 packets,     1s ago
    local  10.252.0.3/32
    remote 10.252.0.2/32
fr-par-dr: #5, CONNECTING, IKEv2, 1a2b3c4d5e6f7a8b_i* 0000000000000000_r
  local  '198.51.100.2' @ 198.51.100.2[4500]
  remote '203.0.113.6' @ 203.0.113.6[4500]
"""


def test_the_connections_of_a_rendered_file_are_its_tunnels() -> None:
    blocks = ipsec.connections(MISSION)
    assert sorted(blocks) == ["fr-par-dr", "fr-par-ndc"]
    assert blocks["fr-par-ndc"].startswith("  fr-par-ndc {") and blocks["fr-par-ndc"].endswith(
        "\n  }"
    )
    assert ipsec.initiators(MISSION) == {"fr-par-dr", "fr-par-ndc"}  # the mission starts both
    gateway = render_ipsec(build_intents(LAB)["ndc-1"])
    assert ipsec.initiators(gateway) == set()  # the data centre end waits for them
    assert ipsec.connections(None) == {} and ipsec.connections("") == {}


def test_a_changed_setting_changes_that_connection_only_and_shows_in_the_diff() -> None:
    drifted = MISSION.replace("dpd_delay = 2s", "dpd_delay = 30s", 1)
    plan = ipsec.plan_ipsec("ms-fr-par", drifted, MISSION)
    assert plan.changed and plan.changed_connections == ("fr-par-ndc",)
    assert "-    dpd_delay = 30s\n" in plan.diff and "+    dpd_delay = 2s\n" in plan.diff
    assert "ms-fr-par swanctl.conf (running)" in plan.diff
    same = ipsec.plan_ipsec("ms-fr-par", MISSION, MISSION)
    assert not same.changed and same.diff == "" and same.changed_connections == ()


def test_a_router_without_the_file_gets_all_of_it_and_a_hand_added_connection_goes() -> None:
    fresh = ipsec.plan_ipsec("ms-fr-par", None, MISSION)
    assert fresh.changed and fresh.changed_connections == ("fr-par-dr", "fr-par-ndc")
    assert fresh.diff.startswith("--- /dev/null\n")
    extra = MISSION.replace(
        "connections {\n",
        "connections {\n  by-hand {\n    version = 2\n  }\n",
        1,
    )
    plan = ipsec.plan_ipsec("ms-fr-par", extra, MISSION)
    assert plan.changed_connections == ("by-hand",)  # removed: swanctl --load-conns unloads it


def test_a_lab_plan_gives_only_the_tunnel_ends_a_swanctl_conf() -> None:
    devices, _ = select_devices(LAB, [], [], True)
    specs = {s.device.name: s for s in device_specs(LAB, devices, "govnet-lab")}
    ends = sorted(name for name, spec in specs.items() if spec.ipsec is not None)
    assert ends == ["dr-1", "ms-fr-par", "ms-jp-tyo", "ndc-1"]
    assert specs["ms-fr-par"].ipsec == MISSION
    production = {s.device.name: s for s in device_specs(LAB, devices, None)}
    assert production["ms-fr-par"].ipsec == MISSION


def test_an_ipsec_only_change_is_a_change_with_no_cli_command() -> None:
    devices, _ = select_devices(LAB, [], ["ms-fr-par"], False)
    (spec,) = device_specs(LAB, devices, "govnet-lab")
    plan = plan_device(spec, spec.intended, MISSION.replace("rekey_time = 1h", "rekey_time = 2h"))
    assert plan.commands == [] and plan.changed and plan.ipsec_changed
    assert ipsec_note(plan) == "swanctl.conf: 2 connection(s) changed (fr-par-dr, fr-par-ndc)"
    assert "+        rekey_time = 1h" in plan.diff
    assert not plan_device(spec, spec.intended, MISSION).changed


def test_list_sas_counts_a_tunnel_up_only_with_its_ike_and_child_sa() -> None:
    assert ipsec.established(LIST_SAS) == {"fr-par-ndc": True, "fr-par-dr": False}
    assert ipsec.established("") == {}


@pytest.mark.parametrize(
    "out",
    [
        "",
        "sh: 1: base64: not found",
        "govnet-ipsec: file ###not-base64###",
        "govnet-ipsec: file //79",  # bytes that are not UTF-8
        "govnet-ipsec: what",
        "govnet-ipsec:",  # the marker alone (a cut line)
    ],
    ids=["nothing", "no-marker", "garbled", "not-utf8", "unknown", "marker-only"],
)
def test_a_bad_answer_reading_the_file_is_one_located_error(out: str) -> None:
    with pytest.raises(ProvisionError, match=r"^ms-fr-par: .*swanctl\.conf"):
        ipsec.parse_read("ms-fr-par", out)


# --------------------------------------------------------------------- a real sh


@pytest.fixture()
def node(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """A node's login environment: SWANCTL_DIR, a stand-in swanctl on PATH that records
    each call in ``calls`` and answers as the real one does to --load-conns."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    swanctl = bin_dir / "swanctl"
    swanctl.write_text(
        f'#!/bin/sh\necho "$*" >>{calls}\n'
        'case "$1" in --load-conns) echo "successfully loaded 2 connections, 0 unloaded";; esac\n'
    )
    swanctl.chmod(0o755)
    conf_dir = tmp_path / "swanctl"
    conf_dir.mkdir()
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "SWANCTL_DIR": str(conf_dir),
        "TMPDIR": str(tmp_path),
    }
    return env, conf_dir, calls


class Shell:
    """A Session whose show() is one real ``sh -c`` (the node's shell login)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def show(self, command: str, read_timeout: float = 30.0) -> str:
        done = subprocess.run(
            ["sh", "-c", command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=read_timeout,
            check=False,
        )
        return done.stdout + done.stderr

    def ping(self, address: str, seconds: float) -> str:
        raise NotImplementedError

    def configure(
        self, commands: list[str], enter: str | None = None, read_timeout: float = 60.0
    ) -> str:
        raise NotImplementedError

    def save(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        pass


def armed_on(env: dict[str, str]) -> tuple[Shell, confirm.Armed, Path]:
    """The FRR timer armed by a real sh with a stand-in vtysh (no FRR outside the lab):
    the login, the armed timer and its directory."""
    vtysh = Path(env["PATH"].split(":")[0]) / "vtysh"
    vtysh.write_text(
        "#!/bin/sh\nprintf 'Building configuration...\\n\\nCurrent configuration:\\n"
        "hostname ms-fr-par\\nend\\n'\n"
    )
    vtysh.chmod(0o755)
    shell = Shell(env)
    armed = confirm.Armed(confirm.FRR_MECHANISM, 30.0, 0.0, confirm.template_values(30.0))
    (step,) = confirm.FRR_MECHANISM.arm
    out = shell.show(armed.fill(step.commands[0]))
    assert step.expect in out, out
    (directory,) = [x[len(step.marker) :] for x in out.splitlines() if x.startswith(step.marker)]
    armed.values["dir"] = directory
    return shell, armed, Path(directory)


def test_write_then_read_round_trips_the_file_through_a_real_sh_stand_in_swanctl(
    node: tuple[dict[str, str], Path, Path],
) -> None:
    env, conf_dir, calls = node
    shell = Shell(env)
    assert ipsec.read("ms-fr-par", shell) is None  # no file yet
    big = MISSION * 12  # several base64 lines of CHUNK characters
    assert len(big) > 2 * ipsec.CHUNK
    ipsec.write("ms-fr-par", shell, big)
    path = conf_dir / "swanctl.conf"
    assert path.read_text() == big and ipsec.read("ms-fr-par", shell) == big
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in conf_dir.iterdir()) == ["swanctl.conf"]  # no temp left
    assert calls.read_text().splitlines() == ["--load-conns"]
    ipsec.write("ms-fr-par", shell, None)
    assert not path.exists() and ipsec.read("ms-fr-par", shell) is None


def test_a_failed_load_is_an_error_naming_the_router_stand_in_swanctl(
    node: tuple[dict[str, str], Path, Path],
) -> None:
    env, _, _ = node
    swanctl = Path(env["PATH"].split(":")[0]) / "swanctl"
    swanctl.write_text("#!/bin/sh\necho \"loading connection 'x' failed: invalid\"; exit 1\n")
    with pytest.raises(ProvisionError, match=r"^ms-fr-par: swanctl.conf not loaded: .*invalid"):
        ipsec.write("ms-fr-par", Shell(env), MISSION)


def test_restarting_ends_each_changed_sa_and_starts_the_ones_this_end_initiates_stand_in(
    node: tuple[dict[str, str], Path, Path],
) -> None:
    env, _, calls = node
    plan = ipsec.plan_ipsec(
        "ms-fr-par", MISSION.replace("dpd_delay = 2s", "dpd_delay = 9s", 1), MISSION
    )
    ipsec.restart("ms-fr-par", Shell(env), plan)
    assert calls.read_text().splitlines() == [
        "--terminate --ike fr-par-ndc --force --timeout 2",
        "--initiate --child fr-par-ndc --timeout 1",
    ]


def test_the_frr_timer_puts_the_old_swanctl_conf_back_stand_in_vtysh_and_swanctl(
    node: tuple[dict[str, str], Path, Path], tmp_path: Path
) -> None:
    """Arm (snapshot), tell the timer of the IPsec change, write the new file, cancel: the
    old file is back, loaded, and the changed connection restarted — what the timer does
    on expiry when govnet never confirms."""
    require(os.path.exists("/usr/lib/frr/frr-reload.py"), "frr-pythontools (frr-reload.py)")
    env, conf_dir, calls = node
    old = MISSION.replace("dpd_delay = 2s", "dpd_delay = 9s", 1)
    (conf_dir / "swanctl.conf").write_text(old)
    shell, armed, timer = armed_on(env)
    directory = str(timer)
    pid = int((Path(directory) / "sleep.pid").read_text())
    try:
        assert (Path(directory) / "swanctl.conf").read_text() == old  # in the snapshot
        plan = ipsec.plan_ipsec("ms-fr-par", old, MISSION)
        confirm.track_ipsec(armed, shell, {"fr-par-ndc": True})
        ipsec.write("ms-fr-par", shell, plan.wanted)
        assert (conf_dir / "swanctl.conf").read_text() == MISSION
        calls.write_text("")
        (cancel,) = confirm.FRR_MECHANISM.cancel
        shell.show(armed.fill(cancel.commands[0]))  # frr-reload.py fails on the stand-in
        assert (conf_dir / "swanctl.conf").read_text() == old
        assert calls.read_text().splitlines() == [
            "--load-conns",
            "--terminate --ike fr-par-ndc --force --timeout 2",
            "--initiate --child fr-par-ndc --timeout 1",
        ]
        assert not Path(directory).exists()
    finally:
        deadline = time.monotonic() + 5
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():  # our own timer's sleep, by PID
            os.kill(pid, signal.SIGTERM)


def test_a_timer_not_told_of_ipsec_leaves_the_file_alone_stand_in(
    node: tuple[dict[str, str], Path, Path],
) -> None:
    """An FRR router whose change loads no swanctl.conf: its file is snapshotted (cheap)
    but never restored, so a hand-kept strongSwan beside FRR is not govnet's to touch."""
    require(os.path.exists("/usr/lib/frr/frr-reload.py"), "frr-pythontools (frr-reload.py)")
    env, conf_dir, calls = node
    (conf_dir / "swanctl.conf").write_text("by hand\n")
    shell, armed, timer = armed_on(env)
    directory = str(timer)
    assert (Path(directory) / "swanctl.conf").read_text() == "by hand\n"  # snapshotted
    (conf_dir / "swanctl.conf").write_text("changed by hand meanwhile\n")
    (cancel,) = confirm.FRR_MECHANISM.cancel
    shell.show(armed.fill(cancel.commands[0]))
    assert (conf_dir / "swanctl.conf").read_text() == "changed by hand meanwhile\n"
    assert not calls.exists()


def test_a_swanctl_conf_the_timer_could_not_save_refuses_the_ipsec_change_only_stand_in(
    node: tuple[dict[str, str], Path, Path],
) -> None:
    """The snapshot cannot copy the file (a stand-in cp that fails, as for a file the login
    may not read): arming still works for the FRR change, but a change that would load a
    new swanctl.conf is refused before anything is written — the timer could not undo it."""
    require(os.path.exists("/usr/lib/frr/frr-reload.py"), "frr-pythontools (frr-reload.py)")
    env, conf_dir, _ = node
    cp = Path(env["PATH"].split(":")[0]) / "cp"
    cp.write_text("#!/bin/sh\nexit 1\n")
    cp.chmod(0o755)
    (conf_dir / "swanctl.conf").write_text(MISSION)
    shell, armed, timer = armed_on(env)  # the FRR change may go on
    directory = str(timer)
    try:
        with pytest.raises(ProvisionError, match="could not be saved for the timer"):
            confirm.track_ipsec(armed, shell, {"fr-par-ndc": True})
        assert not (Path(directory) / "ipsec.changed").exists()
    finally:
        (confirming,) = confirm.FRR_MECHANISM.confirm
        shell.show(armed.fill(confirming.commands[0]))
    assert not Path(directory).exists()

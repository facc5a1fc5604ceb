"""Each platform's commit-confirm commands, as data: what govnet sends to arm, push, probe,
confirm, save and cancel a change, pinned in golden files (tests/provision/golden/confirm/).

No Cisco IOS or Huawei VRP device exists here: their sequences are golden-tested only
(test names say so); FRR's on-node timer is also lab-tested (test_confirm_lab.py).
Regenerate after a deliberate change and review the diff:
``GOVNET_REGEN_GOLDEN=1 .venv/bin/pytest tests/provision/test_confirm_sequences.py``.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from controller.inventory.model import Platform
from controller.provision import confirm
from controller.provision.dialects import DIALECTS
from controller.provision.errors import ConnectError, ProvisionError
from tests.conftest import require

GOLDEN = Path(__file__).parent / "golden" / "confirm"
CHANGE = {
    Platform.CISCO_IOS: ["interface GigabitEthernet0/1", " description uplink to core-2", "exit"],
    Platform.HUAWEI_VRP: [
        "interface GigabitEthernet0/0/1",
        " description uplink to core-2",
        "quit",
    ],
    Platform.FRR: ["interface eth1", " description uplink to core-2", "exit"],
}


def golden(platform: Platform, confirm_timeout: float) -> None:
    mechanism = confirm.MECHANISMS[platform]
    text = confirm.transcript(mechanism, CHANGE[platform], confirm_timeout, DIALECTS[platform].save)
    path = GOLDEN / f"{platform.value}-{confirm_timeout:g}s.txt"
    if os.environ.get("GOVNET_REGEN_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("confirm_timeout", [30, 75])
def test_cisco_ios_revert_timer_sequence_golden_no_device_here(confirm_timeout: float) -> None:
    golden(Platform.CISCO_IOS, confirm_timeout)


@pytest.mark.parametrize("confirm_timeout", [30, 75])
def test_huawei_vrp_commit_trial_sequence_golden_no_device_here(confirm_timeout: float) -> None:
    golden(Platform.HUAWEI_VRP, confirm_timeout)


def test_frr_on_node_timer_sequence_golden() -> None:
    golden(Platform.FRR, 5)


@pytest.mark.parametrize(
    ("platform", "confirm_timeout", "seconds"),
    [
        (Platform.FRR, 5, 15),  # the confirm timeout plus the reserve to confirm in
        (Platform.CISCO_IOS, 30, 60),  # whole minutes
        (Platform.CISCO_IOS, 55, 120),
        (Platform.HUAWEI_VRP, 5, 60),  # VRP takes 60 s at least
        (Platform.HUAWEI_VRP, 100, 110),
    ],
)
def test_the_device_timer_outlasts_the_confirm_timeout_in_the_platforms_units(
    platform: Platform, confirm_timeout: float, seconds: float
) -> None:
    assert confirm.MECHANISMS[platform].timer(confirm_timeout) == seconds


def test_the_frr_script_sent_to_the_node_is_valid_shell_and_decodes_back() -> None:
    script = base64.b64decode(confirm.frr_script_b64()).decode()
    assert script == confirm.FRR_SCRIPT
    subprocess.run(["sh", "-n"], input=script, text=True, check=True, timeout=10)


class FakeDevice:
    """A device that is not here (IOS): records what it is sent; can go silent."""

    def __init__(self, silent_after: int | None = None) -> None:
        self.sent: list[str] = []
        self.silent_after = silent_after

    def _answer(self, command: str) -> str:
        self.sent.append(command)
        if self.silent_after is not None and len(self.sent) > self.silent_after:
            raise ConnectError(f"lost contact during {command!r}")
        return "*10:00:00.000 UTC Tue Dec 1 2026"

    def show(self, command: str, read_timeout: float = 30.0) -> str:
        return self._answer(command)

    def configure(
        self, commands: list[str], enter: str | None = None, read_timeout: float = 60.0
    ) -> str:
        return "\n".join(self._answer(c) for c in [enter or "configure terminal", *commands])

    def close(self) -> None:
        pass


def test_ios_confirm_probes_then_confirms_mock_device_no_ios_here() -> None:
    device = FakeDevice()
    armed = confirm.arm(confirm.IOS_MECHANISM, device, None, 30)
    device.configure(["hostname x"], armed.enter)
    confirm.confirm(armed, device)
    assert device.sent == [
        "configure terminal",
        "archive",
        " path flash:govnet-archive",
        " maximum 14",
        "exit",
        "configure terminal revert timer 1",
        "hostname x",
        "show clock",
        "configure confirm",
    ]


def test_ios_silent_after_the_push_is_never_confirmed_nor_cancelled_mock_device() -> None:
    """A change that lets commands in but no answers out must not be confirmed by a
    command that arrives: the probe's silence stops govnet, the device reverts by itself."""
    device = FakeDevice(silent_after=7)
    armed = confirm.arm(confirm.IOS_MECHANISM, device, None, 30)
    device.configure(["ip route 0.0.0.0 0.0.0.0 Null0"], armed.enter)
    with pytest.raises(ConnectError):
        confirm.confirm(armed, device)
    assert armed.lost
    with pytest.raises(ConnectError):
        confirm.cancel(armed, device)
    assert "configure confirm" not in device.sent
    assert "configure revert now" not in device.sent


def test_frr_needs_the_node_shell_login() -> None:
    with pytest.raises(ProvisionError, match="no shell login"):
        confirm.arm(confirm.FRR_MECHANISM, FakeDevice(), None, 5)


def test_the_frr_arm_step_snapshots_and_starts_the_timer_in_one_round_trip_stand_in_vtysh(
    tmp_path: Path,
) -> None:
    """The arm step run by a real sh, as the node's shell login runs it, with a stand-in
    vtysh (no FRR may run outside the lab): one command makes the directory, snapshots,
    starts the detached timer and says so; confirm then ends the timer and the directory."""
    require(os.path.exists("/usr/lib/frr/frr-reload.py"), "frr-pythontools (frr-reload.py)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    vtysh = bin_dir / "vtysh"
    vtysh.write_text(
        "#!/bin/sh\nprintf 'Building configuration...\\n\\nCurrent configuration:\\n"
        "hostname r1\\nend\\n'\n"
    )
    vtysh.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "TMPDIR": str(tmp_path)}
    (step,) = confirm.FRR_MECHANISM.arm
    armed = confirm.Armed(confirm.FRR_MECHANISM, 30.0, 0.0, confirm.template_values(30.0))

    def sh(command: str) -> str:
        done = subprocess.run(
            ["sh", "-c", command], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        return done.stdout

    out = sh(armed.fill(step.commands[0]))
    assert step.expect in out, out
    (directory,) = [x[len(step.marker) :] for x in out.splitlines() if x.startswith(step.marker)]
    timer = Path(directory)
    assert timer.parent == tmp_path and (timer / "frr.conf").read_text() == "hostname r1\nend\n"
    pid = int((timer / "sleep.pid").read_text())
    try:
        assert Path(f"/proc/{pid}").exists(), "the timer is counting"
        armed.values["dir"] = directory
        (confirming,) = confirm.FRR_MECHANISM.confirm
        assert confirming.expect in sh(armed.fill(confirming.commands[0]))
        # gone at once and for good: the timer, woken by the kill, finds nothing to claim
        # (a plain rm -rf let a timer waking mid-removal claim it and restore; seen once)
        assert not timer.exists() and not list(tmp_path.glob("govnet-confirm.*"))
        deadline = time.monotonic() + 5  # the killed sleep is reaped by its parent, bounded
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{pid}").exists(), "confirming ended the timer"
        assert not list(tmp_path.glob("govnet-confirm.*")), "the woken timer claimed nothing"
    finally:
        if Path(f"/proc/{pid}").exists():  # our own timer's sleep, by PID
            os.kill(pid, signal.SIGTERM)

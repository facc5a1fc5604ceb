"""Commit-confirm on the device itself: arm a timer before the push, confirm after verifying.

A change that cuts the controller off the device (the case commit-confirm exists for)
cannot be rolled back from the controller. So before the push govnet arms the device's
own undo, and only a successful verification confirms it; when govnet does not confirm
in time — failed checks, a crash, lost contact — the device restores itself, with no
controller contact at all.

Each platform's mechanism is data (:data:`MECHANISMS`): the commands that arm, confirm
and cancel (undo now), and where they run.

- ``cisco_ios``: the configuration archive's revert timer — the change is entered with
  ``configure terminal revert timer <minutes>`` and kept by ``configure confirm``;
  ``configure revert now`` undoes it (arming configures the ``archive`` it needs, as the
  template renders it).
- ``huawei_vrp``: two-stage commit — ``commit trial <seconds>`` (at least 60), kept by
  ``commit``; ``abort trial`` undoes it.
- ``frr``: FRR 8.4 has no usable one. Its transactional CLI (``configure`` +
  ``commit confirmed <minutes>``) is only in each daemon's own vty when started with
  ``--tcli``, not in vtysh; leaving configuration mode before confirming rolls back at
  once; and ospfd/bgpd are not northbound-converted, so their commands bypass the
  candidate (tried in a namespace: ``router ospf`` → "No configuration changes to
  commit"). govnet arms an on-node dead-man timer instead, over the node's shell login:
  a detached process that snapshots the running config, sleeps, and unless confirmed
  restores the snapshot with FRR's own ``frr-reload.py`` (Debian: frr-pythontools).

While armed, govnet saves the change only once it is confirmed, so an undone change
never reached the startup configuration.

Not tested on IOS or VRP devices (none exists here): their sequences are golden-tested.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from controller.inventory.model import Platform
from controller.provision.errors import ConnectError, ProvisionError
from controller.provision.transport import Session

log = logging.getLogger(__name__)
RESERVE = 10.0
"""Seconds the device's timer runs beyond ``--confirm-timeout``: time to confirm in."""
RECONNECT_WINDOW = 60.0
"""After the device's timer expired, how long govnet tries to reach it again."""
PROBE_TIMEOUT = 5.0
"""Seconds the device has to answer the round trip that comes before a confirm."""


class Where(Enum):
    EXEC = "exec"
    """The network CLI, outside configuration mode."""
    CONFIG = "config"
    """The network CLI, inside configuration mode."""
    SHELL = "shell"
    """The node's shell login (a second SSH login to the same node)."""


@dataclass(frozen=True)
class Step:
    where: Where
    commands: tuple[str, ...]
    what: str = ""
    """What the step does, for error messages."""
    expect: str = ""
    """Text the output must contain for the step to count as done."""
    capture: str = ""
    """Keep an output line as this template value: what follows ``marker`` on the last
    line that starts with it, or (no marker) the last line containing ``expect``."""
    marker: str = ""


@dataclass(frozen=True)
class Mechanism:
    """How one platform confirms or undoes a change by itself."""

    platform: Platform
    name: str
    summary: str
    arm: tuple[Step, ...] = ()
    """Run before the push (templates: ``{seconds}``, ``{minutes}``, ``{dir}``, ``{script}``)."""
    enter: str | None = None
    """Configuration-mode command for the push while armed (replaces the dialect's)."""
    after_push: tuple[str, ...] = ()
    """Configuration commands appended to the push (the trial commit)."""
    probe: tuple[Step, ...] = ()
    """A round trip before the confirm: a change that cuts the replies off but still lets
    commands in (a blackhole route) must not be confirmed by a command that arrives."""
    confirm: tuple[Step, ...] = ()
    cancel: tuple[Step, ...] = ()
    abandon: tuple[Step, ...] = ()
    """Clean up after arming failed half-way (nothing was pushed)."""
    unit: float = 1.0
    """The timer counts in these many seconds (IOS: minutes)."""
    minimum: float = 1.0
    """The shortest timer the platform takes, in seconds."""

    def timer(self, confirm_timeout: float) -> float:
        """Seconds the device's timer is set to: the confirm timeout plus :data:`RESERVE`,
        rounded up to the platform's unit and minimum."""
        wanted = max(self.minimum, confirm_timeout + RESERVE)
        return math.ceil(wanted / self.unit) * self.unit


# --------------------------------------------------------------------------- FRR dead-man

FRR_SCRIPT = r"""#!/bin/sh
# govnet commit-confirm for FRR: the on-node dead-man timer of one change.
# sh confirm.sh DIR snapshot | timer SECONDS | confirm | cancel
d="$1"
ns="$(ip netns identify $$ 2>/dev/null)"
if [ -n "$ns" ] && [ -d "/etc/frr/$ns" ]; then N="-N $ns"; else N=""; fi
f="${SWANCTL_DIR:-/etc/swanctl}/swanctl.conf"
restore() {
  # The change was never saved: only the running config is restored. frr-reload.py saves
  # unless the file it loads is <confdir>/frr.conf, so the snapshot is $d/frr.conf.
  restore_ipsec
  if /usr/lib/frr/frr-reload.py --reload --stdout --confdir "$d" --rundir "$d" $N \
      "$d/frr.conf" >"$d/restore.log" 2>&1; then
    logger -t govnet-confirm "restored the configuration saved before the change" 2>/dev/null
    return 0
  fi
  logger -t govnet-confirm "restore FAILED: $(failure)" 2>/dev/null
  return 1
}
restore_ipsec() {
  # Only when govnet said the change loads a new swanctl.conf ("$d/ipsec.changed": the
  # connections it changes, and whether this end starts them): the old file back, loaded,
  # those connections restarted under it.
  [ -e "$d/ipsec.changed" ] || return 0
  PATH="$PATH:/usr/sbin:/sbin"
  if [ -e "$d/swanctl.conf" ]; then
    cp "$d/swanctl.conf" "$f.govnet-old" && mv -f "$f.govnet-old" "$f"
  else rm -f "$f"; fi
  swanctl --load-conns >"$d/ipsec.log" 2>&1
  while read -r c start; do
    [ -n "$c" ] || continue
    swanctl --terminate --ike "$c" --force --timeout 2 >/dev/null 2>&1
    [ "$start" = 1 ] && swanctl --initiate --child "$c" --timeout 1 >/dev/null 2>&1
  done <"$d/ipsec.changed"
}
failure() { grep -a "ERROR" "$d/restore.log" | tail -n 1 | sed 's/.*ERROR[^:]*: //'; }
stop_timer() { kill "$(cat "$d/sleep.pid" 2>/dev/null)" 2>/dev/null; }
# The directory goes in one rename, then is removed: a timer waking meanwhile finds no
# "$d" to claim. (rm -rf "$d" alone removes "$d/claim" first, and a timer waking before
# the directory itself went could claim it again and restore a confirmed change.)
finish() { mv "$d" "$d.done" && rm -rf "$d.done"; }
case "$2" in
snapshot)
  if [ ! -x /usr/lib/frr/frr-reload.py ]; then
    echo "govnet: no /usr/lib/frr/frr-reload.py to restore with (frr-pythontools)"; exit 1
  fi
  mkdir -p "$d/$ns" && echo "service integrated-vtysh-config" >"$d/$ns/vtysh.conf"
  vtysh $N -c "show running-config" | sed '1,/^Current configuration:/d' >"$d/frr.conf"
  # swanctl.conf too, for a change that loads a new one (unreadable: such a change is
  # refused when it tells the timer; any other change goes on)
  if [ -f "$f" ]; then cp "$f" "$d/swanctl.conf" 2>/dev/null || : >"$d/swanctl.unsaved"; fi
  grep -q '^end' "$d/frr.conf" && echo "govnet: snapshot taken" ;;
arm)
  # snapshot, then the detached timer; waits (bounded) until the timer has its pid
  if ! sh "$0" "$d" snapshot; then rm -rf "$d"; exit 1; fi
  nohup setsid sh "$0" "$d" timer "$3" </dev/null >/dev/null 2>&1 &
  i=0
  while [ ! -s "$d/sleep.pid" ] && [ "$i" -lt 200 ]; do sleep 0.01; i=$((i + 1)); done
  if [ -s "$d/sleep.pid" ]; then echo "govnet: armed"; exit 0; fi
  sh "$0" "$d" confirm >/dev/null; echo "govnet: the timer did not start"; exit 1 ;;
timer)
  sleep "$3" & echo $! >"$d/sleep.pid"; wait $!
  mkdir "$d/claim" 2>/dev/null || exit 0
  restore; finish ;;
confirm)
  if mkdir "$d/claim" 2>/dev/null; then stop_timer; finish; echo "govnet: confirmed"
  else echo "govnet: too late, the timer already restored"; fi ;;
cancel)
  if mkdir "$d/claim" 2>/dev/null; then
    stop_timer
    if restore; then echo "govnet: undone"; else echo "govnet: undo FAILED: $(failure)"; fi
    finish
  else echo "govnet: the timer already restored"; fi ;;
esac
"""


def track_ipsec(armed: Armed, shell: Session, changed: dict[str, bool]) -> None:
    """Tell an armed FRR timer that the change also loads a new ``swanctl.conf``: on
    expiry (or cancel) it then puts the file it saved back too, and restarts ``changed``
    (connection → whether this end starts it). Sent before the new file is written."""
    if "dir" not in armed.values:
        raise ProvisionError(f"{armed.mechanism.name}: no timer directory to tell of IPsec")
    lines = " ".join(f"'{name} {int(start)}'" for name, start in sorted(changed.items()))
    command = armed.fill(
        "if test -e {dir}/swanctl.unsaved; then "
        "printf 'govnet: %s\\n' 'its swanctl.conf could not be saved for the timer'; else "
        f"printf '%s\\n' {lines} >{{dir}}/ipsec.changed && printf 'govnet: %s\\n' tracked; fi"
    )
    out = shell.show(command)
    if "govnet: tracked" not in out:
        last = out.strip().splitlines()[-1] if out.strip() else "no answer"
        raise ProvisionError(f"{armed.mechanism.name}: could not track the IPsec change: {last}")


def frr_script_b64() -> str:
    return base64.b64encode(FRR_SCRIPT.encode()).decode()


FRR_MECHANISM = Mechanism(
    platform=Platform.FRR,
    name="on-node dead-man timer",
    summary="a detached timer on the node (shell login) restores the saved running config "
    "with frr-reload.py unless confirmed",
    arm=(  # one round trip: make the timer's directory, send the script, snapshot, start
        Step(
            Where.SHELL,
            (
                'd=$(mktemp -d "${{TMPDIR:-/tmp}}/govnet-confirm.XXXXXXXX") && '
                "printf 'govnet: %s %s\\n' dir \"$d\" && "
                'echo {script} | base64 -d >"$d/confirm.sh" && sh "$d/confirm.sh" "$d" arm '
                "{seconds}",
            ),
            "arm the timer",
            expect="govnet: armed",
            capture="dir",
            marker="govnet: dir ",  # printf'd: the command's echo cannot contain it
        ),
    ),
    probe=(
        Step(
            Where.SHELL,
            ("test -d {dir} && printf 'govnet: %s\\n' alive",),
            "reach the node",
            expect="govnet: alive",
        ),
    ),
    confirm=(
        Step(
            Where.SHELL,
            ("sh {dir}/confirm.sh {dir} confirm",),
            "confirm",
            expect="govnet: confirmed",
        ),
    ),
    cancel=(
        Step(Where.SHELL, ("sh {dir}/confirm.sh {dir} cancel",), "undo", expect="govnet: undone"),
    ),
    abandon=(Step(Where.SHELL, ("sh {dir}/confirm.sh {dir} confirm; rm -rf {dir}",), "clean up"),),
)

IOS_MECHANISM = Mechanism(
    platform=Platform.CISCO_IOS,
    name="configure terminal revert timer",
    summary="configure terminal revert timer <minutes> (archive), then configure confirm",
    arm=(  # the revert timer needs the archive; the template renders the same lines
        Step(
            Where.CONFIG,
            ("archive", " path flash:govnet-archive", " maximum 14", "exit"),
            "configure the archive",
        ),
    ),
    enter="configure terminal revert timer {minutes}",
    probe=(Step(Where.EXEC, ("show clock",), "reach the device"),),
    confirm=(Step(Where.EXEC, ("configure confirm",), "confirm"),),
    cancel=(Step(Where.EXEC, ("configure revert now",), "undo"),),
    unit=60.0,
    minimum=60.0,
)

VRP_MECHANISM = Mechanism(
    platform=Platform.HUAWEI_VRP,
    name="commit trial",
    summary="two-stage commit: commit trial <seconds> (at least 60), then commit",
    after_push=("commit trial {seconds}",),
    probe=(Step(Where.EXEC, ("display clock",), "reach the device"),),
    confirm=(Step(Where.CONFIG, ("commit",), "confirm"),),
    cancel=(Step(Where.EXEC, ("abort trial",), "undo"),),
    minimum=60.0,
)

MECHANISMS: dict[Platform, Mechanism] = {
    m.platform: m for m in (FRR_MECHANISM, IOS_MECHANISM, VRP_MECHANISM)
}


# --------------------------------------------------------------------------- running them


@dataclass
class Armed:
    """One device's armed timer."""

    mechanism: Mechanism
    seconds: float
    expires: float
    """Monotonic time by which the device will have undone the change by itself."""
    values: dict[str, str] = field(default_factory=dict)
    shell: Session | None = None
    lost: bool = False
    """Contact was lost: nothing more is sent, the device's timer undoes the change."""

    def fill(self, text: str) -> str:
        return text.format(**self.values)

    @property
    def enter(self) -> str | None:
        return self.fill(self.mechanism.enter) if self.mechanism.enter else None

    @property
    def after_push(self) -> list[str]:
        return [self.fill(c) for c in self.mechanism.after_push]

    @property
    def starts_at_push(self) -> bool:
        """The device starts counting when the change is entered (IOS, VRP)."""
        return bool(self.mechanism.enter or self.mechanism.after_push)

    def pushed(self, clock: Callable[[], float] = time.monotonic) -> None:
        """The push ended: a timer that starts with it expires ``seconds`` from now."""
        if self.starts_at_push:
            self.expires = clock() + self.seconds


def journal_record(armed: Armed, clock: Callable[[], float] = time.monotonic) -> dict[str, str]:
    """What the change journal keeps of an armed timer, so that ``recover`` can confirm or
    cancel it after the apply was killed: the values the device gave (the timer's
    directory), its length and when it expires (UNIX time)."""
    given = {k: v for k, v in armed.values.items() if k not in template_values(armed.seconds)}
    expires = time.time() + (armed.expires - clock())
    return given | {"seconds": f"{armed.seconds:g}", "expires": f"{expires:.3f}"}


def from_journal(
    mechanism: Mechanism, record: dict[str, str], clock: Callable[[], float] = time.monotonic
) -> Armed | None:
    """The armed timer a journal recorded, or None when there is none or it has expired
    (the device has undone the change by itself)."""
    if not record:
        return None
    try:
        seconds, expires = float(record["seconds"]), float(record["expires"])
    except (KeyError, ValueError) as exc:
        raise ProvisionError(f"{mechanism.name}: the journal's timer is unreadable: {exc}") from exc
    left = expires - time.time()
    if left <= 0:
        return None
    given = {k: v for k, v in record.items() if k not in ("seconds", "expires")}
    return Armed(mechanism, seconds, clock() + left, template_values(seconds) | given)


def template_values(seconds: float) -> dict[str, str]:
    return {
        "seconds": str(int(seconds)),
        "minutes": str(int(seconds // 60)),
        "script": frr_script_b64(),
    }


def needs_shell(mechanism: Mechanism) -> bool:
    steps = mechanism.arm + mechanism.confirm + mechanism.cancel
    return any(step.where is Where.SHELL for step in steps)


def arm(
    mechanism: Mechanism,
    cli: Session,
    open_shell: Callable[[], Session] | None,
    confirm_timeout: float,
    clock: Callable[[], float] = time.monotonic,
) -> Armed:
    """Arm the device's timer; raises ProvisionError when it could not be armed."""
    seconds = mechanism.timer(confirm_timeout)
    armed = Armed(mechanism, seconds, clock() + seconds, template_values(seconds))
    if needs_shell(mechanism):
        if open_shell is None:
            raise ProvisionError(f"{mechanism.name}: no shell login to the node")
        armed.shell = open_shell()
    try:
        for step in mechanism.arm:
            out = _run(step, armed, cli)
            if step.capture:
                lines = [line.strip() for line in out.splitlines()]
                if step.marker:
                    marked = [x for x in lines if x.startswith(step.marker)]
                    if not marked:
                        raise ProvisionError(f"{mechanism.name}: no {step.marker!r} line")
                    armed.values[step.capture] = marked[-1][len(step.marker) :]
                else:
                    armed.values[step.capture] = [x for x in lines if step.expect in x][-1]
    except ProvisionError:
        if "dir" in armed.values:
            try:
                for step in mechanism.abandon:
                    _run(step, armed, cli)
            except ProvisionError:
                log.warning("%s: could not clean up after arming failed", mechanism.name)
        _close_shell(armed)
        raise
    armed.expires = clock() + seconds  # the on-node timer started during the last step
    return armed


def confirm(armed: Armed, cli: Session, clock: Callable[[], float] = time.monotonic) -> None:
    """Keep the change — after a round trip shows the device still answers. Raises
    ProvisionError when it was not confirmed (then the device's timer undoes it)."""
    try:
        for step in armed.mechanism.probe:
            _run(
                step, armed, cli, read_timeout=max(0.5, min(PROBE_TIMEOUT, armed.expires - clock()))
            )
        for step in armed.mechanism.confirm:
            _run(step, armed, cli, read_timeout=max(1.0, armed.expires - clock()))
    except ConnectError:
        armed.lost = True
        raise
    finally:
        _close_shell(armed)


def cancel(armed: Armed, cli: Session, clock: Callable[[], float] = time.monotonic) -> None:
    """Undo the change now, rather than when the timer expires."""
    if armed.lost:
        raise ConnectError(f"{armed.mechanism.name}: contact lost, not cancelling")
    try:
        for step in armed.mechanism.cancel:
            _run(step, armed, cli, read_timeout=max(1.0, armed.expires - clock()))
    finally:
        _close_shell(armed)


def disarm(armed: Armed, cli: Session) -> None:
    """End a timer armed for a change that was never pushed (nothing to undo)."""
    try:
        for step in armed.mechanism.abandon:
            _run(step, armed, cli)
    finally:
        _close_shell(armed)


def wait_until_undone(armed: Armed, settle: float = 3.0) -> None:
    """Sleep until the device's timer has expired and its restore has had time to run."""
    _close_shell(armed)
    remaining = armed.expires + settle - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def _close_shell(armed: Armed) -> None:
    if armed.shell is not None:
        armed.shell.close()
        armed.shell = None


def _run(step: Step, armed: Armed, cli: Session, read_timeout: float = 30.0) -> str:
    commands = [armed.fill(c) for c in step.commands]
    if step.where is Where.CONFIG:
        out = cli.configure(commands)
    else:
        session = armed.shell if step.where is Where.SHELL else cli
        if session is None:
            raise ProvisionError(f"{armed.mechanism.name}: no shell login to the node")
        out = "\n".join(session.show(c, read_timeout) for c in commands)
    if step.expect and step.expect not in out:
        last = out.strip().splitlines()[-1] if out.strip() else "no answer"
        raise ProvisionError(f"{armed.mechanism.name}: could not {step.what}: {last}")
    return out


def transcript(mechanism: Mechanism, commands: list[str], confirm_timeout: float, save: str) -> str:
    """What govnet sends for one armed change, phase by phase (golden-tested)."""
    armed = Armed(mechanism, mechanism.timer(confirm_timeout), 0.0)
    armed.values = template_values(armed.seconds) | {"dir": "DIR", "script": "SCRIPT"}
    lines = [
        f"# {mechanism.platform.value}: {mechanism.name}, timer {armed.seconds:g} s",
        f"# {mechanism.summary}",
    ]

    def phase(title: str, steps: tuple[Step, ...]) -> None:
        lines.append(f"[{title}]")
        lines.extend(f"{s.where.value}: {armed.fill(c)}" for s in steps for c in s.commands)

    phase("arm", mechanism.arm)
    lines.append("[push]")
    if armed.enter:
        lines.append(f"enter: {armed.enter}")
    lines.extend(f"config: {c}" for c in [*commands, *armed.after_push])
    phase("probe", mechanism.probe)
    phase("confirm", mechanism.confirm)
    lines.append(f"exec: {save}")
    phase("cancel", mechanism.cancel)
    return "\n".join(lines) + "\n"


def release(armed: Armed) -> None:
    """Close the armed timer's shell session (the timer itself keeps running)."""
    _close_shell(armed)

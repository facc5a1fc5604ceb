"""`make demo`: the main job on the built-in data, step by step, with headings.

1. Validate and summarise the national and lab inventories; export Ansible's inventory.
2. The SOC loop in the namespace lab (needs root): the lab up (topologies/lab.clab.yml),
   its links applied, probes polling from inside it, a drift check, Prometheus +
   Alertmanager, the SOC console on http://127.0.0.1:8080 with demo users (random
   passwords, printed once, stored hashed) — and a scenario that cuts Battambang's
   uplink and heals it every few minutes, so there is something to watch.

Ctrl-C (or DEMO_DURATION seconds) ends it: what the demo started is stopped, by PID,
and the lab goes down again unless it was up before. Settings (environment):

    DEMO_DURATION=SECONDS   end by itself this long after the console is up (default:
                            after the cycles)
    DEMO_CYCLES=N           break/heal cycles (default 5)
    DEMO_QUIET=SECONDS      healthy time before each cut (default 90)
    DEMO_BREAK=SECONDS      longest a cut lasts (default 180; healed once the alert showed
                            for 60 s)
    DEMO_STATE_DIR=PATH     state directory (default .govnet)
    DEMO_CONSOLE_PORT, DEMO_PROMETHEUS_PORT, DEMO_ALERTMANAGER_PORT, DEMO_TEXTFILE_PORT,
    DEMO_PROBES_PORT        loopback ports (8080, 9090, 9093, 9501, 9500)
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.soc.drill import ConsoleClient

ROOT = Path(__file__).resolve().parent.parent
GOVNET = str(Path(sys.executable).parent / "govnet")
TOPOLOGY = "topologies/lab.clab.yml"
TARGETS = 23

STEPS: list[tuple[str, list[str]]] = [
    ("Validate the national inventory", ["inventory", "validate", "-i", "inventory/cambodia"]),
    ("What it holds, by province", ["inventory", "show", "-i", "inventory/cambodia"]),
    ("Validate the lab inventory", ["inventory", "validate", "-i", "inventory/lab"]),
    (
        "Export it for Ansible",
        ["inventory", "export", "ansible", "-i", "inventory/cambodia", "-o", ".govnet/hosts.yml"],
    ),
]
EFFECT = {"link-down": "Battambang (KH-2) is cut off", "link-up": "Battambang reconnected"}
DEMO_USERS = [
    ("soc-demo", "soc", None),
    ("engineer-demo", "engineer", None),
    ("focal-mef", "focal", "MEF"),
]


def heading(title: str, command: str = "") -> None:
    print(f"\n\033[1m== {title}{': ' + command if command else ''}\033[0m", flush=True)


def say(message: str) -> None:
    print(f"   {time.strftime('%H:%M:%S')} {message}", flush=True)


def setting(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    if not value.isdigit() or not 0 <= int(value) <= 7 * 86400:
        raise SystemExit(f"error: {name}={value!r}: a whole number of seconds (or a count)")
    return int(value)


def govnet(*args: str, ok: tuple[int, ...] = (0,)) -> int:
    heading("govnet " + " ".join(args))
    code = subprocess.run([GOVNET, *args], cwd=ROOT, check=False).returncode
    if code not in ok:
        raise SystemExit(f"error: `govnet {' '.join(args)}` failed (exit {code})")
    return code


# ------------------------------------------------------------------------- the SOC loop


class Deadline:
    """DEMO_DURATION, Ctrl-C and SIGTERM in one place: every wait goes through here."""

    def __init__(self) -> None:
        self.end: float | None = None
        self.stop = threading.Event()

    def start(self, seconds: int) -> None:
        """DEMO_DURATION counts from when the console is up (0: no limit)."""
        self.end = time.monotonic() + seconds if seconds else None

    def remaining(self) -> float:
        return float("inf") if self.end is None else self.end - time.monotonic()

    def over(self) -> bool:
        return self.stop.is_set() or self.remaining() <= 0

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when the demo should end."""
        self.stop.wait(max(0.0, min(seconds, self.remaining())))
        return self.over()


def demo_users(state_dir: Path) -> list[tuple[str, str, str]]:
    """Create (or reset) the demo users with fresh random passwords; only hashes are kept."""
    from controller.web.users import UserStore

    store = UserStore(state_dir / "soc" / "users.json")
    users = []
    for name, role, tenant in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        if store.get(name) is None:
            store.add(name, role, tenant, password)
        else:
            store.set_password(name, password)
        users.append((name, role + (f" ({tenant})" if tenant else ""), password))
    return users


def watch(
    console: ConsoleClient,
    deadline: Deadline,
    until: Callable[[list[dict[str, object]]], bool],
    limit: float,
) -> float | None:
    """Poll the console's alerts until ``until`` holds; seconds taken, None if it did not."""
    start = time.monotonic()
    while time.monotonic() - start < limit and not deadline.over():
        try:
            if until(console.alerts()):
                return time.monotonic() - start
        except Exception as exc:  # the console may be busy; the demo goes on
            say(f"(console: {exc})")
        if deadline.wait(2):
            break
    return None


def scenario(lab: object, console: ConsoleClient, deadline: Deadline) -> None:
    from controller.soc.drill import CUT, CUT_PROVINCE, cut, province_alert
    from simulations.faults import Faults

    cycles, quiet, longest = (
        setting("DEMO_CYCLES", 5),
        setting("DEMO_QUIET", 90),
        setting("DEMO_BREAK", 180),
    )
    faults = Faults(lab)  # type: ignore[arg-type]
    for cycle in range(1, cycles + 1):
        say(f"cycle {cycle}/{cycles}: all green for {quiet} s")
        if deadline.wait(quiet):
            return
        with cut(faults, [CUT], lambda m: say(f"{m}: {EFFECT[m.split()[0]]}")):
            shown = watch(
                console, deadline, lambda a: province_alert(a, CUT_PROVINCE) is not None, longest
            )
            if shown is None:
                say("no province alert yet; healing")
                continue
            say(f"the console shows the critical KH-2 alert after {shown:.0f} s")
            say("its four communes are counted as suppressed under it (Alertmanager inhibition)")
            if deadline.wait(min(60.0, longest)):
                return
        gone = watch(console, deadline, lambda a: province_alert(a, CUT_PROVINCE) is None, 180)
        if gone is not None:
            say(f"resolved {gone:.0f} s after the link came back")
    say("scenario finished")


@contextlib.contextmanager
def lab_up(env: dict[str, str]) -> Iterator[object]:
    """The lab, up for the block; brought down after unless it was up before."""
    from simulations.checks import parse_check, run_check
    from simulations.lab import Lab

    lab = Lab(ROOT / TOPOLOGY, env=env)
    was_up = lab.is_up()
    govnet("lab", "up", TOPOLOGY)
    try:
        heading("Waiting for OSPF to converge")
        for node, full in (("core-1", 8), ("dr-1", 3), ("pr-kh17", 2)):
            result = run_check(
                lab, parse_check({"ospf": {"node": node, "full": full}, "timeout": 90})
            )
            if not result.ok:
                raise SystemExit(f"error: the lab did not converge: {result.detail}")
        say("converged")
        yield lab
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut teardown
        if was_up:
            say("the lab was up before the demo: leaving it up")
        else:
            heading("govnet lab down " + TOPOLOGY)
            lab.down()
            say("lab down")


def soc_loop() -> int:
    from controller.envfile import read_env_file
    from controller.soc.drill import LoopPorts, SocLoop

    duration = setting("DEMO_DURATION", 0)
    state = Path(os.environ.get("DEMO_STATE_DIR", ".govnet"))
    ports = LoopPorts(
        probes=setting("DEMO_PROBES_PORT", 9500),
        prometheus=setting("DEMO_PROMETHEUS_PORT", 9090),
        alertmanager=setting("DEMO_ALERTMANAGER_PORT", 9093),
        textfile=setting("DEMO_TEXTFILE_PORT", 9501),
        console=setting("DEMO_CONSOLE_PORT", 8080),
    )
    env = read_env_file(ROOT / "topologies/lab.env")
    for key, value in env.items():
        os.environ.setdefault(key, value)
    deadline = Deadline()

    def on_term(signum: int, frame: object) -> None:
        deadline.stop.set()

    signal.signal(signal.SIGTERM, on_term)
    from simulations.lab import Lab

    lab_dir = Lab(ROOT / "topologies/lab.clab.yml").plan.lab_dir  # the missions' charons
    loop = SocLoop(state, ROOT / "inventory/lab", ports, 15.0, log=say, ipsec_dir=lab_dir)
    try:
        with lab_up(env) as lab:
            govnet(
                "link",
                "apply",
                "--all",
                "--lab",
                TOPOLOGY,
                "--trust-on-first-use",
                "-i",
                "inventory/lab",
                "--state-dir",
                str(state),
            )
            drift = state / "soc" / "textfile" / "drift.prom"
            govnet(
                "config",
                "drift",
                "--all",
                "--lab",
                TOPOLOGY,
                "--trust-on-first-use",
                "-i",
                "inventory/lab",
                "--state-dir",
                str(state),
                "--prom-file",
                str(drift),
                ok=(0, 3),
            )
            heading("Probes, Prometheus + Alertmanager, the SOC console")
            try:
                loop.start()
                users = demo_users(state)
                loop.wait_for_targets(TARGETS, 150, deadline.stop)
                heading("The SOC console")
                print(f"   console: {loop.console_url}/", flush=True)
                print(
                    f"   prometheus: http://127.0.0.1:{ports.prometheus}/  alertmanager: "
                    f"http://127.0.0.1:{ports.alertmanager}/",
                    flush=True,
                )
                for name, role, password in users:
                    print(f"   sign in: {name} / {password}   ({role})", flush=True)
                print(
                    "   (passwords are shown once and stored hashed; Ctrl-C ends the demo)",
                    flush=True,
                )
                deadline.start(duration)
                console = ConsoleClient(loop.console_url, users[0][0], users[0][2])
                heading("Scenario: Battambang's uplink (core-1:eth5) breaks and heals")
                scenario(lab, console, deadline)
                while not deadline.over() and duration:
                    deadline.wait(5)
            finally:
                signal.signal(
                    signal.SIGINT, signal.SIG_IGN
                )  # a second Ctrl-C must not cut the teardown short
                heading("Tearing down what the demo started")
                loop.stop()
    except KeyboardInterrupt:
        print("\ninterrupted: torn down", flush=True)
    return 0


def main() -> int:
    for title, args in STEPS:
        heading(title, "govnet " + " ".join(args))
        result = subprocess.run([GOVNET, *args], cwd=ROOT, check=False)
        if result.returncode != 0:
            return result.returncode
    if os.geteuid() != 0:
        print("\nThe SOC loop runs the namespace lab: run `make demo` as root.", file=sys.stderr)
        return 1
    os.chdir(ROOT)
    return soc_loop()


if __name__ == "__main__":
    sys.exit(main())

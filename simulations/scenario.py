"""Declarative fault scenarios and campaigns: a YAML list of steps run against a lab.

    name: province-uplink-cut
    steps:
      - check: {ospf: {node: r1, full: 2}, timeout: 30}
      - fault: link-down r1:eth2          # or {impair: r1:eth1, delay: 80ms, loss: 5%}
      - wait: 2
      - check: {ping: {from: r1, to: 10.2.0.3}, timeout: 15}
      - alerts: {raise: [{alertname: GovnetProvinceDown, province: KH-2}], timeout: 150}
      - fault: clear

Faults: ``link-down``/``link-up`` NODE:IFACE, ``node-down``/``node-up`` NODE (also
``node-stop``/``node-start``), ``impair`` NODE:IFACE with ``delay``/``jitter``/``loss``/
``rate``, ``loss`` NODE:IFACE PERCENT, ``delay`` NODE:IFACE DURATION, ``flap``
NODE:IFACE with ``period`` (down half of it, up the other half) and ``count`` — a
bounded flapper in the background until ``clear`` or the end. ``alerts`` steps (a
*campaign*, :mod:`simulations.alerts`) are judged against Alertmanager: the runner needs
an alert source (``govnet lab scenario run --alertmanager-url`` or ``--soc``).

Faults are cleared when the scenario ends (also on failure) unless ``cleanup: false``.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulations.alerts import alert_lines, judge, parse_alerts
from simulations.checks import parse_check, run_check
from simulations.errors import LabError
from simulations.executor import Progress, no_progress
from simulations.faults import Faults, Impairment, parse_duration_ms
from simulations.lab import Lab

MAX_WAIT = 600.0
MAX_FLAPS = 200
MIN_FLAP_PERIOD = 1.0
ALERT_POLL = 2.0
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
STEP_KINDS = ("fault", "wait", "check", "alerts")
AlertSource = Callable[[], list[dict[str, Any]]]  # Alertmanager's alerts, every state


@dataclass
class StepResult:
    index: int
    kind: str
    description: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0


@dataclass
class ScenarioResult:
    name: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


def load_scenario(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    if not file.exists() and (SCENARIO_DIR / file.name).exists():
        file = SCENARIO_DIR / file.name
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LabError(f"{file}: cannot read scenario: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise LabError(f"{file}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise LabError(f"{file}: a scenario is a mapping with a 'steps' list")
    for i, step in enumerate(data["steps"], start=1):
        keys = set(step) if isinstance(step, dict) else set()
        if len(keys & set(STEP_KINDS)) != 1:
            raise LabError(f"{file}: step {i}: needs exactly one of {', '.join(STEP_KINDS)}")
        if "alerts" in step:
            parse_alerts(step["alerts"], f"{file}: step {i}")
    data.setdefault("name", file.stem)
    return data


def is_campaign(data: Mapping[str, Any]) -> bool:
    """Does the scenario assert alerts (and so need the SOC)?"""
    return any("alerts" in step for step in data["steps"])


class Flapper:
    """A link going down and up in the background: ``count`` times, ``period`` apart,
    until stopped. Bounded in count and time."""

    def __init__(self, faults: Faults, endpoint: str, period: float, count: int) -> None:
        if period < MIN_FLAP_PERIOD:
            raise LabError(f"flap {endpoint}: period below {MIN_FLAP_PERIOD:g}s")
        if not 1 <= count <= MAX_FLAPS:
            raise LabError(f"flap {endpoint}: count must be 1 to {MAX_FLAPS}")
        faults._end(endpoint)  # an unknown endpoint fails here, not in the thread
        self.faults, self.endpoint, self.period, self.count = faults, endpoint, period, count
        self.stopping = threading.Event()
        self.flaps = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"flap {endpoint}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            for _ in range(self.count):
                self.faults.link_down(self.endpoint)
                if self.stopping.wait(self.period / 2):
                    break
                self.faults.link_up(self.endpoint)
                self.flaps += 1
                if self.stopping.wait(self.period / 2):
                    break
        except BaseException as exc:  # reported by stop(); the lab is cleared anyway
            self.error = exc

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(30)


def apply_fault(
    faults: Faults, spec: str | Mapping[str, Any], flappers: list[Flapper] | None = None
) -> str:
    """Apply one fault given as ``"link-down r1:eth2"`` / ``"impair r1:eth1 delay=80ms"``
    / ``"loss r1:eth1 20%"`` or a mapping ``{impair: r1:eth1, delay: 80ms}``; returns a
    description. A ``flap`` is started in the background and added to ``flappers``."""
    if isinstance(spec, str):
        words = shlex.split(spec)
        if not words:
            raise LabError("empty fault")
        action, rest = words[0], words[1:]
        target = rest[0] if rest else ""
        opts = dict(w.split("=", 1) for w in rest[1:] if "=" in w)
        if action in ("loss", "delay") and len(rest) > 1 and "=" not in rest[1]:
            opts[action] = rest[1]
    else:
        actions = [k for k in spec if k in ACTIONS]
        if "impair" in actions:  # delay/loss are faults of their own, and impair's options
            actions = ["impair"]
        if len(actions) != 1:
            raise LabError(f"fault needs exactly one of {', '.join(ACTIONS)}: {dict(spec)!r}")
        action, target = actions[0], str(spec[actions[0]] or "")
        opts = {k: str(v) for k, v in spec.items() if k != action}
    if action not in ACTIONS:
        raise LabError(f"unknown fault {action!r} (one of {', '.join(ACTIONS)})")
    if action == "clear":
        stopped = _stop_flappers(flappers)
        return f"cleared {faults.clear()} faults" + (f", {stopped} flapper(s)" if stopped else "")
    if not target:
        raise LabError(f"fault {action!r} needs a target")
    action = ALIASES.get(action, action)
    if action in ("loss", "delay"):
        if not opts.get(action):
            raise LabError(f"fault {action} {target} needs a value, e.g. {action} {target} 20%")
        opts = {action: opts[action]}
        action = "impair"
    if action == "flap":
        if flappers is None:
            raise LabError("flap runs inside a scenario (govnet lab scenario run)")
        period = parse_duration_ms(opts.get("period", "4s")) / 1000.0
        flapper = Flapper(faults, target, period, int(opts.get("count", 10)))
        flapper.start()
        flappers.append(flapper)
        return f"flap {target} every {period:g}s, {flapper.count} times"
    if action == "impair":
        faults.impair(
            target,
            Impairment.parse(
                opts.get("delay"), opts.get("jitter"), opts.get("loss"), opts.get("rate")
            ),
        )
    else:
        getattr(faults, action.replace("-", "_"))(target)
    extra = " ".join(f"{k}={v}" for k, v in opts.items())
    return f"{action} {target} {extra}".strip()


ACTIONS = (
    "link-down",
    "link-up",
    "impair",
    "loss",
    "delay",
    "flap",
    "node-stop",
    "node-start",
    "node-down",
    "node-up",
    "path-down",
    "path-up",
    "psk-wrong",
    "clear",
)
ALIASES = {"node-down": "node-stop", "node-up": "node-start"}


def _stop_flappers(flappers: list[Flapper] | None) -> int:
    if not flappers:
        return 0
    count = len(flappers)
    for flapper in flappers:
        flapper.stop()
    errors = [f.error for f in flappers if f.error is not None]
    flappers.clear()
    if errors:
        raise LabError(f"a flapping link failed: {errors[0]}")
    return count


def check_alerts(
    spec: Mapping[str, Any],
    alerts: AlertSource,
    where: str,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> tuple[bool, str]:
    """Poll ``alerts`` until the expectation holds (or, with ``hold``, while it holds)."""
    expectation = parse_alerts(spec, where)
    start = clock()
    limit = expectation.hold or expectation.timeout
    rounds = int(limit / ALERT_POLL) + 2
    problems: list[str] = []
    current: list[dict[str, Any]] = []
    for _ in range(rounds):
        current = alerts()
        ok, problems = judge(expectation, current)
        elapsed = clock() - start
        if expectation.hold and not ok:
            return False, f"after {elapsed:.0f} s: " + "; ".join(problems)
        if not expectation.hold and ok:
            return True, f"held after {elapsed:.0f} s ({len(current)} alert(s) in Alertmanager)"
        if elapsed >= limit:
            break
        pause(ALERT_POLL)
    if expectation.hold:
        return True, f"held for {clock() - start:.0f} s ({len(current)} alert(s))"
    seen = ", ".join(alert_lines(current)) or "none"
    return False, f"after {clock() - start:.0f} s: {'; '.join(problems)} (alerts: {seen})"


def run_scenario(
    lab: Lab,
    path: str | Path,
    progress: Progress = no_progress,
    alerts: AlertSource | None = None,
) -> ScenarioResult:
    """Run every step of the scenario at ``path`` against ``lab`` (which must be up);
    a campaign's ``alerts`` steps are judged against ``alerts``."""
    data = load_scenario(path)
    if is_campaign(data) and alerts is None:
        raise LabError(
            f"scenario {data['name']} asserts alerts: it needs the SOC (govnet lab scenario"
            " run --soc, or --alertmanager-url with govnet soc up and govnet probe serve)"
        )
    faults = Faults(lab)
    flappers: list[Flapper] = []
    result = ScenarioResult(str(data["name"]))
    steps = data["steps"]
    try:
        for i, step in enumerate(steps, start=1):
            start = time.monotonic()
            if "fault" in step:
                progress(f"fault {step['fault']}", i, len(steps))
                desc = apply_fault(faults, step["fault"], flappers)
                result.steps.append(StepResult(i, "fault", desc, True))
            elif "alerts" in step:
                assert alerts is not None
                expectation = parse_alerts(step["alerts"], f"step {i}")
                progress(expectation.name, i, len(steps))
                ok, detail = check_alerts(step["alerts"], alerts, f"step {i}")
                result.steps.append(StepResult(i, "alerts", expectation.name, ok, detail))
            elif "wait" in step:
                seconds = min(float(step["wait"]), MAX_WAIT)
                progress(f"wait {seconds:g}s", i, len(steps))
                time.sleep(seconds)
                result.steps.append(StepResult(i, "wait", f"{seconds:g}s", True))
            else:
                check = parse_check(step["check"])
                progress(f"check {check.name}", i, len(steps))
                res = run_check(lab, check)
                result.steps.append(StepResult(i, "check", check.name, res.ok, res.detail))
            result.steps[-1].seconds = time.monotonic() - start
            if not result.steps[-1].ok and data.get("stop_on_failure", True):
                break
    finally:
        try:
            _stop_flappers(flappers)
        finally:
            if data.get("cleanup", True):
                faults.clear()
    return result

"""Declarative fault scenarios: a YAML list of steps run against a lab.

    name: province-uplink-cut
    steps:
      - check: {ospf: {node: r1, full: 2}, timeout: 30}
      - fault: link-down r1:eth2          # or {impair: r1:eth1, delay: 80ms, loss: 5%}
      - wait: 2
      - check: {ping: {from: r1, to: 10.2.0.3}, timeout: 15}
      - fault: clear

Faults are cleared when the scenario ends (also on failure) unless ``cleanup: false``.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulations.checks import parse_check, run_check
from simulations.errors import LabError
from simulations.executor import Progress, no_progress
from simulations.faults import Faults, Impairment
from simulations.lab import Lab

MAX_WAIT = 600.0
SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"


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
        if len(keys & {"fault", "wait", "check"}) != 1:
            raise LabError(f"{file}: step {i}: needs exactly one of fault, wait, check")
    data.setdefault("name", file.stem)
    return data


def apply_fault(faults: Faults, spec: str | Mapping[str, Any]) -> str:
    """Apply one fault given as ``"link-down r1:eth2"`` / ``"impair r1:eth1 delay=80ms"``
    or a mapping ``{impair: r1:eth1, delay: 80ms}``; returns a description."""
    if isinstance(spec, str):
        words = shlex.split(spec)
        if not words:
            raise LabError("empty fault")
        action, rest = words[0], words[1:]
        target = rest[0] if rest else ""
        opts = dict(w.split("=", 1) for w in rest[1:] if "=" in w)
    else:
        actions = [k for k in spec if k in ACTIONS]
        if len(actions) != 1:
            raise LabError(f"fault needs exactly one of {', '.join(ACTIONS)}: {dict(spec)!r}")
        action, target = actions[0], str(spec[actions[0]] or "")
        opts = {k: str(v) for k, v in spec.items() if k != action}
    if action not in ACTIONS:
        raise LabError(f"unknown fault {action!r} (one of {', '.join(ACTIONS)})")
    if action == "clear":
        return f"cleared {faults.clear()} faults"
    if not target:
        raise LabError(f"fault {action!r} needs a target")
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
    "node-stop",
    "node-start",
    "path-down",
    "path-up",
    "psk-wrong",
    "clear",
)


def run_scenario(lab: Lab, path: str | Path, progress: Progress = no_progress) -> ScenarioResult:
    """Run every step of the scenario at ``path`` against ``lab`` (which must be up)."""
    data = load_scenario(path)
    faults = Faults(lab)
    result = ScenarioResult(str(data["name"]))
    steps = data["steps"]
    try:
        for i, step in enumerate(steps, start=1):
            start = time.monotonic()
            if "fault" in step:
                progress(f"fault {step['fault']}", i, len(steps))
                desc = apply_fault(faults, step["fault"])
                result.steps.append(StepResult(i, "fault", desc, True))
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
        if data.get("cleanup", True):
            faults.clear()
    return result

"""Benchmark: one change on every router of a lab, govnet against the peer an engineer
would pick — Nornir with nornir-netmiko — both as whole processes, same routers, same
commands, same number of workers.

The change: OSPF cost 10 on every OSPF link (a real change on every router). For the
lab and the national topology (58 FRR routers), in the same run:

- `govnet link plan --all`, then `govnet link apply --all` as processes (inventory load,
  bounded parallel SSH, backup, push, save, and verification of every touched link);
- the peer: `bench/nornir_push.py` as a process in the lab's management namespace —
  Nornir's threaded runner with the same --workers, netmiko_send_config of exactly the
  commands govnet planned, then netmiko_save_config; no backup, no verification;

between them and after, the change is reverted with govnet, and after the peer's push a
govnet plan must find nothing left to change (it did the same work). Prints seconds and
the ratio govnet apply / peer push.

    sudo .venv/bin/python bench/provision.py [--topology lab|national ...] [--workers 16]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from controller.cli.provisioning import reach  # noqa: E402
from controller.inventory import load_inventory  # noqa: E402
from controller.provision.engine import DeviceResult, Engine  # noqa: E402
from controller.provision.plan import device_specs, select_devices  # noqa: E402
from simulations.checks import parse_check, run_check  # noqa: E402
from simulations.lab import Lab  # noqa: E402

TARGETS = {"lab": "inventory/lab", "national": "inventory/cambodia"}


def with_ospf_cost(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    for path in target.rglob("*.yaml"):
        text = path.read_text()
        changed = re.sub(r"ospf: \{area: 0", "ospf: {area: 0, cost: 10", text)
        if changed != text:
            path.write_text(changed)
    return target


def engine_for(inventory: Path, topology: Path, state: Path, workers: int) -> Engine:
    inv = load_inventory(inventory)
    devices, _ = select_devices(inv, [], [], True)
    where = reach(topology, None, workers, state, True, confirm_timeout=60)
    return Engine(inv, device_specs(inv, devices, where.lab), where.options)


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores; /proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_measured(
    argv: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, float]]:
    """Run a whole process; its wall time, its own CPU (user + system of it and what it
    waited for) and the whole machine's busy CPU meanwhile (lab daemons included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine = busy_seconds()
    started = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=1800, check=False, env=env, cwd=ROOT
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, {"wall": wall, "cpu": cpu, "machine": busy_seconds() - machine}


def failures(results: list[DeviceResult]) -> list[str]:
    return [f"{r.device}: {r.status} {r.message}" for r in results if r.failed]


def govnet_process(
    verb: str, inventory: Path, topology: Path, state: Path, workers: int
) -> tuple[dict[str, float], dict[str, object]]:
    """`govnet link VERB --all` as a whole process; its wall time and its --json."""
    # this checkout's code (a worktree too), by the interpreter running the bench
    argv = [sys.executable, "-m", "controller.cli", "link", verb, "--all", "-i", str(inventory)]
    argv += ["--lab", str(topology), "--state-dir", str(state), "--workers", str(workers)]
    argv += ["--trust-on-first-use", "--json"]
    done, measured = run_measured(argv, {**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"govnet link {verb} failed ({done.returncode}): {done.stderr[-600:]}")
    return measured, json.loads(done.stdout)


def step_name(step: str) -> str:
    """ "pushing 9 commands" and "verifying (12 link(s) touched)" as one step each."""
    return re.sub(r"\d+", "N", re.sub(r"\s*\(.*\)$", "", step))


def where_the_time_went(report: dict[str, object]) -> list[tuple[str, int, float, float, float]]:
    """Per step of `govnet link apply --json`'s devices, in the order steps begin: how
    many devices took it, the median and longest time a device spent in it (until its
    next step), and when the last device entered it (seconds since the apply began)."""
    spent: dict[str, list[float]] = {}
    entered: dict[str, float] = {}
    first: dict[str, float] = {}
    devices = report.get("devices")
    for device in devices if isinstance(devices, list) else []:
        steps = [(float(s["at"]), step_name(str(s["step"]))) for s in device.get("steps", [])]
        if not steps:
            continue
        end = max(steps[-1][0], float(device.get("seconds", 0.0)))
        for (at, name), (after, _) in zip(steps, [*steps[1:], (end, "")], strict=True):
            spent.setdefault(name, []).append(after - at)
            entered[name] = max(entered.get(name, 0.0), at)
            first[name] = min(first.get(name, at), at)
    rows = []
    for name in sorted(spent, key=lambda n: first[n]):
        times = sorted(spent[name])
        rows.append((name, len(times), times[len(times) // 2], times[-1], entered[name]))
    return rows


def nornir_process(
    engine: Engine, plans: dict[str, list[str]], netns: str, workers: int, tmp: Path
) -> dict[str, float]:
    """The peer as a whole process in the lab's management namespace; its wall time."""
    hosts = {}
    for spec in engine.specs:
        commands = plans.get(spec.device.name)
        if not commands:
            continue
        target = engine.target(spec)
        hosts[spec.device.name] = {
            "host": target.host,
            "port": target.port,
            "username": target.username,
            "password": target.password,
            "device_type": target.device_type,
            "commands": commands,
        }
    spec_file = tmp / "nornir-hosts.json"
    spec_file.touch(mode=0o600)
    spec_file.write_text(json.dumps(hosts), encoding="utf-8")
    argv = ["ip", "netns", "exec", netns, sys.executable, str(ROOT / "bench/nornir_push.py")]
    argv += [str(spec_file), "--workers", str(workers)]
    done, measured = run_measured(argv)
    spec_file.unlink()
    if done.returncode != 0:
        raise SystemExit(f"nornir push failed: {done.stdout[-600:]} {done.stderr[-600:]}")
    return measured


def _named(what: str, measured: dict[str, float]) -> dict[str, float]:
    """{"govnet apply": wall, "govnet apply cpu": ..., "govnet apply machine": ...}"""
    named = {f"{what} {k}": v for k, v in measured.items() if k != "wall"}
    return {what: measured["wall"], **named}


def bench(
    name: str, workers: int
) -> tuple[dict[str, float], list[tuple[str, int, float, float, float]]]:
    topology = ROOT / f"topologies/{name}.clab.yml"
    lab = Lab(topology)
    was_up = lab.is_up()
    lab.up()
    try:
        converged = run_check(
            lab, parse_check({"ospf": {"node": "core-1", "full": 2}, "timeout": 120})
        )
        if not converged.ok:
            raise SystemExit(f"{name}: OSPF did not converge: {converged.detail}")
        with tempfile.TemporaryDirectory(prefix="govnet-bench-") as tmp:
            base = ROOT / TARGETS[name]
            changed = with_ospf_cost(base, Path(tmp) / "inventory")
            state = Path(tmp) / "state"
            figures: dict[str, float] = {}
            steps: list[tuple[str, int, float, float, float]] = []
            engine = engine_for(changed, topology, state, workers)
            figures["routers"] = len(engine.specs)
            planned = engine.plan()
            if failures(planned):
                raise SystemExit(f"{name}: plan failed: {failures(planned)[:3]}")
            plans = {r.device: r.commands for r in planned}
            figures["commands"] = sum(len(c) for c in plans.values())
            measured, _ = govnet_process("plan", changed, topology, state, workers)
            figures.update(_named("govnet plan", measured))
            measured, applied = govnet_process("apply", changed, topology, state, workers)
            figures.update(_named("govnet apply", measured))
            steps = where_the_time_went(applied)
            engine_for(base, topology, state, workers).apply()  # revert
            netns = lab.plan.mgmt_netns
            figures.update(
                _named("peer push", nornir_process(engine, plans, netns, workers, Path(tmp)))
            )
            left = [r for r in engine_for(changed, topology, state, workers).plan() if r.commands]
            if left:
                raise SystemExit(f"{name}: the peer left {len(left)} routers unchanged")
            reverted = engine_for(base, topology, state, workers).apply()
            if failures(reverted):
                raise SystemExit(f"{name}: revert failed: {failures(reverted)[:3]}")
            return figures, steps
    finally:
        if not was_up:
            lab.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topology", action="append", choices=sorted(TARGETS))
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the lab needs root")
    rows = []
    breakdowns = []
    for name in args.topology or ["lab", "national"]:
        figures, steps = bench(name, args.workers)
        rows.append((name, figures))
        breakdowns.append((name, steps))
    print(
        f"{'topology':<10}{'routers':>8}{'cmds':>7}{'plan s':>9}{'apply s':>9}"
        f"{'nornir push s':>15}{'apply/peer':>12}"
    )
    for name, f in rows:
        ratio = f["govnet apply"] / f["peer push"]
        print(
            f"{name:<10}{f['routers']:>8.0f}{f['commands']:>7.0f}{f['govnet plan']:>9.1f}"
            f"{f['govnet apply']:>9.1f}{f['peer push']:>15.1f}{ratio:>12.2f}"
        )
    print(
        f"Both are whole processes with {args.workers} workers and the same commands. The peer"
        " (Nornir 3 + nornir-netmiko: send_config, save_config) was given no backup and no"
        " verification; govnet apply backs up, pushes, saves and verifies every touched link."
    )
    print("\nCPU seconds: the process itself (and what it waited for) / the whole machine")
    print(f"{'topology':<10}{'govnet apply':>18}{'peer push':>18}{'process ratio':>15}")
    for name, f in rows:
        ours = f"{f['govnet apply cpu']:.1f} / {f['govnet apply machine']:.1f}"
        peer = f"{f['peer push cpu']:.1f} / {f['peer push machine']:.1f}"
        ratio = f["govnet apply cpu"] / max(f["peer push cpu"], 0.01)
        print(f"{name:<10}{ours:>18}{peer:>18}{ratio:>15.2f}")
    for name, steps in breakdowns:
        print(f"\ngovnet apply, {name}: seconds per device in each step (from its --json)")
        print(f"  {'step':<34}{'devices':>8}{'median':>8}{'max':>8}{'last in at':>12}")
        for step, count, median, longest, last in steps:
            print(f"  {step:<34}{count:>8}{median:>8.2f}{longest:>8.2f}{last:>12.2f}")
    national = dict(rows).get("national")
    if national is not None:
        ratio = national["govnet apply"] / national["peer push"]
        verdict = "met" if ratio <= 1.0 else "NOT met"
        print(f"goal: national apply no slower than the peer's push (ratio <= 1) — {verdict}")


if __name__ == "__main__":
    main()

"""Benchmark: plan and apply one change on every router of a lab, govnet vs a netmiko loop.

The change: OSPF cost 10 on every OSPF link (a real change on every router). For the
lab and the national topology (58 FRR routers), in the same run:

- govnet plan --all, then govnet apply --all (bounded parallel SSH, backup, save, and
  verification of every touched link: interface up, OSPF Full, ping both ends);
- the peer: plain netmiko in a loop (connect, send the same commands, save), the way a
  script would push it — without backups or verification;

then the change is reverted with govnet. Prints seconds and the govnet/peer ratio.

    sudo .venv/bin/python bench/provision.py [--topology lab|national ...] [--workers 16]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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
from controller.provision.transport import connect  # noqa: E402
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


def failures(results: list[DeviceResult]) -> list[str]:
    return [f"{r.device}: {r.status} {r.message}" for r in results if r.failed]


def netmiko_loop(engine: Engine, plans: dict[str, list[str]]) -> float:
    """The peer: one device after another, connect + same commands + save."""
    started = time.perf_counter()
    for spec in engine.specs:
        cmds = plans.get(spec.device.name)
        if not cmds:
            continue
        session = connect(
            engine.target(spec), engine.hostkeys, open_socket=engine.options.open_socket
        )
        try:
            session.configure(cmds)
            session.save()
        finally:
            session.close()
    return time.perf_counter() - started


def bench(name: str, workers: int) -> dict[str, float]:
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
            engine = engine_for(changed, topology, state, workers)
            figures["routers"] = len(engine.specs)
            t = time.perf_counter()
            planned = engine.plan()
            figures["govnet plan"] = time.perf_counter() - t
            if failures(planned):
                raise SystemExit(f"{name}: plan failed: {failures(planned)[:3]}")
            plans = {r.device: r.commands for r in planned}
            figures["commands"] = sum(len(c) for c in plans.values())
            t = time.perf_counter()
            applied = engine.apply()
            figures["govnet apply"] = time.perf_counter() - t
            if failures(applied):
                raise SystemExit(f"{name}: apply failed: {failures(applied)[:3]}")
            engine_for(base, topology, state, workers).apply()  # revert
            figures["peer netmiko loop"] = netmiko_loop(engine, plans)
            reverted = engine_for(base, topology, state, workers).apply()
            if failures(reverted):
                raise SystemExit(f"{name}: revert failed: {failures(reverted)[:3]}")
            return figures
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
    for name in args.topology or ["lab", "national"]:
        figures = bench(name, args.workers)
        rows.append((name, figures))
    print(
        f"{'topology':<10}{'routers':>8}{'cmds':>7}{'plan s':>9}{'apply s':>9}"
        f"{'netmiko loop s':>16}{'apply/peer':>12}"
    )
    for name, f in rows:
        ratio = f["govnet apply"] / f["peer netmiko loop"]
        print(
            f"{name:<10}{f['routers']:>8.0f}{f['commands']:>7.0f}{f['govnet plan']:>9.1f}"
            f"{f['govnet apply']:>9.1f}{f['peer netmiko loop']:>16.1f}{ratio:>12.2f}"
        )
    print(
        "govnet apply includes backups, saving and verifying every touched link "
        "(interface, OSPF Full, ping both ends); the peer loop does none of that."
    )
    national = dict(rows).get("national")
    if national is not None:
        verdict = "met" if national["govnet apply"] < 30 else "NOT met"
        print(f"goal: national apply under 30 s — {verdict}")


if __name__ == "__main__":
    main()

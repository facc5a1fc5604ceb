"""Benchmark: blast-radius queries (`govnet change impact`) on the national inventory and
on a generated copy with 10x the communes.

For each inventory: the time to build the link graph once, then the median of
``--repeat`` runs of each query (a province router down, a core router down, a province's
site down, one commune's access link cut), and the growth from 1x to 10x (linear ≈ 10x).
There is no peer to run beside it: the figure is checked against the goal (under 1 s per
query at national size).

    .venv/bin/python bench/impact.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from gen_national_inventory import generate, write  # noqa: E402

from controller.change.impact import Failure, Network  # noqa: E402
from controller.inventory import load_inventory  # noqa: E402
from controller.inventory.model import Inventory  # noqa: E402


def queries(inv: Inventory) -> dict[str, Failure]:
    access = next(link for link in inv.links if link.kind.value == "commune-access")
    return {
        "province router pr-kh2 down": Failure(devices=("pr-kh2",)),
        "core router core-1 down": Failure(devices=("core-1",)),
        "site KH-12 down": Failure(sites=("KH-12",)),
        "one commune access link cut": Failure(links=(access.id,)),
    }


def measure(label: str, inv: Inventory, repeat: int) -> dict[str, float]:
    started = time.perf_counter()
    net = Network(inv)
    built = time.perf_counter() - started
    print(f"\n{label}: {len(inv.devices):,} devices, {len(inv.links):,} links")
    print(f"  {'link graph built once':38} {built * 1000:8.1f} ms")
    out = {"build": built}
    for name, failure in queries(inv).items():
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = net.impact(failure)
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        out[name] = median
        print(
            f"  {name:38} {median * 1000:8.1f} ms median of {repeat}"
            f"  ({len(result.isolated):,} isolated, {len(result.degraded):,} degraded)"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    national = load_inventory(ROOT / "inventory/cambodia")
    one = measure("national (1x, 1,652 communes)", national, args.repeat)
    with tempfile.TemporaryDirectory(prefix="govnet-bench-impact-") as tmp:
        target = Path(tmp) / "inventory"
        write(target, generate(ROOT / "inventory/cambodia/tenants.yaml", scale=10))
        ten = measure("synthetic (10x)", load_inventory(target), args.repeat)
    print("\ngrowth 1x -> 10x (linear is about 10x):")
    for name in one:
        print(f"  {name:38} {ten[name] / one[name]:6.1f}x")
    worst = max(v for k, v in one.items() if k != "build")
    verdict = "met" if worst < 1.0 else "NOT met"
    print(f"\nslowest national query {worst * 1000:.0f} ms (goal: under 1 s) — {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

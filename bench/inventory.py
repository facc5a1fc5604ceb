"""Benchmark: validating the national inventory, and a 10x synthetic one.

Prints wall time for ``govnet inventory validate`` (in-process, best of N) on the
shipped national inventory (1,652 communes) and on a generated copy with 10x the
communes, the growth ratio (linear growth is ~10x), and, side by side in the same
run, the peer: ``ansible-inventory --list`` reading the same network exported as an
Ansible inventory (it parses and groups the hosts but checks nothing).

    .venv/bin/python bench/inventory.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from gen_national_inventory import generate, write  # noqa: E402

from controller.inventory import load_inventory, validate_inventory  # noqa: E402
from controller.inventory.views import ansible_inventory  # noqa: E402


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def validate_ok(path: Path) -> None:
    result = validate_inventory(path)
    if result.problems:
        raise SystemExit(f"{path}: {len(result.problems)} problems, first: {result.problems[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    national = ROOT / "inventory/cambodia"
    with tempfile.TemporaryDirectory(prefix="govnet-bench-") as tmp:
        big = Path(tmp) / "x10"
        write(big, generate(national / "tenants.yaml", scale=10))
        t1 = best_of(args.repeat, lambda: validate_ok(national))
        t10 = best_of(args.repeat, lambda: validate_ok(big))
        inv1 = load_inventory(national)
        inv10 = load_inventory(big)
        hosts = Path(tmp) / "hosts.yml"
        hosts.write_text(yaml.safe_dump(ansible_inventory(inv1)))
        tool = Path(sys.executable).parent / "ansible-inventory"
        env = {**os.environ, "ANSIBLE_LOCAL_TEMP": tmp}

        def peer() -> None:
            subprocess.run(
                [str(tool), "-i", str(hosts), "--list"],
                check=True,
                capture_output=True,
                env=env,
                timeout=300,
            )

        tp = best_of(args.repeat, peer) if tool.exists() else float("nan")
    n1, n10 = len(inv1.communes), len(inv10.communes)
    print(f"{'inventory':<28}{'communes':>10}{'devices':>10}{'links':>8}{'seconds':>10}")
    for label, n, inv, seconds in (
        ("national (govnet validate)", n1, inv1, t1),
        ("10x synthetic (govnet)", n10, inv10, t10),
    ):
        print(f"{label:<28}{n:>10}{len(inv.devices):>10}{len(inv.links):>8}{seconds:>10.3f}")
    print(f"{'national (ansible-inventory)':<28}{n1:>10}{len(inv1.devices):>10}{'-':>8}{tp:>10.3f}")
    print(f"growth 10x/1x: {t10 / t1:.1f}x for {n10 / n1:.0f}x the communes (linear = 10x)")
    print(f"govnet validate / ansible-inventory --list (national): {t1 / tp:.2f}")
    print("goal: national validation well under 2 s" + (" — met" if t1 < 2 else " — NOT met"))


if __name__ == "__main__":
    main()

"""Time-to-detect and time-to-resolve of the SOC, end to end in the namespace lab.

Brings up topologies/lab.clab.yml (unless it is up: then leaves it up), probes polling
from inside it every 15 s, Prometheus + Alertmanager (scrape and evaluate every 10 s; the
probes' trap and syslog counters every 2 s, `soc up`'s defaults) and the console;
then, N times: cut Battambang's only uplink (and one of Siem Reap's two), time until
the console shows the critical province alert, heal, time until it resolves. Prints
each drill and min / median / max. Then, N times, a commune access link is cut:
time-to-detect by the trap path (the router's linkDown inform → GovnetInterfaceDownTrap
firing) beside the poll path (govnet:link_down seen in the polled interface table;
GovnetLinkDown firing, its 1-minute `for` included), printed side by side. Everything
is torn down after.

    sudo .venv/bin/python bench/soc.py [--cycles 3] [--probe-interval 15] [--json]
        [--detect-cycles 3] [--skip-province]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.envfile import read_env_file
from controller.soc.drill import (
    ConsoleClient,
    DetectResult,
    DrillResult,
    LoopPorts,
    SocLoop,
    run_detect_drill,
    run_drill,
)
from controller.web.users import UserStore

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY = ROOT / "topologies/lab.clab.yml"
TARGETS = 23


def converge(lab: object) -> None:
    from simulations.checks import parse_check, run_check

    for node, full in (("core-1", 8), ("dr-1", 3), ("pr-kh17", 2)):
        result = run_check(lab, parse_check({"ospf": {"node": node, "full": full}, "timeout": 90}))  # type: ignore[arg-type]
        if not result.ok:
            raise SystemExit(f"the lab did not converge: {result.detail}")


def free_ports() -> LoopPorts:
    import socket

    ports = []
    for _ in range(5):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    return LoopPorts(*ports)


def summary(results: list[DrillResult]) -> dict[str, dict[str, float]]:
    def stats(values: list[float]) -> dict[str, float]:
        return {
            "min": round(min(values), 1),
            "median": round(statistics.median(values), 1),
            "max": round(max(values), 1),
        }

    return {
        "detect_seconds": stats([r.detect_seconds for r in results]),
        "resolve_seconds": stats([r.resolve_seconds for r in results]),
    }


def detect_summary(results: list[DetectResult]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key in ("trap_alert", "poll_state", "poll_alert", "cleared"):
        values = [v for v in (getattr(r, key) for r in results) if v is not None]
        if values:
            out[key] = {
                "min": round(min(values), 1),
                "median": round(statistics.median(values), 1),
                "max": round(max(values), 1),
                "missed": len(results) - len(values),
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=3, help="drills to run (1-20)")
    parser.add_argument("--probe-interval", type=float, default=15.0, help="seconds")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    parser.add_argument("--detect-cycles", type=int, default=3, help="trap vs poll (0-20)")
    parser.add_argument("--skip-province", action="store_true", help="only trap vs poll")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("error: the lab needs root", file=sys.stderr)
        return 1
    if not 1 <= args.cycles <= 20 or not 0 <= args.detect_cycles <= 20:
        print("error: --cycles must be 1-20, --detect-cycles 0-20", file=sys.stderr)
        return 2
    from simulations.faults import Faults
    from simulations.lab import Lab

    env = read_env_file(ROOT / "topologies/lab.env")
    for key, value in env.items():
        os.environ.setdefault(key, value)
    say = (lambda message: None) if args.json else (lambda message: print(message, flush=True))
    lab = Lab(TOPOLOGY, env=env)
    started = time.monotonic()
    brought_up = not lab.up().already_up
    results: list[DrillResult] = []
    detects: list[DetectResult] = []
    ports = free_ports()
    with tempfile.TemporaryDirectory(prefix="govnet-bench-soc-") as state:
        loop = SocLoop(
            Path(state),
            ROOT / "inventory/lab",
            ports,
            args.probe_interval,
            2**12,
            say,
            notifications=True,
        )
        try:
            converge(lab)
            loop.start()
            UserStore(Path(state) / "soc" / "users.json", 2**12).add(
                "bench", "soc", None, "bench-password-1"
            )
            console = ConsoleClient(loop.console_url, "bench", "bench-password-1")
            loop.wait_for_targets(TARGETS, 150)
            say(f"ready after {time.monotonic() - started:.0f} s")
            for cycle in range(1, 0 if args.skip_province else args.cycles + 1):
                result = run_drill(Faults(lab), console, log=lambda m: say(f"  {m}"))
                results.append(result)
                detect, resolve = result.detect_seconds, result.resolve_seconds
                say(f"drill {cycle}: detect {detect:.1f} s, resolve {resolve:.1f} s")
                time.sleep(20)  # let the resolved state settle before the next cut
            prometheus = f"http://127.0.0.1:{ports.prometheus}"
            for cycle in range(1, args.detect_cycles + 1):
                found = run_detect_drill(Faults(lab), prometheus, log=lambda m: say(f"  {m}"))
                detects.append(found)
                say(f"link drill {cycle}: {found.as_dict()}")
                time.sleep(10)
        finally:
            loop.stop()
            if brought_up:
                lab.down()
    report = {
        "probe_interval_seconds": args.probe_interval,
        "scrape_and_eval_seconds": 10,
        "drills": [r.as_dict() for r in results],
        "summary": summary(results) if results else {},
        "detect_drills": [d.as_dict() for d in detects],
        "detect_summary": detect_summary(detects),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"\n{len(results)} drills, probe interval {args.probe_interval:g} s, scrape/eval 10 s:"
        )
        for key, title in (
            ("detect_seconds", "time-to-detect "),
            ("resolve_seconds", "time-to-resolve"),
        ):
            if not results:
                break
            s = report["summary"][key]
            print(f"  {title} min {s['min']} s, median {s['median']} s, max {s['max']} s")
        if detects:
            print(f"\n{len(detects)} link cuts, time-to-detect (s)  trap path | poll path")
            for key, title in (
                ("trap_alert", "GovnetInterfaceDownTrap firing      "),
                ("poll_state", "govnet:link_down seen (polled)      "),
                ("poll_alert", "GovnetLinkDown firing (for 1m incl.)"),
                ("cleared", "all cleared after link-up          "),
            ):
                d = report["detect_summary"].get(key)
                shown = f"min {d['min']}, median {d['median']}, max {d['max']}" if d else "-"
                print(f"  {title} {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

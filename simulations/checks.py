"""Declarative lab checks that wait until the lab converges (bounded by a timeout).

Spec forms (YAML/dict), each optionally with ``timeout`` (s, default 30):
    {ping: {from: r1, to: 10.2.0.3, count: 3, expect: success|failure}}
    {ospf: {node: r1, full: 2}}            # at least (``exact: true``: exactly) 2 Full
    {snmp: {address: 10.2.0.3, community: public}}   # v2c; without community: v3 authPriv
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller.errors import GovnetError
from simulations import services
from simulations.errors import LabError
from simulations.lab import Lab
from simulations.netns import run_in_netns
from simulations.ping import ping
from simulations.snmp import SnmpAuth, snmp_get

DEFAULT_TIMEOUT = 30.0
POLL = 0.5


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0
    attempts: int = 0


@dataclass(frozen=True)
class Check:
    kind: str
    args: Mapping[str, Any]
    timeout: float = DEFAULT_TIMEOUT

    @property
    def name(self) -> str:
        inner = " ".join(
            f"{k}={v}" for k, v in self.args.items() if k not in ("auth_pass", "priv_pass")
        )
        return f"{self.kind} {inner}"


def parse_check(spec: Mapping[str, Any]) -> Check:
    kinds = [k for k in spec if k in _RUNNERS]
    if len(kinds) != 1:
        raise LabError(f"a check needs exactly one of {', '.join(_RUNNERS)}: {dict(spec)!r}")
    args = spec[kinds[0]] or {}
    if not isinstance(args, Mapping):
        raise LabError(f"check {kinds[0]!r} needs a mapping of arguments, got {args!r}")
    return Check(kinds[0], dict(args), float(spec.get("timeout", DEFAULT_TIMEOUT)))


def _ping_once(lab: Lab, args: Mapping[str, Any]) -> tuple[bool, str]:
    node = lab.plan.node(str(args["from"]))
    res = ping(
        node.netns,
        str(args["to"]),
        count=int(args.get("count", 3)),
        interval=float(args.get("interval", 0.2)),
        timeout=1.0,
    )
    want_success = str(args.get("expect", "success")) == "success"
    ok = (res.received > 0) if want_success else (res.received == 0)
    avg = f", avg {res.avg_ms:.1f} ms" if res.avg_ms is not None else ""
    return ok, f"{res.received}/{res.sent} replies{avg}"


def ospf_neighbors(lab: Lab, node_name: str) -> dict[str, str]:
    """Neighbour router-id → state (e.g. ``Full/-``) from ``show ip ospf neighbor json``."""
    node = lab.plan.node(node_name)
    if not node.frr:
        raise LabError(f"node {node_name!r} does not run FRR")
    proc = run_in_netns(
        node.netns,
        ["vtysh", "-N", node.frr_instance, "-c", "show ip ospf neighbor json"],
        timeout=10,
        check=False,
    )
    if proc.returncode != 0:
        return {}
    try:
        data = json.loads(proc.stdout or "{}")
    except ValueError:
        return {}
    out: dict[str, str] = {}
    for rid, entries in (data.get("neighbors") or {}).items():
        for entry in entries if isinstance(entries, list) else [entries]:
            out[rid] = str(entry.get("nbrState") or entry.get("state") or "")
    return out


def _ospf_once(lab: Lab, args: Mapping[str, Any]) -> tuple[bool, str]:
    nbrs = ospf_neighbors(lab, str(args["node"]))
    full = sorted(rid for rid, st in nbrs.items() if st.startswith("Full"))
    want = int(args.get("full", 1))
    ok = len(full) == want if args.get("exact") else len(full) >= want
    return ok, f"{len(full)} Full of {len(nbrs)} ({', '.join(full) or 'none'})"


def _snmp_once(lab: Lab, args: Mapping[str, Any]) -> tuple[bool, str]:
    if args.get("community"):
        auth = SnmpAuth(community=str(args["community"]))
    else:
        d = services.SNMP_DEFAULTS
        auth = SnmpAuth(
            str(args.get("user", d["SNMP_V3_USER"])),
            str(args.get("auth_pass", d["SNMP_V3_AUTH_PASS"])),
            str(args.get("priv_pass", d["SNMP_V3_PRIV_PASS"])),
        )
    try:
        name = snmp_get(lab.plan.mgmt_netns, str(args["address"]), auth, timeout=1.0, retries=0)
    except GovnetError as exc:
        return False, str(exc)
    want = args.get("sysname")
    return (want is None or name == str(want)), f"sysName {name!r}"


_RUNNERS: dict[str, Callable[[Lab, Mapping[str, Any]], tuple[bool, str]]] = {
    "ping": _ping_once,
    "ospf": _ospf_once,
    "snmp": _snmp_once,
}


def run_check(lab: Lab, check: Check, poll: float = POLL) -> CheckResult:
    """Retry ``check`` until it passes or its timeout expires (bounded)."""
    start = time.monotonic()
    deadline = start + check.timeout
    attempts = 0
    detail = ""
    max_attempts = int(check.timeout / poll) + 2
    while attempts < max_attempts:
        attempts += 1
        try:
            ok, detail = _RUNNERS[check.kind](lab, check.args)
        except KeyError as exc:
            raise LabError(f"check {check.kind}: missing argument {exc}") from exc
        if ok:
            return CheckResult(check.name, True, detail, time.monotonic() - start, attempts)
        if time.monotonic() >= deadline:
            break
        time.sleep(poll)
    return CheckResult(check.name, False, detail, time.monotonic() - start, attempts)


def run_checks(
    lab: Lab,
    specs: Sequence[Mapping[str, Any]],
    progress: Callable[[str, int, int], None] | None = None,
) -> list[CheckResult]:
    checks = [parse_check(s) for s in specs]
    results: list[CheckResult] = []
    for i, check in enumerate(checks, start=1):
        if progress:
            progress(f"check {check.name}", i, len(checks))
        results.append(run_check(lab, check))
    return results

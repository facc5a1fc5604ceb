"""Concurrent approvals in separate processes never share a unit, VLAN, prefix or port,
never overrun a power budget, and leave an inventory that validates — on SQLite and on
PostgreSQL (the `backend` fixture), and on PostgreSQL also when the processes are two
controllers with their own state dirs and inventory checkouts sharing one database."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from controller.hosting.errors import DoesNotFit
from controller.hosting.service import HostingService
from controller.hosting.states import State
from controller.inventory import load_inventory, validate_inventory
from controller.inventory.model import Inventory
from tests.hosting.conftest import LAB_INVENTORY, Workspace, copy_inventory, request_values
from tests.hosting.race import approve

START_TIMEOUT = 120.0


def race(ws: Workspace | list[Workspace], idents: list[int]) -> list[tuple[object, ...]]:
    """One process per approval, all released at once; their outcomes. With several
    workspaces, approval ``n`` runs in workspace ``n % len(workspaces)``."""
    spaces = ws if isinstance(ws, list) else [ws]
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(
            target=approve,
            args=(str(spaces[n % len(spaces)].inventory), str(spaces[n % len(spaces)].state)),
            kwargs={"ident": i, "ready": queue, "go": go},
        )
        for n, i in enumerate(idents)
    ]
    for proc in procs:
        proc.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        ready = 0
        while ready < len(procs):
            message = queue.get(timeout=max(1.0, deadline - time.monotonic()))
            assert message[0] == "ready", message
            ready += 1
        go.set()
        outcomes = [queue.get(timeout=START_TIMEOUT) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():  # pragma: no cover - only when a worker hangs
                proc.kill()
                proc.join(timeout=5)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return outcomes


def assert_no_double_allocation(inv: Inventory) -> None:
    units = Counter(
        (h.datacentre, h.rack, u) for h in inv.hosting for u in range(h.first_u, h.last_u + 1)
    )
    assert [k for k, n in units.items() if n > 1] == []
    vlans = Counter((h.datacentre, h.vlan) for h in inv.hosting)
    assert [k for k, n in vlans.items() if n > 1] == []
    ids = Counter(h.id for h in inv.hosting)
    assert [k for k, n in ids.items() if n > 1] == []
    ports = Counter(p for h in inv.hosting for p in h.tor_ports)
    assert [k for k, n in ports.items() if n > 1] == []
    nets = sorted((h.prefix for h in inv.hosting if h.prefix), key=lambda n: int(n.network_address))
    assert [(a, b) for a, b in pairwise(nets) if a.overlaps(b)] == []
    for dc in inv.datacentres:
        for room in dc.rooms:
            room_load = 0.0
            for rack in room.racks:
                load = sum(
                    h.power_kw
                    for h in inv.hosting
                    if (h.datacentre, h.rack) == (dc.code, rack.name)
                )
                assert load <= rack.power_kw + 1e-9, (rack.name, load)
                room_load += load
            assert room_load <= room.power_kw + 1e-9, (room.name, room_load)


def submit_racers(svc: HostingService) -> list[int]:
    """24 requests: a third for both sites (with a DR mirror), the rest NDC only."""
    idents = []
    for n in range(24):
        site, kw = ("both", 0.5) if n % 3 == 0 else ("ndc", 1.75)
        values = request_values(site=site, units=2, power_kw=kw, contact=f"racer {n}")
        idents.append(svc.submit(values, "pytest").id)
    return idents


def test_24_processes_approving_at_once(backend: str, lab_copy: Workspace) -> None:
    svc = lab_copy.service()
    idents = submit_racers(svc)

    outcomes = race(lab_copy, idents)

    kinds = Counter(str(o[0]) for o in outcomes)
    assert set(kinds) <= {"approved", "refused"}, outcomes
    assert kinds["approved"] + kinds["refused"] == 24
    # demand is 32 kW on NDC racks with 29.5 kW of headroom: some must be refused
    assert kinds["refused"] >= 1 and kinds["approved"] >= 16
    for outcome in outcomes:
        if outcome[0] == "refused":
            assert str(outcome[2]).startswith("no rack in NDC has 2 contiguous free U with ")

    result = validate_inventory(lab_copy.inventory)
    assert result.ok, [str(p) for p in result.problems]
    assert result.inventory is not None
    assert_no_double_allocation(result.inventory)

    # the file and the database agree on every allocation
    approved = {int(str(o[1])): o[2] for o in outcomes if o[0] == "approved"}
    in_db = {r.id: [a.id for a in r.allocations] for r in svc.list(state=State.APPROVED)}
    assert in_db == approved
    in_file = [h.id for h in result.inventory.hosting]
    assert sorted(in_file) == sorted(["h-0001", "h-0002", *(i for v in in_db.values() for i in v)])
    mirrors = [h for h in result.inventory.hosting if h.mirror_of and h.id != "h-0002"]
    assert mirrors and all(m.datacentre == "DR" for m in mirrors)

    # nobody was refused for want of room that exists: each refusal still stands alone
    for outcome in outcomes:
        if outcome[0] == "refused":
            try:
                svc.approve(int(str(outcome[1])), "pytest")
            except DoesNotFit:
                continue
            raise AssertionError(f"request {outcome[1]} fits now: the race lost capacity")

    # every approval's units are contiguous in one rack, allocation ids in order
    ids = sorted(int(i.split("-")[1]) for i in in_file)
    assert ids == list(range(1, len(ids) + 1))
    assert not list(lab_copy.inventory.glob(".hosting.yaml.*.tmp"))


def test_the_same_request_approved_by_10_processes_is_allocated_once(
    backend: str, lab_copy: Workspace
) -> None:
    svc = lab_copy.service()
    ident = svc.submit(request_values(), "pytest").id
    outcomes = race(lab_copy, [ident] * 10)
    kinds = Counter(str(o[0]) for o in outcomes)
    assert kinds == {"approved": 1, "state": 9}, outcomes
    for outcome in outcomes:
        if outcome[0] == "state":
            assert outcome[2] == (
                f"request {ident} is approved: only a request that is submitted can be approved"
            )
    inv = validate_inventory(lab_copy.inventory).inventory
    assert inv is not None and [h.id for h in inv.hosting] == ["h-0001", "h-0002", "h-0003"]
    events = [e.action for e in svc.get(ident).events]
    assert events == ["submit", "approve"]


@pytest.mark.backends("postgresql")
def test_two_controllers_with_their_own_checkouts_sharing_postgresql_never_double_allocate(
    backend: str, tmp_path: Path
) -> None:
    """24 processes, half in each of two state dirs and inventory checkouts, one database:
    together they hand out no unit, VLAN, prefix, port or allocation id twice."""
    sites = [
        Workspace(
            copy_inventory(LAB_INVENTORY, tmp_path / f"{name}/inventory"),
            tmp_path / f"{name}/state",
        )
        for name in ("east", "west")
    ]
    idents = submit_racers(sites[0].service())  # any checkout sees every request
    outcomes = race(sites, idents)

    kinds = Counter(str(o[0]) for o in outcomes)
    assert set(kinds) <= {"approved", "refused"}, outcomes
    # the same 29.5 kW of NDC headroom for both controllers together
    assert kinds["refused"] >= 1 and kinds["approved"] >= 16, kinds
    east, west = (validate_inventory(ws.inventory) for ws in sites)
    assert east.ok and west.ok, [str(p) for p in (*east.problems, *west.problems)]
    assert east.inventory is not None and west.inventory is not None
    shipped = {h.id for h in load_inventory(LAB_INVENTORY).hosting}
    made = {
        ws.inventory.name: [h for h in inv.hosting if h.id not in shipped]
        for ws, inv in zip(sites, (east.inventory, west.inventory), strict=True)
    }
    both = [
        *east.inventory.hosting,
        *(h for h in west.inventory.hosting if h.id not in shipped),
    ]
    assert all(made.values()), "each controller approved some"
    # the union of both checkouts is one consistent allocation
    assert_no_double_allocation(east.inventory.model_copy(update={"hosting": both}))

    # the database agrees with the files, and either checkout reads every request
    svc = sites[1].service()
    approved = {int(str(o[1])): o[2] for o in outcomes if o[0] == "approved"}
    in_db = {r.id: [a.id for a in r.allocations] for r in svc.list(state=State.APPROVED)}
    assert in_db == approved
    assert sorted(h.id for h in both if h.id not in shipped) == sorted(
        i for v in in_db.values() for i in v
    )
    ids = sorted(int(h.id.split("-")[1]) for h in both)
    assert ids == list(range(1, len(ids) + 1))


def test_the_invariant_checker_sees_a_double_allocation() -> None:
    """The invariant checker itself catches what it must (a guard against a vacuous test)."""
    from controller.inventory import load_inventory

    inv = load_inventory(LAB_INVENTORY)
    doubled = inv.model_copy(update={"hosting": [*inv.hosting, inv.hosting[0]]})
    try:
        assert_no_double_allocation(doubled)
    except AssertionError:
        pass
    else:  # pragma: no cover
        raise AssertionError("a duplicated allocation went unnoticed")

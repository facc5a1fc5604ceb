"""The hosting workflow: submit, approve (allocate), reject, free — the I/O around the
pure planner. The CLI and the web console both call :class:`HostingService`.

Approval, in one critical section under the inventory's hosting lock::

    read inventory (cache or full validation) → plan (pure) → write hosting.yaml
    (temp + rename) → record allocations and the step → COMMIT

On PostgreSQL (``GOVNET_DATABASE_URL``: several controllers, each with its own state dir
and inventory checkout, share one database) the transaction also takes the advisory lock
of the network's allocations first, and the planner also counts the live allocations
other checkouts recorded in the database; the allocation claims' unique index refuses
anything that would still overlap. Requests then belong to the network (its name in
network.yaml), not to one checkout's folder.

If anything fails after hosting.yaml was written (the database insert or COMMIT), the
previous hosting.yaml is put back before the lock is released. A process killed between
the rename and the COMMIT leaves allocations in hosting.yaml that no request owns; they
keep their capacity until removed by hand (``govnet hosting list`` shows no owner).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from controller.hosting import hostingfile
from controller.hosting.errors import DoesNotFit, HostingError, HostingFileError, UnknownRequest
from controller.hosting.occupancy import Occupancy
from controller.hosting.planner import plan_allocation
from controller.hosting.request import (
    check_against_inventory,
    clean_reason,
    is_request_id,
    parse_request,
)
from controller.hosting.states import Action, State, next_state
from controller.hosting.store import RequestRecord, Store
from controller.hosting.workspace import DEFAULT_CACHE, InventoryCache, Snapshot, hosting_lock
from controller.inventory.model import Hosting, Inventory
from controller.store import ConflictError, Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Approval:
    record: RequestRecord
    allocations: list[Hosting]
    seconds: float


class HostingService:
    """Hosting requests for one inventory folder, recorded under one state directory."""

    def __init__(
        self, inventory: Path, state_dir: Path, cache: InventoryCache = DEFAULT_CACHE
    ) -> None:
        self.root = inventory
        self.store = Store(state_dir)
        self.state_dir = state_dir
        self.cache = cache

    @functools.cached_property
    def key(self) -> str:
        """Whom the requests belong to: the inventory folder (SQLite: one state dir, one
        checkout), or on a shared database the network, so that every checkout of it sees
        the same requests and allocations."""
        if not self.store.shared:
            return str(self.root.resolve())
        return f"network:{self.snapshot().inventory.network.name}"

    # --- reading ----------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The validated inventory, for reading (files are replaced atomically, and the
        cache keeps only snapshots no writer changed while they were read)."""
        return self.cache.load(self.root)

    def get(self, ident: int) -> RequestRecord:
        _known(ident)
        return self.store.get(ident)

    def list(self, *, tenant: str | None = None, state: State | None = None) -> list[RequestRecord]:
        return self.store.list(tenant=tenant, state=state)

    def check_inventory_of(self, record: RequestRecord) -> None:
        """A request belongs to the inventory it was made for."""
        self._mine(record.inventory, record.id)

    def check_here(self, record: RequestRecord) -> None:
        """On a shared database: the request's allocations are in this checkout's
        hosting.yaml (freeing them from another checkout would leave them in that one's
        file while the database gives them out again)."""
        if not self.store.shared:
            return
        snap = self.snapshot()
        self._in_this_checkout(snap, {a.id for a in record.allocations}, record.id)

    def _in_this_checkout(self, snap: Snapshot, ids: set[str], ident: int) -> None:
        if not self.store.shared:
            return
        known = {h.id for h in snap.inventory.hosting}
        missing = ids - known
        if missing:
            raise HostingFileError(
                f"request {ident}: its allocations {', '.join(sorted(missing))} are not in "
                f"{snap.hosting_file}: another checkout made them; decommission it there "
                "(or pull that checkout's hosting.yaml first)"
            )

    def _mine(self, record_inventory: str, ident: int) -> None:
        if record_inventory != self.key:
            if record_inventory.startswith("network:"):
                raise HostingError(
                    f"request {ident} was made for the {record_inventory.replace(':', ' ')}, "
                    f"not {self.key.replace(':', ' ')}"
                )
            raise HostingError(
                f"request {ident} was made for the inventory {record_inventory}, "
                f"not {self.key} (pass -i {record_inventory})"
            )

    # --- steps ------------------------------------------------------------------------

    def submit(self, values: Mapping[str, object], who: str) -> RequestRecord:
        """Validate and record a new request (nothing is written when anything is wrong)."""
        request = parse_request(values)
        check_against_inventory(self.snapshot().inventory, request)
        with self.store.transaction() as conn:
            ident = self.store.insert(conn, self.key, request, who)
        return self.store.get(ident)

    def approve(self, ident: int, who: str, why: str = "") -> RequestRecord:
        """Allocate racks, power, VLANs, prefixes and ports and write them to hosting.yaml.

        Raises :class:`DoesNotFit` (recorded as a refused approval; the request stays
        submitted) when the data centre has no room, saying what is short."""
        _known(ident)
        reason = clean_reason(why, required=False)
        refused: DoesNotFit | None = None
        with hosting_lock(self.root):
            snap = self.cache.load(self.root)
            path = snap.hosting_file
            written = False
            key = self.key
            try:
                with self.store.transaction() as conn:
                    # every controller sharing the database: one allocation at a time
                    self.store.database.lock(conn, f"allocation:{key}")
                    row = self.store.row(conn, ident)
                    self._mine(row["inventory"], ident)
                    current = State(row["state"])
                    target = next_state(ident, current, Action.APPROVE)
                    record = self.store.record(conn, row, events=False)
                    check_against_inventory(snap.inventory, record.request)
                    floor = self.store.id_floor(conn, key)
                    planning, occupancy = self._planning_view(conn, snap)
                    try:
                        allocs = plan_allocation(
                            planning,
                            record.request,
                            id_floor=floor,
                            occupancy=occupancy,
                        )
                    except DoesNotFit as exc:
                        refused = exc
                        self.store.event(
                            conn, ident, who, Action.APPROVE_REFUSED, current, current, str(exc)
                        )
                    else:
                        doc = hostingfile.append(snap.doc, allocs)
                        hostingfile.write(path, doc)
                        written = True
                        self.store.add_allocations(conn, key, ident, allocs)
                        self.store.event(
                            conn,
                            ident,
                            who,
                            Action.APPROVE,
                            current,
                            target,
                            reason,
                            {"allocations": [a.model_dump(mode="json") for a in allocs]},
                        )
            except ConflictError as exc:  # the claims' unique index: never with the lock held
                if written:
                    self._restore(snap)
                raise HostingError(
                    f"request {ident}: another controller holds part of the planned allocation "
                    f"({exc}); nothing was allocated: try again"
                ) from exc
            except BaseException:
                if written:
                    self._restore(snap)
                raise
            if refused is None:
                self.cache.remember(snap.with_hosting(doc, [*snap.inventory.hosting, *allocs]))
        if refused is not None:
            raise refused
        return self.store.get(ident)

    def _planning_view(self, conn: Connection, snap: Snapshot) -> tuple[Inventory, Occupancy]:
        """The inventory the planner sees: this checkout's, plus — on a shared database —
        the live allocations other checkouts made that its hosting.yaml does not hold."""
        if not self.store.shared:
            return snap.inventory, snap.occupancy()
        mine = {h.id for h in snap.inventory.hosting}
        others = [h for h in self.store.live_allocations(conn, self.key) if h.id not in mine]
        if not others:
            return snap.inventory, snap.occupancy()
        planning = snap.inventory.model_copy(update={"hosting": [*snap.inventory.hosting, *others]})
        return planning, Occupancy(planning, snap.network)

    def _restore(self, snap: Snapshot) -> None:
        try:
            hostingfile.write(snap.hosting_file, snap.doc)
        except HostingFileError:
            log.error("could not restore %s after a failed approval", snap.hosting_file)
        self.cache.forget(self.root)

    def reject(self, ident: int, who: str, why: str) -> RequestRecord:
        _known(ident)
        reason = clean_reason(why, required=True)
        with self.store.transaction() as conn:
            row = self.store.row(conn, ident)
            current = State(row["state"])
            target = next_state(ident, current, Action.REJECT)
            self.store.event(conn, ident, who, Action.REJECT, current, target, reason)
        return self.store.get(ident)

    def record_step(
        self,
        ident: int,
        who: str,
        action: Action,
        why: str = "",
        detail: dict[str, object] | None = None,
    ) -> RequestRecord:
        """Record a provisioning step (provision, provisioned, failed…) with its detail."""
        _known(ident)
        with self.store.transaction() as conn:
            row = self.store.row(conn, ident)
            self._mine(row["inventory"], ident)
            current = State(row["state"])
            target = next_state(ident, current, action)
            self.store.event(conn, ident, who, action, current, target, why, dict(detail or {}))
        return self.store.get(ident)

    def free(
        self, ident: int, who: str, why: str = "", detail: dict[str, object] | None = None
    ) -> RequestRecord:
        """Remove the request's allocations from hosting.yaml and mark it decommissioned."""
        _known(ident)
        reason = clean_reason(why, required=False)
        with hosting_lock(self.root):
            snap = self.cache.load(self.root)
            written = False
            try:
                with self.store.transaction() as conn:
                    row = self.store.row(conn, ident)
                    self._mine(row["inventory"], ident)
                    current = State(row["state"])
                    target = next_state(ident, current, Action.DECOMMISSION)
                    record = self.store.record(conn, row, events=False)
                    ids = {a.id for a in record.allocations}
                    self._in_this_checkout(snap, ids, ident)
                    in_file = set(snap.doc.ids)
                    elsewhere = {h.id for h in snap.inventory.hosting} & (ids - in_file)
                    if elsewhere:
                        raise HostingFileError(
                            f"allocations {', '.join(sorted(elsewhere))} are not in "
                            f"{snap.hosting_file}; remove them by hand first"
                        )
                    doc = hostingfile.remove(snap.doc, ids)
                    hostingfile.write(snap.hosting_file, doc)
                    written = True
                    self.store.free_allocations(conn, ident)
                    self.store.event(
                        conn,
                        ident,
                        who,
                        Action.DECOMMISSION,
                        current,
                        target,
                        reason,
                        {**(detail or {}), "freed": sorted(ids)},
                    )
            except BaseException:
                if written:
                    self._restore(snap)
                raise
            kept = [h for h in snap.inventory.hosting if h.id not in ids]
            self.cache.remember(snap.with_hosting(doc, kept))
        return self.store.get(ident)


def _known(ident: int) -> None:
    """A number outside SQLite's INTEGER range is no request (and never reaches SQLite)."""
    if not is_request_id(ident):
        raise UnknownRequest(f"no hosting request {ident}")

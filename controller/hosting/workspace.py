"""The inventory folder as the hosting commands see it: a lock, a snapshot, a cache.

- :func:`hosting_lock` — an exclusive ``fcntl`` lock on ``.hosting.yaml.lock`` next to
  ``hosting.yaml``: read inventory → plan → write inventory → commit the database happen
  under it, so two approvals (threads, processes, the CLI and the web console) never hand
  out the same unit, VLAN, prefix or port.
- :class:`InventoryCache` — the validated inventory and the parsed ``hosting.yaml``, kept
  while the bytes of every inventory file are unchanged (compared by BLAKE2 digest;
  writers read under the lock, readers without it). After its own write the cache
  already knows the new file, so a long-running process (the web console, the benchmark)
  does not re-parse and re-validate the whole inventory for each approval; any other
  change — a ``git pull``, another process's approval, a hand edit — means a full
  validation first.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from controller.hosting import hostingfile
from controller.hosting.errors import HostingError, HostingFileError
from controller.hosting.occupancy import NetworkUse, Occupancy
from controller.inventory import load_inventory
from controller.inventory.loader import iter_inventory_files
from controller.inventory.model import Hosting, Inventory
from controller.io import exclusive_lock

LOCK_NAME = ".hosting.yaml.lock"
LOCK_TIMEOUT = 120.0


def hosting_path(root: Path) -> Path:
    """``<inventory folder>/hosting.yaml``; the inventory must be a folder."""
    if not root.is_dir():
        raise HostingFileError(
            f"{root}: hosting needs an inventory folder (its hosting.yaml is rewritten)"
        )
    return root / hostingfile.FILENAME


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


@contextmanager
def hosting_lock(root: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the inventory's hosting lock (processes: fcntl; threads of one process: a
    lock per inventory, since fcntl locks are per process)."""
    path = hosting_path(root).with_name(LOCK_NAME)
    key = str(path.resolve())
    with _thread_locks_guard:
        local = _thread_locks.setdefault(key, threading.Lock())
    if not local.acquire(timeout=timeout):
        raise HostingError(f"{path}: another approval held the lock for {timeout:.0f} s")
    try:
        busy = f"{path}: another approval held the lock for {timeout:.0f} s"
        with exclusive_lock(path, timeout, lambda: HostingError(busy), poll=0.005, mode=0o664):
            yield
    finally:
        local.release()


@dataclass(frozen=True)
class Snapshot:
    """A validated inventory and its hosting.yaml, as read (under the lock)."""

    root: Path
    inventory: Inventory
    doc: hostingfile.HostingFile
    digests: tuple[tuple[str, str], ...]
    network: NetworkUse
    """What links and devices take: computed once, shared by the snapshots that follow."""

    @property
    def hosting_file(self) -> Path:
        return self.root / hostingfile.FILENAME

    def with_hosting(self, doc: hostingfile.HostingFile, hosting: list[Hosting]) -> Snapshot:
        """The snapshot after writing ``doc`` (whose allocations are ``hosting``)."""
        name = str(self.hosting_file)
        digest = _digest(doc.text.encode("utf-8"))
        digests = tuple(sorted({**dict(self.digests), name: digest}.items()))
        inventory = self.inventory.model_copy(update={"hosting": hosting})
        return Snapshot(self.root, inventory, doc, digests, self.network)

    def occupancy(self) -> Occupancy:
        return Occupancy(self.inventory, self.network)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _digests(root: Path) -> tuple[tuple[str, str], ...]:
    out = []
    for path in iter_inventory_files(root):
        try:
            out.append((str(path), _digest(path.read_bytes())))
        except OSError as exc:
            raise HostingFileError(f"{path}: cannot read: {exc}") from exc
    return tuple(sorted(out))


class InventoryCache:
    """Validated snapshots by inventory folder (thread-safe; one per process is enough)."""

    def __init__(self) -> None:
        self._snapshots: dict[Path, Snapshot] = {}
        self._guard = threading.Lock()
        self.hits = 0
        self.misses = 0

    def load(self, root: Path) -> Snapshot:
        """The inventory at ``root``, validated (InventoryError on any problem).

        Safe without the lock too: a snapshot is kept only when the files' digests are the
        same before and after reading them (no writer replaced a file in between)."""
        hosting_path(root)
        key = root.resolve()
        digests = _digests(root)
        with self._guard:
            cached = self._snapshots.get(key)
        if cached is not None and cached.digests == digests:
            self.hits += 1
            return cached
        self.misses += 1
        inventory = load_inventory(root)
        doc = hostingfile.read(root / hostingfile.FILENAME)
        snapshot = Snapshot(root, inventory, doc, digests, NetworkUse(inventory))
        if _digests(root) == digests:
            with self._guard:
                self._snapshots[key] = snapshot
        return snapshot

    def remember(self, snapshot: Snapshot) -> None:
        with self._guard:
            self._snapshots[snapshot.root.resolve()] = snapshot

    def forget(self, root: Path) -> None:
        with self._guard:
            self._snapshots.pop(root.resolve(), None)


DEFAULT_CACHE = InventoryCache()

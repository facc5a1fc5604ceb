"""Before Ansible connects: every host's SSH key must be the one pinned in govnet's
known_hosts (``controller.provision.hostkeys``). Unknown keys are pinned only with
trust-on-first-use; a changed key is always refused. ssh then runs with
``StrictHostKeyChecking=yes`` against the same file, so the check cannot be skipped."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from controller.errors import GovnetError
from controller.provision.hostkeys import HostKeyStore, fetch_host_key
from controller.provision.transport import SocketFactory, plain_socket

WORKERS = 16


@dataclass(frozen=True)
class Refusal:
    host: str
    message: str
    unreachable: bool = True


def check_host_keys(
    addresses: dict[str, str],
    store: HostKeyStore,
    *,
    trust_on_first_use: bool = False,
    open_socket: SocketFactory = plain_socket,
    port: int = 22,
    timeout: float = 10.0,
) -> dict[str, Refusal]:
    """Host → why it must not be contacted; hosts that pass are not listed."""

    def one(item: tuple[str, str]) -> Refusal | None:
        name, address = item
        try:
            sock = open_socket(address, port, timeout)
        except (OSError, GovnetError) as exc:
            return Refusal(name, f"{name}: cannot reach {address}:{port}: {exc}")
        try:
            key = fetch_host_key(name, sock, timeout)
            if trust_on_first_use and not store.known(address, port):
                store.pin(address, port, key)
            store.check(name, address, port, key)
        except GovnetError as exc:
            return Refusal(name, str(exc))
        finally:
            sock.close()
        return None

    items = sorted(addresses.items())
    if not items:
        return {}
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items))) as pool:
        found = list(pool.map(one, items))
    return {r.host: r for r in found if r is not None}

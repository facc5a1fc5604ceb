"""Two controllers — their own state dirs and inventory checkouts — sharing one
PostgreSQL: the requests belong to the network, each plans around the other's
allocations, and an allocation is freed only where its hosting.yaml holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.hosting.errors import HostingFileError
from controller.hosting.states import State
from controller.inventory import validate_inventory
from tests.hosting.conftest import LAB_INVENTORY, Workspace, copy_inventory, request_values

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture()
def checkouts(backend: str, tmp_path: Path) -> tuple[Workspace, Workspace]:
    """Two checkouts of the lab inventory, each with its state dir, on one database."""
    east, west = (
        Workspace(copy_inventory(LAB_INVENTORY, tmp_path / f"{n}/inventory"), tmp_path / n)
        for n in ("east", "west")
    )
    return east, west


def test_a_request_made_in_one_checkout_is_approved_in_the_other_around_its_allocations(
    checkouts: tuple[Workspace, Workspace],
) -> None:
    east, west = checkouts
    first = east.service().submit(request_values(contact="east 1"), "erin")
    second = east.service().submit(request_values(contact="east 2"), "erin")
    assert [r.id for r in west.service().list()] == [second.id, first.id]
    assert first.inventory == "network:lab"

    made_east = east.service().approve(first.id, "erin").allocations
    made_west = west.service().approve(second.id, "dara").allocations  # west's file lacks east's
    a, b = made_east[0], made_west[0]
    assert a.id != b.id and a.vlan != b.vlan and a.prefix is not None and b.prefix is not None
    assert not a.prefix.overlaps(b.prefix)
    assert a.rack != b.rack or a.last_u < b.first_u or b.last_u < a.first_u
    for ws, mine, other in ((east, a, b), (west, b, a)):
        checked = validate_inventory(ws.inventory)
        assert checked.ok and checked.inventory is not None
        ids = {h.id for h in checked.inventory.hosting}
        assert mine.id in ids and other.id not in ids  # each file holds what it made


def test_an_allocation_is_freed_only_in_the_checkout_whose_file_holds_it(
    checkouts: tuple[Workspace, Workspace],
) -> None:
    east, west = checkouts
    ident = east.service().submit(request_values(), "erin").id
    made = east.service().approve(ident, "erin").allocations
    before = west.hosting_yaml.read_bytes()
    with pytest.raises(HostingFileError, match="another checkout made them; decommission it there"):
        west.service().free(ident, "dara")
    assert west.hosting_yaml.read_bytes() == before
    assert east.service().get(ident).state is State.APPROVED

    east.service().free(ident, "erin")
    # freed in the database: the other checkout may now be given the same rack units
    again = west.service().submit(request_values(), "dara").id
    reused = west.service().approve(again, "dara").allocations[0]
    assert (reused.rack, reused.first_u, reused.vlan) == (
        made[0].rack,
        made[0].first_u,
        made[0].vlan,
    )
    assert reused.id != made[0].id  # ids are never reused

"""The allocation planner, read as a specification: what fits where, and when nothing
fits, a message that says what is short and by how much. Pure: no files, no database."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from controller.hosting.errors import DoesNotFit
from controller.hosting.planner import next_ids, plan_allocation
from controller.hosting.request import HostingRequest, parse_request
from controller.inventory import load_inventory
from controller.inventory.model import (
    Datacentre,
    Hosting,
    Inventory,
    Ipv4Pool,
    Network,
    Pools,
    Rack,
    Room,
    Service,
    Tenant,
    VlanRange,
)
from tests.hosting.conftest import LAB_INVENTORY, NATIONAL_INVENTORY, request_values


def req(**overrides: object) -> HostingRequest:
    return parse_request(request_values(**overrides))


def alloc(ident: str, rack: str, first_u: int, units: int, kw: float, **more: object) -> Hosting:
    return Hosting.model_validate(
        {
            "id": ident,
            "tenant": "MoH",
            "service": "HMIS",
            "datacentre": more.pop("datacentre", "NDC"),
            "rack": rack,
            "first_u": first_u,
            "units": units,
            "power_kw": kw,
            **more,
        }
    )


def tiny(
    *,
    racks: int = 2,
    rack_kw: float = 8,
    room_kw: float = 40,
    height: int = 42,
    hosting: list[Hosting] | None = None,
    pool: str = "10.100.0.0/16",
    vlans: tuple[int, int] = (2000, 2999),
) -> Inventory:
    """A data centre with a room of ``racks`` racks, built in memory."""
    return Inventory(
        network=Network(name="t"),
        tenants=[Tenant(code="MoH", name="Ministry of Health", services=[Service(name="HMIS")])],
        datacentres=[
            Datacentre(
                code="NDC",
                name="National Data Centre",
                role="primary",
                province="KH-12",
                rooms=[
                    Room(
                        name="hall-a",
                        power_kw=room_kw,
                        racks=[
                            Rack(name=f"A{i:02d}", height_u=height, power_kw=rack_kw)
                            for i in range(1, racks + 1)
                        ],
                    )
                ],
            )
        ],
        pools=Pools(
            ipv4={"hosting-ndc": Ipv4Pool(prefix=IPv4Network(pool), use="hosting")},
            vlans={"hosting": VlanRange(first=vlans[0], last=vlans[1])},
        ),
        hosting=hosting or [],
    )


@pytest.fixture(scope="module")
def lab() -> Inventory:
    return load_inventory(LAB_INVENTORY)


@pytest.fixture(scope="module")
def national() -> Inventory:
    return load_inventory(NATIONAL_INVENTORY)


# --- it fits --------------------------------------------------------------------------


def test_a_request_that_fits_gets_units_power_vlan_and_the_next_free_prefix(
    lab: Inventory,
) -> None:
    (new,) = plan_allocation(lab, req(units=4, power_kw=2, prefix_len=26))
    # h-0001 holds A01 units 1-4, VLAN 2001 and 10.100.0.0/26 (inventory/lab/hosting.yaml)
    assert new.id == "h-0003"  # after h-0001 and h-0002
    assert (new.datacentre, new.rack, new.first_u, new.units) == ("NDC", "A01", 5, 4)
    assert new.power_kw == 2
    assert new.vlan == 2000  # the lowest free VLAN of the hosting range
    assert new.prefix == IPv4Network("10.100.0.64/26")
    assert new.mirror_of is None and new.tor_ports == []
    assert (new.tenant, new.service) == ("MoH", "HMIS")


def test_the_tightest_run_of_free_units_wins_best_fit() -> None:
    inv = tiny(
        racks=2,
        hosting=[
            alloc("h-0001", "A01", 1, 10, 0.5),
            alloc("h-0002", "A01", 14, 29, 0.5),  # A01: a 3 U gap at 11-13
            alloc("h-0003", "A02", 1, 30, 0.5),  # A02: 12 U free at the top
        ],
    )
    (new,) = plan_allocation(inv, req(units=3))
    assert (new.rack, new.first_u) == ("A01", 11)
    (bigger,) = plan_allocation(inv, req(units=4))
    assert (bigger.rack, bigger.first_u) == ("A02", 31)


def test_several_vlans_become_adjacent_allocations_sharing_the_request() -> None:
    inv = tiny()
    allocs = plan_allocation(inv, req(units=5, servers=3, power_kw=1.0, vlans=2, prefix_len=27))
    assert [a.id for a in allocs] == ["h-0001", "h-0002"]
    assert [(a.rack, a.first_u, a.units) for a in allocs] == [("A01", 1, 3), ("A01", 4, 2)]
    assert [a.power_kw for a in allocs] == [0.5, 0.5]
    assert [a.vlan for a in allocs] == [2000, 2001]
    assert [str(a.prefix) for a in allocs] == ["10.100.0.0/27", "10.100.0.32/27"]


def test_tor_ports_are_free_ports_of_the_racks_tor_one_per_server(national: Inventory) -> None:
    taken = national.model_copy(
        update={
            "hosting": [
                *national.hosting,
                alloc("h-0100", "A07", 1, 2, 1, tor_ports=["tor-ndc-a07:eth1", "tor-ndc-a07:eth2"]),
            ]
        }
    )
    allocs = plan_allocation(taken, req(tenant="MPTC", service="VerifyKH", units=41, servers=3))
    (new,) = allocs
    # A07 has 40 U left: only a rack with 41 free U fits — A08 — on its own ToR
    assert new.rack == "A08"
    assert new.tor_ports == ["tor-ndc-a08:eth1", "tor-ndc-a08:eth2", "tor-ndc-a08:eth3"]
    (same_rack,) = plan_allocation(
        taken, req(tenant="MPTC", service="VerifyKH", units=39, servers=2)
    )
    assert same_rack.rack == "A07"  # the tightest run: 40 U at 3-42 (A01-A06 have 38)
    assert same_rack.tor_ports == ["tor-ndc-a07:eth3", "tor-ndc-a07:eth4"]  # 1 and 2 are taken


# --- DR mirror ------------------------------------------------------------------------


def test_site_both_mirrors_each_ndc_allocation_at_dr(lab: Inventory) -> None:
    primary, mirror = plan_allocation(lab, req(site="both", units=3, power_kw=1.5))
    assert (primary.datacentre, primary.mirror_of) == ("NDC", None)
    assert (mirror.datacentre, mirror.mirror_of) == ("DR", primary.id)
    assert mirror.id == "h-0004"
    assert (mirror.rack, mirror.first_u, mirror.units, mirror.power_kw) == ("D01", 5, 3, 1.5)
    assert mirror.vlan == primary.vlan == 2000  # the same VLAN number when it is free at DR
    assert mirror.prefix is not None and mirror.prefix.subnet_of(IPv4Network("10.101.0.0/16"))
    assert str(mirror.prefix) == "10.101.0.64/28"


def test_a_mirror_takes_another_vlan_when_the_primarys_is_used_at_dr(lab: Inventory) -> None:
    busy = lab.model_copy(
        update={
            "hosting": [
                *lab.hosting,
                alloc("h-0003", "D02", 1, 1, 0.1, datacentre="DR", vlan=2000),
            ]
        }
    )
    primary, mirror = plan_allocation(busy, req(site="both"))
    assert primary.vlan == 2000
    assert mirror.vlan == 2002  # 2000 and 2001 are taken at DR


def test_site_dr_allocates_at_dr_without_a_mirror(lab: Inventory) -> None:
    (only,) = plan_allocation(lab, req(site="dr"))
    assert (only.datacentre, only.mirror_of) == ("DR", None)


# --- it does not fit ------------------------------------------------------------------


def test_no_rack_fits_the_message_names_the_closest_rack_and_what_it_has() -> None:
    inv = tiny(
        racks=2,
        hosting=[
            alloc("h-0001", "A01", 1, 36, 5.5),  # A01: 6 U and 2.5 kW left
            alloc("h-0002", "A02", 1, 42, 1.0),  # A02: full
        ],
    )
    with pytest.raises(DoesNotFit) as caught:
        plan_allocation(inv, req(units=8, power_kw=3.0))
    assert str(caught.value) == (
        "no rack in NDC has 8 contiguous free U with 3.0 kW headroom: "
        "best is A01 with 6 U free and 2.5 kW headroom"
    )


def test_free_units_that_are_not_contiguous_are_said_so() -> None:
    inv = tiny(
        racks=1,
        hosting=[alloc("h-0001", "A01", 5, 30, 1), alloc("h-0002", "A01", 38, 2, 1)],
    )
    with pytest.raises(DoesNotFit) as caught:
        plan_allocation(inv, req(units=6))
    assert str(caught.value) == (
        "no rack in NDC has 6 contiguous free U with 0.5 kW headroom: best is A01 with "
        "4 U free and 6.0 kW headroom (10 U free in all, not contiguous)"
    )


def test_the_rooms_power_budget_limits_too() -> None:
    inv = tiny(racks=3, rack_kw=8, room_kw=10, hosting=[alloc("h-0001", "A01", 1, 2, 7.5)])
    with pytest.raises(DoesNotFit) as caught:
        plan_allocation(inv, req(units=2, power_kw=3))
    assert str(caught.value) == (
        "no rack in NDC has 2 contiguous free U with 3.0 kW headroom: best is A02 with "
        "42 U free and 2.5 kW headroom; room hall-a has 2.5 kW left of its 10 kW"
    )


def test_with_tor_switches_the_message_counts_free_ports(national: Inventory) -> None:
    with pytest.raises(DoesNotFit) as caught:
        plan_allocation(national, req(tenant="MPTC", service="VerifyKH", units=43, servers=2))
    assert str(caught.value) == (
        "no rack in NDC has 43 contiguous free U, 0.5 kW headroom and 2 free ToR ports: "
        "best is A07 with 42 U free, 8.0 kW headroom and 48 free ToR ports"
    )


def test_vlan_exhaustion() -> None:
    inv = tiny(
        vlans=(2000, 2001),
        hosting=[
            alloc("h-0001", "A01", 1, 1, 0.1, vlan=2000),
            alloc("h-0002", "A01", 2, 1, 0.1, vlan=2001),
        ],
    )
    with pytest.raises(DoesNotFit) as caught:
        plan_allocation(inv, req())
    assert str(caught.value) == (
        "hosting VLAN range hosting (2000-2001) has no free VLAN left in NDC, 1 needed"
    )
    with pytest.raises(DoesNotFit, match=r"has only 1 free VLAN left in NDC, 2 needed"):
        plan_allocation(tiny(vlans=(2000, 2000)), req(vlans=2))


def test_prefix_exhaustion_names_the_largest_free_block() -> None:
    inv = tiny(
        pool="10.100.0.0/24",
        hosting=[alloc("h-0001", "A01", 1, 1, 0.1, prefix="10.100.0.0/25")],
    )
    with pytest.raises(DoesNotFit) as caught:
        plan_allocation(inv, req(prefix_len=24))
    assert str(caught.value) == (
        "hosting pool hosting-ndc has no free /24 left (largest free block /25)"
    )
    (fits,) = plan_allocation(inv, req(prefix_len=25))
    assert str(fits.prefix) == "10.100.0.128/25"
    with pytest.raises(DoesNotFit) as again:
        plan_allocation(inv, req(prefix_len=25, vlans=2))
    assert str(again.value) == (
        "hosting pool hosting-ndc has only 1 free /25 left, 2 needed (largest free block /25)"
    )


def test_a_full_pool_says_no_address_is_free() -> None:
    inv = tiny(
        pool="10.100.0.0/24",
        hosting=[alloc("h-0001", "A01", 1, 1, 0.1, prefix="10.100.0.0/24")],
    )
    with pytest.raises(DoesNotFit, match=r"no free /28 left \(no address free\)"):
        plan_allocation(inv, req())


def test_prefixes_fill_gaps_lowest_first_and_stay_aligned() -> None:
    inv = tiny(
        pool="10.100.0.0/24",
        hosting=[
            alloc("h-0001", "A01", 1, 1, 0.1, prefix="10.100.0.0/28"),
            alloc("h-0002", "A01", 2, 1, 0.1, prefix="10.100.0.32/27"),
        ],
    )
    (small,) = plan_allocation(inv, req(prefix_len=28))
    assert str(small.prefix) == "10.100.0.16/28"  # the /28 gap before .32
    (big,) = plan_allocation(inv, req(prefix_len=26))
    assert str(big.prefix) == "10.100.0.64/26"  # not .16: a /26 starts on a /26 boundary


# --- ids ------------------------------------------------------------------------------


def test_ids_follow_the_highest_ever_used() -> None:
    assert next_ids(["h-0001", "h-0009", "other"], 2) == ["h-0010", "h-0011"]
    assert next_ids(["h-0001"], 1, floor=41) == ["h-0042"]
    assert next_ids([], 1) == ["h-0001"]
    assert next_ids(["h-9999"], 1) == ["h-10000"]

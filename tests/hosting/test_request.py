"""What a focal officer may type: bounded, cleaned, and every mistake named by field."""

from __future__ import annotations

import pytest

from controller.hosting.errors import RequestInvalid
from controller.hosting.request import (
    Site,
    check_against_inventory,
    clean_reason,
    clean_text,
    parse_request,
)
from controller.inventory import load_inventory
from tests.hosting.conftest import LAB_INVENTORY, request_values


def problems(**overrides: object) -> dict[str, str]:
    with pytest.raises(RequestInvalid) as caught:
        parse_request(request_values(**overrides))
    return caught.value.by_field()


def test_a_good_request_is_typed_and_cleaned() -> None:
    request = parse_request(
        request_values(
            site="both",
            units="4",
            power_kw="2.345",
            prefix_len="/27",
            bandwidth_mbps="2.5G",
            contact="  Dara\tChan\x00, dara@moh.gov.kh\u202e ",
            justification="Line one\r\nline\x1b[31m two\n\n\n\nthree",
        )
    )
    assert request.site is Site.BOTH
    assert (request.units, request.power_kw, request.prefix_len) == (4, 2.35, 27)
    assert request.bandwidth_mbps == 2500
    assert request.contact == "Dara Chan, dara@moh.gov.kh"  # NUL, tab, bidi override gone
    assert request.justification == "Line one\nline[31m two\n\nthree"


def test_numbers_must_be_positive_whole_and_bounded() -> None:
    found = problems(units=-3, servers=0, power_kw=-1, vlans=9, prefix_len=16)
    assert found == {
        "units": "must be at least 1",
        "servers": "must be at least 1",
        "power_kw": "must be at least 0.01",
        "vlans": "must be at most 8",
        "prefix_len": "must be a prefix length from /22 (1,022 hosts) to /29 (6 hosts)",
    }
    assert problems(units=61)["units"] == "must be at most 60"
    assert problems(units="2.5")["units"] == "must be a whole number"
    assert problems(units=True)["units"] == "must be a number"
    assert problems(power_kw="nan")["power_kw"] == "must be a number"
    assert problems(power_kw="inf")["power_kw"] == "must be a number"
    assert problems(power_kw="1e400")["power_kw"] == "must be a number"
    assert problems(bandwidth_mbps="fast")["bandwidth_mbps"].startswith("must be a rate")
    assert problems(bandwidth_mbps="1T")["bandwidth_mbps"] == "must be at most 100000.0"


def test_text_is_bounded_and_required() -> None:
    assert problems(contact="x" * 201)["contact"] == "must be at most 200 characters"
    assert problems(justification="y" * 2001)["justification"] == (
        "must be at most 2000 characters"
    )
    assert problems(service="s" * 201)["service"] == "must be at most 200 characters"
    assert problems(contact="")["contact"] == "is required"
    assert problems(contact="\x00\x01 ")["contact"] == "is required"
    assert problems(contact="ab")["contact"] == "must be at least 3 characters"
    assert problems(justification="short")["justification"] == "must be at least 10 characters"
    missing = request_values()
    del missing["tenant"]
    with pytest.raises(RequestInvalid) as caught:
        parse_request(missing)
    assert caught.value.by_field() == {"tenant": "is required"}


def test_markup_is_refused_in_every_text_field() -> None:
    found = problems(
        service="<script>alert(1)</script>",
        contact="Dara <img src=x onerror=alert(1)>",
        justification="see </textarea><b>here</b> please",
    )
    assert set(found) == {"service", "contact", "justification"}
    assert all("HTML markup" in message for message in found.values())
    # a comparison is not markup
    assert parse_request(request_values(justification="latency < 10 ms and 5 > 3")).justification


def test_the_tenant_code_and_site_have_fixed_forms() -> None:
    assert problems(tenant="MoH; DROP TABLE")["tenant"].startswith("must be a tenant code")
    assert problems(site="mars")["site"] == "must be one of ndc, dr, both"
    assert problems(unknown="x")["unknown"] == "is not a field of a hosting request"


def test_servers_and_vlans_need_room_in_the_units() -> None:
    found = problems(units=2, servers=3, vlans=3)
    assert found == {
        "servers": "3 servers do not fit in 2 U (each server takes at least 1 U)",
        "vlans": "3 VLANs need at least 3 U (one allocation per VLAN), 2 U requested",
    }


def test_every_problem_is_listed_in_one_line_in_form_order() -> None:
    with pytest.raises(RequestInvalid) as caught:
        parse_request(request_values(justification="", units=0, tenant=""))
    assert str(caught.value) == (
        "invalid hosting request: tenant: is required; units: must be at least 1; "
        "justification: is required"
    )
    renamed = caught.value.renamed({"units": "--units"})
    assert "--units: must be at least 1" in str(renamed)


def test_the_inventory_decides_tenant_service_and_site() -> None:
    inv = load_inventory(LAB_INVENTORY)
    check_against_inventory(inv, parse_request(request_values()))
    with pytest.raises(RequestInvalid) as caught:
        check_against_inventory(inv, parse_request(request_values(tenant="MoE")))
    assert caught.value.by_field() == {"tenant": "unknown tenant 'MoE' (known: MEF, MPTC, MoH)"}
    with pytest.raises(RequestInvalid) as caught:
        check_against_inventory(inv, parse_request(request_values(service="Payroll")))
    assert caught.value.by_field()["service"] == (
        "MoH has no service 'Payroll' (its services: HMIS; a new service is added to the "
        "inventory's tenants first)"
    )
    no_dr = inv.model_copy(update={"datacentres": inv.datacentres[:1]})
    with pytest.raises(RequestInvalid) as caught:
        check_against_inventory(no_dr, parse_request(request_values(site="both")))
    assert caught.value.by_field() == {
        "site": "both needs a primary and a DR data centre; the inventory has NDC (primary)"
    }


def test_reasons_are_cleaned_bounded_and_required_for_a_rejection() -> None:
    assert clean_reason("  over\x07 budget ", required=True) == "over budget"
    with pytest.raises(RequestInvalid, match="reason: is required"):
        clean_reason(" \x00 ", required=True)
    with pytest.raises(RequestInvalid, match="at most 500"):
        clean_reason("z" * 501, required=False)
    with pytest.raises(RequestInvalid, match="markup"):
        clean_reason("<script>", required=False)
    assert clean_text("a\u2028b\u200bc") == "a b\u200bc"  # ZWSP is part of the text

"""hosting.yaml is edited as text: new allocations appended in the file's own style,
removed ones leave no trace, every other byte is kept (clean git diffs)."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
import yaml

from controller.hosting import hostingfile as hf
from controller.hosting.errors import HostingFileError
from controller.inventory.model import Hosting
from tests.hosting.conftest import LAB_INVENTORY, NATIONAL_INVENTORY


def new(ident: str = "h-0100", **more: object) -> Hosting:
    data: dict[str, object] = {
        "id": ident,
        "tenant": "MoH",
        "service": "HMIS",
        "datacentre": "NDC",
        "rack": "A02",
        "first_u": 5,
        "units": 2,
        "power_kw": 0.75,
        "vlan": 2010,
        "prefix": IPv4Network("10.100.9.0/28"),
    }
    data.update(more)
    return Hosting.model_validate(data)


def reread(text: str) -> list[Hosting]:
    return [Hosting.model_validate(x) for x in yaml.safe_load(text)["hosting"]]


def test_appending_to_the_national_file_adds_one_line_per_allocation() -> None:
    text = (NATIONAL_INVENTORY / "hosting.yaml").read_text()
    doc = hf.parse(text)
    added = hf.append(doc, [new(tor_ports=["tor-ndc-a02:eth1"]), new("h-0101", vlan=2011)])
    assert added.text.startswith(text)  # nothing before changes
    tail = added.text[len(text) :].splitlines()
    assert tail == [
        "  - {id: h-0100, tenant: MoH, service: HMIS, datacentre: NDC, rack: A02, first_u: 5, "
        "units: 2, power_kw: 0.75, vlan: 2010, prefix: 10.100.9.0/28, "
        "tor_ports: [tor-ndc-a02:eth1]}",
        "  - {id: h-0101, tenant: MoH, service: HMIS, datacentre: NDC, rack: A02, first_u: 5, "
        "units: 2, power_kw: 0.75, vlan: 2011, prefix: 10.100.9.0/28}",
    ]
    assert [h.id for h in reread(added.text)][-2:] == ["h-0100", "h-0101"]
    assert added.ids == [*doc.ids, "h-0100", "h-0101"]


def test_the_lab_files_wrapped_style_is_kept() -> None:
    text = (LAB_INVENTORY / "hosting.yaml").read_text()
    added = hf.append(hf.parse(text), [new(mirror_of="h-0001", datacentre="DR", rack="D02")])
    tail = added.text[len(text) :]
    assert tail == (
        "  - {id: h-0100, tenant: MoH, service: HMIS, datacentre: DR, rack: D02, first_u: 5, "
        "units: 2,\n"
        "     power_kw: 0.75, vlan: 2010, prefix: 10.100.9.0/28, mirror_of: h-0001}\n"
    )
    assert max(len(line) for line in added.text.splitlines()) <= 95


def test_removing_gives_back_the_same_bytes() -> None:
    for source in (LAB_INVENTORY, NATIONAL_INVENTORY):
        text = (source / "hosting.yaml").read_text()
        doc = hf.parse(text)
        grown = hf.append(doc, [new(), new("h-0101")])
        assert hf.remove(grown, {"h-0100", "h-0101"}).text == text
    middle = hf.remove(hf.parse(text), {"h-0003"})
    assert "h-0003" not in middle.text
    assert len(middle.text.splitlines()) == len(text.splitlines()) - 1


def test_comments_above_an_allocation_go_with_it_and_others_stay() -> None:
    text = (
        "# header\n"
        "hosting:\n"
        "  # first\n"
        "  - {id: h-0001, tenant: MoH, service: HMIS, datacentre: NDC, rack: A01, first_u: 1,\n"
        "     units: 1, power_kw: 1}\n"
        "\n"
        "  # second, kept\n"
        "  - {id: h-0002, tenant: MoH, service: HMIS, datacentre: NDC, rack: A01, first_u: 2,\n"
        "     units: 1, power_kw: 1}\n"
        "other: {}\n"
    )
    out = hf.remove(hf.parse(text), {"h-0001"}).text
    assert out == (
        "# header\n"
        "hosting:\n"
        "\n"
        "  # second, kept\n"
        "  - {id: h-0002, tenant: MoH, service: HMIS, datacentre: NDC, rack: A01, first_u: 2,\n"
        "     units: 1, power_kw: 1}\n"
        "other: {}\n"
    )
    # appending lands after the last allocation, before the next section
    grown = hf.append(hf.parse(text), [new()])
    assert grown.text.endswith("prefix: 10.100.9.0/28}\nother: {}\n")


def test_an_empty_list_or_no_file_yet() -> None:
    empty = hf.parse(hf.HEADER + "hosting: []\n")
    grown = hf.append(empty, [new()])
    assert grown.text.startswith(hf.HEADER + "hosting:\n  - {id: h-0100,")
    assert hf.remove(grown, {"h-0100"}).text == hf.HEADER + "hosting: []\n"
    fresh = hf.append(hf.parse(""), [new()])
    assert fresh.text.startswith(hf.HEADER + "hosting:\n  - {id: h-0100,")
    assert reread(fresh.text) == [new()]
    bare = hf.append(hf.parse("hosting:\n"), [new()])
    assert reread(bare.text) == [new()]


@pytest.mark.parametrize(
    "service",
    [
        "Human Resource Management Information System - HRMIS",
        "Payroll, pensions: and more",
        'Quoted "name" #1',
        "yes",
        "123",
        "ប្រព័ន្ធ​គ្រប់គ្រង",  # Khmer
        "- dash first",
    ],
)
def test_any_service_name_reads_back_the_same(service: str) -> None:
    doc = hf.append(hf.parse(""), [new(service=service)])
    assert reread(doc.text)[0].service == service


def test_files_govnet_cannot_edit_safely_are_refused() -> None:
    with pytest.raises(HostingFileError, match="one item per line"):
        hf.parse("hosting: [{id: h-1, tenant: MoH}]\n")
    with pytest.raises(HostingFileError, match="hosting must be a list"):
        hf.parse("hosting: {a: 1}\n")
    with pytest.raises(HostingFileError, match="not valid YAML"):
        hf.parse("hosting: [\n")
    with pytest.raises(HostingFileError, match="without an id"):
        hf.parse("hosting:\n  - {tenant: MoH}\n")

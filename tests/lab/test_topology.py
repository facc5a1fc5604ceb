"""Topology loading: env expansion, inheritance, schema quirks and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.errors import GovnetError, TopologyError
from simulations.topology import expand_env, load_topology
from tests.conftest import ROOT

FIXTURES = ROOT / "tests/lab/fixtures"
ERRORS = sorted((ROOT / "tests/lab/errors").glob("*.clab.yml"))


@pytest.mark.parametrize("case", ERRORS, ids=lambda p: p.name.removesuffix(".clab.yml"))
def test_bad_topology_fails_with_exact_located_messages(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    expected = case.with_name(case.name.removesuffix(".clab.yml") + ".log").read_text()
    with pytest.raises(TopologyError) as info:
        load_topology(case.relative_to(ROOT), env={})
    problems = getattr(info.value, "problems", [info.value])
    assert "\n".join(str(p) for p in problems) + "\n" == expected
    assert "\n" not in str(info.value)  # the CLI shows one line


def test_every_error_class_has_a_golden_case() -> None:
    names = {p.name.removesuffix(".clab.yml") for p in ERRORS}
    assert {
        "unknown_key",
        "unsupported_kind",
        "bad_endpoint",
        "unset_env",
        "bad_mgmt_ip",
        "bad_mgmt_format",
        "yaml_syntax",
        "duplicate_interface",
        "unsupported_link",
    } <= names


def test_env_expansion_defaults_and_values() -> None:
    text = "a: ${A}\nb: ${B:=fallback}\nc: ${C:=x}\n"
    assert expand_env(text, {"A": "1", "C": "set"}) == "a: 1\nb: fallback\nc: set\n"


def test_env_expansion_in_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    topo = load_topology(FIXTURES / "mini.clab.yml", env={"GOVNET_MINI_LAB": "other"})
    assert topo.name == "other"
    assert topo.nodes["r2"].env["SNMP_COMMUNITY"] == "govnet-ro"  # the default
    topo = load_topology(FIXTURES / "mini.clab.yml", env={"GOVNET_MINI_COMMUNITY": "c"})
    assert topo.name == "mini"
    assert topo.nodes["r2"].env["SNMP_COMMUNITY"] == "c"


def test_inheritance_node_group_kind_defaults() -> None:
    topo = load_topology(FIXTURES / "mini.clab.yml", env={})
    r1, r3, c1 = topo.nodes["r1"], topo.nodes["r3"], topo.nodes["c1"]
    assert r1.image == "quay.io/frrouting/frr:8.4.4"  # from kinds.linux
    assert r1.is_frr and not c1.is_frr
    assert c1.image == "docker.io/library/alpine:3.20"  # node overrides kind
    assert r1.env["SNMP_V3_USER"] == "govnet"  # from defaults
    assert r1.bind_source("/etc/frr/daemons") == FIXTURES / "mini/daemons"  # from group
    assert r1.bind_source("/etc/frr/frr.conf") == FIXTURES / "mini/r1.conf"  # node
    assert r3.startup_config == FIXTURES / "mini/r3.conf"
    assert c1.env["GOVNET_SNMPD"] == "1"
    assert len(c1.exec) == 6
    assert r1.mgmt_ipv4 == "172.20.20.11" and c1.mgmt_ipv4 is None


def test_group_overrides_kind_and_node_overrides_group(tmp_path: Path) -> None:
    f = tmp_path / "t.clab.yml"
    f.write_text(
        "name: t\n"
        "topology:\n"
        "  defaults: {kind: linux, image: d, env: {A: d, B: d, C: d}, labels: {x: d}}\n"
        "  kinds: {linux: {image: k, env: {B: k}}}\n"
        "  groups: {g: {image: g, env: {C: g}, exec: [echo g]}}\n"
        "  nodes:\n"
        "    n1: {group: g, env: {A: n}}\n"
        "    n2: {}\n"
        "    n3: {group: g, exec: [echo n], image: n}\n"
    )
    topo = load_topology(f, env={})
    n1, n2, n3 = topo.nodes["n1"], topo.nodes["n2"], topo.nodes["n3"]
    assert (n1.image, dict(n1.env)) == ("g", {"A": "n", "B": "k", "C": "g"})
    assert n1.exec == ("echo g",) and n3.exec == ("echo n",)
    assert (n2.image, n2.labels["x"]) == ("k", "d")
    assert n3.image == "n"


def test_links_short_and_extended_forms() -> None:
    topo = load_topology(FIXTURES / "mini.clab.yml", env={})
    first, last = topo.links[0], topo.links[-1]
    assert (str(first.a), str(first.b), first.ipv4) == (
        "r1:eth1",
        "r2:eth1",
        ("10.0.12.1/30", "10.0.12.2/30"),
    )
    assert (str(last.a), str(last.b), last.ipv4) == (
        "r3:eth3",
        "c1:eth1",
        ("10.1.0.1/30", "10.1.0.2/30"),
    )


def test_missing_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(GovnetError, match="cannot read"):
        load_topology(tmp_path / "nope.clab.yml")


def test_shipped_topologies_validate() -> None:
    for path in sorted((ROOT / "topologies").glob("*.clab.y*ml")):
        load_topology(path, env={})

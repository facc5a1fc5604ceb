"""The IPsec exporter's pure parts: VICI answers → SA state, charon's log → authentication
failures, tunnel ends and tunnel ICMP targets from the inventory. The VICI answer below
is what strongSwan 5.9.8's charon sent (recorded in a scratch namespace pair); the lab
tests (tests/missions/test_missions_lab.py) read live charons."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from controller.inventory import load_inventory
from probes.ipsec import IpsecCollector, count_auth_failures, lab_tunnel_ends, parse_sas
from probes.targets import tunnel_targets
from tests.conftest import ROOT

RECORDED = [
    {
        "fr-par-ndc": {
            "uniqueid": b"3",
            "state": b"ESTABLISHED",
            "established": b"1332",
            "child-sas": {
                "fr-par-ndc-3": {
                    "name": b"fr-par-ndc",
                    "state": b"INSTALLED",
                    "bytes-in": b"212",
                    "bytes-out": b"424",
                }
            },
        }
    },
    {"fr-par-dr": {"uniqueid": b"4", "state": b"CONNECTING", "child-sas": {}}},
]

LOG = """\
2026-12-01T12:01:27 14[IKE] <fr-par-ndc|1> authentication of '198.51.100.2' (myself) with PSK
2026-12-01T12:01:49 11[IKE] <fr-par-ndc|2> received AUTHENTICATION_FAILED notify error
12:01:50 09[IKE] <jp-tyo-ndc|7> tried 1 shared key for '203.0.113.2' - '…', but MAC mismatched
2026-12-01T12:01:53 11[IKE] <fr-par-ndc|3> received AUTHENTICATION_FAILED notify error
2026-12-01T12:01:55 05[NET] <fr-par-ndc|3> sending packet: from 198.51.100.2[4500]
"""


def test_an_established_ike_sa_with_an_installed_child_is_a_working_tunnel() -> None:
    states = parse_sas(RECORDED)
    ndc = states["fr-par-ndc"]
    assert ndc.ike_established and ndc.child_installed
    assert (ndc.established_seconds, ndc.bytes_in, ndc.bytes_out) == (1332.0, 212, 424)
    dr = states["fr-par-dr"]
    assert (dr.ike_state, dr.ike_established, dr.child_installed) == ("CONNECTING", False, False)


def test_authentication_failures_are_counted_per_connection_from_both_ends() -> None:
    assert count_auth_failures(LOG) == {"fr-par-ndc": 2, "jp-tyo-ndc": 1}


def test_every_tunnel_has_two_ends_and_a_target_reached_only_through_it() -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    ends = lab_tunnel_ends(inv, Path("/lab"))
    assert {(e.device, e.tunnel, e.side) for e in ends} == {
        ("ms-fr-par", "fr-par-ndc", "mission"),
        ("ndc-1", "fr-par-ndc", "datacentre"),
        ("ms-fr-par", "fr-par-dr", "mission"),
        ("dr-1", "fr-par-dr", "datacentre"),
        ("ms-jp-tyo", "jp-tyo-ndc", "mission"),
        ("ndc-1", "jp-tyo-ndc", "datacentre"),
        ("ms-jp-tyo", "jp-tyo-dr", "mission"),
        ("dr-1", "jp-tyo-dr", "datacentre"),
    }
    assert next(e for e in ends if e.device == "ndc-1").vici == Path("/lab/ndc-1/ipsec/charon.vici")
    targets = {t.name: t for t in tunnel_targets(inv)}
    assert targets["fr-par-ndc"].icmp_address == "10.252.0.1"  # the mission's overlay end
    assert (targets["fr-par-dr"].site, targets["fr-par-dr"].province) == ("FR-PAR", "DR")


def test_a_charon_that_does_not_answer_reports_its_tunnels_down(tmp_path: Path) -> None:
    inv = load_inventory(ROOT / "inventory/lab")
    log = tmp_path / "ndc-1" / "ipsec" / "charon.log"
    log.parent.mkdir(parents=True)
    log.write_text(LOG)
    registry = CollectorRegistry()
    registry.register(IpsecCollector(lab_tunnel_ends(inv, tmp_path)))
    get = registry.get_sample_value
    end = {
        "device": "ndc-1",
        "tunnel": "fr-par-ndc",
        "mission": "FR-PAR",
        "datacentre": "NDC",
        "side": "datacentre",
    }
    assert get("govnet_ipsec_vici_up", {"device": "ndc-1"}) == 0.0
    assert get("govnet_ipsec_ike_sa_up", end) == 0.0
    assert get("govnet_ipsec_child_sa_up", end) == 0.0
    assert get("govnet_ipsec_auth_failures_total", end) == 2.0
    # the log is read on from where it stopped: a new failure adds one, nothing is recounted
    with log.open("a") as handle:
        handle.write(
            "2026-12-01T12:02:00 11[IKE] <fr-par-ndc|4> received AUTHENTICATION_FAILED notify\n"
        )
    assert get("govnet_ipsec_auth_failures_total", end) == 3.0


def test_missions_and_tunnels_are_pinged_with_an_internet_timeout() -> None:
    """A 500 ms round trip to an embassy is slow, not lost: echoes across the internet
    wait 2 s (fping -t), the private network's 500 ms."""
    from probes.cycle import ACROSS_INTERNET
    from probes.icmp import IcmpSettings, Pinger, fping_argv

    far = Pinger(IcmpSettings()).across_internet().settings
    argv = fping_argv(far, ["10.252.0.1"])
    assert argv[argv.index("-t") + 1] == "2000"
    assert fping_argv(IcmpSettings(), ["10.255.0.1"])[argv.index("-t") + 1] == "500"
    assert {"mission-router", "tunnel"} == ACROSS_INTERNET

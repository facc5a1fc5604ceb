"""The Missions page: every mission with its tunnels' state from (fake) Prometheus
answers — a mission with one tunnel down is listed first as 'one tunnel down'."""

from __future__ import annotations

from html import unescape

from controller.web.backends import Sample
from tests.web.client import TestClient
from tests.web.conftest import Console, sign_in


def test_missions_page_lists_missions_with_their_tunnel_state(
    client: TestClient, console: Console
) -> None:
    samples = console.prometheus.samples
    samples["govnet:tunnel_up"] = [
        Sample({"tunnel": "fr-par-ndc"}, 1),
        Sample({"tunnel": "fr-par-dr"}, 1),
        Sample({"tunnel": "jp-tyo-ndc"}, 0),
        Sample({"tunnel": "jp-tyo-dr"}, 1),
    ]
    samples['govnet_ipsec_ike_sa_up{side="mission"}'] = [
        Sample({"tunnel": "fr-par-ndc"}, 1),
        Sample({"tunnel": "jp-tyo-ndc"}, 0),
    ]
    samples['govnet_ipsec_ike_sa_established_seconds{side="mission"}'] = [
        Sample({"tunnel": "fr-par-ndc"}, 1320)
    ]
    samples['govnet_tunnel_rtt_seconds{stat="avg"}'] = [Sample({"tunnel": "fr-par-ndc"}, 0.215)]
    samples["sum by (tunnel) (govnet_ipsec_auth_failures_total)"] = [
        Sample({"tunnel": "jp-tyo-ndc"}, 3)
    ]
    samples['govnet_icmp_rtt_seconds{role="mission-router",stat="avg"}'] = [
        Sample({"device": "ms-fr-par"}, 0.221)
    ]
    sign_in(client, "alice")
    response = client.get("/missions")
    assert response.status_code == 200
    page = unescape(response.text)
    body = page.split("<tbody>")[1]
    assert body.index("JP-TYO") < body.index("FR-PAR")  # lost redundancy first
    assert "one tunnel down" in body and "Royal Embassy of Cambodia in Paris" in body
    assert "215.00 ms" in body and "221.00 ms" in body and "22 min" in body
    assert '<span class="state down">3</span>' in body  # Tokyo's failed authentications
    assert 'href="/missions"' in page  # in the navigation bar
    assert client.get("/sites/FR-PAR").status_code == 200  # a mission is a site too


def test_a_focal_officer_does_not_see_the_missions_page(client: TestClient) -> None:
    sign_in(client, "mef-focal")
    assert client.get("/missions").status_code == 403

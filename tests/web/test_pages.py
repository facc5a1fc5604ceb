"""Page contents from (fake) Prometheus answers: drift, links, provinces, sites."""

from __future__ import annotations

from html import unescape

from controller.web.backends import Sample
from tests.web.client import TestClient
from tests.web.conftest import Console, sign_in


def test_drift_page(client: TestClient, console: Console) -> None:
    console.prometheus.samples["govnet_config_drift"] = [
        Sample({"device": "pr-kh2"}, 1),
        Sample({"device": "core-1"}, 0),
        Sample({"device": "old-router"}, 1),
    ]
    sign_in(client, "alice")
    page = unescape(client.get("/drift").text)
    assert "<strong>2</strong> device(s) differ" in page
    rows = page.split("<tbody>")[1]
    assert rows.index("pr-kh2") < rows.index("core-1") < rows.index("pr-kh17")  # drift first
    assert "not in the inventory" in page  # old-router
    assert "cpe-020301" not in page  # CPEs are not drift-checked


def test_links_page(client: TestClient, console: Console) -> None:
    link = "core-1:eth5--pr-kh2:eth1"
    console.prometheus.samples["govnet:link_utilisation:ratio_rate5m"] = [
        Sample({"link": link, "direction": "out"}, 0.91),
        Sample({"link": link, "direction": "in"}, 0.2),
    ]
    console.prometheus.samples["govnet:link_down"] = [
        Sample({"link": "core-1:eth4--pr-kh17:eth1"}, 1)
    ]
    sign_in(client, "alice")
    page = client.get("/links").text
    body = page.split("<tbody>")[1]
    assert body.index("core-1:eth4--pr-kh17:eth1") < body.index(link)  # down links first
    assert "91.0%" in page and "20.0%" in page and "fill hot w19" in page
    assert client.get("/links?kind=province-core").text.count("<tr>") == 1 + 4  # header + 4


def test_province_and_site_pages(client: TestClient, console: Console) -> None:
    console.prometheus.samples["govnet_site_reachability"] = [
        Sample({"device": "pr-kh2", "state": "down"}, 1),
        Sample({"device": "cpe-020301", "state": "unreachable"}, 1),
    ]
    sign_in(client, "alice")
    page = client.get("/provinces/KH-2").text
    assert "Battambang" in page and "Tuol Ta Aek" in page
    assert '<span class="state down">down</span>' in page
    assert '<span class="state unreachable">unreachable</span>' in page
    site = client.get("/sites/020301?range=24h").text
    assert "<polyline" in site and "Round-trip time" in site and "<strong>24h</strong>" in site

"""What a change may make alert, as Alertmanager silence matchers (pure).

Scoped to exactly the predicted impact, nothing broader: the devices it takes down,
isolates, degrades or hides from the NMS (alerts carry ``device``); the links that go down
— the failed ones and every link of a failed device (link alerts carry ``link``); and the
province-wide alerts (which carry only ``province``) of the provinces whose routers are
down or isolated. An alert on anything else is not silenced and pages as usual.
Long lists are split so that no regular expression grows past :data:`CHUNK` names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CHUNK = 100
PROVINCE_ALERTS = "GovnetProvinceIsolated|GovnetSitesUnreachableBehindProvince"

Matcher = dict[str, Any]


def _any_of(name: str, values: Iterable[str]) -> list[list[Matcher]]:
    ordered = sorted(set(values))
    return [
        [
            {
                "name": name,
                "value": "|".join(re.escape(v) for v in ordered[i : i + CHUNK]),
                "isRegex": True,
                "isEqual": True,
            }
        ]
        for i in range(0, len(ordered), CHUNK)
    ]


def silence_matchers(impact: dict[str, Any]) -> list[list[Matcher]]:
    """One matcher list per silence, from a change's impact (``impact.to_json`` form)."""
    devices = {
        ref["device"]
        for section in ("down", "isolated", "degraded", "unmonitored")
        for ref in impact.get(section, [])
    }
    cut = [ref for section in ("down", "isolated") for ref in impact.get(section, [])]
    provinces = {ref["province"] for ref in cut if ref.get("role") == "province-router"}
    silences = _any_of("device", devices) + _any_of("link", impact.get("links_down", []))
    alert = {"name": "alertname", "value": PROVINCE_ALERTS, "isRegex": True, "isEqual": True}
    silences += [[alert, *m] for m in _any_of("province", provinces)]
    return silences

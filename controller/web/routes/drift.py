"""Configuration drift: devices whose running config differs from the inventory."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import Response

from controller.text import N_
from controller.web.auth import Staff
from controller.web.context import console
from controller.web.data import Fetch
from controller.web.nav import STAFF, NavItem
from controller.web.templating import render

router = APIRouter()
NAV = [NavItem(N_("Config drift"), "/drift", STAFF, order=40)]


@router.get("/drift")
def drift(request: Request, user: Staff) -> Response:
    sites = console(request).sites
    fetch = Fetch(request)
    state = {s.labels.get("device", ""): s.value for s in fetch.query("govnet_config_drift")}
    checked = [
        s.value
        for s in fetch.query("govnet_textfile_mtime_seconds")
        if "drift" in s.labels.get("file", "")
    ]
    # routers are what `govnet config drift` checks; CPEs and the NMS are not configured by it
    routers = {d.name for d in sites.devices.values() if d.role.value not in ("cpe", "nms")}
    rows = []
    for name in sorted(set(state) | routers):
        device = sites.devices.get(name)
        status = {None: "not checked", 1.0: "drift"}.get(state.get(name), "in sync")
        rows.append(
            {
                "device": name,
                "role": device.role.value if device else "not in the inventory",
                "site": device.site if device else "",
                "state": status,
            }
        )
    order = {"drift": 0, "in sync": 1, "not checked": 2}
    rows.sort(key=lambda r: (order[r["state"]], r["device"]))
    return render(
        request,
        "drift.html",
        title=N_("Configuration drift"),
        rows=rows,
        drifted=sum(1 for r in rows if r["state"] == "drift"),
        checked_ago=(time.time() - max(checked)) if checked else None,
        errors=fetch.errors,
        refresh=60,
    )

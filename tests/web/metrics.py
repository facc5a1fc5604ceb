"""Probe-like metrics for the lab inventory, as a Prometheus text file: what
`govnet probe serve` would export while Battambang's uplink is cut (pr-kh2 down, its
four communes unreachable), served to a real Prometheus by the SOC textfile exporter."""

from __future__ import annotations

from pathlib import Path

from controller.inventory import load_inventory
from controller.inventory.views import device_provinces
from controller.soc.info import escape_label_value
from tests.conftest import ROOT

BATTAMBANG_CPES = {"cpe-020301", "cpe-020302", "cpe-020101", "cpe-020102"}


def _labels(values: dict[str, str]) -> str:
    return ",".join(f'{k}="{escape_label_value(v)}"' for k, v in values.items() if v)


def probe_metrics() -> str:
    inv = load_inventory(ROOT / "inventory/lab")
    provinces = device_provinces(inv)
    lines = []
    for device in inv.devices:
        if device.role.value == "nms":
            continue
        base = {
            "device": device.name,
            "site": device.site,
            "province": provinces.get(device.name) or "",
            "tenant": device.tenant or "",
            "role": device.role.value,
        }
        state = "up"
        if device.name == "pr-kh2":
            state = "down"
        elif device.name in BATTAMBANG_CPES:
            state = "unreachable"
        for option in ("up", "down", "unreachable"):
            lines.append(
                f"govnet_site_reachability{{{_labels({**base, 'state': option})}}} "
                f"{1 if option == state else 0}"
            )
        lines.append(f"govnet_site_up{{{_labels(base)}}} {1 if state == 'up' else 0}")
        lines.append(f"govnet_icmp_loss_ratio{{{_labels(base)}}} {0 if state == 'up' else 1}")
        if state == "up":
            rtt = 0.0008 if device.role.value != "cpe" else 0.0021
            lines.append(f"govnet_icmp_rtt_seconds{{{_labels({**base, 'stat': 'avg'})}}} {rtt}")
    return "\n".join(lines) + "\n"


def write_probe_metrics(textfile_dir: Path) -> Path:
    textfile_dir.mkdir(parents=True, exist_ok=True)
    path = textfile_dir / "probes-fixture.prom"
    path.write_text(probe_metrics(), encoding="utf-8")
    return path

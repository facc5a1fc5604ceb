"""The national map: Cambodia's 25 provinces as a tile grid laid out like the country
(each province a tile at its approximate place, by its ISO 3166-2:KH code), and the
backbone — the core and the data centres — above it. Geometry and texts are computed
here and drawn as inline SVG by a template; nothing is fetched at run time.

Each province is coloured by its worst active alert and says so in words too (the
severity and the alert, the communes up, how many alerts are suppressed under it). A
province of the position table that the inventory does not have (the lab has three) is
drawn as a faint outline, so the map still reads as the country; an inventory province
the table does not know goes in a row below."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.web.backends import Sample
from controller.web.views.alerts import AlertView, worst
from controller.web.views.overview import Tile, on_backbone

# (code, name, column, row): west → east, north → south. Approximate, by neighbours:
# Banteay Meanchey in the north-west corner, Ratanakiri in the north-east, the coast
# (Koh Kong, Preah Sihanouk, Kampot, Kep) in the south-west, Svay Rieng in the south-east.
POSITIONS: tuple[tuple[str, str, int, int], ...] = (
    ("KH-1", "Banteay Meanchey", 1, 0),
    ("KH-22", "Oddar Meanchey", 2, 0),
    ("KH-13", "Preah Vihear", 3, 0),
    ("KH-19", "Stung Treng", 4, 0),
    ("KH-16", "Ratanakiri", 5, 0),
    ("KH-24", "Pailin", 0, 1),
    ("KH-2", "Battambang", 1, 1),
    ("KH-17", "Siem Reap", 2, 1),
    ("KH-6", "Kampong Thom", 3, 1),
    ("KH-10", "Kratie", 4, 1),
    ("KH-11", "Mondulkiri", 5, 1),
    ("KH-15", "Pursat", 1, 2),
    ("KH-4", "Kampong Chhnang", 2, 2),
    ("KH-3", "Kampong Cham", 3, 2),
    ("KH-25", "Tbong Khmum", 4, 2),
    ("KH-9", "Koh Kong", 0, 3),
    ("KH-5", "Kampong Speu", 1, 3),
    ("KH-12", "Phnom Penh", 2, 3),
    ("KH-8", "Kandal", 3, 3),
    ("KH-14", "Prey Veng", 4, 3),
    ("KH-20", "Svay Rieng", 5, 3),
    ("KH-18", "Preah Sihanouk", 0, 4),
    ("KH-7", "Kampot", 1, 4),
    ("KH-23", "Kep", 2, 4),
    ("KH-21", "Takeo", 3, 4),
)
COLUMNS = 6
CELL_W, CELL_H, GAP, PAD = 144, 94, 6, 8
BOX_W, BOX_H, BOX_SPACING = 240, 74, 280
BOX_Y = 30  # room above the boxes for the arc between the data centres
GRID_Y = BOX_Y + BOX_H + 34
BACKBONE_STATES = 'govnet_site_up{role=~"core|dc-gateway|dc-switch|tor|firewall"}'
COLOURS = ("critical", "major", "warning", "info", "ok", "nodata")


@dataclass(frozen=True)
class MapTile:
    code: str
    x: int
    y: int
    lines: tuple[str, ...]  # name, communes, status, the worst alert — one under the other
    colour: str  # critical | major | warning | info | ok | nodata | ghost
    label: str  # the tile in one sentence: its aria-label and tooltip
    href: str | None  # None: drawn only, not in this inventory
    corner: str = ""  # top right: the suppressed count

    @property
    def ghost(self) -> bool:
        return self.href is None


@dataclass(frozen=True)
class Box:
    """The core or a data centre, above the provinces."""

    code: str
    name: str
    x: int
    y: int
    colour: str
    lines: tuple[str, ...]  # name, devices up, status, suppressed
    label: str
    href: str

    @property
    def centre(self) -> tuple[int, int]:
        return self.x + BOX_W // 2, self.y + BOX_H // 2


@dataclass(frozen=True)
class NationalMap:
    width: int
    height: int
    tiles: tuple[MapTile, ...]
    boxes: tuple[Box, ...]
    links: tuple[tuple[int, int, int, int], ...]  # straight backbone links x1 y1 x2 y2
    arcs: tuple[str, ...]  # curved links (SVG path data): data centre to data centre
    uplink: tuple[int, int, int, int] | None  # the core down to the provinces
    provinces: int  # of the inventory, drawn
    datacentres: int

    cell_w: int = CELL_W
    cell_h: int = CELL_H
    box_w: int = BOX_W
    box_h: int = BOX_H


@dataclass(frozen=True)
class Place:
    """A backbone place as the inventory has it: a code, a name, a page, its devices."""

    code: str
    name: str
    href: str
    devices: tuple[str, ...]


TILE_TEXT, BOX_TEXT = 21, 32  # characters that fit a line (the full text is in the label)


def _short(alert: AlertView) -> str:
    return alert.name.removeprefix("Govnet")


def fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _status(alert: AlertView | None, colour: str, trouble: str) -> str:
    if alert is not None:
        return f"{alert.severity}: {_short(alert)}"
    if colour == "nodata":
        return "no data"
    return trouble or "ok: no alert"


def _province_tile(tile: Tile, x: int, y: int) -> MapTile:
    trouble = []
    if tile.router_up is False:
        trouble.append("router down")
    not_answering = tile.down + tile.unreachable
    if not_answering:
        trouble.append(f"{not_answering} not answering")
    if tile.alert is not None:
        more = f" · {_plural(tile.alerts, 'alert')}" if tile.alerts > 1 else ""
        status, detail = f"{tile.alert.severity}{more}", _short(tile.alert)
        spoken = f"{tile.alert.severity}: {detail}"
    elif trouble:  # the tile says the first; the label says both
        status, detail = "major", trouble[0]
        spoken = "major: " + ", ".join(trouble)
    else:
        status, detail = ("no data" if tile.colour == "nodata" else "ok: no alert"), ""
        spoken = status
    communes = f"{tile.up}/{tile.communes} communes up" if tile.communes else "no communes"
    said = [f"{tile.name} ({tile.code})", spoken]
    if tile.alert is not None:
        said.append(tile.alert.summary)
    said.append(_plural(tile.alerts, "active alert"))
    if tile.suppressed:
        said.append(f"{tile.suppressed} suppressed under it")
    if tile.silenced:
        said.append(f"{tile.silenced} acknowledged")
    said.append(communes)
    lines = (fit(tile.name, TILE_TEXT), communes, status) + (
        (fit(detail, TILE_TEXT),) if detail else ()
    )
    return MapTile(
        code=tile.code,
        x=x,
        y=y,
        lines=lines,
        colour=tile.colour,
        label="; ".join(said),
        href=f"/provinces/{tile.code}",
        corner=f"+{tile.suppressed} suppressed" if tile.suppressed else "",
    )


def _cell(column: int, row: int) -> tuple[int, int]:
    return PAD + column * (CELL_W + GAP), GRID_Y + row * (CELL_H + GAP)


def place_alerts(
    alerts: Sequence[AlertView], core: Place, datacentres: Sequence[Place]
) -> dict[str, list[AlertView]]:
    """The backbone's alerts by place code: the core's (scope core/national, a core
    router), each data centre's (at its site; the NDC-DR links at both)."""
    dc_codes = {p.code for p in datacentres}
    placed: dict[str, list[AlertView]] = {core.code: []}
    placed.update({p.code: [] for p in datacentres})
    for alert in alerts:
        if not on_backbone(alert, dc_codes):
            continue
        if alert.site in dc_codes:
            placed[alert.site].append(alert)
        elif alert.labels.get("scope") == "datacentre":
            for code in dc_codes:
                placed[code].append(alert)
        else:
            placed[core.code].append(alert)
    return placed


def _box(place: Place, x: int, alerts: Sequence[AlertView], up: dict[str, bool]) -> Box:
    shown = [a for a in alerts if a.visible]
    alert = worst(shown)
    suppressed = sum(1 for a in alerts if a.inhibited)
    known = [up[d] for d in place.devices if d in up]
    if alert is not None:
        colour = alert.severity
    elif not known:
        colour = "nodata"
    elif not all(known):
        colour = "major"
    else:
        colour = "ok"
    kind = "router" if place.code == "core" else "device"
    devices = f"{sum(known)}/{len(place.devices)} {kind}s up" if known else f"{kind}s: no data"
    status = _status(alert, colour, "major: a device is down" if colour == "major" else "")
    said = [place.name, status]
    if alert is not None:
        said.append(alert.summary)
    said.append(_plural(len(shown), "active alert"))
    if suppressed:
        said.append(f"{suppressed} suppressed under it")
    said.append(devices)
    return Box(
        code=place.code,
        name=place.name,
        x=x,
        y=BOX_Y,
        colour=colour,
        lines=(fit(place.name, BOX_TEXT), devices, fit(status, BOX_TEXT))
        + ((f"+{suppressed} suppressed",) if suppressed else ()),
        label="; ".join(said),
        href=place.href,
    )


def national_map(
    tiles: Sequence[Tile],
    core: Place,
    datacentres: Sequence[Place],
    backbone_states: Sequence[Sample],
    alerts: Sequence[AlertView],
) -> NationalMap:
    """The map of ``tiles`` (the inventory's provinces), the core and ``datacentres``
    (the primary first) above them."""
    by_code = {t.code: t for t in tiles}
    drawn: list[MapTile] = []
    for code, name, column, row in POSITIONS:
        x, y = _cell(column, row)
        tile = by_code.pop(code, None)
        if tile is not None:
            drawn.append(_province_tile(tile, x, y))
        else:
            absent = f"{name} ({code}): not in this inventory"
            drawn.append(MapTile(code, x, y, (name,), "ghost", absent, None))
    rows = 1 + max(row for *_, row in POSITIONS)
    for index, tile in enumerate(by_code.values()):  # not on the map: a row below it
        x, y = _cell(index % COLUMNS, rows + index // COLUMNS)
        drawn.append(_province_tile(tile, x, y))
    rows += -(-len(by_code) // COLUMNS)
    width = 2 * PAD + COLUMNS * CELL_W + (COLUMNS - 1) * GAP
    height = GRID_Y + rows * (CELL_H + GAP) - GAP + PAD

    up: dict[str, bool] = {}
    for sample in backbone_states:
        device = sample.labels.get("device", "")
        up[device] = up.get(device, False) or sample.value >= 1
    placed = place_alerts(alerts, core, datacentres)
    centre = width // 2 - BOX_W // 2
    boxes = [_box(core, centre, placed[core.code], up)]
    for index, dc in enumerate(datacentres):  # alternately left and right of the core
        side = -1 if index % 2 == 0 else 1
        boxes.append(_box(dc, centre + side * BOX_SPACING * (1 + index // 2), placed[dc.code], up))
    core_box = boxes[0]
    links = tuple((*core_box.centre, *box.centre) for box in boxes[1:])
    arcs = tuple(
        f"M {a.centre[0]} {a.y} Q {(a.centre[0] + b.centre[0]) // 2} {a.y - 40} {b.centre[0]} {b.y}"
        for a, b in zip(boxes[1::2], boxes[2::2], strict=False)
    )
    uplink = (core_box.centre[0], core_box.y + BOX_H, core_box.centre[0], GRID_Y - 4)
    shown = sum(1 for t in drawn if not t.ghost)
    return NationalMap(
        width, height, tuple(drawn), tuple(boxes), links, arcs, uplink, shown, len(datacentres)
    )

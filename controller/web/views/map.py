"""The national map: Cambodia's 25 provinces as a tile grid laid out like the country
(each province a tile at its approximate place, by its ISO 3166-2:KH code), and the
backbone — the core and the data centres — above it. Geometry and texts are computed
here and drawn as inline SVG by a template; nothing is fetched at run time.

Each province is coloured by its worst active alert and says so in words too (the
severity and the alert, the communes up, how many alerts are suppressed under it). A
province of the position table that the inventory does not have (the lab has three) is
drawn as a faint outline, so the map still reads as the country; an inventory province
the table does not know goes in a row below.

Every word a person reads or a screen reader speaks comes through the catalog in the
reader's language (a :class:`controller.i18n.Say`), names in Khmer from the inventory's
``name_km`` on Khmer pages, numbers through Babel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.i18n import Say
from controller.text import Text
from controller.web.backends import Sample
from controller.web.views.alerts import SEVERITY_NAMES, AlertView, worst
from controller.web.views.overview import Tile, on_backbone

# (code, name, Khmer name, column, row): west → east, north → south. Approximate, by
# neighbours: Banteay Meanchey in the north-west corner, Ratanakiri in the north-east, the
# coast (Koh Kong, Preah Sihanouk, Kampot, Kep) in the south-west, Svay Rieng in the
# south-east. The Khmer names are the official ones, as the national inventory's
# ``name_km`` spells them (tested): the map draws them for provinces an inventory lacks.
POSITIONS: tuple[tuple[str, str, str, int, int], ...] = (
    ("KH-1", "Banteay Meanchey", "ខេត្តបន្ទាយមានជ័យ", 1, 0),
    ("KH-22", "Oddar Meanchey", "ខេត្តឧត្ដរមានជ័យ", 2, 0),
    ("KH-13", "Preah Vihear", "ខេត្តព្រះវិហារ", 3, 0),
    ("KH-19", "Stung Treng", "ខេត្តស្ទឹងត្រែង", 4, 0),
    ("KH-16", "Ratanakiri", "ខេត្តរតនគិរី", 5, 0),
    ("KH-24", "Pailin", "ខេត្តប៉ៃលិន", 0, 1),
    ("KH-2", "Battambang", "ខេត្តបាត់ដំបង", 1, 1),
    ("KH-17", "Siem Reap", "ខេត្តសៀមរាប", 2, 1),
    ("KH-6", "Kampong Thom", "ខេត្តកំពង់ធំ", 3, 1),
    ("KH-10", "Kratie", "ខេត្តក្រចេះ", 4, 1),
    ("KH-11", "Mondulkiri", "ខេត្តមណ្ឌលគិរី", 5, 1),
    ("KH-15", "Pursat", "ខេត្តពោធិ៍សាត់", 1, 2),
    ("KH-4", "Kampong Chhnang", "ខេត្តកំពង់ឆ្នាំង", 2, 2),
    ("KH-3", "Kampong Cham", "ខេត្តកំពង់ចាម", 3, 2),
    ("KH-25", "Tbong Khmum", "ខេត្តត្បូងឃ្មុំ", 4, 2),
    ("KH-9", "Koh Kong", "ខេត្តកោះកុង", 0, 3),
    ("KH-5", "Kampong Speu", "ខេត្តកំពង់ស្ពឺ", 1, 3),
    ("KH-12", "Phnom Penh", "រាជធានីភ្នំពេញ", 2, 3),
    ("KH-8", "Kandal", "ខេត្តកណ្ដាល", 3, 3),
    ("KH-14", "Prey Veng", "ខេត្តព្រៃវែង", 4, 3),
    ("KH-20", "Svay Rieng", "ខេត្តស្វាយរៀង", 5, 3),
    ("KH-18", "Preah Sihanouk", "ខេត្តព្រះសីហនុ", 0, 4),
    ("KH-7", "Kampot", "ខេត្តកំពត", 1, 4),
    ("KH-23", "Kep", "ខេត្តកែប", 2, 4),
    ("KH-21", "Takeo", "ខេត្តតាកែវ", 3, 4),
)
COLUMNS = 6
CELL_W, CELL_H, GAP, PAD = 150, 94, 6, 8
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
    name: str | Text  # a Text: said in the reader's language ("Core")
    href: str
    devices: tuple[str, ...]
    name_km: str | None = None  # on Khmer pages, when the inventory has one


TILE_TEXT, BOX_TEXT = 22, 34  # Latin characters that fit a line (the label says all)


def _short(alert: AlertView) -> str:
    return alert.name.removeprefix("Govnet")


def width(text: str) -> float:
    """How wide ``text`` is, in widths of a Latin character (see :func:`fit`)."""
    return sum(_width(text, index) for index in range(len(text)))


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` widths of a Latin character: a Khmer letter is wider
    (KHMER_WIDTH), its combining signs (vowels, coeng and the subscript consonant it
    joins) take no width of their own, and a cut never splits a Khmer cluster."""
    width, cut = 0.0, len(text)
    for index in range(len(text)):
        width += _width(text, index)
        if width > limit:
            cut = index
            break
    else:
        return text
    while cut > 0 and _combining(text, cut):  # never split a Khmer cluster
        cut -= 1
    return text[: max(cut - 1, 0)].rstrip() + "…"


KHMER_WIDTH = 1.3  # a Khmer letter in Khmer OS against an average Latin one, at 11 px


def _width(text: str, index: int) -> float:
    if _combining(text, index):
        return 0.0
    return KHMER_WIDTH if "\u1780" <= text[index] <= "\u17ff" else 1.0


def _combining(text: str, index: int) -> bool:
    char = text[index]
    if "\u17b6" <= char <= "\u17d3" or char in "\u17dd\u200b\u200c\u200d":
        return True  # dependent vowels, signs, coeng
    return index > 0 and text[index - 1] == "\u17d2"  # the consonant under a coeng


def _name(thing: Tile | Place, say: Say) -> str:
    if say.language == "km" and thing.name_km:
        return thing.name_km
    return say(thing.name)


def _severity(alert: AlertView | str, say: Say) -> str:
    code = alert if isinstance(alert, str) else alert.severity
    return say(SEVERITY_NAMES.get(code, code))


def _said(alert: AlertView, say: Say) -> str:
    return say._("%(severity)s: %(alert)s", severity=_severity(alert, say), alert=_short(alert))


def _counted(tile_alerts: int, suppressed: int, silenced: int, say: Say) -> list[str]:
    said = [say.ngettext("%(num)d active alert", "%(num)d active alerts", tile_alerts)]
    if suppressed:
        said.append(say._("%(count)s suppressed under it", count=say.number(suppressed)))
    if silenced:
        said.append(say._("%(count)s acknowledged", count=say.number(silenced)))
    return said


def _province_tile(tile: Tile, x: int, y: int, say: Say) -> MapTile:
    trouble = [say(t) for t in tile.trouble]
    if tile.alert is not None:
        status, detail = _severity(tile.alert, say), _short(tile.alert)
        if tile.alerts > 1:  # "critical · 3 alerts", or "critical · 3" where that is too long
            more = say.ngettext("%(num)d alert", "%(num)d alerts", tile.alerts)
            if width(f"{status} · {more}") > TILE_TEXT:
                more = say.number(tile.alerts)
            status = f"{status} · {more}"
        spoken = _said(tile.alert, say)
    elif trouble:  # the tile says the first; the label says all (the card: Tile.trouble)
        status, detail = _severity(tile.colour, say), trouble[0]
        spoken = say._(
            "%(severity)s: %(trouble)s", severity=status, trouble=say._(", ").join(trouble)
        )
    else:
        status = say._("no data") if tile.colour == "nodata" else say._("ok: no alert")
        detail, spoken = "", status
    communes = (
        say._("%(up)s/%(all)s communes up", up=say.number(tile.up), all=say.number(tile.communes))
        if tile.communes
        else say._("no communes")
    )
    name = _name(tile, say)
    said = [say._("%(name)s (%(code)s)", name=name, code=tile.code), spoken]
    if tile.alert is not None:
        said.append(tile.alert.summary_in(say.language))
    said += _counted(tile.alerts, tile.suppressed, tile.silenced, say)
    said.append(communes)
    lines = (fit(name, TILE_TEXT), fit(communes, TILE_TEXT), fit(status, TILE_TEXT)) + (
        (fit(detail, TILE_TEXT),) if detail else ()
    )
    corner = ""
    if tile.suppressed:
        corner = say._("+%(count)s suppressed", count=say.number(tile.suppressed))
    return MapTile(
        code=tile.code,
        x=x,
        y=y,
        lines=lines,
        colour=tile.colour,
        label=say._("; ").join(said),
        href=f"/provinces/{tile.code}",
        corner=corner,
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


def _box(place: Place, x: int, alerts: Sequence[AlertView], up: dict[str, bool], say: Say) -> Box:
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
    counts = {"up": say.number(sum(known)), "all": say.number(len(place.devices))}
    if place.code == "core":
        devices = (
            say._("%(up)s/%(all)s routers up", **counts) if known else say._("routers: no data")
        )
    else:
        devices = (
            say._("%(up)s/%(all)s devices up", **counts) if known else say._("devices: no data")
        )
    if alert is not None:
        status = _said(alert, say)
    elif colour == "nodata":
        status = say._("no data")
    elif colour == "major":
        status = say._("major: a device is down")
    else:
        status = say._("ok: no alert")
    name = _name(place, say)
    said = [name, status]
    if alert is not None:
        said.append(alert.summary_in(say.language))
    said += _counted(len(shown), suppressed, 0, say)
    said.append(devices)
    more: tuple[str, ...] = ()
    if suppressed:
        more = (say._("+%(count)s suppressed", count=say.number(suppressed)),)
    return Box(
        code=place.code,
        name=name,
        x=x,
        y=BOX_Y,
        colour=colour,
        lines=(fit(name, BOX_TEXT), fit(devices, BOX_TEXT), fit(status, BOX_TEXT), *more),
        label=say._("; ").join(said),
        href=place.href,
    )


def national_map(
    tiles: Sequence[Tile],
    core: Place,
    datacentres: Sequence[Place],
    backbone_states: Sequence[Sample],
    alerts: Sequence[AlertView],
    say: Say,
) -> NationalMap:
    """The map of ``tiles`` (the inventory's provinces), the core and ``datacentres``
    (the primary first) above them, in the language of ``say``."""
    by_code = {t.code: t for t in tiles}
    drawn: list[MapTile] = []
    for code, name, name_km, column, row in POSITIONS:
        x, y = _cell(column, row)
        tile = by_code.pop(code, None)
        if tile is not None:
            drawn.append(_province_tile(tile, x, y, say))
        else:
            shown_name = name_km if say.language == "km" else name
            absent = say._("%(name)s (%(code)s): not in this inventory", name=shown_name, code=code)
            drawn.append(MapTile(code, x, y, (fit(shown_name, TILE_TEXT),), "ghost", absent, None))
    rows = 1 + max(row for *_, row in POSITIONS)
    for index, tile in enumerate(by_code.values()):  # not on the map: a row below it
        x, y = _cell(index % COLUMNS, rows + index // COLUMNS)
        drawn.append(_province_tile(tile, x, y, say))
    rows += -(-len(by_code) // COLUMNS)
    width = 2 * PAD + COLUMNS * CELL_W + (COLUMNS - 1) * GAP
    height = GRID_Y + rows * (CELL_H + GAP) - GAP + PAD

    up: dict[str, bool] = {}
    for sample in backbone_states:
        device = sample.labels.get("device", "")
        up[device] = up.get(device, False) or sample.value >= 1
    placed = place_alerts(alerts, core, datacentres)
    centre = width // 2 - BOX_W // 2
    boxes = [_box(core, centre, placed[core.code], up, say)]
    for index, dc in enumerate(datacentres):  # alternately left and right of the core
        side = -1 if index % 2 == 0 else 1
        x = centre + side * BOX_SPACING * (1 + index // 2)
        boxes.append(_box(dc, x, placed[dc.code], up, say))
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

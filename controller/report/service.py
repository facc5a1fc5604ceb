"""An SLA report for a ministry (tenant) or a province: which devices, their parents,
their SLOs and maintenance windows from the inventory and the change records; the
samples from Prometheus (:class:`controller.report.prometheus.SlaSource`)."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from controller.change.records import ChangeRecord, ChangeStore
from controller.errors import GovnetError, UsageError
from controller.inventory.model import Inventory, LinkKind, Role
from controller.report import sla
from controller.report.prometheus import SlaSource
from controller.store import database_url
from probes.targets import ancestors, build_targets


class UnknownScope(GovnetError):
    """The report names a tenant or province the inventory does not have."""


@dataclass(frozen=True)
class Scope:
    kind: str  # "tenant" | "province"
    code: str
    name: str
    name_km: str | None = None


def _suggest(value: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def scope_of(inv: Inventory, tenant: str | None, province: str | None) -> Scope:
    if (tenant is None) == (province is None):
        raise UsageError("say which report: --tenant CODE or --province CODE (one of them)")
    if tenant is not None:
        tenants = {t.code: t for t in inv.tenants}
        if tenant not in tenants:
            raise UnknownScope(f"--tenant {tenant!r}: no such tenant{_suggest(tenant, tenants)}")
        return Scope("tenant", tenant, tenants[tenant].name, tenants[tenant].name_km)
    assert province is not None
    provinces = {p.code: p for p in inv.provinces}
    if province not in provinces:
        raise UnknownScope(
            f"--province {province!r}: no such province{_suggest(province, provinces)}"
        )
    return Scope("province", province, provinces[province].name, provinces[province].name_km)


def slos(inv: Inventory) -> dict[str, sla.Slo]:
    out = {}
    for role in Role:
        level = inv.slo_for(role)
        out[role.value] = sla.Slo(
            level.availability_percent / 100, level.rtt_p95_seconds, level.loss_ratio
        )
    return out


def maintenance(records: Iterable[ChangeRecord]) -> list[sla.Maintenance]:
    """Change windows and what their predicted impact takes down (cancelled ones not)."""
    out = []
    for record in records:
        if record.state == "cancelled":
            continue
        impact = record.impact
        devices = {
            ref["device"]
            for section in ("down", "isolated", "unmonitored")
            for ref in impact.get(section, [])
            if isinstance(ref, dict) and "device" in ref
        }
        out.append(
            sla.Maintenance(
                change=record.id,
                title=record.title,
                start=record.window.start.timestamp(),
                end=record.window.end.timestamp(),
                devices=frozenset(devices),
                links=frozenset(str(x) for x in impact.get("links_down", [])),
            )
        )
    return out


def change_records(state_dir: Path) -> list[ChangeRecord]:
    """The change records: of the PostgreSQL store when ``GOVNET_DATABASE_URL`` is set,
    else of ``state_dir`` (none when no change was ever recorded there)."""
    if database_url() is None and not (state_dir / "changes.db").exists():
        return []
    return ChangeStore(state_dir).list()


def site_names(inv: Inventory) -> dict[str, str]:
    names = {p.code: p.name for p in inv.provinces}
    names |= {c.code: c.name for c in inv.communes}
    names |= {d.code: d.name for d in inv.datacentres}
    return names


def site_names_km(inv: Inventory) -> dict[str, str]:
    """The Khmer names the inventory has (``name_km``), by site code."""
    names = {p.code: p.name_km for p in inv.provinces if p.name_km}
    names |= {c.code: c.name_km for c in inv.communes if c.name_km}
    names |= {d.code: d.name_km for d in inv.datacentres if d.name_km}
    return names


def subjects(inv: Inventory) -> dict[str, sla.Subject]:
    """Every probed device as a report subject, with its upstream parents."""
    names, names_km = site_names(inv), site_names_km(inv)
    return {
        t.name: sla.Subject(
            device=t.name,
            site=t.site,
            site_name=names.get(t.site, t.site),
            site_name_km=names_km.get(t.site),
            province=t.province,
            tenant=t.tenant,
            role=t.role,
            parents=t.parents,
        )
        for t in build_targets(inv)
    }


def in_scope(scope: Scope, everything: dict[str, sla.Subject]) -> list[sla.Subject]:
    if scope.kind == "tenant":
        return [s for s in everything.values() if s.tenant == scope.code]
    return [s for s in everything.values() if s.province == scope.code]


def ministry_links(inv: Inventory, scope: Scope, devices: set[str]) -> list[sla.LinkSubject]:
    """A tenant's ministry links (``ministry-core``), each measured at its ministry end."""
    if scope.kind != "tenant":
        return []
    out = []
    for link in inv.links:
        if link.kind is not LinkKind.MINISTRY_CORE:
            continue
        served = [d for d in (link.a_device, link.b_device) if d in devices]
        if served:
            out.append(sla.LinkSubject(link.id, link.kind.value, served[0]))
    return sorted(out, key=lambda link: link.link)


def build_report(
    inv: Inventory,
    source: SlaSource,
    records: Iterable[ChangeRecord],
    period: sla.Period,
    *,
    tenant: str | None = None,
    province: str | None = None,
) -> sla.Report:
    scope = scope_of(inv, tenant, province)
    everything = subjects(inv)
    chosen = in_scope(scope, everything)
    by_name = {t.name: t for t in build_targets(inv)}
    upstream = ancestors((by_name[s.device] for s in chosen), by_name)
    samples = source.fetch({s.device for s in chosen} | upstream, period)
    report = sla.report(
        scope=scope.kind,
        code=scope.code,
        name=scope.name,
        period=period,
        step=source.step,
        subjects=chosen,
        context=everything,
        slos=slos(inv),
        samples=samples,
        maintenance=maintenance(records),
        links=ministry_links(inv, scope, {s.device for s in chosen}),
    )
    return dataclasses.replace(report, name_km=scope.name_km)

"""`govnet hosting …`: hosting requests from ministries, approval with allocation,
provisioning with Ansible, decommissioning, and the capacity left (tables, JSON, and a
Prometheus textfile for the SOC).

State: requests, allocations ever made and every step (who, when, why) in
`<state-dir>/hosting.db` (SQLite, WAL) or PostgreSQL (`GOVNET_DATABASE_URL`, see `govnet
store info`); allocations in the inventory's `hosting.yaml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from controller.cli import output
from controller.cli.provisioning import LabOpt, ProductionOpt, StateOpt, TofuOpt, lab_name
from controller.cli.state import JsonOpt, inventory_path
from controller.errors import UsageError
from controller.hosting import capacity as cap
from controller.hosting import provision
from controller.hosting.errors import HostingError, RequestInvalid
from controller.hosting.request import FIELDS, MAX_REQUEST_ID
from controller.hosting.service import HostingService
from controller.hosting.states import State
from controller.hosting.store import RequestRecord
from controller.hosting.workflow import Outcome
from controller.io import atomic_write_text
from controller.provision.store import operator

app = typer.Typer(
    help="Hosting in the NDC and DR: requests from ministries, approval (allocation of "
    "racks, power, VLANs, prefixes, ToR ports into hosting.yaml), provisioning with Ansible, "
    "decommissioning, and the capacity left.",
    no_args_is_help=True,
)

InventoryOpt = Annotated[
    Path | None, typer.Option("--inventory", "-i", help="Inventory folder (holds hosting.yaml).")
]
IdArg = Annotated[
    int,
    typer.Argument(help="The request number (govnet hosting list).", min=1, max=MAX_REQUEST_ID),
]
ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help="Why (recorded in the history).")]
LabDirOpt = Annotated[
    Path | None,
    typer.Option("--lab-dir", help="Lab directory (default: clab-<lab>/ next to the topology)."),
]
CheckOpt = Annotated[
    bool,
    typer.Option("--check", help="Plan only (Ansible --check --diff): report, change nothing."),
]
PortOpt = Annotated[
    list[int] | None,
    typer.Option(
        "--allow-tcp",
        min=1,
        max=65535,
        help="TCP port the tenant zone accepts from the private network (repeatable; "
        "default 80 and 443).",
    ),
]
DEFAULT_STATE = Path(".govnet")
OPTION_NAMES = {
    "power_kw": "--power",
    "prefix_len": "--prefix",
    "bandwidth_mbps": "--bandwidth",
    **{f: f"--{f}" for f in FIELDS if f not in {"power_kw", "prefix_len", "bandwidth_mbps"}},
}
STATE_STYLE = {
    "submitted": "cyan",
    "approved": "yellow",
    "rejected": "red",
    "provisioning": "yellow",
    "active": "green",
    "decommissioned": "dim",
}


def _service(ctx: typer.Context, inventory: Path | None, state_dir: Path) -> HostingService:
    return HostingService(inventory_path(ctx, inventory), state_dir)


# --- request --------------------------------------------------------------------------


@app.command()
def request(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option(help="Ministry or institution code (e.g. MEF).")],
    service: Annotated[str, typer.Option(help="One of the tenant's services in the inventory.")],
    site: Annotated[
        str, typer.Option(help="ndc, dr, or both (NDC with a replicated DR mirror).")
    ] = "ndc",
    units: Annotated[str, typer.Option(help="Rack units (1-60), contiguous in one rack.")] = "",
    servers: Annotated[str, typer.Option(help="Servers (one ToR port each).")] = "",
    power: Annotated[str, typer.Option(help="Power in kW (e.g. 2.5).")] = "",
    vlans: Annotated[str, typer.Option(help="VLANs, one subnet each (1-8).")] = "1",
    prefix: Annotated[str, typer.Option(help="Subnet size per VLAN: /22 … /29.")] = "/26",
    bandwidth: Annotated[
        str, typer.Option(help="Bandwidth to the private network (e.g. 1G, 500M).")
    ] = "1G",
    contact: Annotated[str, typer.Option(help="Focal officer: name, e-mail, phone.")] = "",
    justification: Annotated[str, typer.Option(help="What the service needs it for.")] = "",
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    json_out: JsonOpt = False,
) -> None:
    """Submit a hosting request (state: submitted). Nothing is written when a field is wrong."""
    values: dict[str, object] = {
        "tenant": tenant,
        "service": service,
        "site": site.strip().lower(),
        "units": units,
        "servers": servers,
        "power_kw": power,
        "vlans": vlans,
        "prefix_len": prefix,
        "bandwidth_mbps": bandwidth,
        "contact": contact,
        "justification": justification,
    }
    try:
        record = _service(ctx, inventory, state_dir).submit(values, operator())
    except RequestInvalid as exc:
        raise exc.renamed(OPTION_NAMES) from None
    _print_record(record, json_out)


# --- list / show ----------------------------------------------------------------------


@app.command("list")
def list_(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's requests.")] = None,
    state: Annotated[State | None, typer.Option(help="Only requests in this state.")] = None,
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    json_out: JsonOpt = False,
) -> None:
    """Hosting requests, newest first."""
    records = _service(ctx, inventory, state_dir).list(tenant=tenant, state=state)
    if json_out:
        output.print_json([r.as_dict(with_events=False) for r in records])
        return
    table = _table(
        None, ["id", "state", "tenant", "service", "site", "U", "kW", "VLANs", "allocations"]
    )
    for r in records:
        q = r.request
        table.add_row(
            str(r.id),
            Text(r.state.value, style=STATE_STYLE.get(r.state.value, "")),
            Text(q.tenant),
            Text(q.service),
            q.site.value,
            str(q.units),
            f"{q.power_kw:g}",
            str(q.vlans),
            Text(", ".join(a.id for a in r.allocations) or "—"),
        )
    output.console.print(table)


@app.command()
def show(
    ctx: typer.Context,
    ident: IdArg,
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    json_out: JsonOpt = False,
) -> None:
    """One request: what was asked, what was allocated, and its history."""
    _print_record(_service(ctx, inventory, state_dir).get(ident), json_out)


# --- approve / reject -----------------------------------------------------------------


@app.command()
def approve(
    ctx: typer.Context,
    ident: IdArg,
    reason: ReasonOpt = "",
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    json_out: JsonOpt = False,
) -> None:
    """Approve: allocate units, power, VLANs, prefixes and ToR ports, written to hosting.yaml.

    A request that does not fit stays submitted; the message says what is short.
    """
    record = _service(ctx, inventory, state_dir).approve(ident, operator(), reason)
    _print_record(record, json_out)


@app.command()
def reject(
    ctx: typer.Context,
    ident: IdArg,
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="Why (required; shown to the focal officer).")
    ],
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    json_out: JsonOpt = False,
) -> None:
    """Reject a submitted request, saying why."""
    record = _service(ctx, inventory, state_dir).reject(ident, operator(), reason)
    _print_record(record, json_out)


# --- provision / decommission ---------------------------------------------------------


def _target(
    lab: Path | None,
    lab_dir: Path | None,
    state_dir: Path,
    check: bool,
    tofu: bool,
    ports: list[int] | None,
    production: bool = False,
) -> provision.Target:
    target_lab = None
    if lab is not None:
        if not lab.is_file():
            raise UsageError(f"{lab}: no such topology file")
        from controller.ansible.lab import lab_target

        lab_name(lab)  # the topology's ${VAR:=default}s resolve env: references
        target_lab = lab_target(lab, lab_dir)
    return provision.Target(
        state_dir=state_dir,
        lab=target_lab,
        check=check,
        trust_on_first_use=tofu,
        tcp_ports=tuple(sorted(set(ports))) if ports else provision.DEFAULT_TCP_PORTS,
        production=production,
    )


@app.command("provision")
def provision_(
    ctx: typer.Context,
    ident: IdArg,
    lab: LabOpt = None,
    lab_dir: LabDirOpt = None,
    production: ProductionOpt = False,
    check: CheckOpt = False,
    allow_tcp: PortOpt = None,
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    trust_on_first_use: TofuOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Configure the gateways for an approved request (playbooks/hosting_provision.yml):
    VLAN interface, gateway address, tenant firewall zone, OSPF route. State → active.

    With --check: the plan (Ansible --check --diff); the state does not change.
    """
    from controller.cli.playbook import host_progress
    from controller.hosting.workflow import gateways, provision_request

    svc = _service(ctx, inventory, state_dir)
    target = _target(lab, lab_dir, state_dir, check, trust_on_first_use, allow_tcp, production)
    with host_progress(gateways(svc, ident), not json_out) as progress:
        outcome = provision_request(svc, ident, operator(), target, progress)
    _print_outcome(outcome, json_out)


@app.command()
def decommission(
    ctx: typer.Context,
    ident: IdArg,
    reason: ReasonOpt = "",
    lab: LabOpt = None,
    lab_dir: LabDirOpt = None,
    production: ProductionOpt = False,
    check: CheckOpt = False,
    skip_network: Annotated[
        bool,
        typer.Option(
            "--skip-network",
            help="Only free the capacity (the gateways are gone or were cleaned by hand).",
        ),
    ] = False,
    inventory: InventoryOpt = None,
    state_dir: StateOpt = DEFAULT_STATE,
    trust_on_first_use: TofuOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Remove a request's configuration from the gateways (hosting_decommission.yml), then
    free its capacity (its allocations leave hosting.yaml). State → decommissioned."""
    from controller.cli.playbook import host_progress
    from controller.hosting.workflow import decommission_request, gateways

    svc = _service(ctx, inventory, state_dir)
    target = _target(lab, lab_dir, state_dir, check, trust_on_first_use, None, production)
    with host_progress(gateways(svc, ident), not json_out) as progress:
        outcome = decommission_request(
            svc,
            ident,
            operator(),
            target,
            reason,
            skip_network=skip_network,
            progress=progress,
        )
    _print_outcome(outcome, json_out)


# --- capacity -------------------------------------------------------------------------


@app.command()
def capacity(
    ctx: typer.Context,
    inventory: InventoryOpt = None,
    prom_file: Annotated[
        Path | None,
        typer.Option(
            "--prom-file",
            help="Also write the figures as Prometheus gauges to this file (atomically; "
            "for node_exporter's textfile collector).",
        ),
    ] = None,
    state_dir: StateOpt = DEFAULT_STATE,
    json_out: JsonOpt = False,
) -> None:
    """Capacity left per data centre, room and rack: U, kW, VLANs, prefixes per size."""
    snap = _service(ctx, inventory, state_dir).snapshot()
    report = cap.capacity(snap.inventory)
    if prom_file is not None:
        try:
            atomic_write_text(prom_file, cap.prometheus_text(report))
        except OSError as exc:
            raise HostingError(f"{prom_file}: cannot write: {exc}") from exc
    if json_out:
        output.print_json(cap.as_json(report))
        return
    for dc in report:
        _print_dc(dc)


# --- printing -------------------------------------------------------------------------


def _table(title: str | None, columns: list[str]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    numeric = {
        "U",
        "kW",
        "VLANs",
        "U used",
        "U free",
        "largest",
        "kW used",
        "kW free",
        "ports",
        "%",
    }
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left")
    return table


def _print_record(record: RequestRecord, json_out: bool) -> None:
    if json_out:
        output.print_json(record.as_dict())
        return
    q = record.request
    head = Text.assemble(
        (f"Request {record.id}: ", "bold"),
        (record.state.value, STATE_STYLE.get(record.state.value, "")),
        f" — {q.tenant} / {q.service}",
    )
    output.console.print(head)
    facts = _table(None, ["field", "value"])
    rows: list[tuple[str, str]] = [
        ("site", q.site.value),
        ("rack units", str(q.units)),
        ("servers", str(q.servers)),
        ("power", f"{q.power_kw:g} kW"),
        ("VLANs", str(q.vlans)),
        ("subnet size", f"/{q.prefix_len}"),
        ("bandwidth", f"{q.bandwidth_mbps:g} Mbit/s"),
        ("contact", q.contact),
        ("justification", q.justification),
        ("submitted", f"{record.created_at} by {record.created_by}"),
    ]
    for name, value in rows:
        facts.add_row(name, Text(value))
    output.console.print(facts)
    if record.allocations:
        allocs = _table(
            "Allocations",
            ["id", "dc", "rack", "units", "kW", "VLAN", "prefix", "ToR ports", "mirror of"],
        )
        for a in record.allocations:
            allocs.add_row(
                a.id,
                a.datacentre,
                a.rack,
                f"{a.first_u}-{a.last_u}",
                f"{a.power_kw:g}",
                str(a.vlan or ""),
                str(a.prefix or ""),
                Text(", ".join(a.tor_ports) or "—"),
                a.mirror_of or "",
            )
        output.console.print(allocs)
    if record.events:
        history = _table("History", ["when", "who", "step", "state", "why"])
        for e in record.events:
            moved = f"{e.from_state} → {e.to_state}" if e.from_state else e.to_state
            history.add_row(e.at, Text(e.who), e.action, moved, Text(e.why))
        output.console.print(history)


def _print_outcome(outcome: Outcome, json_out: bool) -> None:
    """The playbook run (if any) and the request's state; exit 1 when the run failed."""
    from controller.cli.playbook import print_run

    record, run = outcome.record, outcome.run
    if json_out:
        output.print_json(
            {
                "request": record.as_dict(),
                "run": run.as_dict() if run is not None else None,
                "failure": outcome.failure or None,
                "note": outcome.note or None,
            }
        )
    else:
        if run is not None:
            print_run(run)
        if outcome.note:
            output.console.print(Text(outcome.note))
        output.console.print(
            Text.assemble(
                (f"Request {record.id}: ", "bold"),
                (record.state.value, STATE_STYLE.get(record.state.value, "")),
            )
        )
    if outcome.failure:
        output.error(f"request {record.id}: {outcome.failure}")
        raise typer.Exit(1)


def _print_dc(dc: cap.DcCapacity) -> None:
    free = ", ".join(f"/{k}: {v}" for k, v in dc.prefixes_free.items())
    largest = f"/{dc.largest_free_prefix}" if dc.largest_free_prefix is not None else "none"
    output.console.print(
        Text.assemble(
            (dc.datacentre, "bold"),
            f" — {dc.allocations} allocations; VLANs free {dc.vlans_free} of {dc.vlans_total} "
            f"({dc.vlan_range}); pool {dc.pool}: largest free {largest}",
        )
    )
    output.console.print(Text(f"  prefixes free: {free}"))
    rooms = _table(None, ["room", "kW used", "kW free", "%"])
    for r in dc.rooms:
        rooms.add_row(r.room, f"{r.power_used:.1f}", f"{r.power_free:.1f}", f"{r.power_pct:.0f}")
    output.console.print(rooms)
    racks = _table(
        None, ["room", "rack", "U used", "U free", "largest", "kW used", "kW free", "ports"]
    )
    for k in dc.racks:
        racks.add_row(
            k.room,
            k.rack,
            str(k.units_used),
            str(k.units_free),
            str(k.largest_free),
            f"{k.power_used:.1f}",
            f"{k.power_free:.1f}",
            "—" if k.ports_free is None else str(k.ports_free),
        )
    output.console.print(racks)

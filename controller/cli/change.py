"""`govnet change …`: what a change can cut off, before anyone touches the network."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer

from controller.change.impact import DeviceRef, Failure, Impact, Network, to_json
from controller.cli import output
from controller.cli.state import InventoryOpt, JsonOpt, inventory_path
from controller.errors import UsageError
from controller.inventory import load_inventory

app = typer.Typer(help="Changes: their blast radius from the inventory.", no_args_is_help=True)

SHOWN = 20  # rows per section in the table, unless --all

SECTIONS = (
    ("down", "Down (the failed devices)"),
    ("isolated", "Isolated: no path left to the NDC or the DR"),
    ("degraded", "Degraded: still connected, but one failure away from isolation"),
    ("unmonitored", "Unmonitored: no NMS can reach them"),
)


@app.command()
def impact(
    ctx: typer.Context,
    link: Annotated[
        list[str] | None, typer.Option("--link", help="A link id that fails (repeatable).")
    ] = None,
    device: Annotated[
        list[str] | None, typer.Option("--device", help="A device that fails (repeatable).")
    ] = None,
    site: Annotated[
        list[str] | None,
        typer.Option("--site", help="A site whose devices all fail: province, commune or DC."),
    ] = None,
    inventory: InventoryOpt = None,
    all_rows: Annotated[bool, typer.Option("--all", help="List every device, not 20.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """With these links, devices and sites down: which devices and sites lose every path
    to both data centres (isolated), which lose their redundancy (degraded), which
    tenants' devices lose their hosted services, and what the NMS can no longer see.
    Computed from the inventory's link graph alone; changes nothing. Link ids are those
    of `govnet link list`."""
    failure = Failure(tuple(link or ()), tuple(device or ()), tuple(site or ()))
    if failure.empty:
        raise UsageError("say what fails: --link ID, --device NAME or --site ID (repeatable)")
    inv = load_inventory(inventory_path(ctx, inventory))
    result = Network(inv).impact(failure)
    if json_out:
        output.print_json(to_json(result))
        return
    _print(result, all_rows)


def _by_province(refs: tuple[DeviceRef, ...]) -> str:
    counts = Counter(r.province or r.site for r in refs)
    return ", ".join(f"{p}: {n}" for p, n in sorted(counts.items()))


def _print(result: Impact, all_rows: bool) -> None:
    f = result.failure
    what = [f"link {x}" for x in f.links] + [f"device {x}" for x in f.devices]
    what += [f"site {x}" for x in f.sites]
    console = output.console
    console.print(f"[bold]Impact of[/bold] {', '.join(what)}")
    summary = [
        ("down", len(result.down), _by_province(result.down)),
        (
            "isolated",
            len(result.isolated),
            f"{len(result.isolated_sites)} sites; {_by_province(result.isolated)}".rstrip("; "),
        ),
        ("degraded", len(result.degraded), _by_province(result.degraded)),
        ("tenants", len(result.tenants), "services cut off from a tenant's devices"),
        ("unmonitored", len(result.unmonitored), _by_province(result.unmonitored)),
    ]
    console.print(output.table(None, ["impact", "count", "where"], summary))
    for section, title in SECTIONS:
        refs: tuple[DeviceRef, ...] = getattr(result, section)
        if not refs:
            continue
        shown = refs if all_rows else refs[:SHOWN]
        rows = [(r.name, r.site, r.province, r.role, r.tenant) for r in shown]
        console.print(output.table(title, ["device", "site", "province", "role", "tenant"], rows))
        if len(shown) < len(refs):
            console.print(f"… and {len(refs) - len(shown)} more (--all or --json for every one)")
    if result.tenants:
        services = [
            (t.tenant, t.service, "+".join(t.datacentres), ", ".join(t.devices))
            for t in result.tenants
        ]
        title = "Tenants cut off from their hosted services"
        columns = ["tenant", "service", "hosted in", "cut-off devices"]
        console.print(output.table(title, columns, services))

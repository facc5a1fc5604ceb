"""`govnet inventory …`: validate, show, export and describe the inventory."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml

from controller.cli import output
from controller.cli.state import InventoryOpt, JsonOpt, inventory_path
from controller.errors import InventoryError
from controller.inventory import load_inventory, validate_inventory
from controller.inventory.model import Inventory
from controller.inventory.views import ansible_inventory, summary
from controller.io import atomic_write_text

app = typer.Typer(help="Validate, summarise and export the YAML inventory.", no_args_is_help=True)


@app.command()
def validate(ctx: typer.Context, inventory: InventoryOpt = None, json_out: JsonOpt = False) -> None:
    """Check the inventory and report every problem at once, as file:line: field: message.

    Exits 0 with a one-line summary when clean, 1 when any problem is found.
    """
    path = inventory_path(ctx, inventory)
    started = time.perf_counter()
    result = validate_inventory(path)
    elapsed = time.perf_counter() - started
    inv = result.inventory
    if json_out:
        output.print_json(
            {
                "inventory": str(path),
                "ok": result.ok,
                "problems": [p.__dict__ for p in result.problems],
                "totals": summary(inv)["totals"] if inv is not None and result.ok else None,
                "seconds": round(elapsed, 3),
            }
        )
    elif result.ok and inv is not None:
        totals = summary(inv)["totals"]
        print(
            f"{path}: ok — {totals['provinces']} provinces, {totals['communes']} communes, "
            f"{totals['tenants']} tenants, {totals['devices']} devices, {totals['links']} links "
            f"({elapsed:.2f} s)"
        )
    else:
        for line in output.problem_lines(result.problems):
            print(line)
        count = len(result.problems)
        output.error(f"{path}: {count} problem{'s' if count != 1 else ''}")
    if not result.ok:
        raise typer.Exit(1)


@app.command()
def show(ctx: typer.Context, inventory: InventoryOpt = None, json_out: JsonOpt = False) -> None:
    """Counts by kind and by province."""
    inv = load_inventory(inventory_path(ctx, inventory))
    data = summary(inv)
    if json_out:
        output.print_json(data)
        return
    totals = data["totals"]
    output.console.print(
        output.table(f"{data['network']}: totals", ["kind", "count"], list(totals.items()))
    )
    roles = data["devices_by_role"]
    output.console.print(output.table("devices by role", ["role", "count"], list(roles.items())))
    rows = [
        (p["code"], p["name"], p["communes"], p["sangkats"], p["devices"])
        for p in data["provinces"]
    ]
    output.console.print(
        output.table("by province", ["code", "province", "communes", "sangkats", "devices"], rows)
    )


class ExportFormat(StrEnum):
    ansible = "ansible"


@app.command()
def export(
    ctx: typer.Context,
    format_: Annotated[ExportFormat, typer.Argument(metavar="FORMAT", help="Export format.")],
    inventory: InventoryOpt = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (atomically).")
    ] = None,
) -> None:
    """Export the inventory for another tool: `ansible` writes an Ansible YAML inventory
    with groups by role (role_*), province (province_kh_*) and tenant (tenant_*)."""
    inv = load_inventory(inventory_path(ctx, inventory))
    text = yaml.safe_dump(ansible_inventory(inv), sort_keys=False, default_flow_style=False)
    if out is None:
        print(text, end="")
    else:
        atomic_write_text(out, text)
        output.err_console.print(f"wrote {out} ({len(inv.devices)} hosts)")


@app.command()
def schema() -> None:
    """Print the inventory's JSON schema (for editors' YAML completion and checks)."""
    print(json.dumps(Inventory.model_json_schema(), indent=2))


__all__ = ["InventoryError", "app"]

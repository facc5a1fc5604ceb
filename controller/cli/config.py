"""`govnet config …`: back up running configurations and find drift from the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from controller import masking
from controller.cli import output
from controller.cli.provisioning import (
    AllOpt,
    DevicesOpt,
    LabOpt,
    NetnsOpt,
    ProductionOpt,
    Selection,
    StateOpt,
    TofuOpt,
    WorkersOpt,
    print_diffs,
    result_table,
    run_engine,
)
from controller.cli.state import InventoryOpt, JsonOpt, inventory_path
from controller.io import atomic_write_text
from controller.provision.engine import Engine
from controller.provision.store import BackupStore

app = typer.Typer(
    help="Back up running configs; report drift from the inventory.", no_args_is_help=True
)


@app.command()
def drift(
    ctx: typer.Context,
    device: DevicesOpt = None,
    all_: AllOpt = False,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    netns: NetnsOpt = None,
    production: ProductionOpt = False,
    workers: WorkersOpt = 8,
    state_dir: StateOpt = Path(".govnet"),
    trust_on_first_use: TofuOpt = False,
    show_diff: Annotated[bool, typer.Option("--diff", help="Print each drifted diff.")] = False,
    prom_file: Annotated[
        Path | None,
        typer.Option(
            help="Also write govnet_config_drift{device} in Prometheus text format "
            "(for the exporter's textfile directory)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Devices whose running config differs from what the inventory renders (all by default).

    Exits 0 when every device is in sync, 3 when any drifted, 1 when any could not be read.
    """
    selection = Selection(
        inventory_path(ctx, inventory),
        [],
        device or [],
        all_ or not device,
        lab,
        netns,
        workers,
        state_dir,
        trust_on_first_use,
        production=production,
    )
    results, _ = run_engine(selection, Engine.plan, json_out)
    for r in results:
        if r.status in {"changes", "unchanged"}:
            r.status = "drift" if r.status == "changes" else "in sync"
    if prom_file is not None:
        lines = [
            "# HELP govnet_config_drift 1 when the running config differs from the inventory.",
            "# TYPE govnet_config_drift gauge",
        ]
        lines += [
            f'govnet_config_drift{{device="{r.device}"}} {1 if r.status == "drift" else 0}'
            for r in results
            if r.status in {"drift", "in sync"}
        ]
        atomic_write_text(prom_file, "\n".join(lines) + "\n")
    if json_out:
        output.print_json(masking.mask_data([r.as_dict() for r in results]))
    else:
        if show_diff:
            print_diffs([r for r in results if r.status == "drift"])
        result_table("drift", results)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)
    if any(r.status == "drift" for r in results):
        raise typer.Exit(3)


@app.command()
def backup(
    ctx: typer.Context,
    device: DevicesOpt = None,
    all_: AllOpt = False,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    netns: NetnsOpt = None,
    production: ProductionOpt = False,
    workers: WorkersOpt = 8,
    state_dir: StateOpt = Path(".govnet"),
    trust_on_first_use: TofuOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Store each device's running config, timestamped, under <state-dir>/backups/<device>/
    (secrets masked), and the restorable copy under <state-dir>/restore/<device>/ (mode
    0600, directory 0700: the only place secrets are written). All routers by default."""
    selection = Selection(
        inventory_path(ctx, inventory),
        [],
        device or [],
        all_ or not device,
        lab,
        netns,
        workers,
        state_dir,
        trust_on_first_use,
        production=production,
    )
    saved, _ = run_engine(selection, Engine.read_running, json_out)
    store = BackupStore(state_dir / "backups")
    rows = []
    for name, text_or_error in saved.items():
        if isinstance(text_or_error, str):
            path = store.save(name, text_or_error)
            rows.append({"device": name, "ok": True, "path": str(path)})
        else:
            rows.append({"device": name, "ok": False, "error": str(text_or_error)})
    rows = masking.mask_data(rows)
    if json_out:
        output.print_json(rows)
    else:
        output.console.print(
            output.table(
                "backup",
                ["device", "result"],
                [(r["device"], r.get("path") or f"FAILED: {r['error']}") for r in rows],
            )
        )
    if not all(r["ok"] for r in rows):
        raise typer.Exit(1)

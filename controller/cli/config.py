"""`govnet config …`: back up running configurations, find drift from the inventory,
and report compliance per feature of govnet's managed scope."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
from controller.errors import GovnetError
from controller.io import atomic_write_text
from controller.provision.engine import Engine
from controller.provision.plan import DeviceSpec, device_compliance
from controller.provision.scope import FeatureCompliance
from controller.provision.store import BackupStore

app = typer.Typer(
    help="Back up running configs; report drift and per-feature compliance with the inventory.",
    no_args_is_help=True,
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


def _running_and_specs(engine: Engine) -> tuple[dict[str, str | GovnetError], list[DeviceSpec]]:
    return engine.read_running(), engine.specs


def _detail(feature: dict[str, Any], limit: int = 3) -> str:
    lines = [f"+ {' › '.join(p)}" for p in feature["missing"]]
    lines += [f"- {' › '.join(p)}" for p in feature["extra"]]
    more = f"\n… {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


@app.command()
def compliance(
    ctx: typer.Context,
    device: DevicesOpt = None,
    all_: AllOpt = False,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    netns: NetnsOpt = None,
    workers: WorkersOpt = 8,
    state_dir: StateOpt = Path(".govnet"),
    trust_on_first_use: TofuOpt = False,
    prom_file: Annotated[
        Path | None,
        typer.Option(
            help="Also write govnet_config_compliant{device,feature} (1/0) in Prometheus "
            "text format (for the exporter's textfile directory)."
        ),
    ] = None,
    production: ProductionOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Per device and feature of govnet's managed scope (interfaces, ospf, bgp, snmp, …):
    compliant, or the lines missing (+) and extra (-). Lines govnet does not own are not
    compared. All routers by default.

    Exits 0 when every device is compliant, 3 when any is not, 1 when any could not be read.
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
    (running, specs), _ = run_engine(selection, _running_and_specs, json_out)
    reports: list[dict[str, object]] = []
    features: dict[str, list[FeatureCompliance]] = {}
    for spec in specs:
        name = spec.device.name
        text = running.get(name)
        if isinstance(text, str):
            features[name] = device_compliance(spec, text)
            reports.append(
                {
                    "device": name,
                    "ok": True,
                    "compliant": all(f.compliant for f in features[name]),
                    "features": [f.as_dict() for f in features[name]],
                }
            )
        else:
            reports.append({"device": name, "ok": False, "error": str(text)})
    if prom_file is not None:
        lines = [
            "# HELP govnet_config_compliant 1 when a feature of the device's managed scope "
            "is as the inventory says.",
            "# TYPE govnet_config_compliant gauge",
        ]
        lines += [
            f'govnet_config_compliant{{device="{name}",feature="{f.feature}"}} '
            f"{1 if f.compliant else 0}"
            for name, found in features.items()
            for f in found
        ]
        atomic_write_text(prom_file, "\n".join(lines) + "\n")
    if json_out:
        output.print_json(reports)
    else:
        rows: list[tuple[str, ...]] = []
        for report in reports:
            name = str(report["device"])
            if not report["ok"]:
                rows.append((name, "", "FAILED", "", "", str(report["error"])))
                continue
            for f in features[name]:
                status = "compliant" if f.compliant else "NOT compliant"
                shown = f.as_dict()
                rows.append(
                    (
                        name,
                        f.feature,
                        status,
                        str(len(f.missing)),
                        str(len(f.extra)),
                        _detail(shown),
                    )
                )
        output.console.print(
            output.table(
                "compliance", ["device", "feature", "status", "missing", "extra", "lines"], rows
            )
        )
    if not all(r["ok"] for r in reports):
        raise typer.Exit(1)
    if not all(r["compliant"] for r in reports):
        raise typer.Exit(3)

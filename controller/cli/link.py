"""`govnet link …`: provision private-network links from the inventory.

FRR is live-tested in the lab; the Cisco IOS and Huawei VRP templates are
golden-file tested only (no such device exists in the lab).
"""

from __future__ import annotations

import getpass
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from controller.change.gate import ProbeGate
from controller.change.records import ChangeStore, require_rehearsal
from controller.change.revision import inventory_digest
from controller.cli import output
from controller.cli.provisioning import (
    AllOpt,
    DevicesOpt,
    LabOpt,
    NetnsOpt,
    ProductionOpt,
    Reach,
    Selection,
    StateOpt,
    TofuOpt,
    WorkersOpt,
    print_diffs,
    report,
    run_engine,
)
from controller.cli.state import InventoryOpt, JsonOpt, inventory_path
from controller.cli.twin import install_gate, print_sites
from controller.inventory import load_inventory
from controller.inventory.model import Inventory
from controller.netguard import production_declared
from controller.provision.engine import DeviceResult, Engine, Interrupted
from controller.provision.journal import Journal

app = typer.Typer(
    help="Plan and apply private-network links: render → diff → push → verify → roll back. "
    "FRR is live-tested in the lab; Cisco IOS and Huawei VRP are golden-file tested only.",
    no_args_is_help=True,
)
LinksArg = Annotated[list[str] | None, typer.Argument(help="Link names or ids (a--b).")]


@app.command("list")
def list_(ctx: typer.Context, inventory: InventoryOpt = None, json_out: JsonOpt = False) -> None:
    """The inventory's links: id, kind, ends, prefix, tenant."""
    inv = load_inventory(inventory_path(ctx, inventory))
    rows = [
        {
            "id": k.id,
            "kind": k.kind.value,
            "a": k.a,
            "b": k.b,
            "prefix": str(k.prefix),
            "tenant": k.tenant or "",
            "bandwidth_mbps": k.bandwidth,
        }
        for k in inv.links
    ]
    if json_out:
        output.print_json(rows)
        return
    output.console.print(
        output.table(
            None,
            ["id", "kind", "prefix", "tenant"],
            [(r["id"], r["kind"], r["prefix"], r["tenant"]) for r in rows],
        )
    )


ShellUserOpt = Annotated[
    str | None,
    typer.Option(
        envvar="GOVNET_SHELL_USER",
        help="FRR: the node's shell login (same secret as its SSH credential). It arms the "
        "on-node confirm timer, and on a router that ends mission tunnels it reads, writes "
        "and loads its strongSwan swanctl.conf (needed there). Default in a lab: its "
        "Ansible login ($ANSIBLE_USER, govnet-ansible); elsewhere without it FRR changes "
        "are undone from the controller only.",
    ),
]


@app.command()
def plan(
    ctx: typer.Context,
    links: LinksArg = None,
    device: DevicesOpt = None,
    all_: AllOpt = False,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    netns: NetnsOpt = None,
    production: ProductionOpt = False,
    workers: WorkersOpt = 8,
    state_dir: StateOpt = Path(".govnet"),
    trust_on_first_use: TofuOpt = False,
    shell_user: ShellUserOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show what would change on each device (a unified diff and a summary). Changes nothing.

    A router that ends mission tunnels also shows the diff of its strongSwan swanctl.conf
    (read over its shell login, --shell-user)."""
    selection = Selection(
        inventory_path(ctx, inventory),
        links or [],
        device or [],
        all_,
        lab,
        netns,
        workers,
        state_dir,
        trust_on_first_use,
        production=production,
        shell_user=shell_user,
    )
    results, notes = run_engine(selection, Engine.plan, json_out)
    if not json_out:
        print_diffs(results)
    report("plan", results, notes, json_out)
    if not json_out:
        changes = sum(1 for r in results if r.status == "changes")
        output.console.print(f"{changes} of {len(results)} device(s) would change")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@app.command()
def apply(
    ctx: typer.Context,
    links: LinksArg = None,
    device: DevicesOpt = None,
    all_: AllOpt = False,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    netns: NetnsOpt = None,
    production: ProductionOpt = False,
    workers: WorkersOpt = 8,
    confirm_timeout: Annotated[
        float,
        typer.Option(
            min=1,
            max=3600,
            help="Seconds for the change to verify before it is undone; the device's own "
            "confirm timer is set to this plus 10 s (IOS: whole minutes, VRP: at least 60 s).",
        ),
    ] = 30.0,
    shell_user: ShellUserOpt = None,
    state_dir: StateOpt = Path(".govnet"),
    trust_on_first_use: TofuOpt = False,
    change: Annotated[
        int | None,
        typer.Option(
            "--change",
            metavar="ID",
            min=1,
            max=2**63 - 1,
            help="Apply change record ID: refused unless `govnet change rehearse ID` "
            "succeeded with this very inventory (same content); kept only when one probe "
            "cycle after verification shows every site that was up before still up (the "
            "probe gate), else rolled back. Recorded in the change's history.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Back up, journal, arm the device's confirm timer, push, verify everything the change
    touched, then confirm and save; on failure the change is undone.

    The device undoes an unconfirmed change by itself, so a change that cuts govnet off
    (or a crash of govnet) is undone too: cisco_ios `configure terminal revert timer`
    then `configure confirm`; huawei_vrp `commit trial` then `commit`; frr (whose
    transactional CLI does not cover ospfd/bgpd in 8.4) an on-node timer started over
    the shell login that restores the saved running config with frr-reload.py. The
    controller then checks the restored config is byte-for-byte the backup.

    Verification compares interfaces, OSPF/BGP adjacencies, learned route counts and (in a
    lab) NMS reachability of every loopback with before the push, and checks every touched
    link up, adjacent and pinging from both ends, until --confirm-timeout.

    A router that ends mission tunnels (frr with strongSwan) also gets its swanctl.conf:
    written over the shell login, loaded with `swanctl --load-conns`, the changed
    connections restarted, and every tunnel's IKE and child SA checked up; the on-node
    timer and any restore put the old file back too. Ctrl-C/SIGTERM
    restore what was pushed (exit 130). Refused (exit 4) while an interrupted change is
    open: run `govnet link recover`. Exits 1 when any device failed or was rolled back.
    Every device is appended to the audit log (who, when, diff, result).
    """
    selection = Selection(
        inventory_path(ctx, inventory),
        links or [],
        device or [],
        all_,
        lab,
        netns,
        workers,
        state_dir,
        trust_on_first_use,
        confirm_timeout,
        production=production,
        shell_user=shell_user,
    )
    gated = None if change is None else GatedChange(change, selection)
    try:
        results, notes = run_engine(
            selection, Engine.apply, json_out, gated.prepare if gated else None
        )
    except Interrupted as exc:
        report("apply", exc.results, [], json_out)
        raise
    report("apply", results, notes, json_out)
    if gated is not None:
        gated.finish(results, json_out)
    if any(r.failed for r in results):
        raise typer.Exit(1)


class GatedChange:
    """`link apply --change ID`: the rehearsal required up front, the probe gate on."""

    def __init__(self, ident: int, selection: Selection) -> None:
        self.ident = ident
        self.selection = selection
        self.store = ChangeStore(selection.state_dir)
        record = self.store.get(ident)
        digest = inventory_digest(selection.inventory)
        require_rehearsal(record, self.store.rehearsals(ident), digest)
        self.gate: ProbeGate | None = None

    def prepare(self, inv: Inventory, where: Reach) -> None:
        production = production_declared(inv, self.selection.production)
        self.gate = install_gate(inv, where, production)

    def finish(self, results: list[DeviceResult], quiet: bool) -> None:
        assert self.gate is not None
        if not quiet:
            print_sites(self.gate)
        kept = sorted(r.device for r in results if r.status == "applied")
        undone = sorted(r.device for r in results if r.failed)
        detail = f"applied on {len(kept)} device(s); {self.gate.report()['summary']}"
        if undone:
            detail = f"rolled back ({', '.join(undone)}); {self.gate.report()['summary']}"
        self.store.note(self.ident, f"cli:{getpass.getuser()}", "apply", detail)


@app.command()
def recover(
    ctx: typer.Context,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    netns: NetnsOpt = None,
    production: ProductionOpt = False,
    workers: WorkersOpt = 8,
    state_dir: StateOpt = Path(".govnet"),
    trust_on_first_use: TofuOpt = False,
    shell_user: ShellUserOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Finish a change an apply left open (killed by SIGKILL, crashed, power lost).

    Every device of the open journal (<state-dir>/changes/) that had not verified is
    restored to its pre-change running config and checked byte for byte; devices whose
    change had verified are confirmed. The journal is closed once every device is settled,
    and `link apply` works again. The inventory, lab and namespace default to what the
    interrupted apply used (--production too). Safe to repeat: with nothing open it changes nothing.
    Exits 1 when a device could not be recovered (the journal stays open: run it again).
    """
    journal = Journal(state_dir)
    pending = journal.open_changes()
    if not pending:
        if json_out:
            output.print_json({"change": None, "journal": None, "closed": True, "devices": []})
        else:
            output.console.print(f"no open change in {state_dir}: nothing to recover")
        return
    failed = False
    summaries = []
    for path, change in pending:
        recorded = change.context
        selection = Selection(
            inventory
            if inventory is not None
            else Path(recorded["inventory"])
            if recorded.get("inventory")
            else inventory_path(ctx, None),
            [],
            sorted(change.devices),
            False,
            lab if lab is not None else Path(recorded["lab"]) if recorded.get("lab") else None,
            netns or recorded.get("netns") or None,
            workers,
            state_dir,
            trust_on_first_use,
            production=production or recorded.get("production") == "true",
            shell_user=shell_user or recorded.get("shell_user") or None,
        )
        results, notes = run_engine(selection, partial(Engine.recover, change=change), json_out)
        closed = journal.load(path).state == "closed"
        failed |= any(r.status == "failed" for r in results)
        summaries.append(
            {
                "change": change.id,
                "journal": str(path),
                "closed": closed,
                "devices": [r.as_dict() for r in results],
                "notes": notes,
            }
        )
        if not json_out:
            report(f"recover {change.id}", results, notes, False)
            state = "closed" if closed else "still open (run `govnet link recover` again)"
            output.console.print(f"change {change.id}: journal {path} {state}")
    if json_out:
        output.print_json(summaries[0] if len(summaries) == 1 else summaries)
    if failed:
        raise typer.Exit(1)

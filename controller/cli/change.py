"""`govnet change …`: what a change can cut off, before anyone touches the network."""

from __future__ import annotations

import getpass
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from controller import masking
from controller.change.impact import DeviceRef, Failure, Impact, Network, to_json
from controller.change.records import ICT, ChangeRecord, ChangeStore, parse_window
from controller.change.revision import inventory_digest, inventory_revision
from controller.change.service import finish_change, rehearsal_of, start_change
from controller.cli import output
from controller.cli.provisioning import Reach, StateOpt
from controller.cli.state import InventoryOpt, JsonOpt, inventory_path
from controller.errors import UsageError
from controller.inventory import load_inventory
from controller.inventory.model import Inventory
from controller.soc.backends import HttpAlertmanager
from controller.soc.stack import read_state

app = typer.Typer(
    help="Changes: their blast radius from the inventory, and change records.",
    no_args_is_help=True,
)
LinkOpt = Annotated[
    list[str] | None, typer.Option("--link", help="A link id that fails (repeatable).")
]
DeviceOpt = Annotated[
    list[str] | None, typer.Option("--device", help="A device that fails (repeatable).")
]
SiteOpt = Annotated[
    list[str] | None,
    typer.Option("--site", help="A site whose devices all fail: province, commune or DC."),
]

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
    link: LinkOpt = None,
    device: DeviceOpt = None,
    site: SiteOpt = None,
    inventory: InventoryOpt = None,
    all_rows: Annotated[bool, typer.Option("--all", help="List every device, not 20.")] = False,
    verify_lab: Annotated[
        Path | None,
        typer.Option(
            "--verify-lab",
            metavar="TOPOLOGY",
            help="Confirm the prediction in this running lab: inject the same faults, wait"
            " for routing to settle, ping every target from the NMS and the data centres,"
            " exit 1 with the differences if they disagree. The faults are always healed.",
        ),
    ] = None,
    settle_timeout: Annotated[
        float,
        typer.Option(
            "--settle-timeout", min=5, max=600, help="--verify-lab: seconds to wait for routing."
        ),
    ] = 60.0,
    json_out: JsonOpt = False,
) -> None:
    """With these links, devices and sites down: which devices and sites lose every path
    to both data centres (isolated), which lose their redundancy (degraded), which
    tenants' devices lose their hosted services, and what the NMS can no longer see.
    Computed from the inventory's link graph alone; changes nothing (but with
    --verify-lab, which plays the failure in a lab). Link ids are those of
    `govnet link list`."""
    failure = _failure(link, device, site)
    inv = load_inventory(inventory_path(ctx, inventory))
    network = Network(inv)
    result = network.impact(failure)
    twin = None
    if verify_lab is not None:
        from controller.cli.twin import verify  # the lab is optional: imported when asked

        twin = verify(network, result, verify_lab, settle_timeout, quiet=json_out)
    if json_out:
        output.print_json(to_json(result) | ({"verify_lab": twin.as_json} if twin else {}))
    else:
        _print(result, all_rows)
        if twin is not None:
            twin.print()
    if twin is not None and not twin.ok:
        raise typer.Exit(1)


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


def _failure(link: list[str] | None, device: list[str] | None, site: list[str] | None) -> Failure:
    failure = Failure(tuple(link or ()), tuple(device or ()), tuple(site or ()))
    if failure.empty:
        raise UsageError("say what fails: --link ID, --device NAME or --site ID (repeatable)")
    return failure


@app.command()
def new(
    ctx: typer.Context,
    title: Annotated[str, typer.Option("--title", help="What the change is (1-200 chars).")],
    window: Annotated[
        str,
        typer.Option(
            "--window",
            help="START..END, e.g. 2026-12-05T22:00..02:00 (Cambodia time unless an offset"
            " such as Z or +07:00 is given). START may be `now`; END a time of day or a"
            " length, +90m or +2h.",
        ),
    ],
    link: LinkOpt = None,
    device: DeviceOpt = None,
    site: SiteOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")] = "",
    author: Annotated[
        str | None, typer.Option("--author", help="Who (default: cli:<login name>).")
    ] = None,
    inventory: InventoryOpt = None,
    state_dir: StateOpt = Path(".govnet"),
    json_out: JsonOpt = False,
) -> None:
    """Record a planned change: its window, the links, devices and sites it takes down,
    and the impact computed from the inventory now (kept with the record, with the
    inventory's git revision). Prints the new change's id."""
    failure = _failure(link, device, site)
    span = parse_window(window)
    path = inventory_path(ctx, inventory)
    inv = load_inventory(path)
    result = Network(inv).impact(failure)
    record = ChangeStore(state_dir).create(
        title=title,
        reason=reason,
        author=_who(author),
        window=span,
        impact=result,
        inventory=str(path),
        revision=inventory_revision(path),
    )
    if json_out:
        output.print_json(record.as_dict())
        return
    output.console.print(f"[bold]change {record.id}[/bold] recorded: {record.title}")
    _print(result, all_rows=False)


@app.command("list")
def list_(state_dir: StateOpt = Path(".govnet"), json_out: JsonOpt = False) -> None:
    """Every change record, by window."""
    records = ChangeStore(state_dir).list()
    if json_out:
        output.print_json([r.as_dict() for r in records])
        return
    rows = [(r.id, r.state, _window(r), r.title, r.author, _counts(r)) for r in records]
    columns = ["id", "state", "window (ICT)", "title", "author", "isolated/degraded"]
    output.console.print(output.table(None, columns, rows))


@app.command()
def show(
    ident: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1)],
    state_dir: StateOpt = Path(".govnet"),
    json_out: JsonOpt = False,
) -> None:
    """One change record: what, when, by whom, its impact, its rehearsals in a lab twin
    and every step taken."""
    store = ChangeStore(state_dir)
    record = store.get(ident)
    rehearsals = store.rehearsals(ident)
    if json_out:
        output.print_json(record.as_dict() | {"rehearsals": [r.as_dict() for r in rehearsals]})
        return
    elements = record.impact["failure"]
    what = [f"link {x}" for x in elements["links"]] + [f"device {x}" for x in elements["devices"]]
    what += [f"site {x}" for x in elements["sites"]]
    facts = [
        ("title", record.title),
        ("state", record.state),
        ("window (ICT)", _window(record)),
        ("author", record.author),
        ("reason", record.reason or "–"),
        ("elements", ", ".join(what)),
        ("inventory", f"{record.inventory} @ {record.revision or 'not in git'}"),
        ("isolated / degraded", _counts(record)),
        (
            "tenants cut off",
            ", ".join(f"{t['tenant']} {t['service']}" for t in record.impact["tenants"]) or "–",
        ),
    ]
    output.console.print(output.table(f"change {record.id}", ["", ""], facts))
    if rehearsals:
        rows = [
            (r.at, r.lab, "ok" if r.ok else "FAILED", r.digest[:19], str(r.report.get("summary")))
            for r in rehearsals
        ]
        columns = ["when (UTC)", "lab", "result", "inventory", "summary"]
        output.console.print(output.table("Rehearsals", columns, rows))
    events = [(e["at"], e["who"], e["step"], e["detail"]) for e in record.events]
    output.console.print(output.table("History", ["when (UTC)", "who", "step", "detail"], events))


def _window(record: ChangeRecord) -> str:
    start, end = record.window.start.astimezone(ICT), record.window.end.astimezone(ICT)
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def _counts(record: ChangeRecord) -> str:
    return f"{len(record.impact['isolated'])} / {len(record.impact['degraded'])}"


AlertmanagerOpt = Annotated[
    str | None,
    typer.Option(
        "--alertmanager-url",
        help="Alertmanager's API (default: the one `govnet soc up` started for --state-dir).",
    ),
]


def _alertmanager(state_dir: Path, url: str | None) -> HttpAlertmanager:
    known = read_state(state_dir).get("alertmanager_url")
    return HttpAlertmanager(url or str(known or "http://127.0.0.1:9093"))


def _who(author: str | None) -> str:
    return author or f"cli:{getpass.getuser()}"


@app.command()
def start(
    ident: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1)],
    alertmanager_url: AlertmanagerOpt = None,
    author: Annotated[str | None, typer.Option("--author", help="Who starts it.")] = None,
    state_dir: StateOpt = Path(".govnet"),
    json_out: JsonOpt = False,
) -> None:
    """The change begins: Alertmanager silences for exactly its predicted impact (its
    devices, its links, the province-wide alerts of provinces it cuts off), ending with
    its window. Anything outside that impact still pages."""
    record = start_change(
        ChangeStore(state_dir), ident, _alertmanager(state_dir, alertmanager_url), _who(author)
    )
    if json_out:
        output.print_json(record.as_dict())
        return
    silences = ChangeStore(state_dir).silences(ident)
    output.console.print(
        f"change {ident} running until {_window(record).split(' – ')[1]} ICT:"
        f" {len(silences)} silence(s) in Alertmanager"
    )


@app.command()
def finish(
    ident: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1)],
    alertmanager_url: AlertmanagerOpt = None,
    author: Annotated[str | None, typer.Option("--author", help="Who finishes it.")] = None,
    state_dir: StateOpt = Path(".govnet"),
    json_out: JsonOpt = False,
) -> None:
    """The change is done: its silences are removed now, before the window ends."""
    record = finish_change(
        ChangeStore(state_dir), ident, _alertmanager(state_dir, alertmanager_url), _who(author)
    )
    if json_out:
        output.print_json(record.as_dict())
        return
    output.console.print(f"change {ident} finished: its silences are removed")


@app.command()
def rehearse(
    ident: Annotated[int, typer.Argument(metavar="ID", min=1, max=2**63 - 1)],
    lab: Annotated[
        Path,
        typer.Option(
            "--lab",
            metavar="TOPOLOGY",
            help="The lab twin (a running lab rendered from the same network).",
        ),
    ],
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            "-i",
            help="The change's inventory (default: the one recorded with the change).",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Devices worked on at once.")] = 8,
    confirm_timeout: Annotated[
        float, typer.Option(min=1, max=3600, help="Seconds for the change to verify.")
    ] = 30.0,
    trust_on_first_use: Annotated[
        bool,
        typer.Option("--trust-on-first-use", help="Pin the lab's unknown SSH host keys."),
    ] = False,
    author: Annotated[str | None, typer.Option("--author", help="Who rehearses it.")] = None,
    state_dir: StateOpt = Path(".govnet"),
    json_out: JsonOpt = False,
) -> None:
    """Rehearse change ID in a lab twin: probe every site from the lab's NMS, apply the
    change's inventory to every router of the lab through the safe-change path (journal,
    confirm timers, verification), probe again, then restore every router as it was.
    Reports every site whose reachability changed; succeeds when every changed router
    verified and no site that answered before stopped answering. The result is kept with
    the change: `govnet link apply --change ID` requires a successful rehearsal of the
    same inventory content. The lab's host keys, backups and journal live in
    <state-dir>/twin/, apart from the real network's. Exit 1 when the rehearsal fails."""
    from controller.cli.provisioning import Selection, report, run_engine
    from controller.cli.twin import install_gate, print_sites
    from controller.provision.engine import Engine, Interrupted

    store = ChangeStore(state_dir)
    record = store.get(ident)
    if record.state in ("finished", "cancelled"):
        raise UsageError(f"change {ident} is {record.state}: nothing to rehearse")
    path = inventory or Path(record.inventory)
    if not path.exists():
        raise UsageError(f"change {ident}: its inventory {path} does not exist (use -i PATH)")
    if not lab.exists():
        raise UsageError(f"--lab {lab}: no such topology file")
    digest = inventory_digest(path)
    selection = Selection(
        path,
        [],
        [],
        True,
        lab,
        None,
        workers,
        state_dir / "twin",
        trust_on_first_use,
        confirm_timeout,
    )
    gates = []

    def prepare(inv: Inventory, where: Reach) -> None:
        where.options.rehearse = True
        gates.append(install_gate(inv, where, production=False))

    try:
        results, notes = run_engine(selection, Engine.apply, json_out, prepare)
    except Interrupted as exc:
        report("rehearse", exc.results, [], json_out)
        raise
    rehearsal = rehearsal_of(
        results,
        gates[0].report(),
        lab=str(lab),
        revision=inventory_revision(path),
        digest=digest,
        who=_who(author),
    )
    store.rehearsed(ident, rehearsal)
    if json_out:
        output.print_json(
            masking.mask_data(
                {
                    "change": ident,
                    "rehearsal": rehearsal.as_dict(),
                    "devices": [r.as_dict() for r in results],
                    "notes": notes,
                }
            )
        )
    else:
        report("rehearse", results, notes, json_out)
        print_sites(gates[0])
        verdict = "[green]succeeded[/green]" if rehearsal.ok else "[bold red]FAILED[/bold red]"
        output.console.print(
            f"rehearsal of change {ident} in {lab} {verdict}: {rehearsal.report['summary']}"
        )
    if not rehearsal.ok:
        raise typer.Exit(1)

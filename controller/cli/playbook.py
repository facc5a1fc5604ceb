"""`govnet playbook …`: run Ansible playbooks (ansible-runner) on routers.

In a lab (`--lab TOPOLOGY`) Ansible logs in to each FRR node's bash shell over SSH from
inside the lab's management namespace; every run keeps its private data dir under
`<state-dir>/ansible/runs/` and is appended to `<state-dir>/audit.log`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from controller import masking
from controller.ansible import find_playbook, list_playbooks, run_playbook
from controller.ansible.events import TaskEvent
from controller.ansible.plan import run_spec, select_hosts
from controller.ansible.runner import PlaybookRun, ProgressFn, no_progress
from controller.cli import output
from controller.cli.provisioning import (
    AllOpt,
    DevicesOpt,
    LabOpt,
    ProductionOpt,
    StateOpt,
    TofuOpt,
    lab_name,
)
from controller.cli.state import InventoryOpt, JsonOpt, inventory_path
from controller.errors import UsageError
from controller.inventory import load_inventory

app = typer.Typer(
    help="Run Ansible playbooks on routers with ansible-runner: live progress, per-host "
    "results, artifacts kept under <state-dir>/ansible/runs/, every run audited.",
    no_args_is_help=True,
)
PlaybookArg = Annotated[
    str, typer.Argument(help="A playbook of playbooks/ (name, name.yml) or a path to one.")
]
LabDirOpt = Annotated[
    Path | None,
    typer.Option("--lab-dir", help="Lab directory (default: clab-<lab>/ next to the topology)."),
]
CheckOpt = Annotated[
    bool, typer.Option("--check", help="Check mode (--check --diff): report, change nothing.")
]
ForksOpt = Annotated[int, typer.Option(min=1, max=64, help="Hosts Ansible works on at once.")]

STATUS_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "failed": "bold red",
    "unreachable": "bold red",
    "skipped": "dim",
    "ignored": "dim",
    "started": "",
}


@app.command("list")
def list_(json_out: JsonOpt = False) -> None:
    """The playbooks govnet ships, with their first comment line."""
    books = list_playbooks()
    if json_out:
        output.print_json([b.as_dict() for b in books])
        return
    output.console.print(
        output.table(None, ["playbook", "what"], [(b.name, b.summary) for b in books])
    )


@app.command()
def run(
    ctx: typer.Context,
    playbook: PlaybookArg,
    device: DevicesOpt = None,
    all_: AllOpt = False,
    check: CheckOpt = False,
    inventory: InventoryOpt = None,
    lab: LabOpt = None,
    lab_dir: LabDirOpt = None,
    production: ProductionOpt = False,
    state_dir: StateOpt = Path(".govnet"),
    trust_on_first_use: TofuOpt = False,
    forks: ForksOpt = 10,
    json_out: JsonOpt = False,
) -> None:
    """Run PLAYBOOK on the selected routers (--device D…, or --all).

    Exits 1 when any host failed or was unreachable (an unknown SSH host key counts as
    unreachable: pin it with --trust-on-first-use in a lab).
    """
    book = find_playbook(playbook)
    inv = load_inventory(inventory_path(ctx, inventory))
    target = None
    if lab is not None:
        if not lab.is_file():
            raise UsageError(f"{lab}: no such topology file")
        from controller.ansible.lab import lab_target

        lab_name(lab)  # the topology's ${VAR:=default}s resolve env: references
        target = lab_target(lab, lab_dir)
    scope = select_hosts(inv, device or [], all_, target, production=production)
    spec = run_spec(
        inv,
        book,
        scope,
        target,
        check=check,
        state_dir=state_dir,
        trust_on_first_use=trust_on_first_use,
        forks=forks,
    )
    with host_progress(spec.hosts, not json_out) as progress:
        result = run_playbook(spec, progress)
    if json_out:
        output.print_json(masking.mask_data({**result.as_dict(), "notes": scope.notes}))
    else:
        print_run(result)
        for note in scope.notes:
            output.err_console.print(note, markup=False)
    if result.failed:
        raise typer.Exit(1)


@contextmanager
def host_progress(hosts: list[str], enabled: bool) -> Iterator[ProgressFn]:
    """A live line per host on stderr: the task it is on and its tallies."""
    if not enabled:
        yield no_progress
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[host]:<12}"),
        TextColumn("{task.fields[tally]:<22}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=output.err_console,
        transient=True,
    ) as bar:
        tallies = {h: {"ok": 0, "changed": 0, "failed": 0} for h in hosts}
        rows = {h: bar.add_task("waiting", host=h, tally="") for h in hosts}

        def update(event: TaskEvent) -> None:
            row = rows.get(event.host)
            if row is None:
                return
            tally = tallies[event.host]
            if event.status in ("ok", "changed"):
                tally["ok"] += 1
            if event.status == "changed":
                tally["changed"] += 1
            if event.status in ("failed", "unreachable"):
                tally["failed"] += 1
            style = STATUS_STYLE.get(event.status, "")
            label = event.task if event.status == "started" else f"{event.task}: {event.status}"
            text = f"[{style}]{escape(label)}[/]" if style else escape(label)
            counts = f"ok={tally['ok']} changed={tally['changed']} failed={tally['failed']}"
            bar.update(row, description=text, tally=counts)

        yield update


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def print_run(run: PlaybookRun) -> None:
    for host in run.hosts:
        for diff in host.diffs:
            output.console.print(
                Syntax(
                    masking.mask_text(diff), "diff", theme="ansi_dark", background_color="default"
                )
            )
    mode = "check" if run.check else "run"
    table = Table(title=f"{run.playbook} ({mode})", title_justify="left", header_style="bold")
    for column in ("host", "status"):
        table.add_column(column, no_wrap=True)
    for column in ("ok", "changed", "failed", "unreach."):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for h in run.hosts:
        detail = masking.mask_text("; ".join(h.messages) if h.bad else "; ".join(h.changes))
        table.add_row(
            h.host,
            Text(h.status, style=STATUS_STYLE.get(h.status, "")),
            str(h.ok),
            str(h.changed),
            str(h.failed),
            str(h.unreachable),
            Text(detail),
        )
    output.console.print(table)
    for error in run.errors:
        output.err_console.print(Text(masking.mask_text(error), style="red"))
    changed = sum(1 for h in run.hosts if h.changed)
    bad = sum(1 for h in run.hosts if h.bad)
    verb = "would change" if run.check else "changed"
    output.console.print(
        f"{changed} of {len(run.hosts)} host(s) {verb}, {bad} failed or unreachable — "
        f"{run.seconds:.1f} s, status {run.status}; artifacts: {run.run_dir}",
        markup=False,
    )

"""The `govnet` entry point: global options, sub-apps, and the one error boundary."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from controller import __version__, masking
from controller.cli import (
    change,
    config,
    hosting,
    inventory,
    lab,
    link,
    output,
    playbook,
    probe,
    report,
    soc,
    store,
    topology,
)
from controller.cli.state import DEFAULT_INVENTORY, State
from controller.errors import GovnetError, InventoryError

app = typer.Typer(
    name="govnet",
    help="govnet — operations controller for Cambodia's government private network (MPTC).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold passwords
    add_completion=False,
)
app.add_typer(inventory.app, name="inventory")
app.add_typer(topology.app, name="topology")
app.add_typer(lab.app, name="lab")
app.add_typer(link.app, name="link")
app.add_typer(config.app, name="config")
app.add_typer(playbook.app, name="playbook")
app.add_typer(probe.app, name="probe")
app.add_typer(hosting.app, name="hosting")
app.add_typer(soc.app, name="soc")
app.add_typer(change.app, name="change")
app.add_typer(store.app, name="store")
app.add_typer(report.app, name="report")


def _version(value: bool) -> None:
    if value:
        print(f"govnet {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    inventory_: Annotated[
        Path,
        typer.Option(
            "--inventory",
            "-i",
            envvar="GOVNET_INVENTORY",
            help="Inventory file or folder.",
            show_default=True,
        ),
    ] = DEFAULT_INVENTORY,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """govnet: inventory → lab → provisioning → probes → SOC → hosting."""
    ctx.obj = State(inventory=inventory_, debug=debug)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    masking.install_log_filter()  # secrets never reach a log line


def run() -> None:
    """Console-script entry: a GovnetError is one red line and its exit code, never a traceback."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("GOVNET_DEBUG") == "1"
    try:
        app()
    except InventoryError as exc:
        if debug:
            raise
        for line in output.problem_lines(exc.problems, limit=20):
            print(line, file=sys.stderr)
        output.error(f"the inventory has {len(exc.problems)} problem(s)")
        sys.exit(exc.exit_code)
    except GovnetError as exc:
        if debug:
            raise
        output.error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        output.error("interrupted")
        sys.exit(130)

"""`govnet topology …`: containerlab topology files rendered from the inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from controller.cli import output
from controller.cli.state import inventory_path
from controller.envfile import read_env_file
from controller.inventory import load_inventory
from controller.io import atomic_write_text
from controller.topology.render import CommuneMode, render_topology

app = typer.Typer(
    help="Render containerlab topology files from the inventory.", no_args_is_help=True
)

HEADER = (
    "# Rendered by `govnet topology render` from {inventory} — edit the inventory, not this file.\n"
    "# A containerlab topology: `govnet lab up` runs it on Linux namespaces (no Docker needed).\n"
)


@app.command()
def render(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--output", "-o", help="Topology file to write (*.clab.yml).")
    ],
    inventory: Annotated[
        Path | None, typer.Option("--inventory", "-i", help="Inventory file or folder.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Lab name (default: the network's name).")
    ] = None,
    communes: Annotated[
        CommuneMode,
        typer.Option(
            help="CPEs as one node each (per-node), one namespace per province holding all "
            "its communes (aggregate), or per-node up to 64 CPEs (auto)."
        ),
    ] = CommuneMode.auto,
    env_file: Annotated[
        Path | None,
        typer.Option(
            help="NAME=value defaults for env: secret references "
            "(default: lab.env beside the output, if present)."
        ),
    ] = None,
) -> None:
    """Write a containerlab topology and the FRR configs its nodes bind.

    Routers become FRR nodes (configs in <output dir>/<lab>/<node>/), the NMS and CPEs
    plain Linux nodes. The file validates against containerlab's schema.
    """
    path = inventory_path(ctx, inventory)
    inv = load_inventory(path)
    if env_file is None and (out.parent / "lab.env").exists():
        env_file = out.parent / "lab.env"
    defaults = read_env_file(env_file) if env_file else {}
    lab = name or out.name.removesuffix(".yml").removesuffix(".yaml").removesuffix(".clab")
    bundle = render_topology(inv, lab, communes, defaults)
    for relative, text in sorted(bundle.files.items()):
        atomic_write_text(out.parent / relative, text)
    body = yaml.safe_dump(bundle.topology, sort_keys=False, default_flow_style=False, width=100)
    atomic_write_text(out, HEADER.format(inventory=path) + body)
    nodes = len(bundle.topology["topology"]["nodes"])
    links = len(bundle.topology["topology"]["links"])
    output.err_console.print(
        f"wrote {out}: {nodes} nodes, {links} links, {len(bundle.files)} config files"
    )
    for note in bundle.notes:
        output.err_console.print(f"  {note}", markup=False)

"""Options and output shared by `govnet link …` and `govnet config …`."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from controller import masking
from controller.cli import output
from controller.errors import UsageError
from controller.inventory import load_inventory
from controller.inventory.model import Inventory
from controller.netguard import check_reach, destinations, production_declared
from controller.provision.engine import DeviceResult, Engine, Options, no_progress
from controller.provision.engine import Progress as ProgressFn
from controller.provision.plan import device_specs, select_devices
from controller.provision.transport import SocketFactory, plain_socket
from controller.provision.verify import lab_pinger

LabOpt = Annotated[
    Path | None,
    typer.Option(
        "--lab",
        help="The inventory runs in this lab topology: reach devices from its management "
        "namespace, expect the FRR configs `topology render` wrote, ping from node namespaces.",
    ),
]
NetnsOpt = Annotated[
    str | None,
    typer.Option(
        help="Open SSH connections from inside this network namespace.", envvar="GOVNET_NETNS"
    ),
]
WorkersOpt = Annotated[int, typer.Option(min=1, max=64, help="Devices worked on at once.")]
StateOpt = Annotated[
    Path,
    typer.Option(
        envvar="GOVNET_STATE_DIR",
        help="Where govnet keeps known_hosts, backups/ and audit.log.",
    ),
]
TofuOpt = Annotated[
    bool,
    typer.Option(
        "--trust-on-first-use",
        help="Pin an unknown SSH host key on first contact (labs). "
        "A changed key is always refused.",
    ),
]
DevicesOpt = Annotated[
    list[str] | None, typer.Option("--device", "-d", help="A device (repeatable).")
]
AllOpt = Annotated[bool, typer.Option("--all", help="Every router in the inventory.")]
ProductionOpt = Annotated[
    bool,
    typer.Option(
        "--production",
        help="This is the real network: reach its (non-loopback) addresses from this "
        "machine's namespace (also: network.production: true in the inventory). Without it "
        "and without --lab, govnet refuses before opening any connection.",
    ),
]


@dataclass(frozen=True)
class Reach:
    lab: str | None
    options: Options


_DEFAULTED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):=([^}]*)\}")


def lab_nodes(topology: Path) -> tuple[str, frozenset[str]]:
    """The lab's name and nodes; its ``${VAR:=value}`` lab defaults become defaults of this
    process, so ``env:`` references in a lab inventory resolve to what the nodes were given."""
    name, nodes, text = _lab_file(topology)
    for var, value in _DEFAULTED.findall(text):
        os.environ.setdefault(var, value)
        masking.register(value, os.environ[var])
    return name, nodes


_LAB_FILES: dict[tuple[str, int, int], tuple[str, frozenset[str], str]] = {}


def _lab_file(topology: Path) -> tuple[str, frozenset[str], str]:
    """A topology's name, nodes and text, read once per process while the file stays the
    same (one command asks twice: for the reach check's namespace, then in :func:`reach`)."""
    from simulations.topology import load_topology  # the lab is optional for real networks

    try:
        st = topology.stat()
    except OSError:
        st = None  # load_topology says, located, why it cannot be read
    key = (str(topology.resolve()), st.st_mtime_ns, st.st_size) if st else None
    read = _LAB_FILES.get(key) if key else None
    if read is None:
        loaded = load_topology(topology)
        read = (loaded.name, frozenset(loaded.nodes), topology.read_text(encoding="utf-8"))
        if key:
            _LAB_FILES[key] = read
    return read


def reach(
    lab: Path | None,
    netns: str | None,
    workers: int,
    state_dir: Path,
    tofu: bool,
    confirm_timeout: float = 30.0,
    shell_user: str | None = None,
) -> Reach:
    name, nodes = lab_nodes(lab) if lab is not None else (None, None)
    if name is not None and shell_user is None:
        from simulations.services import DEFAULT_ANSIBLE_USER

        shell_user = os.environ.get("ANSIBLE_USER") or DEFAULT_ANSIBLE_USER
    namespace = netns or (f"clab-{name}-mgmt" if name else None)
    factory: SocketFactory = plain_socket
    if namespace is not None:
        from simulations.netns import netns_connect, netns_exists

        if not netns_exists(namespace):
            raise UsageError(f"network namespace {namespace!r} does not exist (is the lab up?)")

        def in_lab(host: str, port: int, timeout: float) -> socket.socket:
            return netns_connect(namespace, (host, port), timeout)

        factory = in_lab

    options = Options(
        workers=workers,
        confirm_timeout=confirm_timeout,
        trust_on_first_use=tofu,
        state_dir=state_dir,
        open_socket=factory,
        pinger=lab_pinger(name) if name else None,
        lab_nodes=nodes,
        shell_user=shell_user,
    )
    return Reach(name, options)


@contextmanager
def device_progress(names: list[str], enabled: bool) -> Iterator[ProgressFn]:
    """A live line per device on stderr; yields the progress callback."""
    if not enabled:
        yield no_progress
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[device]:<12}"),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=output.err_console,
        transient=True,
    ) as bar:
        tasks = {name: bar.add_task("waiting", device=name) for name in names}

        def update(device: str, step: str) -> None:
            if device in tasks:
                bar.update(tasks[device], description=step)

        yield update


T = TypeVar("T")


@dataclass(frozen=True)
class Selection:
    """What a provisioning command was asked to work on, and how to reach it."""

    inventory: Path
    links: list[str]
    devices: list[str]
    everything: bool
    lab: Path | None
    netns: str | None
    workers: int
    state_dir: Path
    trust_on_first_use: bool
    confirm_timeout: float = 30.0
    production: bool = False
    shell_user: str | None = None


def run_engine(
    selection: Selection,
    action: Callable[[Engine], T],
    quiet: bool,
    prepare: Callable[[Inventory, Reach], None] | None = None,
) -> tuple[T, list[str]]:
    """Load the inventory, pick the devices, refuse to reach a real network unless told
    (:func:`controller.netguard.check_reach`), and run ``action`` with live progress.
    Every secret the inventory references is registered for masking first. ``prepare``
    may set more options (a probe gate, a rehearsal) once the lab's defaults apply."""
    inv = load_inventory(selection.inventory)
    devices, notes = select_devices(inv, selection.links, selection.devices, selection.everything)
    lab = lab_name(selection.lab) if selection.lab is not None else None
    check_reach(
        destinations(devices),
        namespace=selection.netns or (f"clab-{lab}-mgmt" if lab else None),
        production=production_declared(inv, selection.production),
    )
    masking.register_inventory(inv)
    where = reach(
        selection.lab,
        selection.netns,
        selection.workers,
        selection.state_dir,
        selection.trust_on_first_use,
        selection.confirm_timeout,
        selection.shell_user,
    )
    where.options.journal_context = {
        "state_dir": str(selection.state_dir.absolute()),
        "inventory": str(selection.inventory.absolute()),
        "lab": str(selection.lab.absolute()) if selection.lab else "",
        "netns": selection.netns or "",
        "production": "true" if selection.production else "",
        "shell_user": selection.shell_user or "",
    }
    if prepare is not None:
        prepare(inv, where)
    specs = device_specs(inv, devices, where.lab, notes)
    with device_progress([spec.device.name for spec in specs], not quiet) as progress:
        return action(Engine(inv, specs, where.options, progress)), notes


def report(title: str, results: list[DeviceResult], notes: list[str], json_out: bool) -> None:
    """The per-device result table (and notes), or JSON for scripts."""
    if json_out:
        output.print_json(
            masking.mask_data({"devices": [r.as_dict() for r in results], "notes": notes})
        )
        return
    result_table(title, results)
    for note in notes:
        output.err_console.print(note, markup=False)


STATUS_STYLE = {
    "unchanged": "dim",
    "changes": "yellow",
    "applied": "green",
    "rolled-back": "bold red",
    "rehearsed": "green",
    "restored": "yellow",
    "confirmed": "green",
    "failed": "bold red",
    "drift": "yellow",
    "in sync": "green",
}


def result_table(title: str, results: list[DeviceResult]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", header_style="bold")
    for column in ("device", "status", "commands", "seconds", "detail"):
        table.add_column(column, justify="right" if column in {"commands", "seconds"} else "left")
    for r in results:
        detail = r.message or "; ".join(c for c in r.checks if c.startswith("FAILED"))
        detail = masking.mask_text(detail)
        table.add_row(
            r.device,
            Text(r.status, style=STATUS_STYLE.get(r.status, "")),
            str(len(r.commands)),
            f"{r.seconds:.1f}",
            Text(detail),
        )
    output.console.print(table)


def print_diffs(results: list[DeviceResult]) -> None:
    from rich.syntax import Syntax

    for r in results:
        if r.diff:
            output.console.print(
                Syntax(
                    masking.mask_text(r.diff),
                    "diff",
                    theme="ansi_dark",
                    background_color="default",
                )
            )


def lab_name(topology: Path) -> str:
    """The lab's name (and its secret defaults applied, as :func:`lab_nodes`)."""
    return lab_nodes(topology)[0]

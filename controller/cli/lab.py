"""`govnet lab`: run containerlab topologies on Linux network namespaces (no Docker)."""

from __future__ import annotations

import contextlib
import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from controller.cli import output
from controller.cli.state import InventoryOpt, inventory_path
from controller.errors import UsageError
from controller.soc.backends import HttpAlertmanager
from simulations.checks import run_checks
from simulations.faults import Faults, Impairment
from simulations.graph import mermaid
from simulations.lab import Lab
from simulations.scenario import apply_fault, is_campaign, load_scenario, run_scenario

app = typer.Typer(
    help="Run containerlab topologies on network namespaces with real FRR, sshd and snmpd.",
    no_args_is_help=True,
)

Topology = Annotated[Path, typer.Argument(help="containerlab topology file (*.clab.yml).")]
LabDir = Annotated[
    Path | None,
    typer.Option("--lab-dir", help="Lab directory (default: clab-<lab>/ next to the topology)."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _lab(topology: Path, lab_dir: Path | None) -> Lab:
    if not topology.exists():
        raise UsageError(f"{topology}: no such topology file")
    return Lab(topology, lab_dir)


class _Progress:
    """A rich progress bar fed by the lab's ``progress(message, done, total)`` callback."""

    def __init__(self, title: str, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=output.err_console,
            transient=True,
        )
        self.task = self.bar.add_task(title, total=1)

    def __enter__(self) -> _Progress:
        if self.enabled:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.bar.stop()

    def __call__(self, message: str, done: int, total: int) -> None:
        self.bar.update(self.task, description=message, completed=done, total=max(total, 1))


@app.command()
def up(topology: Topology, lab_dir: LabDir = None, json_: Json = False) -> None:
    """Bring the lab up (a no-op if it is up already)."""
    lab = _lab(topology, lab_dir)
    with _Progress(f"lab {lab.name}", not json_) as progress:
        result = lab.up(progress=progress)
    if json_:
        output.print_json(dataclasses.asdict(result))
    elif result.already_up:
        output.console.print(f"lab [bold]{result.lab}[/] is already up")
    else:
        output.console.print(
            f"lab [bold]{result.lab}[/] up in {result.seconds:.1f}s: {result.namespaces} "
            f"namespaces, {result.processes} processes; reach it from namespace "
            f"[bold]{lab.plan.mgmt_netns}[/]"
        )
    _print_legacy(result.legacy_accounts, json_)


def _print_legacy(names: list[str], json_: bool) -> None:
    if names and not json_:
        output.console.print(
            f"removed host account(s) {', '.join(names)} left by an earlier govnet lab"
        )


@app.command()
def down(topology: Topology, lab_dir: LabDir = None, json_: Json = False) -> None:
    """Remove everything the lab made (also after a crashed up); a no-op if it is down."""
    lab = _lab(topology, lab_dir)
    with _Progress(f"lab {lab.name}", not json_) as progress:
        result = lab.down(progress=progress)
    if json_:
        output.print_json(dataclasses.asdict(result))
    elif not result.was_up:
        output.console.print(f"lab [bold]{result.lab}[/] is not up: nothing to do")
    else:
        output.console.print(
            f"lab [bold]{result.lab}[/] down in {result.seconds:.1f}s: "
            f"{len(result.namespaces)} namespaces, {result.killed} processes, "
            f"{len(result.routes)} guard routes removed"
        )
    _print_legacy(result.legacy_accounts, json_)


@app.command()
def status(topology: Topology, lab_dir: LabDir = None, json_: Json = False) -> None:
    """Nodes, processes, links and addresses of the lab."""
    st = _lab(topology, lab_dir).status()
    if json_:
        output.print_json(st.to_dict())
        return
    state = "up" if st.up and st.complete else ("partial" if st.up else "down")
    output.console.print(
        f"lab [bold]{st.lab}[/]: {state} (mgmt namespace {st.mgmt_netns}, {st.mgmt_subnet})"
    )
    output.console.print(
        output.table(
            "nodes",
            ["node", "role", "mgmt", "processes", "addresses"],
            [
                (
                    n.name,
                    n.role,
                    n.mgmt_ipv4,
                    " ".join(f"{p.name}:{p.pid}{'' if p.alive else '✗'}" for p in n.processes)
                    or "-",
                    _short_list(n.addresses),
                )
                for n in st.nodes
            ],
        )
    )
    output.console.print(
        output.table(
            "links",
            ["a", "b", "state", "faults"],
            [
                (ln.a, ln.b, f"{ln.a_state}/{ln.b_state}", ", ".join(ln.faults) or "-")
                for ln in st.links
            ],
        )
    )


def _short_list(items: list[str], limit: int = 4) -> str:
    more = f" (+{len(items) - limit})" if len(items) > limit else ""
    return " ".join(items[:limit]) + more


@app.command("exec")
def exec_(
    topology: Topology,
    node: Annotated[str, typer.Argument(help="Node name.")],
    command: Annotated[list[str], typer.Argument(help="Command (after --).")],
    lab_dir: LabDir = None,
) -> None:
    """Run a command in a node's namespace: exec TOPOLOGY NODE -- CMD..."""
    proc = _lab(topology, lab_dir).exec(node, command, capture=False)
    raise typer.Exit(proc.returncode)


@app.command()
def graph(topology: Topology) -> None:
    """Print the topology as a Mermaid flowchart."""
    print(mermaid(_lab(topology, None).topology), end="")


class FaultAction(StrEnum):
    link_down = "link-down"
    link_up = "link-up"
    impair = "impair"
    node_stop = "node-stop"
    node_start = "node-start"
    path_down = "path-down"
    path_up = "path-up"
    psk_wrong = "psk-wrong"
    clear = "clear"


@app.command()
def fault(
    topology: Topology,
    action: Annotated[FaultAction, typer.Argument(help="What to do.")],
    target: Annotated[
        str | None,
        typer.Argument(
            help="NODE:IFACE for links, NODE for nodes, A--B for the path between two nodes"
            " across the transit node they share (path-down/up), NODE:CONNECTION for an"
            " IPsec tunnel end (psk-wrong)."
        ),
    ] = None,
    delay: Annotated[str | None, typer.Option(help="impair: one-way delay, e.g. 80ms.")] = None,
    jitter: Annotated[str | None, typer.Option(help="impair: ± jitter, e.g. 10ms.")] = None,
    loss: Annotated[str | None, typer.Option(help="impair: egress loss, e.g. 5%.")] = None,
    rate: Annotated[str | None, typer.Option(help="impair: rate limit, e.g. 2mbit.")] = None,
    lab_dir: LabDir = None,
) -> None:
    """Inject a fault: link-down/link-up A:eth1, impair A:eth1 --delay --jitter --loss
    --rate, node-stop/node-start N, path-down/path-up A--B (drop what the transit between
    A and B forwards, e.g. a mission's tunnel to the NDC), psk-wrong NODE:CONNECTION (a
    wrong IPsec pre-shared key at that end), clear."""
    lab = _lab(topology, lab_dir)
    if action is FaultAction.clear:
        output.console.print(f"cleared {Faults(lab).clear()} fault(s)")
        return
    if not target:
        raise UsageError(f"fault {action.value} needs a target")
    if action is FaultAction.impair:
        if not any((delay, jitter, loss, rate)):
            raise UsageError("impair needs at least one of --delay, --jitter, --loss, --rate")
        Faults(lab).impair(target, Impairment.parse(delay, jitter, loss, rate))
        output.console.print(f"impaired {target}")
        return
    output.console.print(apply_fault(Faults(lab), f"{action.value} {target}"))


@app.command()
def check(
    topology: Topology,
    checks_file: Annotated[
        Path | None, typer.Option("--file", "-f", help="YAML list of checks.")
    ] = None,
    ospf: Annotated[
        list[str] | None, typer.Option(help="NODE[=FULL]: OSPF Full neighbours.")
    ] = None,
    ping: Annotated[list[str] | None, typer.Option(help="NODE=ADDRESS: ping from NODE.")] = None,
    snmp: Annotated[
        list[str] | None, typer.Option(help="ADDRESS[=COMMUNITY]: SNMP answers.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each check.")] = 30.0,
    lab_dir: LabDir = None,
    json_: Json = False,
) -> None:
    """Wait until the given checks pass (or time out); exit 1 if any fails."""
    specs: list[dict[str, Any]] = []
    if checks_file is not None:
        loaded = yaml.safe_load(checks_file.read_text(encoding="utf-8"))
        if not isinstance(loaded, list):
            raise UsageError(f"{checks_file}: expected a YAML list of checks")
        specs += loaded
    for item in ospf or []:
        node, _, full = item.partition("=")
        specs.append({"ospf": {"node": node, "full": int(full or 1)}, "timeout": timeout})
    for item in ping or []:
        node, _, addr = item.partition("=")
        specs.append({"ping": {"from": node, "to": addr}, "timeout": timeout})
    for item in snmp or []:
        addr, _, community = item.partition("=")
        args: dict[str, Any] = {"address": addr}
        if community:
            args["community"] = community
        specs.append({"snmp": args, "timeout": timeout})
    if not specs:
        raise UsageError("no checks given (use --ospf, --ping, --snmp or --file)")
    results = run_checks(_lab(topology, lab_dir), specs)
    if json_:
        output.print_json([dataclasses.asdict(r) for r in results])
    else:
        output.console.print(
            output.table(
                "checks",
                ["check", "result", "detail", "seconds"],
                [
                    (r.name, "ok" if r.ok else "FAILED", r.detail, f"{r.seconds:.1f}")
                    for r in results
                ],
            )
        )
    if not all(r.ok for r in results):
        raise typer.Exit(1)


scenario_app = typer.Typer(help="Declarative fault scenarios.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("run")
def scenario_run(
    ctx: typer.Context,
    topology: Topology,
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (or a shipped one's name).")],
    soc: Annotated[
        bool,
        typer.Option(
            "--soc",
            help="For a campaign (a scenario with alerts steps): start the probes in the lab's"
            " NMS namespace and Prometheus + Alertmanager on free loopback ports for the run"
            " (the inventory is -i, the one the lab was rendered from), stopped afterwards.",
        ),
    ] = False,
    alertmanager_url: Annotated[
        str | None,
        typer.Option(
            "--alertmanager-url",
            help="For a campaign: judge its alerts steps against this running Alertmanager"
            " (govnet soc up, with govnet probe serve polling the lab).",
        ),
    ] = None,
    inventory: InventoryOpt = None,
    lab_dir: LabDir = None,
    json_: Json = False,
) -> None:
    """Run a scenario's fault/wait/check/alerts steps against a lab that is up. A
    campaign's alerts steps say which alerts must page, which must exist but stay
    suppressed, which must stay quiet and which must be resolved; they need --soc or
    --alertmanager-url. The shipped campaigns for topologies/lab.clab.yml: province-cut,
    dual-homed-uplink-loss, core-node-loss, ministry-link-loss, flapping-commune and
    soc-drill (simulations/scenarios/)."""
    lab = _lab(topology, lab_dir)
    if soc and alertmanager_url:
        raise UsageError("--soc and --alertmanager-url exclude each other")
    with contextlib.ExitStack() as stack:
        alerts = None
        if alertmanager_url:
            alerts = HttpAlertmanager(alertmanager_url).alerts
        elif soc and is_campaign(load_scenario(scenario)):
            from simulations.campaign import CampaignSoc

            nms = [n.name for n in lab.plan.nodes if n.node.labels.get("govnet-role") == "nms"]
            if not nms:
                raise UsageError(f"{topology}: no node labelled govnet-role: nms to probe from")
            campaign = CampaignSoc(
                inventory_path(ctx, inventory),
                lab.plan.node(nms[0]).netns,
                lab.plan.lab_dir / "campaign-soc",
                log=lambda message: output.err_console.print(message, markup=False),
            )
            alerts = stack.enter_context(campaign).alerts
        with _Progress(f"scenario {scenario.stem}", not json_) as progress:
            result = run_scenario(lab, scenario, progress, alerts)
    if json_:
        output.print_json(dataclasses.asdict(result))
    else:
        output.console.print(
            output.table(
                f"scenario {result.name}",
                ["step", "kind", "what", "result", "detail"],
                [
                    (s.index, s.kind, s.description, "ok" if s.ok else "FAILED", s.detail)
                    for s in result.steps
                ],
            )
        )
    if not result.ok:
        raise typer.Exit(1)

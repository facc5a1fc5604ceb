"""The lab twin on the CLI: `govnet change impact --verify-lab`, and the probe gate that
`govnet change rehearse` and `govnet link apply --change` put on the safe-change path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.change.gate import ProbeGate
from controller.change.impact import Failure, Impact, Network
from controller.change.probing import probe_poller, sites_of
from controller.change.twin import Expectation, expectation, lab_faults, summary
from controller.cli import output
from controller.cli.provisioning import Reach
from controller.errors import UsageError
from controller.inventory.model import Inventory, Role
from controller.provision.plan import settle_seconds

if TYPE_CHECKING:
    from simulations.twin import Settled, TwinRun


@dataclass
class TwinReport:
    topology: Path
    predicted: Expectation
    run: TwinRun

    @property
    def ok(self) -> bool:
        return self.run.ok

    @property
    def as_json(self) -> dict[str, Any]:
        def settled(s: Settled | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {
                "ok": s.ok,
                "seconds": round(s.seconds, 1),
                "rounds": s.rounds,
                "mismatches": [m.as_text() for m in s.mismatches],
            }

        after = self.run.after
        return {
            "topology": str(self.topology),
            "ok": self.ok,
            "faults": [f.as_text() for f in self.run.faults],
            "before": settled(self.run.before),
            "after": settled(after),
            "healed": settled(self.run.healed),
            "observed": summary(self.predicted, after.observation) if after else None,
            "notes": self.run.notes,
        }

    def print(self) -> None:
        console = output.console
        faults = ", ".join(f.as_text() for f in self.run.faults)
        console.print(f"[bold]Lab twin[/bold] {self.topology}: {faults}")
        before, after, healed = self.run.before, self.run.after, self.run.healed
        if not before.ok or after is None:
            _mismatches("Before the faults, the lab differs from the inventory", before)
        else:
            seen = summary(self.predicted, after.observation)
            rows = [
                ("answer the NMS", len(seen["monitored"]), _names(seen["unmonitored"], "cut off")),
                (
                    "answer a data centre",
                    len(seen["connected"]),
                    _names(seen["isolated"], "isolated"),
                ),
            ]
            console.print(output.table("Observed with the faults", ["", "targets", ""], rows))
            if after.ok:
                console.print(
                    f"[green]observed = predicted[/green] (settled in {after.seconds:.1f} s,"
                    f" {after.rounds} rounds)"
                )
            else:
                _mismatches(f"Observed ≠ predicted after {after.seconds:.1f} s", after)
        if healed is not None:
            state = "as before" if healed.ok else "NOT as before"
            console.print(f"faults healed: the lab answers {state} after {healed.seconds:.1f} s")
        for note in self.run.notes:
            output.err_console.print(note, markup=False)


def _names(names: list[str], word: str) -> str:
    return f"{len(names)} {word}: {', '.join(names)}" if names else f"none {word}"


def _mismatches(title: str, settled: Settled) -> None:
    rows = [(m.device, m.view, m.predicted, m.observed) for m in settled.mismatches]
    columns = ["device", "seen from", "predicted", "observed"]
    output.console.print(output.table(title, columns, rows))


def verify(
    network: Network, impact: Impact, topology: Path, timeout: float, *, quiet: bool
) -> TwinReport:
    """Play ``impact``'s failure in the lab at ``topology`` and compare."""
    from simulations.lab import Lab  # the lab is optional for real networks
    from simulations.twin import verify_in_lab

    if not topology.exists():
        raise UsageError(f"--verify-lab {topology}: no such topology file")
    lab = Lab(topology)
    present = {node.name for node in lab.plan.nodes}
    faults = lab_faults(network, impact.failure, present)
    baseline = expectation(network, network.impact(Failure()), present)
    predicted = expectation(network, impact, present)
    failed = set(impact.failure.devices) | {
        end for link in impact.failure.links for end in link.split("--")
    }
    touched = {name.split(":")[0] for name in failed}
    floor = settle_seconds(network.inv, touched, timeout / 2)
    if not quiet:
        output.err_console.print(
            f"playing {len(faults)} fault(s) in lab {lab.name}; waiting up to {timeout:g} s"
        )
    run = verify_in_lab(lab, faults, baseline, predicted, timeout=timeout, floor=floor)
    return TwinReport(topology, predicted, run)


# ---------------------------------------------------------------------------- probe gate


def install_gate(inv: Inventory, where: Reach, production: bool) -> ProbeGate:
    """The probe gate on ``where``'s options: probing from the lab's NMS namespace, or
    — for the real network — from this machine's (``production`` must be declared)."""
    netns = None
    if where.lab is not None:
        present = where.options.lab_nodes
        nms = sorted(
            d.name
            for d in inv.devices
            if d.role == Role.NMS and (present is None or d.name in present)
        )
        if not nms:
            raise UsageError(f"lab {where.lab}: no NMS node to run the probes from")
        netns = f"clab-{where.lab}-{nms[0]}"
    gate = ProbeGate(probe_poller(inv, netns, production), sites_of(inv))
    where.options.gate = gate
    return gate


def print_sites(gate: ProbeGate) -> None:
    report = gate.report()
    rows = [
        (c["site"], c["before"], c["after"], ", ".join(c["devices"]))
        for c in report["sites_changed"]
    ]
    if rows:
        columns = ["site", "before", "after", "devices"]
        output.console.print(output.table("Sites whose reachability changed", columns, rows))
    output.console.print(f"probe gate: {report['summary']}")

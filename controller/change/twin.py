"""The lab as a twin of the inventory: what a failure should look like there, and how
an observation differs from it. Pure — the lab is driven by :mod:`simulations.twin`.

A prediction (:class:`controller.change.impact.Impact`) becomes two expected sets over
the lab's targets (every device present in the lab but the NMS and the failed ones,
reached on its loopback):

- ``monitored`` — answers ICMP from the NMS (the probes' view): every target not
  ``unmonitored``;
- ``connected`` — answers ICMP from a data-centre device (NDC or DR gateway, the ends
  of "isolated"): every target not ``isolated``.

``degraded`` cannot be seen with a ping (a degraded device still answers); it is
checked as part of ``connected``. The failure itself becomes lab faults: a failed link
is cut (``link-down`` at its a end), a failed device or every device of a failed site is
stopped (``node-stop``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from controller.change.impact import Failure, Impact, Network
from controller.errors import GovnetError
from controller.inventory.model import Role

NMS_VIEW = "NMS"
DC_VIEW = "data centres"


class TwinError(GovnetError):
    """The failure or the prediction cannot be played in this lab."""


@dataclass(frozen=True, order=True)
class LabFault:
    kind: str  # link-down | node-stop
    target: str  # NODE:IFACE for a link, NODE for a node

    def as_text(self) -> str:
        return f"{self.kind} {self.target}"


@dataclass(frozen=True)
class Expectation:
    """Who should answer from where. ``addresses``: target → its loopback."""

    addresses: dict[str, str]
    monitored: frozenset[str]
    connected: frozenset[str]
    nms: tuple[str, ...]  # the NMS devices pinging (not failed)
    observers: tuple[str, ...]  # the data-centre devices pinging (not failed)


@dataclass(frozen=True)
class Observation:
    monitored: frozenset[str]  # answered the NMS
    connected: frozenset[str]  # answered some data-centre device


@dataclass(frozen=True, order=True)
class Mismatch:
    device: str
    view: str  # NMS_VIEW | DC_VIEW
    predicted: str  # reachable | cut off
    observed: str

    def as_text(self) -> str:
        return (
            f"{self.device}: from the {self.view} predicted {self.predicted}, "
            f"observed {self.observed}"
        )


def lab_faults(network: Network, failure: Failure, present: Collection[str]) -> list[LabFault]:
    """The faults that play ``failure`` in a lab with nodes ``present``; a failed element
    the lab does not have is a :class:`TwinError` (the twin would not be one)."""
    network.check(failure)
    faults: list[LabFault] = []
    missing: list[str] = []
    for link_id in failure.links:
        link = network.links[link_id]
        if link.a_device in present and link.b_device in present:
            faults.append(LabFault("link-down", f"{link.a_device}:{link.a_interface}"))
        else:
            missing.append(f"link {link_id}")
    nodes = list(failure.devices)
    for site in failure.sites:
        nodes += network.sites[site]
    for node in dict.fromkeys(nodes):
        if node in present:
            faults.append(LabFault("node-stop", node))
        else:
            missing.append(f"device {node}")
    if missing:
        raise TwinError(f"not in the lab: {', '.join(missing)}")
    return faults


def expectation(network: Network, impact: Impact, present: Collection[str]) -> Expectation:
    """What the lab should answer with ``impact``'s failure in place."""
    down = set(impact.names("down"))
    devices = [d for d in network.inv.devices if d.name in present and d.name not in down]
    addresses = {
        d.name: str(d.loopback) for d in devices if d.role != Role.NMS and d.loopback is not None
    }
    isolated = set(impact.names("isolated"))
    unmonitored = set(impact.names("unmonitored"))
    nms = tuple(sorted(d.name for d in devices if d.role == Role.NMS))
    observers = tuple(sorted(d.name for d in devices if network.is_dc(d.name)))
    return Expectation(
        addresses=addresses,
        monitored=frozenset(n for n in addresses if n not in unmonitored and nms),
        connected=frozenset(n for n in addresses if n not in isolated and observers),
        nms=nms,
        observers=observers,
    )


def compare(expected: Expectation, observed: Observation) -> list[Mismatch]:
    """Every target whose observed reachability differs from the prediction, sorted."""
    found: list[Mismatch] = []
    for view, want, got in (
        (NMS_VIEW, expected.monitored, observed.monitored),
        (DC_VIEW, expected.connected, observed.connected),
    ):
        for name in expected.addresses:
            predicted, seen = name in want, name in got
            if predicted != seen:
                found.append(Mismatch(name, view, _word(predicted), _word(seen)))
    return sorted(found)


def _word(reachable: bool) -> str:
    return "reachable" if reachable else "cut off"


def summary(expected: Expectation, observed: Observation) -> dict[str, list[str]]:
    """Sorted names per outcome, for people and for --json."""

    def names(items: Iterable[str]) -> list[str]:
        return sorted(items)

    targets = set(expected.addresses)
    return {
        "monitored": names(observed.monitored & targets),
        "unmonitored": names(targets - observed.monitored),
        "connected": names(observed.connected & targets),
        "isolated": names(targets - observed.connected),
    }

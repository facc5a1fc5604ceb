"""What govnet owns on a device: the managed scope of each platform, as data.

Each platform declares beside its templates (``controller/templates/<platform>/scope.yaml``)
the top-level lines and blocks govnet manages, grouped into features (interfaces,
ospf, bgp, logging, snmp, …). The diff only ever sees the managed part of a running
configuration: inside the scope it converges fully (what the inventory no longer
wants is removed), outside it nothing is removed or changed — AAA, local users,
``line vty``, crypto, banners, the management interface and hand-made ACLs stay as
the engineers left them.

A rule matches a top-level line by a regular expression and says who owns the lines
it matches (``owner``):

- ``all``: every matching line (``router ospf``, ``hostname``, syslog hosts);
- ``rendered``: only lines whose ``key`` group the intended config also renders
  (a static route to a prefix the inventory names; an SNMP group govnet creates);
- ``inventory-interfaces``: interfaces the inventory names for the device, or that
  the intended config renders (``lo``, ``Loopback0``); the parent of a rendered
  sub-interface (``eth3`` of ``eth3.1000``) stays the engineers'.

``keep`` lists child lines of a managed block govnet never touches
(``negotiation auto`` on an IOS port). Pure functions; the tables are read once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

import yaml

from controller.errors import GovnetError
from controller.inventory.model import Platform
from controller.provision.store import mask_secrets
from controller.provision.tree import Node
from controller.render.templates import TEMPLATES


class ScopeError(GovnetError):
    """A platform's managed-scope table is missing or malformed."""


class Owner(StrEnum):
    all = "all"
    rendered = "rendered"
    inventory_interfaces = "inventory-interfaces"


@dataclass(frozen=True)
class Rule:
    feature: str
    pattern: re.Pattern[str]
    owner: Owner = Owner.all
    keep: tuple[re.Pattern[str], ...] = ()

    def key(self, line: str) -> str | None:
        """The line's key (``key`` group, else the whole match) when the rule matches."""
        m = self.pattern.search(line)
        if m is None:
            return None
        return m.group("key") if "key" in self.pattern.groupindex else m.group(0)


@dataclass(frozen=True)
class Scope:
    platform: str
    rules: tuple[Rule, ...]

    @property
    def features(self) -> list[str]:
        """Feature names in the order the table declares them."""
        return list(dict.fromkeys(r.feature for r in self.rules))

    def rule_for(self, line: str) -> Rule | None:
        """The first rule that matches a top-level line."""
        return next((r for r in self.rules if r.pattern.search(line)), None)

    def feature_of(self, line: str) -> str | None:
        rule = self.rule_for(line)
        return rule.feature if rule else None

    def managed(self, running: Node, intended: Node, interfaces: Iterable[str] = ()) -> Node:
        """The part of ``running`` govnet owns, given what ``intended`` renders and the
        interfaces the inventory names. Everything else is left out, so the diff never
        sees it."""
        owned: dict[Rule, set[str]] = {}
        named = set(interfaces)
        for node in intended.children:
            rule = self.rule_for(node.line)
            key = rule.key(node.line) if rule else None
            if rule is not None and key is not None:
                owned.setdefault(rule, set()).add(key)
        # the parent of a rendered sub-interface (eth3 of eth3.1000) carries the
        # engineers' trunk settings: never emptied because the template renders nothing
        parents = {k.split(".")[0] for k in self._rendered_interfaces(owned) if "." in k}
        named -= parents
        wanted = {n.line for n in intended.children}
        kept: list[Node] = []
        for node in running.children:
            rule = self.rule_for(node.line)
            if rule is None:
                if node.line in wanted:  # a table gap never hides an agreeing line
                    kept.append(node)
                continue
            key = rule.key(node.line)
            keys = owned.get(rule, set())
            if rule.owner is Owner.rendered and key not in keys:
                continue
            if rule.owner is Owner.inventory_interfaces and key not in keys | named:
                continue
            node = _without(node, rule.keep)
            bare = rule.owner is Owner.inventory_interfaces and not node.children
            if bare and node.line not in wanted:  # a bare port: nothing of govnet's on it
                continue
            kept.append(node)
        return Node(running.line, kept)

    @staticmethod
    def _rendered_interfaces(owned: dict[Rule, set[str]]) -> set[str]:
        return {
            key
            for rule, keys in owned.items()
            if rule.owner is Owner.inventory_interfaces
            for key in keys
        }

    def unowned(self, intended: Node) -> list[str]:
        """Top-level intended lines no rule claims (a gap in the table: a bug)."""
        return [n.line for n in intended.children if self.rule_for(n.line) is None]


def _without(node: Node, keep: tuple[re.Pattern[str], ...]) -> Node:
    if not keep:
        return node
    children = [c for c in node.children if not any(p.search(c.line) for p in keep)]
    return Node(node.line, children)


@dataclass
class FeatureCompliance:
    """One feature of one device: compliant, or the lines missing and extra."""

    feature: str
    missing: list[list[str]] = field(default_factory=list)
    """Lines the inventory wants that the device lacks, each as its block path."""
    extra: list[list[str]] = field(default_factory=list)
    """Lines the device has in govnet's scope that the inventory does not want."""

    @property
    def compliant(self) -> bool:
        return not self.missing and not self.extra

    def as_dict(self) -> dict[str, object]:
        """For output: every line with its secrets masked (an ``ip ospf
        authentication-key`` added by hand is reported, its key never)."""
        return {
            "feature": self.feature,
            "compliant": self.compliant,
            "missing": [[mask_secrets(line) for line in path] for path in self.missing],
            "extra": [[mask_secrets(line) for line in path] for path in self.extra],
        }


def compliance(scope: Scope, managed: Node, intended: Node) -> list[FeatureCompliance]:
    """Per feature (declared order; only features either side has): the lines missing
    from the managed running config and the extra ones."""
    by_feature: dict[str, FeatureCompliance] = {}
    for tree in (intended, managed):
        for node in tree.children:
            feature = scope.feature_of(node.line) or "unscoped"
            by_feature.setdefault(feature, FeatureCompliance(feature))
    have = _paths(managed)
    want = _paths(intended)
    have_set, want_set = set(have), set(want)
    for path in want:
        if path not in have_set:
            by_feature[scope.feature_of(path[0]) or "unscoped"].missing.append(list(path))
    for path in have:
        if path not in want_set:
            by_feature[scope.feature_of(path[0]) or "unscoped"].extra.append(list(path))
    order = {name: i for i, name in enumerate([*scope.features, "unscoped"])}
    return sorted(by_feature.values(), key=lambda f: order[f.feature])


def _paths(root: Node) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []

    def walk(node: Node, prefix: tuple[str, ...]) -> None:
        for child in node.children:
            path = (*prefix, child.line)
            out.append(path)
            walk(child, path)

    walk(root, ())
    return out


# ---------------------------------------------------------------- the tables


def scope_path(platform: Platform) -> Path:
    return TEMPLATES / platform.value / "scope.yaml"


@cache
def load_scope(platform: Platform) -> Scope:
    """The managed scope of ``platform`` from its ``scope.yaml``."""
    path = scope_path(platform)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScopeError(f"{path}: cannot read the managed scope: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ScopeError(f"{path}: not valid YAML: {exc}") from exc
    return parse_scope(platform.value, data, str(path))


def parse_scope(platform: str, data: object, where: str) -> Scope:
    """A scope table from its YAML data; every problem names the feature and rule."""
    if not isinstance(data, dict) or not isinstance(data.get("features"), dict):
        raise ScopeError(f"{where}: expected a mapping with `features:`")
    rules: list[Rule] = []
    for feature, entries in data["features"].items():
        if not isinstance(entries, list) or not entries:
            raise ScopeError(f"{where}: features.{feature}: expected a list of rules")
        for i, entry in enumerate(entries):
            at = f"{where}: features.{feature}[{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("match"), str):
                raise ScopeError(f"{at}: expected `match: REGEX`")
            unknown = set(entry) - {"match", "owner", "keep"}
            if unknown:
                raise ScopeError(f"{at}: unknown keys {', '.join(sorted(unknown))}")
            try:
                owner = Owner(entry.get("owner", "all"))
            except ValueError:
                choices = ", ".join(o.value for o in Owner)
                raise ScopeError(f"{at}: owner must be one of {choices}") from None
            try:
                pattern = re.compile(entry["match"])
                keep = tuple(re.compile(k) for k in entry.get("keep", []))
            except (re.error, TypeError) as exc:
                raise ScopeError(f"{at}: bad regular expression: {exc}") from exc
            if owner is not Owner.all and "key" not in pattern.groupindex:
                raise ScopeError(f"{at}: owner {owner.value} needs a (?P<key>…) group")
            rules.append(Rule(str(feature), pattern, owner, keep))
    return Scope(platform, tuple(rules))

"""Load a containerlab topology file into typed, fully resolved data.

Pipeline (each stage collects every problem it finds, located ``file:line: field: msg``):
read → expand ``${VAR}`` / ``${VAR:=default}`` → parse YAML → validate against
containerlab's JSON schema (draft-07, with the documented regex quirks) → our own checks
(endpoint format, references, supported kinds, management addresses) → resolve settings
node → group → kind → defaults.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from controller.errors import Problem
from controller.yamlc import FAST_LOADER as _Loader
from simulations.errors import TopologyFileError

SCHEMA_PATH = Path(
    os.environ.get("GOVNET_CLAB_SCHEMA", "/work/shared/containerlab/clab.schema.json")
)
SUPPORTED_KINDS = ("linux",)
FRR_IMAGE_GLOB = "*frrouting/frr*"
DEFAULT_MGMT_SUBNET = "172.20.20.0/24"
MAX_IFNAME = 15
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::=([^}]*))?\}")
_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_UNICODE_CLASS = r"[\p{N}\p{L}]"


@dataclass(frozen=True)
class Bind:
    """One ``source:target[:mode]`` bind, source resolved against the topology directory."""

    source: Path
    target: str
    mode: str = "rw"


@dataclass(frozen=True)
class Endpoint:
    node: str
    iface: str

    def __str__(self) -> str:
        return f"{self.node}:{self.iface}"


@dataclass(frozen=True)
class Link:
    index: int
    a: Endpoint
    b: Endpoint
    ipv4: tuple[str | None, str | None] = (None, None)
    mtu: int | None = None

    def endpoints(self) -> tuple[Endpoint, Endpoint]:
        return (self.a, self.b)


@dataclass(frozen=True)
class Node:
    """A node with every setting resolved (node → group → kind → defaults)."""

    name: str
    kind: str
    image: str = ""
    group: str | None = None
    binds: tuple[Bind, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    exec: tuple[str, ...] = ()
    mgmt_ipv4: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    startup_config: Path | None = None

    @property
    def is_frr(self) -> bool:
        return self.kind == "linux" and fnmatch.fnmatch(self.image, FRR_IMAGE_GLOB)

    def bind_source(self, target: str) -> Path | None:
        """The host path bound at ``target`` inside the node, if any."""
        for bind in self.binds:
            if bind.target.rstrip("/") == target.rstrip("/"):
                return bind.source
        return None


@dataclass(frozen=True)
class Mgmt:
    network: str
    ipv4_subnet: ipaddress.IPv4Network
    ipv4_gw: ipaddress.IPv4Address | None = None


@dataclass(frozen=True)
class Topology:
    name: str
    path: Path
    nodes: Mapping[str, Node]
    links: tuple[Link, ...]
    mgmt: Mgmt

    @property
    def directory(self) -> Path:
        return self.path.parent


# --------------------------------------------------------------------------- schema


def _patch_patterns(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                v.replace(_UNICODE_CLASS, r"[^\W_]")
                if k == "pattern" and isinstance(v, str)
                else _patch_patterns(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_patch_patterns(v) for v in value]
    return value


@cache
def _validator(schema_path: Path) -> jsonschema.Draft7Validator:
    schema = _patch_patterns(json.loads(schema_path.read_text(encoding="utf-8")))
    return jsonschema.Draft7Validator(schema)


def _line_of(root: yaml.Node | None, path: Sequence[str | int]) -> int:
    """1-based line of the deepest YAML node reached by ``path`` (0 if unknown)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else 0
    for part in path:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, val in node.value:
                if key.value == str(part):
                    nxt = val
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            break
        node = nxt
    return line


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _schema_message(err: ValidationError) -> str:
    kind = err.validator
    if kind == "additionalProperties":
        return err.message.replace("Additional properties are not allowed", "unknown key")
    if kind == "enum":
        return f"{_short(err.instance)} is not an allowed value"
    if kind == "pattern":
        return f"{_short(err.instance)} has an invalid format"
    if kind == "type":
        return f"{_short(err.instance)} is not of type {err.validator_value}"
    if kind == "required":
        return err.message
    return f"{_short(err.instance)}: {err.message[:120]}"


def _unknown_keys(err: ValidationError) -> list[str]:
    if err.validator != "additionalProperties" or not isinstance(err.instance, dict):
        return []
    known = set(err.schema.get("properties", {})) if isinstance(err.schema, dict) else set()
    patterns = list(err.schema.get("patternProperties", {})) if isinstance(err.schema, dict) else []
    return [
        str(k)
        for k in err.instance
        if k not in known and not any(re.search(p, str(k)) for p in patterns)
    ]


def _leaf(err: ValidationError) -> ValidationError:
    """The most specific error under a oneOf/anyOf: skip branches that failed only on
    type (e.g. ``null`` for a node), then prefer the deepest path."""
    for _ in range(32):  # bounded descent through oneOf/anyOf contexts
        if not err.context:
            break
        ctx = list(err.context)
        typed = [e for e in ctx if not (e.validator == "type" and not e.relative_path)]
        pool = typed or ctx
        deepest = max(len(e.absolute_path) for e in pool)
        nxt = best_match([e for e in pool if len(e.absolute_path) == deepest])
        if nxt is None:
            break
        err = nxt
    return err


def _field(path: Iterable[str | int]) -> str:
    return ".".join(str(p) for p in path)


# --------------------------------------------------------------------------- loading


class _Collector:
    def __init__(self, file: str, root: yaml.Node | None = None) -> None:
        self.file = file
        self.root = root
        self.problems: list[Problem] = []

    def add(self, path: Sequence[str | int], message: str, line: int | None = None) -> None:
        where = line if line is not None else _line_of(self.root, path)
        self.problems.append(Problem(self.file, where, _field(path), message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise TopologyFileError(self.problems)


def expand_env(text: str, env: Mapping[str, str], file: str = "<topology>") -> str:
    """Expand ``${VAR}`` and ``${VAR:=default}``; an unset ``${VAR}`` is an error."""
    problems = _Collector(file)
    out: list[str] = []
    for lineno, line in enumerate(text.splitlines(keepends=True), start=1):

        def repl(match: re.Match[str], lineno: int = lineno) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.add([], f"${{{name}}} is not set and has no default", line=lineno)
            return ""

        out.append(_ENV_REF.sub(repl, line))
    problems.raise_if_any()
    return "".join(out)


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, from one parse. A file
    that does not parse is parsed again by the Python parser, whose messages say more
    ("expected ',' or '}', but got '<stream end>'")."""
    try:
        return _parse_with(_Loader, text)
    except yaml.YAMLError:
        if _Loader is yaml.SafeLoader:
            raise
        return _parse_with(yaml.SafeLoader, text)


def _parse_with(cls: type[yaml.SafeLoader], text: str) -> tuple[yaml.Node | None, Any]:
    loader = cls(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def load_topology(
    path: str | Path, env: Mapping[str, str] | None = None, schema: Path | None = None
) -> Topology:
    """Read, validate and resolve a containerlab topology file."""
    file = Path(path)
    name = str(file)
    try:
        raw = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TopologyFileError([Problem(name, 0, "", f"cannot read: {exc.strerror}")]) from exc
    text = expand_env(raw, os.environ if env is None else env, name)
    try:
        root, data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise TopologyFileError([Problem(name, line, "", f"invalid YAML: {problem}")]) from exc
    col = _Collector(name, root)
    if not isinstance(data, dict):
        col.add([], "a topology must be a mapping with 'name' and 'topology'")
        col.raise_if_any()
    validator = _validator(schema or SCHEMA_PATH)
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        leaf = _leaf(err)
        extras = _unknown_keys(leaf)
        if extras:
            for key in extras:
                col.add([*leaf.absolute_path, key], f"unknown key {key!r}")
        else:
            col.add(list(leaf.absolute_path), _schema_message(leaf))
    col.raise_if_any()
    return _build(data, file.resolve(), col)


# --------------------------------------------------------------------------- resolution


def _layers(
    data: Mapping[str, Any], node_name: str
) -> list[tuple[list[str | int], dict[str, Any]]]:
    """The settings layers of one node, most specific first, with their YAML paths."""
    topo = data.get("topology") or {}
    node = (topo.get("nodes") or {}).get(node_name) or {}
    layers: list[tuple[list[str | int], dict[str, Any]]] = [
        (["topology", "nodes", node_name], node)
    ]
    group = node.get("group")
    groups = topo.get("groups") or {}
    if group and group in groups:
        layers.append((["topology", "groups", group], groups[group] or {}))
    defaults = topo.get("defaults") or {}
    kind = next((layer.get("kind") for _, layer in layers if layer.get("kind")), None)
    kind = kind or defaults.get("kind")
    kinds = topo.get("kinds") or {}
    if kind and kind in kinds:
        layers.append((["topology", "kinds", kind], kinds[kind] or {}))
    layers.append((["topology", "defaults"], defaults))
    return layers


def _first(layers: Sequence[tuple[list[str | int], dict[str, Any]]], key: str) -> Any:
    for _, layer in layers:
        if layer.get(key) not in (None, "", []):
            return layer[key]
    return None


def _merged_map(
    layers: Sequence[tuple[list[str | int], dict[str, Any]]], key: str
) -> dict[str, str]:
    merged: dict[str, str] = {}
    for _, layer in reversed(layers):
        for k, v in (layer.get(key) or {}).items():
            merged[str(k)] = _scalar(v)
    return merged


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _resolve_binds(
    layers: Sequence[tuple[list[str | int], dict[str, Any]]], base: Path, col: _Collector
) -> tuple[Bind, ...]:
    by_target: dict[str, Bind] = {}
    for path, layer in reversed(layers):  # more specific layers override by target
        for i, spec in enumerate(layer.get("binds") or []):
            parts = str(spec).split(":")
            if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
                col.add([*path, "binds", i], f"{spec!r} is not 'source:target[:mode]'")
                continue
            source = Path(parts[0]).expanduser()
            source = source if source.is_absolute() else (base / source)
            bind = Bind(source, parts[1], parts[2] if len(parts) == 3 else "rw")
            by_target[bind.target.rstrip("/")] = bind
    return tuple(by_target.values())


def _parse_endpoint(value: Any) -> Endpoint | None:
    if isinstance(value, dict):
        node, iface = value.get("node"), value.get("interface")
        return Endpoint(str(node), str(iface)) if node and iface else None
    if not isinstance(value, str) or value.count(":") != 1:
        return None
    node, iface = value.split(":")
    return Endpoint(node, iface) if node and iface and " " not in value else None


def _endpoint_ipv4(value: Any) -> str | None:
    return str(value["ipv4"]) if isinstance(value, dict) and value.get("ipv4") else None


def _build_links(data: Mapping[str, Any], nodes: Mapping[str, Node], col: _Collector) -> list[Link]:
    declared = set(data["topology"].get("nodes") or {})
    links: list[Link] = []
    used: dict[Endpoint, int] = {}
    for i, spec in enumerate(data["topology"].get("links") or []):
        path: list[str | int] = ["topology", "links", i]
        ltype = spec.get("type", "veth")
        if ltype != "veth":
            col.add([*path, "type"], f"link type {ltype!r} is not supported (only veth)")
            continue
        raw = spec.get("endpoints") or []
        if len(raw) != 2:
            col.add([*path, "endpoints"], f"a link needs exactly 2 endpoints, got {len(raw)}")
            continue
        eps: list[Endpoint] = []
        for j, value in enumerate(raw):
            ep = _parse_endpoint(value)
            if ep is None:
                col.add([*path, "endpoints", j], f"{_short(value)} is not 'node:interface'")
            elif ep.node not in declared:
                col.add([*path, "endpoints", j], f"{str(ep)!r}: unknown node {ep.node!r}")
            elif ep.node not in nodes:
                continue  # the node itself was rejected; its problem is reported already
            elif ep.iface == "eth0":
                col.add([*path, "endpoints", j], f"{str(ep)!r}: eth0 is the management interface")
            elif len(ep.iface) > MAX_IFNAME or not _IFNAME.match(ep.iface):
                col.add([*path, "endpoints", j], f"{str(ep)!r}: invalid interface name")
            elif ep in used:
                col.add([*path, "endpoints", j], f"{str(ep)!r} is already used by link {used[ep]}")
            else:
                used[ep] = i
                eps.append(ep)
        if len(eps) != 2:
            continue
        short_ips = spec.get("ipv4") or []
        ips = (
            _endpoint_ipv4(raw[0]) or (short_ips[0] if len(short_ips) > 0 else None) or None,
            _endpoint_ipv4(raw[1]) or (short_ips[1] if len(short_ips) > 1 else None) or None,
        )
        links.append(Link(i, eps[0], eps[1], ips, spec.get("mtu")))
    return links


def _build_mgmt(data: Mapping[str, Any], col: _Collector) -> Mgmt:
    mgmt = data.get("mgmt") or {}
    subnet_text = mgmt.get("ipv4-subnet") or DEFAULT_MGMT_SUBNET
    if subnet_text == "auto":
        subnet_text = DEFAULT_MGMT_SUBNET
    try:
        subnet = ipaddress.IPv4Network(subnet_text, strict=False)
    except ValueError:
        col.add(["mgmt", "ipv4-subnet"], f"{subnet_text!r} is not an IPv4 subnet")
        subnet = ipaddress.IPv4Network(DEFAULT_MGMT_SUBNET)
    gw = None
    if mgmt.get("ipv4-gw"):
        gw = ipaddress.IPv4Address(str(mgmt["ipv4-gw"]).split("%")[0])
        if gw not in subnet:
            col.add(["mgmt", "ipv4-gw"], f"{str(gw)!r} is outside {subnet}")
    return Mgmt(str(mgmt.get("network") or "clab"), subnet, gw)


def _build(data: Mapping[str, Any], path: Path, col: _Collector) -> Topology:
    topo = data["topology"]
    mgmt = _build_mgmt(data, col)
    nodes: dict[str, Node] = {}
    seen_ips: dict[str, str] = {}
    for name in topo.get("nodes") or {}:
        layers = _layers(data, name)
        node_path = ["topology", "nodes", name]
        group = (topo["nodes"][name] or {}).get("group")
        if group and group not in (topo.get("groups") or {}):
            col.add([*node_path, "group"], f"node {name!r}: unknown group {group!r}")
        kind = _first(layers, "kind")
        if not kind:
            col.add(node_path, f"node {name!r} has no kind (set it on the node, group or defaults)")
            continue
        if kind not in SUPPORTED_KINDS:
            col.add(
                [*node_path, "kind"],
                f"node {name!r}: kind {kind!r} is not supported by the namespace lab "
                f"(supported: {', '.join(SUPPORTED_KINDS)})",
            )
            continue
        mgmt_ip = _first(layers, "mgmt-ipv4")
        if mgmt_ip:
            mgmt_ip = str(mgmt_ip).split("%")[0]
            addr = ipaddress.IPv4Address(mgmt_ip)
            if addr not in mgmt.ipv4_subnet or addr in (
                mgmt.ipv4_subnet.network_address,
                mgmt.ipv4_subnet.broadcast_address,
            ):
                col.add(
                    [*node_path, "mgmt-ipv4"], f"{mgmt_ip!r} is not a host of {mgmt.ipv4_subnet}"
                )
            elif mgmt_ip in seen_ips:
                col.add(
                    [*node_path, "mgmt-ipv4"],
                    f"{mgmt_ip!r} is already used by {seen_ips[mgmt_ip]!r}",
                )
            seen_ips[mgmt_ip] = name
        startup = _first(layers, "startup-config")
        startup_path = None
        if startup:
            startup_path = Path(str(startup)).expanduser()
            startup_path = (
                startup_path if startup_path.is_absolute() else path.parent / startup_path
            )
        nodes[name] = Node(
            name=name,
            kind=str(kind),
            image=str(_first(layers, "image") or ""),
            group=group,
            binds=_resolve_binds(layers, path.parent, col),
            env=_merged_map(layers, "env"),
            exec=tuple(str(c) for c in (_first(layers, "exec") or [])),
            mgmt_ipv4=mgmt_ip or None,
            labels=_merged_map(layers, "labels"),
            startup_config=startup_path,
        )
    links = _build_links(data, nodes, col)
    col.raise_if_any()
    return Topology(str(data["name"]), path, nodes, tuple(links), mgmt)

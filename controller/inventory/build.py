"""Raw YAML (with line marks) → typed model, item by item, every problem located.

Each list item and each named mapping entry is validated on its own, so one bad
device does not hide the problems of the others; items that fail are left out of
the model but their names are remembered (``Built.broken``) so that the cross
checks do not report references to them as dangling.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from controller.errors import Problem
from controller.inventory import model as m
from controller.inventory.loader import LDict, LList, locate

SECRET_FIELDS = frozenset({"community", "auth", "priv", "password", "key_file", "psk"})

# Human descriptions of the value forms the model's patterns encode.
PATTERN_HINTS: dict[str, str] = {
    r"^KH-(?:[1-9]|1[0-9]|2[0-5])$": "an ISO 3166-2:KH province code, KH-1 … KH-25",
    r"^[0-9]{6}$": "a six-digit commune code",
    r"^[A-Z]{2}$": "an ISO 3166-1 alpha-2 country code such as FR",
    r"^[A-Z]{2}-[A-Z]{3}$": "a mission code: country and UN/LOCODE city, such as FR-PAR",
    r"^[A-Za-z][A-Za-z0-9]{1,15}$": "a tenant code (letters and digits, e.g. MPTC)",
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$": "a name of letters, digits, '-', '_' or '.'",
    r"^[a-z0-9.-]+\.[a-z]{2,}$": "a lower-case domain name such as camdx.gov.kh",
    r"^[A-Za-z][A-Za-z0-9/._:-]*$": "an interface name such as eth1 or GigabitEthernet0/0/1",
}

LIST_SECTIONS: dict[str, type[BaseModel]] = {
    "provinces": m.Province,
    "communes": m.Commune,
    "tenants": m.Tenant,
    "datacentres": m.Datacentre,
    "missions": m.Mission,
    "devices": m.Device,
    "links": m.Link,
    "hosting": m.Hosting,
}
SINGLE_SECTIONS: dict[str, type[BaseModel]] = {
    "network": m.Network,
    "defaults": m.DeviceSettings,
    "notifications": m.Notifications,
    "slo": m.Slo,
    "collectors": m.Collectors,
}
MAP_SECTIONS: dict[str, type[BaseModel]] = {"groups": m.DeviceSettings}
NESTED_MAP_SECTIONS: dict[str, dict[str, type[BaseModel]]] = {
    "pools": {"ipv4": m.Ipv4Pool, "vlans": m.VlanRange, "asns": m.AsnRange},
    "credentials": {"snmp": m.SnmpProfile, "ssh": m.SshCredential},
}
IDENTITY_KEYS = ("code", "id", "name")


@dataclass
class Built:
    """The model built from what validated, and how to find each item's lines again."""

    inventory: m.Inventory
    raw: LDict
    origins: dict[str, list[int]]
    broken: dict[str, set[str]] = field(default_factory=dict)
    failed_sections: set[str] = field(default_factory=set)

    def where(self, section: str, index: int, *path: str | int) -> tuple[str, int]:
        raw_index = self.origins.get(section, [])[index] if section in LIST_SECTIONS else index
        return locate(self.raw, (section, raw_index, *path))

    def where_key(self, *path: str | int) -> tuple[str, int]:
        return locate(self.raw, path)

    def is_broken(self, section: str, name: str | None) -> bool:
        return name is not None and name in self.broken.get(section, set())


def item_label(section: str, item: object, index: int) -> str:
    """``devices[pr-kh12]``: a section item named by its identity, else by position."""
    if isinstance(item, dict):
        for key in IDENTITY_KEYS:
            if isinstance(item.get(key), str | int) and not isinstance(item.get(key), bool):
                return f"{section}[{item[key]}]"
        if isinstance(item.get("a"), str) and isinstance(item.get("b"), str):
            return f"{section}[{item['a']}--{item['b']}]"
    return f"{section}[{index}]"


def build_inventory(raw: LDict) -> tuple[Built, list[Problem]]:
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    origins: dict[str, list[int]] = {}
    broken: dict[str, set[str]] = {}
    failed: set[str] = set()
    for section in raw:
        if section not in m.SECTIONS:
            file, line = locate(raw, (section,))
            expected = ", ".join(m.SECTIONS)
            problems.append(
                Problem(file, line, section, f"unknown section (expected one of: {expected})")
            )
    for section, model_cls in LIST_SECTIONS.items():
        items, kept, bad = _build_list(raw, section, model_cls, problems)
        values[section], origins[section], broken[section] = items, kept, bad
        if bad:
            failed.add(section)
    for section, model_cls in SINGLE_SECTIONS.items():
        if section not in raw:
            continue
        built = _validate(raw, (section,), section, model_cls, raw[section], problems)
        if built is None:
            failed.add(section)
        else:
            values[section] = built
    for section, model_cls in MAP_SECTIONS.items():
        entries, ok = _build_map(raw, (section,), section, model_cls, problems)
        values[section] = entries
        if not ok:
            failed.add(section)
    for section, parts in NESTED_MAP_SECTIONS.items():
        container = raw.get(section, {})
        if not isinstance(container, dict):
            _type_problem(raw, (section,), section, "a mapping", container, problems)
            failed.add(section)
            continue
        part_values: dict[str, Any] = {}
        for key in container:
            if key not in parts:
                file, line = locate(raw, (section, key))
                expected = ", ".join(parts)
                problems.append(
                    Problem(
                        file,
                        line,
                        f"{section}.{key}",
                        f"unknown field (expected one of: {expected})",
                    )
                )
                failed.add(section)
        for part, model_cls in parts.items():
            entries, ok = _build_map(raw, (section, part), f"{section}.{part}", model_cls, problems)
            part_values[part] = entries
            if not ok:
                failed.add(section)
        values[section] = part_values
    if "network" not in values:
        failed.add("network")
        if "network" not in raw:
            problems.append(
                Problem(
                    raw.file, 1 if raw.file else 0, "network", "missing section (name the network)"
                )
            )
        values["network"] = m.Network(name="unnamed")
    inventory = m.Inventory.model_construct(
        network=values["network"],
        defaults=values.get("defaults", m.DeviceSettings()),
        groups=values.get("groups", {}),
        provinces=values["provinces"],
        communes=values["communes"],
        tenants=values["tenants"],
        datacentres=values["datacentres"],
        missions=values["missions"],
        devices=values["devices"],
        links=values["links"],
        pools=m.Pools.model_construct(**values.get("pools", {})),
        credentials=m.Credentials.model_construct(**values.get("credentials", {})),
        hosting=values["hosting"],
        notifications=values.get("notifications", m.Notifications()),
        slo=values.get("slo", m.Slo()),
        collectors=values.get("collectors"),
    )
    return Built(inventory, raw, origins, broken, failed), problems


def _build_list(
    raw: LDict, section: str, model_cls: type[BaseModel], problems: list[Problem]
) -> tuple[list[Any], list[int], set[str]]:
    items = raw.get(section)
    if items is None:
        return [], [], set()
    if not isinstance(items, list):
        _type_problem(raw, (section,), section, "a list", items, problems)
        return [], [], {"*"}
    adapter = _adapter(model_cls)
    built: list[Any] = []
    kept: list[int] = []
    bad: set[str] = set()
    for index, item in enumerate(items):
        label = item_label(section, item, index)
        value = _validate(raw, (section, index), label, model_cls, item, problems, adapter)
        if value is None:
            ident = _identity(item)
            bad.add(ident if ident is not None else f"#{index}")
            continue
        built.append(value)
        kept.append(index)
    return built, kept, bad


def _build_map(
    raw: LDict,
    path: tuple[str, ...],
    label: str,
    model_cls: type[BaseModel],
    problems: list[Problem],
) -> tuple[dict[str, Any], bool]:
    node: Any = raw
    for step in path:
        node = node.get(step) if isinstance(node, dict) else None
    if node is None:
        return {}, True
    if not isinstance(node, dict):
        _type_problem(raw, path, label, "a mapping of names", node, problems)
        return {}, False
    adapter = _adapter(model_cls)
    entries: dict[str, Any] = {}
    ok = True
    name_adapter = _adapter_for(m.Name)
    for key, value in node.items():
        try:
            name_adapter.validate_python(key)
        except ValidationError:
            file, line = locate(raw, (*path, key))
            problems.append(
                Problem(file, line, f"{label}.{key}", f"must be {PATTERN_HINTS[_NAME_PATTERN]}")
            )
            ok = False
            continue
        built = _validate(raw, (*path, key), f"{label}.{key}", model_cls, value, problems, adapter)
        if built is None:
            ok = False
        else:
            entries[key] = built
    return entries, ok


_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter_for(tp: Any) -> TypeAdapter[Any]:
    if tp not in _ADAPTERS:
        _ADAPTERS[tp] = TypeAdapter(tp)
    return _ADAPTERS[tp]


def _adapter(model_cls: type[BaseModel]) -> TypeAdapter[Any]:
    return _adapter_for(model_cls)


def _identity(item: object) -> str | None:
    if isinstance(item, dict):
        for key in IDENTITY_KEYS:
            if isinstance(item.get(key), str):
                return str(item[key])
    return None


def _validate(
    raw: LDict,
    path: tuple[str | int, ...],
    label: str,
    model_cls: type[BaseModel],
    value: object,
    problems: list[Problem],
    adapter: TypeAdapter[Any] | None = None,
) -> Any:
    if not isinstance(value, dict):
        _type_problem(raw, path, label, "a mapping of fields", value, problems)
        return None
    adapter = adapter or _adapter(model_cls)
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        errors = exc.errors()
        for error in errors:
            loc = tuple(error["loc"])
            file, line = locate(raw, (*path, *loc))
            problems.append(
                Problem(file, line, _field(label, loc), _message(error, model_cls, loc))
            )
    if all(error["type"] == "extra_forbidden" for error in errors):
        # Only unknown keys: keep the item without them, so the cross checks still see it.
        try:
            return adapter.validate_python(_without(value, [tuple(e["loc"]) for e in errors]))
        except ValidationError:
            return None
    return None


def _without(value: Any, locs: list[tuple[Any, ...]]) -> Any:
    """A plain copy of ``value`` with the keys at ``locs`` removed."""
    drop_here = {loc[0] for loc in locs if len(loc) == 1}
    deeper: dict[Any, list[tuple[Any, ...]]] = {}
    for loc in locs:
        if len(loc) > 1:
            deeper.setdefault(loc[0], []).append(loc[1:])
    if isinstance(value, dict):
        return {k: _without(v, deeper.get(k, [])) for k, v in value.items() if k not in drop_here}
    if isinstance(value, list):
        return [_without(v, deeper.get(i, [])) for i, v in enumerate(value)]
    return value


def _type_problem(
    raw: LDict,
    path: tuple[str | int, ...],
    label: str,
    expected: str,
    value: object,
    problems: list[Problem],
) -> None:
    file, line = locate(raw, path)
    problems.append(Problem(file, line, label, f"expected {expected}, got {_kind(value)}"))


def _kind(value: object) -> str:
    if isinstance(value, LDict | dict):
        return "a mapping"
    if isinstance(value, LList | list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


def _field(label: str, loc: tuple[Any, ...]) -> str:
    text = label
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step.startswith(("function-", "constrained-")) or step in {"int", "float", "str"}:
            continue  # pydantic's names for union members and validators
        else:
            text += f".{step}"
    return text


def _message(error: Any, model_cls: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind: str = error["type"]
    value = error.get("input")
    names = [step for step in loc if isinstance(step, str)]
    secret = bool(names) and names[-1] in SECRET_FIELDS
    shown = "" if secret else f", got {_short(value)}"
    if kind == "extra_forbidden":
        expected = _fields_at(model_cls, loc[:-1])
        hint = f" (expected one of: {', '.join(expected)})" if expected else ""
        return f"unknown field{hint}"
    if kind == "missing":
        return "required field missing"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        return f"must be {PATTERN_HINTS.get(pattern, 'of the form ' + pattern)}{shown}"
    if kind == "value_error":
        text = str(error["msg"]).removeprefix("Value error, ")
        return text if secret or isinstance(value, dict | list) else f"{text}{shown}"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"expected a whole number{shown}"
    if kind in {"float_parsing", "float_type"}:
        return f"expected a number{shown}"
    if kind in {"bool_parsing", "bool_type"}:
        return f"expected true or false{shown}"
    if kind in {"string_type"}:
        return f"expected text{shown}"
    if kind in {"list_type"}:
        return f"expected a list, got {_kind(value)}"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"expected a mapping, got {_kind(value)}"
    if kind in {"literal_error", "enum"}:
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be {expected}{shown}"
    if kind.startswith("ip_v4") or kind.startswith("ip_"):
        what = "network (a.b.c.d/len)" if "network" in kind else "address"
        return f"not a valid IPv4 {what}{shown}"
    bounds = {
        "greater_than": ("gt", "more than"),
        "greater_than_equal": ("ge", "at least"),
        "less_than": ("lt", "less than"),
        "less_than_equal": ("le", "at most"),
    }
    if kind in bounds:
        key, words = bounds[kind]
        return f"must be {words} {error.get('ctx', {}).get(key)}{shown}"
    if kind in {"string_too_long", "string_too_short"}:
        return f"{str(error['msg']).lower().removeprefix('string ')}"
    return f"{error['msg']}{shown}"


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, LDict | LList | dict | list) else _kind(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(model_cls: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the model found at ``loc`` below ``model_cls``."""
    tp: Any = model_cls
    for step in loc:
        tp = _step_type(tp, step)
        if tp is None:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return sorted(tp.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            models = [
                a
                for a in members
                if isinstance(_unwrap(a), type) and issubclass(_unwrap(a), BaseModel)
            ]
            tp = models[0] if models else members[0]
        else:
            return tp


def _step_type(tp: Any, step: Any) -> Any:
    tp = _unwrap(tp)
    origin = get_origin(tp)
    if isinstance(step, int) and origin is list:
        return get_args(tp)[0]
    if isinstance(step, str) and origin is dict:
        return get_args(tp)[1]
    if isinstance(step, str) and isinstance(tp, type) and issubclass(tp, BaseModel):
        info = tp.model_fields.get(step)
        return info.annotation if info else None
    return None

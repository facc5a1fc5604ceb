"""``hosting.yaml``: the inventory's ``hosting:`` list, edited as text for clean diffs.

The file keeps its style: a header comment, ``hosting:``, one flow mapping per allocation
(wrapped like the existing entries when they wrap). New allocations are appended after the
last one; a decommissioned allocation's lines (and the comment lines right above it) are
removed; every other byte stays as it was, so ``git diff`` shows exactly the allocations
that came and went. Pure text functions, plus :func:`write` (atomic: temp file + rename).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from controller.hosting.errors import HostingFileError
from controller.inventory.model import Hosting
from controller.io import atomic_write_text
from controller.yamlc import FAST_LOADER as _Loader

FILENAME = "hosting.yaml"
HEADER = "# Written by `govnet hosting approve`; edit by hand only with care.\n"
FIELD_ORDER = (
    "id",
    "tenant",
    "service",
    "datacentre",
    "rack",
    "first_u",
    "units",
    "power_kw",
    "vlan",
    "prefix",
    "tor_ports",
    "mirror_of",
)
_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/+:-]*(?<![ :])$")


@dataclass(frozen=True)
class Span:
    """Lines ``first``..``last`` (0-based, inclusive) hold allocation ``ident``."""

    ident: str
    first: int
    last: int


@dataclass(frozen=True)
class HostingFile:
    """The text of hosting.yaml and where each allocation is in it."""

    text: str
    spans: tuple[Span, ...]
    list_line: int | None
    """Line of ``hosting:`` (None: no hosting section yet)."""
    flow_empty: bool = False
    """``hosting: []``: the list is written inline and empty."""
    indent: str = "  "
    width: int | None = None
    """Wrap new entries at this width (the existing entries wrap), else one line each."""

    @property
    def ids(self) -> list[str]:
        return [s.ident for s in self.spans]


# --- reading --------------------------------------------------------------------------


def parse(text: str, name: str = FILENAME) -> HostingFile:
    """Locate the hosting list and its items (raises HostingFileError when it cannot)."""
    if not text.strip():
        return HostingFile(text, (), None)
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise HostingFileError(f"{name}: not valid YAML: {exc}") from exc
    if root is None:
        return HostingFile(text, (), None)
    if not isinstance(root, yaml.MappingNode):
        raise HostingFileError(f"{name}: an inventory file must be a mapping of sections")
    for key, value in root.value:
        if key.value != "hosting":
            continue
        if isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null"):
            return HostingFile(text, (), key.start_mark.line, flow_empty=True)  # `hosting:`
        if not isinstance(value, yaml.SequenceNode):
            raise HostingFileError(f"{name}:{key.start_mark.line + 1}: hosting must be a list")
        if value.flow_style:
            if value.value:
                raise HostingFileError(
                    f"{name}:{key.start_mark.line + 1}: write the hosting list one item per line"
                )
            return HostingFile(text, (), key.start_mark.line, flow_empty=True)
        return _spans(text, name, key.start_mark.line, value)
    return HostingFile(text, (), None)


def _spans(text: str, name: str, list_line: int, seq: yaml.SequenceNode) -> HostingFile:
    lines = text.splitlines()
    spans: list[Span] = []
    previous_end = list_line
    wraps = False
    width = 0
    indent = "  "
    for item in seq.value:
        start, end = item.start_mark.line, item.end_mark.line
        if end > start and item.end_mark.column == 0:
            end -= 1  # a block mapping ends at the start of the next line
        if start <= previous_end and spans:
            raise HostingFileError(f"{name}:{start + 1}: write one allocation per line")
        ident = _ident(item)
        if ident is None:
            raise HostingFileError(f"{name}:{start + 1}: a hosting allocation without an id")
        first = start
        while first - 1 > previous_end and lines[first - 1].lstrip().startswith("#"):
            first -= 1  # comment lines right above belong to the item
        spans.append(Span(ident, first, end))
        previous_end = end
        if end > start:
            wraps = True
        width = max(width, *(len(lines[i]) for i in range(start, end + 1)))
        dash = lines[start].find("-")
        if dash >= 0 and not spans[:-1]:
            indent = lines[start][:dash]
    return HostingFile(
        text,
        tuple(spans),
        list_line,
        indent=indent,
        width=max(width, 80) if wraps else None,
    )


def _ident(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None


def read(path: Path) -> HostingFile:
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise HostingFileError(f"{path}: cannot read: {exc}") from exc
    return parse(text, str(path))


# --- rendering ------------------------------------------------------------------------


def scalar(value: object) -> str:
    """A YAML flow scalar: plain when it reads back as the same text, else double-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}" if value == round(value, 6) else repr(value)
    text = str(value)
    if _PLAIN.match(text) and yaml.load(f"x: {text}", Loader=_Loader) == {"x": text}:
        return text
    return json.dumps(text, ensure_ascii=False)


def fields(alloc: Hosting) -> list[str]:
    data = alloc.model_dump(mode="json", exclude_none=True)
    out = []
    for key in FIELD_ORDER:
        if key not in data or (key == "tor_ports" and not data[key]):
            continue
        value = data[key]
        if isinstance(value, list):
            out.append(f"{key}: [{', '.join(scalar(v) for v in value)}]")
        else:
            out.append(f"{key}: {scalar(value)}")
    return out


def render(alloc: Hosting, indent: str = "  ", width: int | None = None) -> str:
    """One allocation as a flow mapping item (wrapped at ``width`` like its neighbours)."""
    parts = fields(alloc)
    head = f"{indent}- {{"
    if width is None:
        return head + ", ".join(parts) + "}\n"
    cont = " " * len(head)
    lines: list[str] = []
    current = head
    for i, part in enumerate(parts):
        piece = part + ("}" if i == len(parts) - 1 else ",")
        if current not in (head, cont) and len(current) + 1 + len(piece) > width:
            lines.append(current)
            current = cont + piece
        else:
            current += ("" if current in (head, cont) else " ") + piece
    lines.append(current)
    return "\n".join(lines) + "\n"


def _check_round_trip(rendered: str, alloc: Hosting) -> None:
    data = yaml.load("x:\n" + rendered, Loader=_Loader)["x"][0]
    if Hosting.model_validate(data) != alloc:  # pragma: no cover - a rendering bug
        raise HostingFileError(f"cannot write {alloc.id} so that it reads back the same")


# --- editing --------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def append(doc: HostingFile, allocs: list[Hosting]) -> HostingFile:
    """The file with ``allocs`` added after the last allocation."""
    if not allocs:
        return doc
    rendered = []
    for alloc in allocs:
        text = render(alloc, doc.indent, doc.width)
        _check_round_trip(text, alloc)
        rendered.append(text)
    lines = _split(doc.text)
    if doc.list_line is None:
        prefix = lines if lines else [HEADER]
        insert_at = len(prefix) + 1
        lines = [*prefix, "hosting:\n"]
        list_line = insert_at - 1
    elif doc.flow_empty:
        lines[doc.list_line] = re.sub(r"\[\s*\]", "", lines[doc.list_line]).rstrip() + "\n"
        insert_at = doc.list_line + 1
        list_line = doc.list_line
    else:
        insert_at = doc.spans[-1].last + 1 if doc.spans else doc.list_line + 1
        list_line = doc.list_line
    new_spans = list(doc.spans)
    new_lines: list[str] = []
    at = insert_at
    for alloc, text in zip(allocs, rendered, strict=True):
        count = text.count("\n")
        new_spans.append(Span(alloc.id, at, at + count - 1))
        new_lines.append(text)
        at += count
    added = sum(t.count("\n") for t in new_lines)
    tail_spans = new_spans[len(doc.spans) :]
    text = "".join([*lines[:insert_at], *new_lines, *lines[insert_at:]])
    shifted = [
        s if s.first < insert_at else Span(s.ident, s.first + added, s.last + added)
        for s in doc.spans
    ]
    return replace(
        doc,
        text=text,
        spans=(*shifted, *tail_spans),
        list_line=list_line,
        flow_empty=False,
    )


def remove(doc: HostingFile, ids: set[str]) -> HostingFile:
    """The file without the allocations ``ids`` (their lines and comments right above)."""
    drop = [s for s in doc.spans if s.ident in ids]
    if not drop:
        return doc
    lines = _split(doc.text)
    gone: set[int] = set()
    for span in drop:
        gone.update(range(span.first, span.last + 1))
    kept = [s for s in doc.spans if s.ident not in ids]
    if not kept and doc.list_line is not None:
        lines[doc.list_line] = lines[doc.list_line].rstrip("\n").rstrip() + " []\n"
    text = "".join(line for i, line in enumerate(lines) if i not in gone)
    return parse(text)


def write(path: Path, doc: HostingFile) -> None:
    """Atomically replace hosting.yaml (readers see the old file or the new one)."""
    try:
        atomic_write_text(path, doc.text)
    except OSError as exc:
        raise HostingFileError(f"{path}: cannot write: {exc}") from exc

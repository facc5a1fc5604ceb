"""Read an inventory (a YAML file or a folder of them) keeping file:line marks.

Mappings load as :class:`LDict` and sequences as :class:`LList`; both remember
the file and line of themselves and of each of their entries, so a problem found
much later (by the model or a cross check) can still be reported at its line.
Files of a folder are merged: list sections are concatenated, mapping sections
merged key by key (a key defined in two files is a problem).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from controller.errors import Problem
from controller.yamlc import FAST_LOADER as _BaseLoader

YAML_SUFFIXES = (".yaml", ".yml")


class LDict(dict[str, Any]):
    """A mapping loaded from YAML, with its own and its keys' locations."""

    file: str = ""
    line: int = 0
    key_lines: dict[str, int]
    key_files: dict[str, str]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line) if hasattr(self, "key_lines") else self.line

    def file_of(self, key: str) -> str:
        return self.key_files.get(key, self.file) if hasattr(self, "key_files") else self.file


class LList(list[Any]):
    """A sequence loaded from YAML, with its own and its items' locations."""

    file: str = ""
    line: int = 0
    item_lines: list[int]
    item_files: list[str]

    def line_of(self, index: int) -> int:
        try:
            return self.item_lines[index]
        except (AttributeError, IndexError):
            return self.line

    def file_of(self, index: int) -> str:
        try:
            return self.item_files[index]
        except (AttributeError, IndexError):
            return self.file


def _make_loader(filename: str, problems: list[Problem]) -> type[yaml.SafeLoader]:
    class LineLoader(_BaseLoader):  # type: ignore[valid-type,misc]
        pass

    def construct_map(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LDict:
        result = LDict()
        result.file = filename
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                problems.append(Problem(filename, line, str(key), "keys must be text"))
                key = str(key)
            if key in result.key_lines:
                first = result.key_lines[key]
                problems.append(
                    Problem(filename, line, key, f"duplicate key (first at line {first})")
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_lines[key] = line
        return result

    def construct_seq(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> LList:
        result = LList(loader.construct_object(child, deep=True) for child in node.value)
        result.file = filename
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        result.item_files = [filename] * len(node.value)
        return result

    LineLoader.add_constructor("tag:yaml.org,2002:map", construct_map)
    LineLoader.add_constructor("tag:yaml.org,2002:seq", construct_seq)
    # Timestamps would turn dates into datetime objects; inventory text stays text.
    LineLoader.add_constructor("tag:yaml.org,2002:timestamp", LineLoader.construct_yaml_str)
    return LineLoader


def display_path(path: Path) -> str:
    """A path as users typed it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def iter_inventory_files(root: Path) -> Iterator[Path]:
    """The YAML files of an inventory: the file itself, or a folder's, sorted, recursively."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        if path.suffix in YAML_SUFFIXES and path.is_file() and not path.name.startswith("."):
            yield path


def load_file(path: Path, problems: list[Problem]) -> LDict | None:
    """One YAML file as an LDict; syntax errors become problems (and None)."""
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, 0, "", f"cannot read file: {exc}"))
        return None
    try:
        data = yaml.load(text, Loader=_make_loader(name, problems))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or exc.context or "invalid YAML"
        problems.append(Problem(name, line, "", f"YAML syntax error: {what}"))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(name, 0, "", f"YAML error: {exc}"))
        return None
    if data is None:
        return None
    if not isinstance(data, LDict):
        problems.append(Problem(name, 1, "", "an inventory file must be a mapping of sections"))
        return None
    return data


def merge_documents(docs: list[LDict], problems: list[Problem]) -> LDict:
    """Merge files: lists concatenate, mappings merge key by key, scalars may not repeat."""
    merged = LDict()
    merged.file, merged.line, merged.key_lines = (docs[0].file if docs else ""), 1, {}
    merged.key_files = {}
    for doc in docs:
        for section, value in doc.items():
            line = doc.line_of(section)
            if section not in merged:
                merged[section] = value
                merged.key_lines[section] = line
                merged.key_files[section] = doc.file
                continue
            existing = merged[section]
            if isinstance(existing, LList) and isinstance(value, LList):
                combined = LList([*existing, *value])
                combined.file, combined.line = existing.file, existing.line
                combined.item_lines = [*_lines(existing), *_lines(value)]
                combined.item_files = [*_files(existing), *_files(value)]
                merged[section] = combined
            elif isinstance(existing, LDict) and isinstance(value, LDict):
                depth = NAMED_ENTRY_DEPTH.get(section, 0)
                merged[section] = _merge_mapping(existing, value, section, problems, depth)
            else:
                first = f"{merged.file_of(section)}:{merged.key_lines[section]}"
                problems.append(
                    Problem(doc.file, line, section, f"section already defined at {first}")
                )
    return merged


def _lines(items: LList) -> list[int]:
    return items.item_lines if hasattr(items, "item_lines") else [items.line] * len(items)


def _files(items: LList) -> list[str]:
    return items.item_files if hasattr(items, "item_files") else [items.file] * len(items)


# How deep a mapping section merges across files before its entries are atomic:
# ``pools.ipv4.<name>`` and ``credentials.ssh.<name>`` are defined once, whole.
NAMED_ENTRY_DEPTH = {"pools": 1, "credentials": 1}


def _merge_mapping(
    first: LDict, second: LDict, path: str, problems: list[Problem], depth: int
) -> LDict:
    result = LDict(first)
    result.file, result.line = first.file, first.line
    result.key_lines = dict(first.key_lines)
    result.key_files = {key: first.file_of(key) for key in first}
    for key, value in second.items():
        if key in result:
            old, new = result[key], value
            if depth > 0 and isinstance(old, LDict) and isinstance(new, LDict):
                result[key] = _merge_mapping(old, new, f"{path}.{key}", problems, depth - 1)
                continue
            where = f"{first.file_of(key)}:{first.line_of(key)}"
            problems.append(
                Problem(
                    second.file, second.line_of(key), f"{path}.{key}", f"already defined at {where}"
                )
            )
            continue
        result[key] = value
        result.key_lines[key] = second.line_of(key)
        result.key_files[key] = second.file_of(key)
    return result


def load_documents(root: Path) -> tuple[LDict, list[Problem]]:
    """Load and merge every YAML file of the inventory at ``root``."""
    problems: list[Problem] = []
    if not root.exists():
        problems.append(Problem(display_path(root), 0, "", "no such file or folder"))
        return LDict(), problems
    files = list(iter_inventory_files(root))
    if not files:
        problems.append(Problem(display_path(root), 0, "", "no .yaml files in this folder"))
        return LDict(), problems
    docs = [doc for path in files if (doc := load_file(path, problems)) is not None]
    return merge_documents(docs, problems), problems


def locate(root: LDict, path: tuple[str | int, ...]) -> tuple[str, int]:
    """File and line of the deepest located node along ``path`` in a loaded tree."""
    node: Any = root
    file, line = root.file, root.line
    for step in path:
        if isinstance(node, LDict) and isinstance(step, str) and step in node:
            file, line = node.file_of(step), node.line_of(step)
        elif isinstance(node, LList) and isinstance(step, int) and 0 <= step < len(node):
            file, line = node.file_of(step), node.line_of(step)
        else:
            break
        node = node[step]
    return file, line

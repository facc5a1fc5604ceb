"""Configuration text → a tree of blocks, and the minimal commands between two trees.

Pure functions. A line is a child of the nearest line above it with less
indentation; closing lines (``exit``, ``quit``…), comments and version stamps
are dropped, so two configs that mean the same compare equal.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from controller.provision.dialects import Dialect


@dataclass
class Node:
    line: str
    children: list[Node] = field(default_factory=list)

    def child(self, line: str) -> Node | None:
        return next((c for c in self.children if c.line == line), None)


def parse(text: str, dialect: Dialect) -> Node:
    """The configuration as a tree under a nameless root."""
    root = Node("")
    stack: list[tuple[int, Node]] = [(-1, root)]
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped in dialect.block_end:
            continue
        if stripped.startswith(dialect.comments):
            continue
        if any(p.search(stripped) for p in dialect.ignore):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = " ".join(stripped.split())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else root
        node = Node(line)
        parent.children.append(node)
        stack.append((indent, node))
    return root


def render_tree(root: Node, indent: int = 1) -> str:
    """Normalised text of a tree: one space of indentation per level, no closers."""
    lines: list[str] = []

    def walk(node: Node, depth: int) -> None:
        for child in node.children:
            lines.append(" " * (indent * depth) + child.line)
            walk(child, depth + 1)

    walk(root, 0)
    return "\n".join(lines) + ("\n" if lines else "")


def canonical(node: Node) -> Node:
    """The same tree with blocks and lines in a stable order (devices reorder freely)."""
    return Node(node.line, sorted((canonical(c) for c in node.children), key=lambda c: c.line))


def unified_diff(running: Node, intended: Node, device: str) -> str:
    """A unified diff of the two configurations in canonical order: empty when they agree."""
    before = render_tree(canonical(running)).splitlines(keepends=True)
    after = render_tree(canonical(intended)).splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(before, after, f"{device} (running)", f"{device} (intended)")
    )


def with_implicit(running: Node, intended: Node, dialect: Dialect) -> Node:
    """``running`` with the dialect's implicit lines (``no shutdown``) filled in where
    ``intended`` has them inside a block the device has and does not show their
    negation (``shutdown``), so a line the device never prints is not a change."""
    if not dialect.implicit:
        return running

    def fill(have: Node, want: Node) -> Node:
        children = []
        for child in have.children:
            other = want.child(child.line)
            children.append(fill(child, other) if other is not None else child)
        if have is not running:
            lines = {c.line for c in have.children}
            for line in dialect.implicit:
                shown = line in lines or _negate(line, dialect) in lines
                if want.child(line) is not None and not shown:
                    children.append(Node(line))
        return Node(have.line, children)

    return fill(running, intended)


def _negate(line: str, dialect: Dialect) -> str:
    prefix = f"{dialect.negate} "
    if line.startswith(prefix):
        return line[len(prefix) :]
    for keyword in dialect.bare_negation:
        if line == keyword or line.startswith(keyword + " "):
            return prefix + keyword
    return prefix + line


def _key(line: str, dialect: Dialect) -> str | None:
    for keyword in dialect.single_valued:
        if line == keyword or line.startswith(keyword + " "):
            return keyword
    return None


def _replaced(line: str, siblings: Node, dialect: Dialect) -> bool:
    """True when an intended sibling sets the same single-valued keyword anew."""
    key = _key(line, dialect)
    return key is not None and any(_key(c.line, dialect) == key for c in siblings.children)


def commands(running: Node, intended: Node, dialect: Dialect) -> list[str]:
    """Configuration-mode commands that turn ``running`` into ``intended``.

    Removals come before additions inside a block (an address is removed before
    its replacement is added); whole blocks are removed last and added in the
    intended order, so interfaces exist before routing refers to them.
    """
    out: list[str] = []
    removed_blocks: list[str] = []
    for node in running.children:
        if intended.child(node.line) is not None or _replaced(node.line, intended, dialect):
            continue
        if node.children and any(p.search(node.line) for p in dialect.remove_blocks_whole):
            removed_blocks.append(_negate(node.line, dialect))
        elif node.children:
            out.append(node.line)
            out += [_negate(c.line, dialect) for c in node.children]
            out.append(dialect.leave_block)
        else:
            out.append(_negate(node.line, dialect))
    for node in intended.children:
        current = running.child(node.line)
        if current is None:
            out.append(node.line)
            out += _additions(node, dialect)
            if node.children:
                out.append(dialect.leave_block)
            continue
        inner = _block_changes(current, node, dialect)
        if inner:
            out.append(node.line)
            out += inner
            out.append(dialect.leave_block)
    return out + removed_blocks


def _additions(node: Node, dialect: Dialect) -> list[str]:
    out: list[str] = []
    for child in node.children:
        out.append(child.line)
        if child.children:
            out += _additions(child, dialect)
            out.append(dialect.leave_block)
    return out


def _block_changes(running: Node, intended: Node, dialect: Dialect) -> list[str]:
    out = [
        _negate(child.line, dialect)
        for child in running.children
        if intended.child(child.line) is None and not _replaced(child.line, intended, dialect)
    ]
    removals = set(out)
    for child in intended.children:
        current = running.child(child.line)
        if current is None and child.line in removals:
            continue  # removing `shutdown` is `no shutdown`: said once
        if current is None:
            out.append(child.line)
            if child.children:
                out += _additions(child, dialect)
                out.append(dialect.leave_block)
        elif child.children or current.children:
            inner = _block_changes(current, child, dialect)
            if inner:
                out.append(child.line)
                out += inner
                out.append(dialect.leave_block)
    return out

"""A fake router's configuration mode, for golden tests of platforms that cannot exist
here (Cisco IOS, Huawei VRP): commands applied to a config tree the way the device
would apply them. FRR is also tested against real routers in the lab.

A positive line adds itself (replacing a single-valued keyword's old value); a negated
line removes what it names (``no description`` any description); a line opens a block
when the device or the intended config has children under it; ``leave_block`` closes it.
"""

from __future__ import annotations

from controller.provision.dialects import Dialect
from controller.provision.tree import Node, _key


def apply_commands(running: Node, commands: list[str], dialect: Dialect, hint: Node) -> Node:
    root = _copy(running)
    stack: list[tuple[Node, Node | None]] = [(root, hint)]
    prefix = f"{dialect.negate} "
    for command in commands:
        here, want = stack[-1]
        if command == dialect.leave_block:
            stack.pop()
            continue
        if command.startswith(prefix):
            target = command[len(prefix) :]
            gone = [
                c
                for c in here.children
                if c.line == target
                or (target in dialect.bare_negation and c.line.startswith(target + " "))
            ]
            if gone:
                here.children = [c for c in here.children if c not in gone]
            elif target not in {c.line for c in here.children}:
                here.children.append(Node(command))  # a negation is configuration too
            continue
        node = here.child(command)
        if node is None:
            key = _key(command, dialect)
            if key is not None:
                here.children = [c for c in here.children if _key(c.line, dialect) != key]
            here.children = [c for c in here.children if c.line != f"{prefix}{command}"]
            node = Node(command)
            here.children.append(node)
        inner = want.child(command) if want is not None else None
        if node.children or (inner is not None and inner.children):
            stack.append((node, inner))
    return root


def _copy(node: Node) -> Node:
    return Node(node.line, [_copy(c) for c in node.children])

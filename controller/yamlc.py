"""The YAML loader govnet parses with: libyaml's C parser (~10x faster on the national
inventory and topology) where PyYAML has it, else the Python one."""

from __future__ import annotations

import yaml

try:
    FAST_LOADER: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml missing
    FAST_LOADER = yaml.SafeLoader

"""The Python lock file: what `make deps` installs, exactly and checked by hash."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

LOCK = ROOT / "deps/requirements.lock"


def _locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) for every package in the lock."""
    entries: dict[str, tuple[str, int]] = {}
    current: str | None = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line):
            current = canonicalize_name(match.group(1))
            entries[current] = (match.group(2), 0)
        elif current and "--hash=sha256:" in line:
            version, hashes = entries[current]
            entries[current] = (version, hashes + 1)
    return entries


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    return [Requirement(spec) for spec in specs]


def test_every_declared_dependency_is_locked_at_a_version_it_accepts() -> None:
    locked = _locked()
    problems = []
    for req in _declared():
        name = canonicalize_name(req.name)
        if name not in locked:
            problems.append(f"{req.name}: not in the lock (run scripts/lock.sh)")
        elif not req.specifier.contains(locked[name][0], prereleases=True):
            problems.append(f"{req.name}: locked {locked[name][0]} outside {req.specifier}")
    assert problems == []


def test_every_locked_package_has_an_exact_version_and_a_hash() -> None:
    locked = _locked()
    assert len(locked) > 30
    assert [name for name, (_, hashes) in locked.items() if hashes == 0] == []


def test_dev_tools_are_pinned_exactly() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    loose = [
        spec
        for spec in project["optional-dependencies"]["dev"]
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", spec)
    ]
    assert loose == []


def test_make_deps_installs_from_the_lock_with_hashes_required() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r deps/requirements.lock" in makefile
    assert "--no-deps -e ." in makefile

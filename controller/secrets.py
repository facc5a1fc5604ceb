"""Resolve secret references (``env:NAME`` / ``file:PATH``) to their values.

The inventory holds references only. A client resolves them at the edge, just before
use. Errors name the reference and the inventory field it came from — never the value.
Every value resolved is registered with :mod:`controller.masking`, so it is masked in
every output of the process from then on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from controller import masking
from controller.errors import SecretError

MAX_SECRET_FILE_BYTES = 64 * 1024


class SecretReferenceError(SecretError):
    """A secret reference is malformed or points at nothing usable."""

    def __init__(self, field: str, reference: str, problem: str) -> None:
        self.field = field
        self.reference = reference
        self.problem = problem
        super().__init__(f"{field}: {reference}: {problem}")


def resolve_secret(reference: str, field: str, env: Mapping[str, str] | None = None) -> str:
    """The value behind ``reference``; ``field`` locates it in messages
    (e.g. ``credentials.snmp.lab-v3.auth``).

    ``env:NAME`` reads the environment (or ``env``); ``file:PATH`` reads a file and drops
    one trailing newline. An unset variable, an unreadable or empty file is an error.
    """
    value = _resolve(reference, field, env)
    masking.register(value)
    return value


def _resolve(reference: str, field: str, env: Mapping[str, str] | None) -> str:
    kind, sep, rest = reference.partition(":")
    if not sep or not rest:
        raise SecretReferenceError(field, reference, "a reference is env:NAME or file:PATH")
    if kind == "env":
        source = os.environ if env is None else env
        value = source.get(rest)
        if value is None:
            raise SecretReferenceError(field, reference, f"environment variable {rest} is not set")
        if value == "":
            raise SecretReferenceError(field, reference, f"environment variable {rest} is empty")
        return value
    if kind == "file":
        return _read_secret_file(Path(rest), field, reference)
    raise SecretReferenceError(
        field, reference, f"unknown reference kind {kind!r} (use env:NAME or file:PATH)"
    )


def _read_secret_file(path: Path, field: str, reference: str) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SECRET_FILE_BYTES + 1)
    except OSError as exc:
        raise SecretReferenceError(
            field, reference, f"cannot read ({exc.strerror or type(exc).__name__})"
        ) from None
    if len(data) > MAX_SECRET_FILE_BYTES:
        raise SecretReferenceError(
            field, reference, f"file is larger than {MAX_SECRET_FILE_BYTES} bytes"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretReferenceError(field, reference, "file is not UTF-8 text") from None
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    if not text:
        raise SecretReferenceError(field, reference, "file is empty")
    return text


__all__ = ["SecretReferenceError", "resolve_secret"]

"""Secrets never in an output: one place that masks them, by value and by pattern.

Two nets, applied together by :func:`mask_text`:

- **By value**: every secret value this process has resolved (:func:`controller.secrets.
  resolve_secret` registers each one) and every secret an inventory references
  (:func:`register_inventory` resolves them all). The longest value is replaced first, so
  a secret that contains another is masked whole.
- **By pattern**: the places where a router configuration holds a key or a hash, per
  platform (FRR, Cisco IOS, Huawei VRP) — ``password``, ``secret 5/8/9``, ``key 7``,
  ``message-digest-key N md5 X``, ``authentication-key``, ``snmp-server community`` and
  ``snmp-server user … auth … priv …``, VRP ``cipher``/``irreversible-cipher`` … — so a
  key nobody told govnet about is masked too.

Writers use it on what they write: plan and drift output, ``--json``, audit records (each
field value, so a record stays one valid JSON line), human-readable backups and logs
(:class:`MaskingFilter`). The registry is process-wide on purpose: a secret resolved by
one client (SSH) must be masked in the output of another (a log line, a diff).
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

MASK = "<masked>"
MIN_SECRET_LENGTH = 4
"""Shorter values are not masked by value (they would mangle every output); patterns still
mask them where a configuration holds them."""


@dataclass(frozen=True)
class Rule:
    """A place where a configuration line holds a secret: ``pattern``'s group ``v``."""

    platform: str
    name: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...]
    """Lower-case words one of which a text must hold for the pattern to match (a fast
    pre-check: most text holds no secret)."""


def _rule(platform: str, name: str, pattern: str, *needles: str) -> Rule:
    return Rule(platform, name, re.compile(pattern, re.IGNORECASE), needles or (name,))


_TYPE = r"(?:[0-9][ \t]+)?"
"""An optional encryption type digit before a key (``0``, ``5``, ``7``, ``8``, ``9``).
Patterns separate words with spaces or tabs only (never newlines): a match stays on its line."""
_V = r"(?P<v>[^\s\"',]+)"
"""The secret itself: a token (stops at quotes and commas, which JSON and prose add)."""

RULES: tuple[Rule, ...] = (
    # FRR (also most of IOS): vty / enable passwords, OSPF and BGP keys, key chains
    _rule(
        "frr",
        "password",
        rf"\bpassword[ \t]+(?!(?:irreversible-)?cipher\b|simple\b|level\b)"
        rf"(?:(?:clear|md5|hmac-md5)[ \t]+)?{_TYPE}{_V}",
    ),
    _rule("frr", "message-digest-key", rf"\bmessage-digest-key[ \t]+\d+[ \t]+md5[ \t]+{_TYPE}{_V}"),
    _rule(
        "frr",
        "authentication-key",
        rf"\bauthentication-key[ \t]+"
        rf"(?:\d+[ \t]+(?:md5|sha\S*|hmac-sha\S*|cmac-aes\S*)[ \t]+)?{_TYPE}{_V}",
    ),
    _rule("frr", "key-string", rf"\bkey-string[ \t]+{_TYPE}{_V}"),
    # Cisco IOS: secrets and type-7 keys, SNMP communities and v3 users, IKE keys
    _rule("cisco_ios", "secret", rf"\bsecret[ \t]+{_TYPE}{_V}"),
    _rule("cisco_ios", "key 7", rf"\bkey[ \t]+7[ \t]+{_V}", "key"),
    _rule(
        "cisco_ios",
        "server key",
        rf"\b(?:tacacs-server|radius-server|server-private|isakmp)\b.*?\bkey[ \t]+{_TYPE}{_V}",
        "key",
    ),
    _rule(
        "cisco_ios",
        "pre-shared-key",
        rf"\bpre-shared-key[ \t]+(?:local[ \t]+|remote[ \t]+)?{_TYPE}{_V}",
    ),
    _rule(
        "cisco_ios",
        "snmp community",
        rf"\bsnmp-server[ \t]+community[ \t]+{_TYPE}{_V}",
        "snmp-server",
    ),
    _rule(
        "cisco_ios",
        "snmp auth",
        rf"\bsnmp-server[ \t]+user\b.*?\bauth[ \t]+(?:md5|sha\S*)[ \t]+{_V}",
        "snmp-server",
    ),
    _rule(
        "cisco_ios",
        "snmp priv",
        rf"\bsnmp-server[ \t]+user\b.*?\bpriv[ \t]+(?:des|3des|aes)(?:[ \t]+\d+)?[ \t]+{_V}",
        "snmp-server",
    ),
    # Huawei VRP: cipher / irreversible-cipher / simple secrets, plain communities
    _rule("huawei_vrp", "cipher", rf"\b(?:irreversible-)?cipher[ \t]+{_V}"),
    _rule(
        "huawei_vrp",
        "simple",
        rf"\b(?:password|authentication-mode[ \t]+\S+(?:[ \t]+\d+)?)"
        rf"[ \t]+(?:simple|plain)[ \t]+{_V}",
        "simple",
        "plain",
    ),
    _rule(
        "huawei_vrp",
        "snmp-agent community",
        rf"\bsnmp-agent[ \t]+community[ \t]+(?:read|write)[ \t]+(?!cipher\b){_V}",
        "snmp-agent",
    ),
)


def mask_patterns(text: str) -> str:
    """``text`` with every secret a configuration pattern finds replaced by ``<masked>``."""
    lower = text.lower()
    for rule in RULES:
        if any(needle in lower for needle in rule.needles):
            text = rule.pattern.sub(_masked_match, text)
    return text


def _masked_match(match: re.Match[str]) -> str:
    whole = match.group(0)
    start, end = match.span("v")
    offset = match.start(0)
    if whole[start - offset : end - offset] == MASK:
        return whole
    return whole[: start - offset] + MASK + whole[end - offset :]


class SecretRegistry:
    """The secret values known to this process (thread-safe; values never leave it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._ordered: tuple[str, ...] = ()

    def add(self, *values: str) -> None:
        fresh = {v for v in values if len(v) >= MIN_SECRET_LENGTH} - self._values
        if not fresh:
            return
        with self._lock:
            self._values = self._values | fresh
            self._ordered = tuple(sorted(self._values, key=lambda v: (-len(v), v)))

    def values(self) -> tuple[str, ...]:
        """Longest first."""
        return self._ordered

    def clear(self) -> None:
        with self._lock:
            self._values = frozenset()
            self._ordered = ()

    def mask_values(self, text: str) -> str:
        for value in self._ordered:
            if value in text:
                text = text.replace(value, MASK)
        return text


KNOWN = SecretRegistry()
"""The process-wide registry (see the module docstring for why it is global)."""


def register(*values: str) -> None:
    KNOWN.add(*values)


def mask_values(text: str) -> str:
    """``text`` with every known secret value replaced (no patterns: safe for any text)."""
    return KNOWN.mask_values(text)


def mask_text(text: str) -> str:
    """Configuration text, a diff, a command or a message with every secret masked."""
    return mask_patterns(KNOWN.mask_values(text))


def mask_data(data: Any, *, patterns: bool = True) -> Any:
    """Every string in a JSON-like structure (dict keys included) masked; a copy."""
    mask = mask_text if patterns else mask_values
    if isinstance(data, str):
        return mask(data)
    if isinstance(data, dict):
        return {
            (mask(k) if isinstance(k, str) else k): mask_data(v, patterns=patterns)
            for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [mask_data(v, patterns=patterns) for v in data]
    return data


# ---------------------------------------------------------------------------- inventory


def secret_references(model: BaseModel, where: str = "") -> Iterator[tuple[str, str]]:
    """Every ``(field, reference)`` of a model whose field is a secret reference
    (:data:`controller.inventory.model.SecretRef`), found by walking the model: a secret
    added to the inventory model later is masked without touching this module."""
    for name, secret in _secret_fields(type(model)):
        value = getattr(model, name)
        path = f"{where}.{name}" if where else name
        if secret:
            if isinstance(value, str):
                yield path, value
        else:
            yield from _walk(value, path)


@functools.cache
def _secret_fields(cls: type[BaseModel]) -> tuple[tuple[str, bool], ...]:
    """The fields of ``cls`` that are secret references (True) or may hold models with
    some (False); fields of plain values are not walked (the national inventory has
    thousands of devices)."""
    from controller.inventory.model import is_secret_field

    out = []
    for name, info in cls.model_fields.items():
        if is_secret_field(info):
            out.append((name, True))
        elif _may_hold_secrets(info.annotation):
            out.append((name, False))
    return tuple(out)


def _may_hold_secrets(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return bool(_secret_fields(annotation))
    return any(_may_hold_secrets(arg) for arg in typing.get_args(annotation))


def _walk(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, BaseModel):
        yield from secret_references(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def register_inventory(inv: BaseModel) -> list[str]:
    """Resolve every secret the inventory references and remember the values; returns
    the fields that could not be resolved (they are reported where they are used)."""
    from controller.errors import SecretError
    from controller.secrets import resolve_secret

    unresolved: list[str] = []
    for field, reference in secret_references(inv):
        try:
            resolve_secret(reference, field)  # registers the value
        except SecretError:
            unresolved.append(field)
    return unresolved


# ---------------------------------------------------------------------------- logging


class MaskingFilter(logging.Filter):
    """Masks every secret in a log record's message (formatted with its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def install_log_filter(handlers: Iterable[logging.Handler] | None = None) -> None:
    """Put a :class:`MaskingFilter` on every handler of the root logger (or ``handlers``)."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())


__all__ = [
    "KNOWN",
    "MASK",
    "RULES",
    "MaskingFilter",
    "SecretRegistry",
    "install_log_filter",
    "mask_data",
    "mask_patterns",
    "mask_text",
    "mask_values",
    "register",
    "register_inventory",
    "secret_references",
]

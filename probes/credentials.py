"""SNMP credentials: the inventory's profiles with their secret references resolved."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from controller.inventory.model import SnmpProfile
from controller.secrets import resolve_secret
from probes.model import Target


@dataclass(frozen=True)
class SnmpCredentials:
    """Resolved secrets are kept out of ``repr`` (and so out of logs and tracebacks)."""

    profile: str
    version: str  # "2c" or "3"
    port: int = 161
    community: bytes = field(default=b"", repr=False)
    user: str = ""
    level: str = "authPriv"
    auth_protocol: str = "sha"
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = "aes"
    priv_key: str = field(default="", repr=False)
    context: str = ""  # SNMPv3 contextName


def resolve_profile(
    name: str, profile: SnmpProfile, env: Mapping[str, str] | None = None
) -> SnmpCredentials:
    """Resolve one profile's references (SecretError naming the field on failure)."""
    where = f"credentials.snmp.{name}"
    if profile.version == "2c":
        community = resolve_secret(profile.community or "", f"{where}.community", env)
        return SnmpCredentials(name, "2c", profile.port, community=community.encode())
    auth = resolve_secret(profile.auth or "", f"{where}.auth", env)
    priv = ""
    if profile.level == "authPriv":
        priv = resolve_secret(profile.priv or "", f"{where}.priv", env)
    return SnmpCredentials(
        name,
        "3",
        profile.port,
        user=profile.user or "",
        level=profile.level,
        auth_protocol=profile.auth_protocol,
        auth_key=auth,
        priv_protocol=profile.priv_protocol,
        priv_key=priv,
        context=profile.context,
    )


def resolve_all(
    targets: Iterable[Target], env: Mapping[str, str] | None = None
) -> dict[str, SnmpCredentials]:
    """Profile name → credentials, for every profile the targets use."""
    out: dict[str, SnmpCredentials] = {}
    for target in targets:
        name, profile = target.snmp_profile_name, target.snmp_profile
        if name and profile is not None and name not in out:
            out[name] = resolve_profile(name, profile, env)
    return out

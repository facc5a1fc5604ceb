"""Alertmanager's receivers from the inventory (pure): who is told, and how.

``soc/alertmanager.yml`` holds the routes and the topology-aware inhibit rules, versioned
as they are; its receivers have no integration. The inventory's ``notifications`` section
names, per receiver (soc, noc-critical, security, platform, datacentre), e-mail
addresses and webhook URLs; this module fills them in, with the SMTP relay in the global
section and the subject/body templates of ``soc/templates/``. Resolved notifications are
sent unless a receiver says otherwise. The SMTP password is resolved from its reference
here: the result is written only to the SOC's state directory, mode 0600.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from controller.inventory.model import Notifications
from controller.secrets import resolve_secret
from controller.soc.errors import SocError

SUBJECT = '{{ template "govnet.subject" . }}'
TEXT = '{{ template "govnet.text" . }}'


def alertmanager_config(
    base_text: str,
    notifications: Notifications,
    templates_dir: Path,
    env: Mapping[str, str] | None = None,
) -> str:
    """``base_text`` (the versioned configuration) with the inventory's receivers."""
    config: dict[str, Any] = yaml.safe_load(base_text)
    receivers = {r["name"]: r for r in config.get("receivers", [])}
    if not notifications.receivers:
        return base_text
    smtp = notifications.smtp
    if smtp is not None:
        glob = config.setdefault("global", {})
        glob["smtp_smarthost"] = smtp.smarthost
        glob["smtp_from"] = smtp.sender
        glob["smtp_require_tls"] = smtp.require_tls
        if smtp.username is not None:
            glob["smtp_auth_username"] = smtp.username
        if smtp.password is not None:
            where = "notifications.smtp.password"
            glob["smtp_auth_password"] = resolve_secret(smtp.password, where, env)
    for name, team in notifications.receivers.items():
        receiver = receivers.get(name)
        if receiver is None:
            known = ", ".join(receivers)
            raise SocError(f"notifications.receivers.{name}: no such receiver (known: {known})")
        if team.email:
            receiver["email_configs"] = [
                {
                    "to": address,
                    "send_resolved": team.send_resolved,
                    "headers": {"Subject": SUBJECT},
                    "text": TEXT,
                    "html": "",
                }
                for address in team.email
            ]
        if team.webhook:
            receiver["webhook_configs"] = [
                {"url": url, "send_resolved": team.send_resolved} for url in team.webhook
            ]
    config["templates"] = [str(templates_dir.resolve() / "*.tmpl")]
    header = (
        "# Written by govnet soc up from soc/alertmanager.yml and the inventory's notifications.\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)

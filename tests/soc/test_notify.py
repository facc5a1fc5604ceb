"""Notifications that reach people: the inventory's receivers become Alertmanager's
e-mail and webhook integrations, with subjects and bodies that name the province, site,
tenant and the suppressed count; resolved notifications are sent.

The live test runs the real Alertmanager (Debian) with the generated configuration, a
real SMTP server (aiosmtpd, on loopback) and a webhook receiver on loopback."""

from __future__ import annotations

import email
import email.policy
import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.errors import InventoryError
from controller.inventory import load_inventory
from controller.inventory.model import Notifications, Smtp, TeamReceiver
from controller.soc.notify import alertmanager_config
from controller.soc.stack import SocStack
from tests.conftest import ROOT
from tests.soc.helpers import (
    am_alert,
    free_port,
    push_alerts,
    require_soc_binaries,
    soc_settings,
    wait_until,
)

BASE = (ROOT / "soc/alertmanager.yml").read_text(encoding="utf-8")


def notifications(smtp_port: int = 2525, webhook: str = "http://127.0.0.1:9/hook") -> Notifications:
    return Notifications(
        smtp=Smtp(
            smarthost=f"127.0.0.1:{smtp_port}",
            sender="govnet-soc@mptc.gov.kh",
            username="soc",
            password="env:GOVNET_TEST_SMTP_PASSWORD",
            require_tls=False,
        ),
        receivers={
            "noc-critical": TeamReceiver(email=["noc-duty@mptc.gov.kh"], webhook=[webhook]),
            "security": TeamReceiver(webhook=[webhook], send_resolved=False),
        },
    )


def test_receivers_get_email_and_webhook_integrations_and_the_relay_its_password() -> None:
    text = alertmanager_config(
        BASE, notifications(), Path("/state/templates"), {"GOVNET_TEST_SMTP_PASSWORD": "s3cr3t"}
    )
    config = yaml.safe_load(text)
    receivers = {r["name"]: r for r in config["receivers"]}
    (mail,) = receivers["noc-critical"]["email_configs"]
    assert mail["to"] == "noc-duty@mptc.gov.kh" and mail["send_resolved"] is True
    assert mail["headers"]["Subject"] == '{{ template "govnet.subject" . }}'
    assert receivers["security"]["webhook_configs"] == [
        {"url": "http://127.0.0.1:9/hook", "send_resolved": False}
    ]
    assert "email_configs" not in receivers["soc"]  # nothing configured: left as it was
    assert config["global"]["smtp_auth_password"] == "s3cr3t"
    assert config["templates"] == ["/state/templates/*.tmpl"]
    assert config["inhibit_rules"] == yaml.safe_load(BASE)["inhibit_rules"]  # kept whole


def test_without_receivers_the_versioned_configuration_is_used_as_is() -> None:
    assert alertmanager_config(BASE, Notifications(), Path("/t")) == BASE


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("    soc:\n      email: [soc@mptc.gov.kh]\n", "notifications.smtp"),
        ("    pagers:\n      webhook: [http://127.0.0.1:9/x]\n", "pagers"),
    ],
    ids=["email-without-relay", "unknown-receiver"],
)
def test_bad_notifications_are_located_inventory_errors(
    tmp_path: Path, section: str, problem: str
) -> None:
    text = "notifications:\n  receivers:\n" + section
    (tmp_path / "notify.yaml").write_text(text, encoding="utf-8")
    base = ROOT / "tests/inventory/base.yaml"
    (tmp_path / "base.yaml").write_text(base.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path)
    found = [str(p) for p in caught.value.problems if problem in str(p)]
    assert found and all("notify.yaml:" in line for line in found), caught.value.problems


def short_timing_alertmanager(tmp_path: Path) -> Path:
    """The shipped routes and inhibitions, with timings short enough for a test; the
    shipped templates beside it."""
    base = yaml.safe_load(BASE)
    base["route"].update(group_wait="1s", group_interval="2s", repeat_interval="1h")
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(base, sort_keys=False), encoding="utf-8")
    (tmp_path / "templates").symlink_to(ROOT / "soc/templates")
    return path


# --- live: Alertmanager → SMTP and webhook --------------------------------------------


class Inbox:
    """An SMTP server on loopback that keeps every message (aiosmtpd)."""

    def __init__(self, port: int) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        inbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                inbox.messages.append(message)  # type: ignore[arg-type]
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


class Hooks:
    """A webhook receiver on loopback that keeps every JSON body."""

    def __init__(self, port: int) -> None:
        self.bodies: list[dict[str, Any]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hooks.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


@pytest.fixture()
def receivers() -> Iterator[tuple[Inbox, Hooks]]:
    inbox, hooks = Inbox(free_port()), Hooks(free_port())
    inbox.controller.start()
    hooks.thread.start()
    try:
        yield inbox, hooks
    finally:
        inbox.controller.stop()
        hooks.server.shutdown()
        hooks.server.server_close()


def test_alertmanager_mails_and_posts_a_province_outage_then_its_resolution(
    tmp_path: Path, receivers: tuple[Inbox, Hooks], monkeypatch: pytest.MonkeyPatch
) -> None:
    require_soc_binaries()
    inbox, hooks = receivers
    monkeypatch.setenv("GOVNET_TEST_SMTP_PASSWORD", "not-a-real-password")
    base_file = short_timing_alertmanager(tmp_path)
    hook_url = f"http://127.0.0.1:{hooks.server.server_address[1]}/hook"
    inventory = load_inventory(ROOT / "inventory/lab").model_copy(
        update={"notifications": notifications(inbox.controller.port, hook_url)}
    )
    settings = soc_settings(tmp_path / "state", alertmanager_config=base_file)
    stack = SocStack(settings, inventory)
    labels = {
        "alertname": "GovnetProvinceDown",
        "severity": "critical",
        "team": "noc",
        "scope": "province",
        "province": "KH-2",
        "site": "KH-2",
        "tenant": "none",
        "device": "pr-kh2",
    }
    annotations = {
        "summary": "Province KH-2 is cut off: pr-kh2 is down",
        "description": "The province router pr-kh2 lost every echo for 30 s.",
        "suppressed": "4",
        "summary_km": "ខេត្ត KH-2 ត្រូវបានផ្ដាច់៖ pr-kh2 ដាច់",
    }
    try:
        stack.up()
        config = (stack.dir / "alertmanager.yml").stat()
        assert oct(config.st_mode & 0o777) == "0o600"  # it holds the relay's password
        url = f"http://127.0.0.1:{settings.alertmanager_port}"
        push_alerts(url, [am_alert(labels, annotations)])
        wait_until(lambda: inbox.messages, 30, "the firing e-mail")
        wait_until(lambda: hooks.bodies, 30, "the firing webhook")
        resolved = am_alert(labels, annotations)
        resolved["endsAt"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
        push_alerts(url, [resolved])
        wait_until(lambda: len(inbox.messages) >= 2, 30, "the resolved e-mail")
        wait_until(lambda: len(hooks.bodies) >= 2, 30, "the resolved webhook")
    finally:
        stack.down()
    firing, done = inbox.messages[0], inbox.messages[1]
    assert (
        str(firing["Subject"])
        == "[FIRING 1 · កំពុងកើតឡើង] GovnetProvinceDown — province KH-2, site KH-2"
    )
    assert str(firing["To"]) == "noc-duty@mptc.gov.kh"
    body = text_of(firing)
    assert "FIRING (critical): Province KH-2 is cut off: pr-kh2 is down" in body
    assert "where: province KH-2, site KH-2" in body
    assert "suppressed behind it: 4 alert(s)" in body
    # the same in Khmer, first: the rule's summary_km, the place and severity in Khmer
    assert "កំពុងកើតឡើង (ធ្ងន់ធ្ងរខ្លាំង)៖ ខេត្ត KH-2 ត្រូវបានផ្ដាច់" in body
    assert "ទីកន្លែង៖ ខេត្ត KH-2, ទីតាំង KH-2" in body
    assert "ការជូនដំណឹងដែលបានទប់នៅពីក្រោយ៖ 4" in body
    assert body.index("កំពុងកើតឡើង") < body.index("FIRING (critical)")
    assert str(done["Subject"]) == (
        "[RESOLVED · បានដោះស្រាយ] GovnetProvinceDown — province KH-2, site KH-2"
    )
    assert "RESOLVED: Province KH-2 is cut off" in text_of(done)
    assert "បានដោះស្រាយ៖ ខេត្ត KH-2 ត្រូវបានផ្ដាច់" in text_of(done)
    assert [b["status"] for b in hooks.bodies[:2]] == ["firing", "resolved"]
    assert hooks.bodies[0]["alerts"][0]["labels"]["province"] == "KH-2"
    assert hooks.bodies[0]["alerts"][0]["annotations"]["suppressed"] == "4"
    assert "not-a-real-password" not in body
    keep = os.environ.get("GOVNET_SCREENSHOTS")  # the two e-mails, to read them
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name, message in (("email-firing.txt", firing), ("email-resolved.txt", done)):
            text = f"Subject: {message['Subject']}\n\n{text_of(message)}"
            (Path(keep) / name).write_text(text, encoding="utf-8")

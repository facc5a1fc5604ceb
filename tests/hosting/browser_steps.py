"""Steps the hosting browser tests share: signing in and out of the console."""

from __future__ import annotations

from typing import Any

from tests.hosting.web import PASSWORD


def sign_in(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()


def sign_out(page: Any) -> None:
    page.click("form.whoami button[type=submit]")
    page.wait_for_load_state()

"""HEAD on every GET page: answered as the GET would be — same status, same headers
(Content-Length included) — without the body (RFC 9110 §9.3.2). Uptime checkers use HEAD.

A pure ASGI middleware, outside the others: the app sees a GET (so sign-in redirects,
error pages and the security headers come out exactly as for GET), and the body is dropped
on the way out. The server keeps the original scope (its access log says HEAD).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)

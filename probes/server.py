"""The HTTP endpoint: ``/metrics`` (Prometheus: everything; ``/metrics/polls`` the cycles'
results, ``/metrics/events`` what the trap and syslog receivers counted, for a SOC that
scrapes events more often), ``/traps`` (the SOC's last events as JSON), ``/healthz``.
Bound before the polling thread moves into a lab namespace, so it always listens in the
root namespace."""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from controller.errors import UsageError

_LISTEN = re.compile(r"^\[?([0-9A-Za-z.:-]*?)\]?:(\d{1,5})$")
StartResponse = Callable[..., Any]


def parse_listen(text: str, option: str = "--listen") -> tuple[str, int]:
    """``HOST:PORT`` (an IPv4 address, or ``localhost``) → (host, port); UsageError else."""
    match = _LISTEN.match(text.strip())
    if match is None:
        raise UsageError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9500")
    host, port = match.group(1) or "0.0.0.0", int(match.group(2))
    if host == "localhost":
        host = "127.0.0.1"
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        raise UsageError(f"{option} {text!r}: {host!r} is not an IPv4 address") from None
    if not 0 < port < 65536:
        raise UsageError(f"{option} {text!r}: port must be 1-65535")
    return host, port


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


class MetricsServer:
    def __init__(
        self,
        listen: tuple[str, int],
        registries: Mapping[str, CollectorRegistry],
        traps_json: Callable[[], str],
    ) -> None:
        """``registries``: part → registry; ``all`` is served at /metrics, any other part
        at /metrics/<part>."""
        apps = {
            "/metrics" if part == "all" else f"/metrics/{part}": make_wsgi_app(registry)
            for part, registry in registries.items()
        }

        def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "/")
            if path in apps:
                result: Iterable[bytes] = apps[path](environ, start_response)
                return result
            if path == "/traps":
                body = traps_json().encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            if path == "/healthz":
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok\n"]
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"govnet probes: see /metrics and /traps\n"]

        try:
            self._server = make_server(
                listen[0], listen[1], app, server_class=_Server, handler_class=_QuietHandler
            )
        except OSError as exc:
            raise UsageError(
                f"--listen {listen[0]}:{listen[1]}: cannot listen: {exc.strerror or exc}"
            ) from exc
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="govnet-metrics", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

"""A small exporter for Prometheus text files: the inventory's info series and
``govnet config drift --prom-file`` output (``python -m controller.soc.textfile``).

Each scrape re-reads every ``*.prom`` file of ``--dir`` plus each ``--file``; a file that
is missing or does not parse is skipped and reported as ``govnet_textfile_ok{file} 0``,
so one bad file never fails the whole scrape. Families with the same name in several
files are merged. Listens on loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from socketserver import ThreadingMixIn
from types import FrameType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

MAX_FILE_BYTES = 16 * 1024 * 1024
StartResponse = Callable[..., Any]


class TextfileCollector(Collector):
    def __init__(self, directory: Path | None, files: Sequence[Path]) -> None:
        self.directory = directory
        self.files = list(files)

    def paths(self) -> list[Path]:
        found = sorted(self.directory.glob("*.prom")) if self.directory else []
        return list(dict.fromkeys([*found, *self.files]))

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        ok = GaugeMetricFamily(
            "govnet_textfile_ok", "1 if the text file was read and parsed.", labels=["file"]
        )
        mtime = GaugeMetricFamily(
            "govnet_textfile_mtime_seconds", "Modification time of the text file.", labels=["file"]
        )
        for path in self.paths():
            families = read_families(path)
            ok.add_metric([str(path)], 0.0 if families is None else 1.0)
            if families is None:
                continue
            with contextlib.suppress(OSError):
                mtime.add_metric([str(path)], path.stat().st_mtime)
            for family in families:
                if family.name in merged:
                    merged[family.name].samples.extend(family.samples)
                else:
                    merged[family.name] = family
        yield ok
        yield mtime
        yield from merged.values()


def read_families(path: Path) -> list[Metric] | None:
    """The metric families of one file; None when it is missing, too big or malformed."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        text = path.read_text(encoding="utf-8")
        return [
            f
            for f in text_string_to_metric_families(text)
            if not f.name.startswith("govnet_textfile_")
        ]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, IndexError):
        return None


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def make_app(
    registry: CollectorRegistry,
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            result: Iterable[bytes] = metrics(environ, start_response)
            return result
        if path in ("/healthz", "/-/ready"):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"govnet textfile exporter: see /metrics\n"]

    return app


def serve(port: int, directory: Path | None, files: Sequence[Path], stop: threading.Event) -> None:
    registry = CollectorRegistry()
    registry.register(TextfileCollector(directory, files))
    server = make_server(
        "127.0.0.1", port, make_app(registry), server_class=_Server, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="govnet-textfile", daemon=True)
    thread.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--dir", type=Path, help="serve every *.prom file of this directory")
    parser.add_argument("--file", type=Path, action="append", default=[], help="and this file")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error("--port must be 1-65535")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        serve(args.port, args.dir, args.file, stop)
    except OSError as exc:
        print(
            f"error: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

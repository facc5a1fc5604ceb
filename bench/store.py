"""Central store: Prometheus (remote-write receiver) against VictoriaMetrics single-node,
in the same run, on the national series count.

    .venv/bin/python bench/store.py --vm /usr/bin/victoria-metrics   # Debian victoria-metrics
    .venv/bin/python bench/store.py --series 94000 --minutes 5 --interval 15

A synthetic exporter on 127.0.0.1 serves ``--series`` series shaped like the probes'
(device, ifname and metric labels; values that move every scrape). One Prometheus agent
scrapes it every ``--interval`` s and remote-writes every sample to both stores at once, so
both get the same load. After ``--minutes`` it reports, per store: CPU seconds, CPU per
million samples, resident memory, bytes on disk, samples ingested (each store's own
counter) and the latency of a console-like query (best of 5). Everything is on loopback
and every process started here is ended by PID.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from controller.soc import procs  # noqa: E402

PER_TARGET = 55  # series per probe target, measured (bench/scale.py: 320 targets → ~17,600)
NATIONAL = 1712 * PER_TARGET
HZ = os.sysconf("SC_CLK_TCK")
QUERY = "sum by (metric) (avg_over_time(govnet_bench_value[5m]))"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Exporter:
    """``series`` gauges ``govnet_bench_value{device,ifname,metric}``, moving each scrape."""

    def __init__(self, series: int) -> None:
        self.labels = [
            f'device="cpe-{i // PER_TARGET:05d}",ifname="eth{i % 4}",metric="m{i % PER_TARGET:02d}"'
            for i in range(series)
        ]
        self.values = [random.random() * 100 for _ in range(series)]
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.body
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.body = self.render()
        self.stopping = threading.Event()
        self.mover = threading.Thread(target=self._move, daemon=True)

    def _move(self) -> None:
        """New values every 5 s, rendered off the request path (scrapes never wait)."""
        while not self.stopping.wait(5):
            self.body = self.render()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def render(self) -> bytes:
        for i in range(len(self.values)):
            self.values[i] = max(0.0, self.values[i] + random.uniform(-1, 1))
        lines = ["# TYPE govnet_bench_value gauge"]
        lines += [
            f"govnet_bench_value{{{lab}}} {v:.3f}"
            for lab, v in zip(self.labels, self.values, strict=True)
        ]
        return ("\n".join(lines) + "\n").encode()

    def __enter__(self) -> Exporter:
        self.thread.start()
        self.mover.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def counter(url: str, sample: str) -> float:
    """A sample of the store's own /metrics (summed over its label sets)."""
    name, _, labels = sample.partition("{")
    with httpx.Client(trust_env=False, timeout=30) as client:
        text = client.get(f"{url}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            if labels and labels.rstrip("}") not in line:
                continue
            total += float(line.rsplit(" ", 1)[1])
    return total


def query_ms(url: str) -> float:
    best = float("inf")
    with httpx.Client(trust_env=False, timeout=60) as client:
        for _ in range(5):
            began = time.perf_counter()
            client.get(f"{url}/api/v1/query", params={"query": QUERY}).raise_for_status()
            best = min(best, time.perf_counter() - began)
    return best * 1000


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with httpx.Client(trust_env=False, timeout=2) as client:
                if client.get(url).status_code == 200:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=NATIONAL)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--interval", type=int, default=15)
    parser.add_argument("--vm", default="/usr/bin/victoria-metrics")
    args = parser.parse_args(argv)
    prometheus = shutil.which("prometheus")
    if prometheus is None or not Path(args.vm).is_file():
        print("error: needs prometheus and victoria-metrics (--vm PATH)", file=sys.stderr)
        return 2
    if not 1 <= args.series <= 5_000_000 or not 0.5 <= args.minutes <= 60:
        print("error: --series 1-5000000, --minutes 0.5-60", file=sys.stderr)
        return 2

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    with (
        tempfile.TemporaryDirectory(prefix="govnet-bench-store-") as tmp,
        Exporter(args.series) as exporter,
    ):
        work = Path(tmp)
        prom_port, vm_port, agent_port = free_port(), free_port(), free_port()
        stores = {
            "prometheus": (
                [
                    prometheus,
                    f"--config.file={work / 'empty.yml'}",
                    f"--storage.tsdb.path={work / 'prom-data'}",
                    "--storage.tsdb.retention.time=400d",
                    "--web.enable-remote-write-receiver",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                f"http://127.0.0.1:{prom_port}",
                work / "prom-data",
                "prometheus_tsdb_head_samples_appended_total",
            ),
            "victoria-metrics": (
                [
                    args.vm,
                    f"-storageDataPath={work / 'vm-data'}",
                    "-retentionPeriod=400d",
                    f"-httpListenAddr=127.0.0.1:{vm_port}",
                    "-search.latencyOffset=0s",
                ],
                f"http://127.0.0.1:{vm_port}",
                work / "vm-data",
                'vm_rows_inserted_total{type="promremotewrite"}',
            ),
        }
        (work / "empty.yml").write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": f"{args.interval}s"},
                    "scrape_configs": [
                        {
                            "job_name": "self",
                            "static_configs": [{"targets": [f"127.0.0.1:{prom_port}"]}],
                        }
                    ],
                }
            )
        )
        agent_config = {
            "global": {
                "scrape_interval": f"{args.interval}s",
                "scrape_timeout": f"{args.interval - 1}s",
            },
            "scrape_configs": [
                {
                    "job_name": "bench",
                    "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}],
                }
            ],
            "remote_write": [
                {"url": f"http://127.0.0.1:{prom_port}/api/v1/write", "name": "prometheus"},
                {"url": f"http://127.0.0.1:{vm_port}/api/v1/write", "name": "vm"},
            ],
        }
        (work / "agent.yml").write_text(yaml.safe_dump(agent_config))
        started: list[procs.ProcessRecord] = []
        try:
            for name, (argv_, url, _, _) in stores.items():
                started.append(
                    procs.start(name, argv_, work / f"{name}.pid", work / f"{name}.log", work)
                )
                wait_ready(url + ("/-/ready" if name == "prometheus" else "/health"))
            cpu0 = {r.name: cpu(r.pid) for r in started}
            agent = procs.start(
                "agent",
                [
                    prometheus,
                    "--enable-feature=agent",
                    f"--config.file={work / 'agent.yml'}",
                    f"--storage.agent.path={work / 'wal'}",
                    f"--web.listen-address=127.0.0.1:{agent_port}",
                ],
                work / "agent.pid",
                work / "agent.log",
                work,
            )
            started.append(agent)
            began = time.monotonic()
            time.sleep(args.minutes * 60)
            elapsed = time.monotonic() - began
            time.sleep(min(20, args.interval + 5))  # the last batches land
            rows = []
            for record in started[:-1]:
                _, url, data, sample = stores[record.name]
                spent = cpu(record.pid) - cpu0[record.name]
                samples = counter(url, sample)
                rows.append(
                    (
                        record.name,
                        spent,
                        spent / (samples / 1e6) if samples else float("nan"),
                        rss_mb(record.pid),
                        disk_mb(data),
                        samples,
                        query_ms(url),
                    )
                )
        finally:
            for record in reversed(started):
                procs.stop(record)
    print(
        f"{args.series:,} series every {args.interval} s for {elapsed / 60:.1f} min"
        f" ({args.series / args.interval:,.0f} samples/s offered), one agent writing to both"
    )
    print_rows(rows)
    return 0


def print_rows(rows: Iterable[tuple[str, float, float, float, float, float, float]]) -> None:
    print(
        f"{'store':<17} {'CPU':>8} {'CPU/M samples':>14} {'RSS':>9} {'disk':>9}"
        f" {'samples':>12} {'query':>9}"
    )
    for name, spent, per_m, rss, disk, samples, ms in rows:
        print(
            f"{name:<17} {spent:>7.1f}s {per_m:>13.2f}s {rss:>7.0f}MB {disk:>7.1f}MB"
            f" {samples:>12,.0f} {ms:>7.0f}ms"
        )


if __name__ == "__main__":
    raise SystemExit(main())

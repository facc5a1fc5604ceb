"""The textfile exporter: serves every *.prom file, merges families, survives bad files."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from controller.soc.textfile import TextfileCollector, serve
from tests.soc.helpers import free_port, wait_until


def test_files_are_merged_and_bad_ones_reported(tmp_path: Path) -> None:
    (tmp_path / "a.prom").write_text(
        '# TYPE govnet_config_drift gauge\ngovnet_config_drift{device="r1"} 1\n'
    )
    (tmp_path / "b.prom").write_text('govnet_config_drift{device="r2"} 0\n')
    (tmp_path / "bad.prom").write_text("this is { not prometheus\n")
    (tmp_path / "ignored.txt").write_text("x 1\n")
    extra = tmp_path / "elsewhere" / "drift.prom"
    families = {f.name: f for f in TextfileCollector(tmp_path, [extra]).collect()}
    drift = families["govnet_config_drift"]
    assert sorted((s.labels["device"], s.value) for s in drift.samples) == [
        ("r1", 1.0),
        ("r2", 0.0),
    ]
    ok = {Path(s.labels["file"]).name: s.value for s in families["govnet_textfile_ok"].samples}
    assert ok == {"a.prom": 1.0, "b.prom": 1.0, "bad.prom": 0.0, "drift.prom": 0.0}


def test_the_server_answers_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "inventory.prom").write_text('govnet_device_info{device="core-1",role="core"} 1\n')
    port = free_port()
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(port, tmp_path, [], stop), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}"

        def scrape() -> str | None:
            try:
                return httpx.get(url + "/metrics", timeout=1).text
            except httpx.HTTPError:
                return None

        body = wait_until(scrape, 10, "the textfile exporter")
        assert 'govnet_device_info{device="core-1",role="core"} 1.0' in body
        assert httpx.get(url + "/healthz").text == "ok\n"
        assert httpx.get(url + "/other").status_code == 404
    finally:
        stop.set()
        thread.join(5)

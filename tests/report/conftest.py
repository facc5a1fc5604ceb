"""A real Prometheus (Debian) holding a month of synthetic probe data, backfilled with
`promtool tsdb create-blocks-from openmetrics`, with the 5-minute series the recording
rules of soc/rules/sla.yml make from it (written with the raw data: every span below is
aligned on 5 minutes, so each window holds one value; the rules themselves are tested by
promtool, soc/rules/tests/sla.test.yml). Shared by the CLI and the console tests.

November 2026 (Cambodia time), one sample a minute, taken 30 s into each minute (as real
scrapes are offset from the evaluation grid):

- mr-mef (MEF's ministry router) is down on its own on 5 Nov 02:00-02:45 (45 min);
- core-1, its parent, is down on 10 Nov 10:00-10:20: mr-mef is unreachable behind it
  (upstream down) for those 20 minutes;
- change 1 (a maintenance window on MEF's link) runs 20 Nov 22:00-23:00, and mr-mef is
  down 22:10-22:40 inside it: excluded;
- RTT is 20 ms, but 40 ms on 15 and 16 Nov (6.7 % of the month: the p95 is 40 ms);
- loss is 0 but 2 % on 25 Nov;
- the probes reported nothing on 12 Nov 13:02-13:09 (7 minutes): neither up nor down.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from controller.change.impact import Failure, Network
from controller.change.records import ICT, ChangeStore, Window
from controller.inventory import load_inventory
from controller.soc import procs
from tests.conftest import ROOT
from tests.soc.helpers import free_port, require_soc_binaries, wait_until

MONTH_START = datetime(2026, 11, 1, tzinfo=ICT).timestamp()
MONTH_END = datetime(2026, 12, 1, tzinfo=ICT).timestamp()
STEP = 60
LABELS = {
    "core-1": 'site="KH-12",province="KH-12",tenant="",role="core"',
    "mr-mef": 'site="KH-12",province="KH-12",tenant="MEF",role="ministry-router"',
}
LINK = "core-1:eth6--mr-mef:eth1"


def at(day: int, hour: int, minute: int) -> float:
    return datetime(2026, 11, day, hour, minute, tzinfo=ICT).timestamp()


OWN = (at(5, 2, 0), at(5, 2, 45))
CORE = (at(10, 10, 0), at(10, 10, 20))
WINDOW = (at(20, 22, 0), at(20, 23, 0))
IN_WINDOW = (at(20, 22, 10), at(20, 22, 40))
SLOW = (at(15, 0, 0), at(17, 0, 0))
LOSSY = (at(25, 0, 0), at(26, 0, 0))
SILENT = (at(12, 13, 2), at(12, 13, 9))


def _within(t: float, span: tuple[float, float]) -> bool:
    return span[0] <= t < span[1]


def openmetrics() -> str:
    """The month as OpenMetrics text: each family's series one after the other."""
    families: dict[str, list[str]] = {
        "govnet_site_up": [],
        "govnet_site_upstream_down": [],
        "govnet_icmp_loss_ratio": [],
        "govnet_icmp_rtt_seconds": [],
        "govnet:icmp_rtt_seconds:p95_5m": [],
        "govnet:icmp_loss_ratio:avg5m": [],
    }
    for device in ("core-1", "mr-mef"):
        labels = f'device="{device}",{LABELS[device]}'
        down_spans = [CORE] if device == "core-1" else [OWN, CORE, IN_WINDOW]
        answered: list[tuple[float, float]] = []  # this 5-minute window's (rtt, loss)
        for minute in range(int((MONTH_END - MONTH_START) // STEP)):
            slot = MONTH_START + minute * STEP
            if minute % 5 == 0:
                answered = []
            silent = _within(slot, SILENT)
            down = any(_within(slot, s) for s in down_spans)
            t = f"{slot + 30:.0f}"
            behind = device == "mr-mef" and _within(slot, CORE)
            loss = 1.0 if down else (0.02 if _within(slot, LOSSY) else 0.0)
            rtt = 0.040 if _within(slot, SLOW) else 0.020
            if not silent:
                families["govnet_site_up"].append(
                    f"govnet_site_up{{{labels}}} {0 if down else 1} {t}"
                )
                families["govnet_site_upstream_down"].append(
                    f"govnet_site_upstream_down{{{labels}}} {1 if behind else 0} {t}"
                )
                families["govnet_icmp_loss_ratio"].append(
                    f"govnet_icmp_loss_ratio{{{labels}}} {loss} {t}"
                )
            if not silent and not down:  # fping reports no RTT when every echo is lost
                families["govnet_icmp_rtt_seconds"].append(
                    f'govnet_icmp_rtt_seconds{{{labels},stat="avg"}} {rtt} {t}'
                )
                answered.append((rtt, loss))
            if minute % 5 == 4 and answered:  # what the rules record at the window's end
                end = f"{slot + STEP:.0f}"
                p95, avg = answered[-1]  # every span is 5-minute aligned: one value a window
                families["govnet:icmp_rtt_seconds:p95_5m"].append(
                    f"govnet:icmp_rtt_seconds:p95_5m{{{labels}}} {p95} {end}"
                )
                families["govnet:icmp_loss_ratio:avg5m"].append(
                    f"govnet:icmp_loss_ratio:avg5m{{{labels}}} {avg} {end}"
                )
    out = io.StringIO()
    for name, lines in families.items():
        out.write(f"# TYPE {name} gauge\n")
        out.write("\n".join(lines) + "\n")
    out.write("# EOF\n")
    return out.getvalue()


def _run(*argv: str, timeout: float = 300) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


class Prom:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.record: procs.ProcessRecord | None = None
        (root / "prometheus.yml").write_text(
            "global: {scrape_interval: 1m, evaluation_interval: 1m}\n"
            "scrape_configs:\n"
            "  - job_name: govnet-probes\n"
            "    scrape_interval: 1m\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{free_port()}']}}]\n"
        )

    def start(self) -> None:
        argv = [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={self.root / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.data}",
            "--storage.tsdb.retention.time=3650d",  # November is older than the default 15d
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        self.record = procs.start(
            "prometheus",
            argv,
            self.root / "prometheus.pid",
            self.root / "prometheus.log",
            self.root,
        )

        def ready() -> bool:
            try:
                return httpx.get(self.url + "/-/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 60, "Prometheus ready")

    def stop(self) -> None:
        if self.record is not None:
            procs.stop(self.record)
            self.record = None


@pytest.fixture(scope="session")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prom]:
    require_soc_binaries()
    root = tmp_path_factory.mktemp("sla-prom")
    (root / "month.om").write_text(openmetrics())
    _run(
        "promtool",
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "--max-block-duration=744h",
        str(root / "month.om"),
        str(root / "data"),
    )
    prom = Prom(root)
    try:
        prom.start()
        yield prom
    finally:
        prom.stop()


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A change record for the maintenance window (MEF's link), as `change new` makes it."""
    state = tmp_path_factory.mktemp("sla-state")
    inv = load_inventory(ROOT / "inventory/lab")
    ChangeStore(state).create(
        title="Replace MEF link optic",
        reason="CRC errors",
        author="test",
        window=Window(
            datetime.fromtimestamp(WINDOW[0], UTC), datetime.fromtimestamp(WINDOW[1], UTC)
        ),
        impact=Network(inv).impact(Failure(links=(LINK,))),
        inventory="inventory/lab",
        revision="test",
    )
    return state

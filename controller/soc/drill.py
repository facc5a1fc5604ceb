"""The fault → alert → resolve drill, end to end in the namespace lab: probes polling
from inside the lab, Prometheus + Alertmanager, the SOC console — and a province
uplink cut and healed while the console is watched through its own JSON API.

Used by tests/soc/test_e2e_lab.py, bench/soc.py and scripts/demo.py, for the console and
its timing; the drill's alert assertions also run as a declarative campaign beside the
lab (simulations/scenarios/soc-drill.yaml, `govnet lab scenario run --soc`), and the
process helpers live there (simulations/campaign.py). Every process it starts is
recorded and stopped by PID; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from controller.soc.errors import SocError
from simulations.campaign import Child, govnet_command, start_child, start_probes

__all__ = ["Child", "govnet_command", "start_child", "start_probes"]  # moved beside the lab

LAB_NMS = "clab-lab-nms-1"
CUT = "core-1:eth5"  # Battambang's only uplink (pr-kh2 and its four communes)
CUT_PROVINCE = "KH-2"
DUAL = "core-1:eth4"  # one of Siem Reap's two uplinks (pr-kh17 is dual-homed)
DUAL_PROVINCE = "KH-17"
Log = Callable[[str], None]


def _quiet(message: str) -> None:
    return


# ---------------------------------------------------------------------------- console


class ConsoleThread:
    """The SOC console (uvicorn) in a thread of this process, on loopback."""

    def __init__(self, app: Any, port: int, host: str = "127.0.0.1") -> None:
        import uvicorn

        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False)
        )
        self.thread = threading.Thread(target=self.server.run, name="soc-console", daemon=True)

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise SocError(f"the console did not start on {self.url}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class ConsoleClient:
    """The console's JSON API, signed in like a browser (CSRF token from the form)."""

    def __init__(self, url: str, username: str, password: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(trust_env=False, timeout=timeout, follow_redirects=False)
        page = self.client.get(self.url + "/login")
        match = _CSRF.search(page.text)
        if match is None:
            raise SocError(f"{self.url}/login: no sign-in form")
        response = self.client.post(
            self.url + "/login",
            data={"username": username, "password": password, "csrf_token": match.group(1)},
        )
        if response.status_code != 303:
            raise SocError(
                f"cannot sign in to the console as {username}: HTTP {response.status_code}"
            )

    def alerts(self) -> list[dict[str, Any]]:
        response = self.client.get(self.url + "/api/alerts")
        if response.status_code != 200:
            raise SocError(f"/api/alerts: HTTP {response.status_code} {response.text[:200]}")
        return list(response.json()["alerts"])

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------------------- the drill


def visible(alerts: list[dict[str, Any]], province: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["state"] == "active" and a["province"] == province]


def province_alert(alerts: list[dict[str, Any]], province: str) -> dict[str, Any] | None:
    """The one visible critical alert that says the province is cut off."""
    found = [
        a
        for a in visible(alerts, province)
        if a["severity"] == "critical"
        and a["alertname"] in ("GovnetProvinceDown", "GovnetProvinceIsolated")
    ]
    return found[0] if len(found) == 1 else None


@dataclass
class DrillResult:
    detect_seconds: float
    resolve_seconds: float
    alert: dict[str, Any]
    suppressed_sites: int
    suppressed_alerts: list[str]
    visible_in_province: list[str]
    dual_homed_visible: list[str]
    timeline: list[tuple[float, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "detect_seconds": round(self.detect_seconds, 1),
            "resolve_seconds": round(self.resolve_seconds, 1),
            "alert": self.alert["alertname"],
            "severity": self.alert["severity"],
            "suppressed_sites": self.suppressed_sites,
            "suppressed_alerts": self.suppressed_alerts,
            "visible_in_province": self.visible_in_province,
            "dual_homed_visible": self.dual_homed_visible,
        }


def wait_for(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    every: float = 1.0,
    stop: threading.Event | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        if stop is not None and stop.wait(every):
            raise KeyboardInterrupt
        if stop is None:
            time.sleep(every)
    raise SocError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextlib.contextmanager
def cut(faults: Any, endpoints: list[str], log: Log = _quiet) -> Iterator[None]:
    """Links down for the block; back up afterwards, whatever happens (only ours)."""
    done = []
    try:
        for endpoint in endpoints:
            faults.link_down(endpoint)
            done.append(endpoint)
            log(f"link-down {endpoint}")
        yield
    finally:
        for endpoint in reversed(done):
            with contextlib.suppress(Exception):
                faults.link_up(endpoint)
                log(f"link-up {endpoint}")


def run_drill(
    faults: Any,
    console: ConsoleClient,
    detect_timeout: float = 150.0,
    resolve_timeout: float = 150.0,
    with_dual_homed: bool = True,
    settle_timeout: float = 60.0,
    log: Log = _quiet,
    stop: threading.Event | None = None,
) -> DrillResult:
    """Cut Battambang's uplink (and one of Siem Reap's two), time the province alert with
    its communes suppressed under it, heal, time the resolution."""
    endpoints = [CUT, *([DUAL] if with_dual_homed else [])]
    timeline: list[tuple[float, str]] = []
    start = time.monotonic()
    with cut(faults, endpoints, log):
        t0 = time.monotonic()

        def detected() -> dict[str, Any] | None:
            alert = province_alert(console.alerts(), CUT_PROVINCE)
            return alert

        alert = wait_for(
            detected, detect_timeout, f"a critical alert for {CUT_PROVINCE}", 1.0, stop
        )
        detect = time.monotonic() - t0
        timeline.append((detect, f"{alert['alertname']} {alert['severity']}"))
        log(f"detected after {detect:.1f} s: {alert['summary']}")

        def with_communes() -> dict[str, Any] | None:
            current = province_alert(console.alerts(), CUT_PROVINCE)
            return current if current and current["suppressed_sites"] >= 4 else None

        alert = wait_for(
            with_communes, 60, "the communes counted under the province alert", 1.0, stop
        )
        timeline.append((time.monotonic() - t0, f"{alert['suppressed_sites']} sites suppressed"))

        # SNMP sees the interfaces down a cycle later than ICMP sees the router: wait until
        # the link alerts fired too (suppressed under the province; a warning for the
        # dual-homed one), bounded — then take the picture.
        Picture = tuple[dict[str, Any], list[str], list[str], list[str]]

        def snapshot() -> Picture | None:
            alerts = console.alerts()
            current = province_alert(alerts, CUT_PROVINCE)
            if current is None:
                return None
            names = {a["fingerprint"]: a["alertname"] for a in alerts}
            suppressed = sorted(names.get(f, f) for f in current["suppressed"])
            mine = sorted(
                f"{a['alertname']}/{a['severity']}" for a in visible(alerts, CUT_PROVINCE)
            )
            dual = sorted(
                f"{a['alertname']}/{a['severity']}" for a in visible(alerts, DUAL_PROVINCE)
            )
            return current, suppressed, mine, dual

        def settled() -> Picture | None:
            picture = snapshot()
            if picture is None or not {"GovnetUplinkDown", "GovnetProvinceIsolated"} <= set(
                picture[1]
            ):
                return None
            if with_dual_homed and "GovnetUplinkDown/warning" not in picture[3]:
                return None
            return picture

        try:
            picture = wait_for(settled, settle_timeout, "the link alerts", 1.0, stop)
            timeline.append((time.monotonic() - t0, "link alerts in"))
        except SocError:
            picture = snapshot()
            if picture is None:
                raise
        alert, suppressed, in_province, dual = picture
        shown = ", ".join(dual) or "nothing"
        log(f"suppressed under it: {', '.join(suppressed)}; {DUAL_PROVINCE} shows: {shown}")
    t1 = time.monotonic()

    def resolved() -> bool:
        return not any(
            a["province"] == CUT_PROVINCE and a["severity"] == "critical" for a in console.alerts()
        )

    wait_for(resolved, resolve_timeout, f"the {CUT_PROVINCE} alert to resolve", 1.0, stop)
    resolve = time.monotonic() - t1
    timeline.append((time.monotonic() - start, "resolved"))
    log(f"resolved {resolve:.1f} s after link-up")
    return DrillResult(
        detect, resolve, alert, alert["suppressed_sites"], suppressed, in_province, dual, timeline
    )


# ---------------------------------------------------------------------------- the loop


@dataclass(frozen=True)
class LoopPorts:
    probes: int = 9500
    prometheus: int = 9090
    alertmanager: int = 9093
    textfile: int = 9501
    console: int = 8080


class SocLoop:
    """Probes (from inside the lab) → Prometheus + Alertmanager → the console, started in
    that order and stopped in reverse — only what this loop started, by PID."""

    def __init__(
        self,
        state_dir: Path,
        inventory: Path,
        ports: LoopPorts,
        probe_interval: float = 15.0,
        scrypt_n: int | None = None,
        log: Log = _quiet,
        notifications: bool = False,
        scrape_interval: int = 10,
        rules_dir: Path | None = None,
        ipsec_dir: Path | None = None,
    ) -> None:
        self.ipsec_dir = ipsec_dir
        self.state_dir = state_dir
        self.inventory = inventory
        self.ports = ports
        self.probe_interval = probe_interval
        self.notifications = notifications
        self.scrape_interval = scrape_interval
        self.rules_dir = rules_dir
        self.scrypt_n = scrypt_n
        self.log = log
        self.probes: Child | None = None
        self.stack: Any = None
        self.console: ConsoleThread | None = None
        self.pids: list[int] = []

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.console}"

    def start(self) -> None:
        from controller.inventory import load_inventory
        from controller.soc.settings import SocSettings
        from controller.soc.stack import SocStack, port_free
        from controller.web import WebSettings, create_app

        for name in ("probes", "console"):
            port = getattr(self.ports, name)
            if not port_free(port):
                raise SocError(f"127.0.0.1:{port} ({name}) is in use by another program")
        inv = load_inventory(self.inventory)
        self.probes = start_probes(
            self.inventory,
            self.ports.probes,
            self.state_dir,
            self.probe_interval,
            notifications=self.notifications,
            ipsec_dir=self.ipsec_dir,
        )
        self.pids.append(self.probes.pid)
        self.log(f"probes: govnet probe serve --netns {LAB_NMS} (pid {self.probes.pid})")
        settings = SocSettings(
            state_dir=self.state_dir,
            probes=(f"127.0.0.1:{self.ports.probes}",),
            prometheus_port=self.ports.prometheus,
            alertmanager_port=self.ports.alertmanager,
            textfile_port=self.ports.textfile,
            scrape_interval=self.scrape_interval,
            evaluation_interval=self.scrape_interval,
        )
        if self.rules_dir is not None:
            settings = dataclasses.replace(settings, rules_dir=self.rules_dir)
        self.stack = SocStack(settings, inv)
        for state in self.stack.up():
            if state.pid:
                self.pids.append(state.pid)
            self.log(f"{state.name}: {state.state} on {state.url} (pid {state.pid})")
        web = WebSettings(
            state_dir=self.state_dir,
            inventory=self.inventory,
            prometheus_url=settings.prometheus_url,
            alertmanager_url=settings.alertmanager_url,
        )
        if self.scrypt_n:
            web = dataclasses.replace(web, scrypt_n=self.scrypt_n)
        self.console = ConsoleThread(create_app(web), self.ports.console)
        self.console.start()
        self.log(f"console: {self.console_url}/")

    def wait_for_targets(
        self, count: int, timeout: float, stop: threading.Event | None = None
    ) -> None:
        """Until Prometheus has every probe target up (OSPF converged, first cycles in)."""
        url = f"http://127.0.0.1:{self.ports.prometheus}/api/v1/query"

        def all_up() -> bool:
            if self.probes is not None and not self.probes.alive():
                raise SocError(f"govnet probe serve exited: {self.probes.tail()}")
            try:
                body = httpx.get(
                    url, params={"query": "count(govnet_site_up == 1)"}, timeout=5
                ).json()
            except (httpx.HTTPError, ValueError):
                return False
            result = body.get("data", {}).get("result", [])
            return bool(result) and int(float(result[0]["value"][1])) >= count

        wait_for(all_up, timeout, f"{count} probe targets up in Prometheus", 2.0, stop)

    def stop(self) -> None:
        """Console, then Prometheus/Alertmanager/textfile, then probes; errors reported,
        never stopping the rest of the teardown."""
        steps: list[tuple[str, Callable[[], object]]] = []
        if self.console is not None:
            steps.append(("console", self.console.stop))
        if self.stack is not None:
            steps.append(("prometheus, alertmanager, textfile", self.stack.down))
        if self.probes is not None:
            steps.append(("probes", self.probes.stop))
        for name, step in steps:
            try:
                step()
                self.log(f"stopped {name}")
            except Exception as exc:  # teardown goes on: report and continue
                self.log(f"could not stop {name}: {exc}")
        self.console, self.stack, self.probes = None, None, None


# ---------------------------------------------------------------------------- trap vs poll

ACCESS_CUT = "pr-kh17:eth6"  # cpe-170102's access link: nothing else behind it
ACCESS_LINK = "pr-kh17:eth6--cpe-170102:eth1"


@dataclass
class DetectResult:
    """Seconds from the fault to each sign of it in Prometheus (None: not within the
    timeout): the trap-driven alert, the polled link state, the polled alert (its `for`
    included), and after link-up until all three cleared."""

    trap_alert: float | None
    poll_state: float | None
    poll_alert: float | None
    cleared: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {k: None if v is None else round(v, 1) for k, v in dataclasses.asdict(self).items()}


def run_detect_drill(
    faults: Any,
    prometheus_url: str,
    endpoint: str = ACCESS_CUT,
    link: str = ACCESS_LINK,
    timeout: float = 150.0,
    log: Log = _quiet,
) -> DetectResult:
    """Cut one access link; time the trap path (GovnetInterfaceDownTrap firing) against
    the poll path (govnet:link_down seen, GovnetLinkDown firing); heal; time the clear."""
    device, ifname = endpoint.split(":")
    queries = {
        "trap_alert": f'ALERTS{{alertname="GovnetInterfaceDownTrap",device="{device}",'
        f'ifname="{ifname}",alertstate="firing"}}',
        "poll_state": f'govnet:link_down{{link="{link}"}} == 1',
        "poll_alert": f'ALERTS{{alertname="GovnetLinkDown",link="{link}",alertstate="firing"}}',
    }

    def present(query: str) -> bool:
        try:
            body = httpx.get(
                f"{prometheus_url}/api/v1/query", params={"query": query}, timeout=5
            ).json()
        except (httpx.HTTPError, ValueError):
            return False
        return bool(body.get("data", {}).get("result"))

    seen: dict[str, float] = {}
    cleared: float | None = None
    with cut(faults, [endpoint], log):
        t0 = time.monotonic()
        while len(seen) < len(queries) and time.monotonic() - t0 < timeout:
            for name, query in queries.items():
                if name not in seen and present(query):
                    seen[name] = time.monotonic() - t0
                    log(f"{name} after {seen[name]:.1f} s")
            time.sleep(0.5)
    t1 = time.monotonic()
    while time.monotonic() - t1 < timeout:
        if not any(present(q) for q in queries.values()):
            cleared = time.monotonic() - t1
            break
        time.sleep(1.0)
    return DetectResult(
        seen.get("trap_alert"), seen.get("poll_state"), seen.get("poll_alert"), cleared
    )

"""The SLA report's reading of Prometheus: a month of samples for a set of devices, as
few points as give exact outage edges (± one scrape interval).

- **Outage edges**, at the scrape interval ``step``: ``min_over_time(govnet_site_up[step])
  == 0`` and ``max_over_time(govnet_site_upstream_down[step]) == 1``. The comparison
  drops every other point on the server, so a month of a healthy device costs nothing
  to transfer, and ``…_over_time`` over one step reads exactly the samples of that slot
  (no 5-minute look-back stretching an outage past the end of the data).
- **Coverage** (when the probes reported a device at all): ``count_over_time(…[5m])`` at
  5-minute steps; only windows that are not full are read again at the scrape interval.
  It is read first: the outage-edge queries then read only where there are samples
  (:func:`query_spans`) — not the days before the probes started, nor the rest of a
  month still under way.
- **RTT and loss**: the recording rules ``govnet:icmp_rtt_seconds:p95_5m`` and
  ``govnet:icmp_loss_ratio:avg5m`` (soc/rules/sla.yml) at 5-minute steps — 8,928 points a
  device for a 31-day month.

Requests stay under Prometheus' 11,000 points per series by cutting the range in chunks.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

import yaml

from controller.report.sla import SUMMARY_STEP, DeviceSamples, Interval, Period, merge
from controller.soc.backends import HttpPrometheus, Prometheus, Series
from controller.soc.config import PROBES_JOB
from controller.soc.errors import BackendError

MAX_POINTS = 11_000
JOIN = 3600.0
"""Spans with data less than this apart are read in one range query."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def device_selector(devices: Iterable[str]) -> str:
    """``{device=~"a|b\\.c"}`` for inventory device names (validated, dots escaped)."""
    names = sorted(set(devices))
    for name in names:
        if not _NAME.match(name):
            raise ValueError(f"bad device name {name!r}")
    # PromQL string of an RE2 pattern: a literal dot is `\.` in RE2, `\\.` in the string.
    pattern = "|".join(name.replace(".", "\\\\.") for name in names)
    return '{device=~"' + pattern + '"}'


def window(seconds: float) -> str:
    """A range selector's duration one millisecond short of ``seconds``: Prometheus 2's
    ranges hold both ends, and a sample exactly on the earlier edge belongs to the slot
    before."""
    return f"{round(seconds * 1000) - 1}ms"


def chunks(start: float, end: float, step: float) -> Iterator[tuple[float, float]]:
    """Evaluation ranges ``[a, b]`` of at most MAX_POINTS points covering start..end."""
    span = (MAX_POINTS - 1) * step
    first = start
    while first <= end:
        last = min(first + span, end)
        yield first, last
        first = last + step


def query_spans(
    coverage: Iterable[Iterable[Interval]], period: Period, step: float
) -> list[Interval]:
    """Where the scrape-interval queries need to look: the parts of the period where any
    device has samples (an outage slot can only be where a sample is), widened to the
    slot grid (``period.start + k·step``) by a slot each side and joined when closer than
    :data:`JOIN` (fewer requests). A current month is read up to its last sample, not to
    its end; a month the probes reported for one day reads one day."""
    out: list[list[float]] = []
    for a, b in merge(i for spans in coverage for i in spans):
        lo = period.start + (math.floor((a - period.start) / step) - 1) * step
        hi = period.start + (math.ceil((b - period.start) / step) + 1) * step
        lo, hi = max(lo, period.start), min(hi, period.end)
        if out and lo - out[-1][1] < JOIN:
            out[-1][1] = max(out[-1][1], hi)
        elif hi > lo:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


class SlaSource:
    def __init__(self, prometheus: Prometheus, step: float) -> None:
        if not 1 <= step <= 300:
            raise ValueError("the scrape interval must be 1 to 300 seconds")
        self.prometheus = prometheus
        self.step = float(step)

    def _range(self, promql: str, start: float, end: float, step: float) -> list[Series]:
        found: list[Series] = []
        for first, last in chunks(start, end, step):
            found.extend(self.prometheus.query_range(promql, first, last, step))
        return found

    def _slots(self, promql: str, spans: Iterable[Interval]) -> dict[str, set[float]]:
        """Slot starts (``t - step`` of each returned evaluation time) by device."""
        step = self.step
        out: dict[str, set[float]] = defaultdict(set)
        for start, end in spans:
            for series in self._range(promql, start + step, end, step):
                device = series.labels.get("device", "")
                out[device].update(t - step for t, v in series.points if v == v)
        return out

    def _summary(self, metric: str, selector: str, period: Period) -> dict[str, list]:
        out: dict[str, list[tuple[float, float]]] = defaultdict(list)
        promql = f"last_over_time({metric}{selector}[{window(SUMMARY_STEP)}])"
        for series in self._range(promql, period.start + SUMMARY_STEP, period.end, SUMMARY_STEP):
            device = series.labels.get("device", "")
            out[device].extend((t, v) for t, v in series.points if not math.isnan(v))
        return out

    def _coverage(self, selector: str, period: Period) -> dict[str, list[Interval]]:
        step, span = self.step, SUMMARY_STEP
        full = math.floor(span / step)
        counts = self._range(
            f"count_over_time(govnet_site_up{selector}[{window(span)}])",
            period.start + span,
            period.end,
            span,
        )
        covered: dict[str, list[Interval]] = defaultdict(list)
        partial: dict[str, list[Interval]] = defaultdict(list)
        for series in counts:
            device = series.labels.get("device", "")
            for t, count in series.points:
                if count >= full:
                    covered[device].append((t - span, t))
                elif count > 0:
                    partial[device].append((t - span, t))
        for device, windows in partial.items():
            one = device_selector([device])
            for start, end in merge(windows):
                for series in self._range(
                    f"count_over_time(govnet_site_up{one}[{window(step)}])", start + step, end, step
                ):
                    covered[device].extend((t - step, t) for t, v in series.points if v > 0)
        return {device: merge(spans) for device, spans in covered.items()}

    def fetch(self, devices: Iterable[str], period: Period) -> dict[str, DeviceSamples]:
        names = sorted(set(devices))
        if not names:
            return {}
        selector = device_selector(names)
        slot = window(self.step)
        coverage = self._coverage(selector, period)
        spans = query_spans(coverage.values(), period, self.step)
        down = self._slots(f"min_over_time(govnet_site_up{selector}[{slot}]) == 0", spans)
        upstream = self._slots(
            f"max_over_time(govnet_site_upstream_down{selector}[{slot}]) == 1", spans
        )
        rtt = self._summary("govnet:icmp_rtt_seconds:p95_5m", selector, period)
        loss = self._summary("govnet:icmp_loss_ratio:avg5m", selector, period)
        return {
            name: DeviceSamples(
                covered=tuple(coverage.get(name, ())),
                down=frozenset(down.get(name, ())),
                upstream=frozenset(upstream.get(name, ())),
                rtt_p95=tuple(sorted(rtt.get(name, ()))),
                loss=tuple(sorted(loss.get(name, ()))),
            )
            for name in names
        }


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> float | None:
    """Prometheus' ``1m30s`` / ``15s`` / ``500ms`` → seconds (None if not one)."""
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (int(g) if g else 0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def scrape_interval(config_yaml: str, job: str = PROBES_JOB) -> float | None:
    """The probes job's scrape interval from Prometheus' running configuration
    (``/api/v1/status/config``): the job's own, else the global one."""
    try:
        config = yaml.safe_load(config_yaml) or {}
    except yaml.YAMLError:
        return None
    if not isinstance(config, dict):
        return None
    found = (config.get("global") or {}).get("scrape_interval")
    for item in config.get("scrape_configs") or []:
        if isinstance(item, dict) and item.get("job_name") == job and item.get("scrape_interval"):
            found = item["scrape_interval"]
    return parse_duration(str(found)) if found else None


def discover_step(prometheus: Prometheus) -> float:
    """The probes' scrape interval: from the running configuration
    (``/api/v1/status/config``) when the store is Prometheus over HTTP, else from the
    data — the most samples a probed device has in 10 minutes."""
    if isinstance(prometheus, HttpPrometheus):
        body = prometheus.request("GET", "/api/v1/status/config")
        text = body.get("data", {}).get("yaml", "") if isinstance(body, dict) else ""
        step = scrape_interval(str(text))
        if step is not None and 1 <= step <= 300:
            return step
    found = prometheus.query("max(count_over_time(govnet_site_up[10m]))")
    if found and found[0].value >= 2:
        return float(max(1, min(300, round(600 / found[0].value))))
    raise BackendError(
        "cannot tell the probes' scrape interval (no probe data in the last 10 minutes);"
        " give --scrape-interval SECONDS"
    )

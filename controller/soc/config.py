"""Pure configuration: settings (+ the probe targets) → Prometheus' files.

Alertmanager's configuration is versioned as is in ``soc/alertmanager.yml`` (routes and
the topology-aware inhibit rules); only Prometheus' depends on what the operator runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from controller.errors import UsageError
from controller.soc.settings import LOOPBACK, SocSettings, parse_target

PROBES_JOB = "govnet-probes"
EVENTS_JOB = "govnet-events"  # the same shards' /metrics/events, every events_interval
TEXTFILE_JOB = "govnet-textfile"


def read_probes_file(path: Path) -> list[str]:
    """``HOST:PORT`` per line (``#`` comments, blank lines ignored) → targets."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the probes file: {exc.strerror}") from exc
    targets = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            targets.append(parse_target(line, f"{path}:{number}:"))
    return targets


def probe_targets(settings: SocSettings) -> list[str]:
    """Every probe shard to scrape: --probe options, then the --probes-file, deduplicated."""
    targets = list(settings.probes)
    if settings.probes_file is not None:
        targets += read_probes_file(settings.probes_file)
    return list(dict.fromkeys(targets))


def file_sd(targets: list[str]) -> list[dict[str, Any]]:
    """Prometheus file_sd groups: one per shard, labelled with its position."""
    return [
        {"targets": [target], "labels": {"shard": str(index)}}
        for index, target in enumerate(targets, start=1)
    ]


def prometheus_config(settings: SocSettings, probes_sd: Path, rules_dir: Path) -> dict[str, Any]:
    """prometheus.yml: the probe shards (file_sd), the textfile exporter, both daemons
    themselves; the rule files; Alertmanager on loopback."""
    scrape = f"{settings.scrape_interval}s"

    def static(job: str, port: int) -> dict[str, Any]:
        return {"job_name": job, "static_configs": [{"targets": [f"{LOOPBACK}:{port}"]}]}

    return {
        "global": {
            "scrape_interval": scrape,
            "scrape_timeout": f"{min(settings.scrape_interval, 10)}s",
            "evaluation_interval": f"{settings.evaluation_interval}s",
        },
        "rule_files": [str(rules_dir.resolve() / "*.yml")],
        "alerting": {
            "alertmanagers": [
                {
                    "api_version": "v2",
                    "static_configs": [{"targets": [f"{LOOPBACK}:{p}" for p in settings.am_ports]}],
                }
            ]
        },
        "scrape_configs": [
            *probe_jobs(
                {
                    "file_sd_configs": [
                        {"files": [str(probes_sd.resolve())], "refresh_interval": "30s"}
                    ]
                },
                settings.scrape_interval,
                settings.events_interval,
            ),
            static(TEXTFILE_JOB, settings.textfile_port),
            static("prometheus", settings.prometheus_port),
            static("alertmanager", settings.alertmanager_port),
        ],
    }


def probe_jobs(
    targets: dict[str, Any], interval: int, events_interval: int
) -> list[dict[str, Any]]:
    """The two scrape jobs of the same probe shards (``targets``: their *_sd_configs):
    the cycles' results at the global ``interval``, and the trap and syslog counters —
    what a trap-driven alert waits for — every ``events_interval`` seconds, never less
    often than the rest."""
    events = f"{min(events_interval, interval)}s"
    return [
        {"job_name": PROBES_JOB, "metrics_path": "/metrics/polls", **targets},
        {
            "job_name": EVENTS_JOB,
            "metrics_path": "/metrics/events",
            "scrape_interval": events,
            "scrape_timeout": events,
            **targets,
        },
    ]


def dump_yaml(data: Any) -> str:
    return "# Written by `govnet soc up` — edit the options, not this file.\n" + yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False
    )


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"

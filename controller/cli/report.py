"""`govnet report …`: reports from the SOC's store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from controller.cli import output
from controller.cli.provisioning import StateOpt
from controller.cli.state import InventoryOpt, inventory_path
from controller.errors import UsageError
from controller.inventory import load_inventory
from controller.report import sla
from controller.report.prometheus import SlaSource, discover_step
from controller.report.render import Format, Language, render
from controller.report.service import build_report, change_records
from controller.soc.backends import HttpPrometheus
from controller.soc.stack import read_state

app = typer.Typer(help="Reports: monthly SLA per ministry or province.", no_args_is_help=True)


@app.command("sla")
def sla_report(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="The month, YYYY-MM (Cambodia time).")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="A ministry or institution (tenant code).")
    ] = None,
    province: Annotated[
        str | None, typer.Option("--province", help="A province code, e.g. KH-2.")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="What to write.")] = Format.HTML,
    lang: Annotated[
        Language,
        typer.Option(
            "--lang",
            help="The language of an HTML or PDF report: km (Khmer) or en (English)."
            " CSV and JSON are the same in both: English keys, names as stored.",
        ),
    ] = Language.EN,
    out: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write it (default: sla-CODE-MONTH.EXT here; '-' for stdout).",
        ),
    ] = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            "--prometheus-url",
            help="The store to read (default: the Prometheus `govnet soc up` started).",
        ),
    ] = None,
    step: Annotated[
        float | None,
        typer.Option(
            "--scrape-interval",
            min=1,
            max=300,
            help="The probes' scrape interval in seconds (default: asked from Prometheus).",
        ),
    ] = None,
    state_dir: StateOpt = Path(".govnet"),
    inventory: InventoryOpt = None,
) -> None:
    """Availability per site and per ministry link, outages with their start, end,
    duration and cause (the site itself, or its upstream: the failed parent), maintenance
    windows from change records excluded and listed, p95 RTT and loss against the
    per-role SLO, and a chart per site — for one month."""
    period = sla.month(month)
    inv = load_inventory(inventory_path(ctx, inventory))
    url = prometheus_url or str(read_state(state_dir).get("prometheus_url") or "")
    url = url or "http://127.0.0.1:9090"
    prometheus = HttpPrometheus(url, timeout=60)
    source = SlaSource(prometheus, step or discover_step(prometheus))
    report = build_report(
        inv, source, change_records(state_dir), period, tenant=tenant, province=province
    )
    data = render(report, fmt, lang.value)
    if out is not None and str(out) == "-":
        if fmt is Format.PDF and sys.stdout.isatty():
            raise UsageError("a PDF is not for the terminal: give --output FILE")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = out or Path(f"sla-{report.code}-{period.label}.{fmt.value}")
    target.write_bytes(data)
    output.console.print(
        f"wrote {target} ({len(data):,} bytes): {len(report.sites)} site(s),"
        f" {len(report.outages)} outage(s), {len(report.maintenance)} maintenance window(s)"
    )

"""``trailguard report weekly``: the weekly security report as markdown with PNG charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import ConfigOption, check_source, check_writable, guarded, settings_for
from pipeline.cli.console import console, progress_bar
from pipeline.config import ConfigError

report_app = typer.Typer(
    no_args_is_help=True, help="Reports built from the findings store and the event tables."
)


@report_app.command("weekly")
@guarded
def weekly(
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W48 (default: the latest week with logs).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the markdown and its charts.")] = Path("reports"),
    source: Annotated[
        str | None, typer.Option(help="Folder or s3:// URI (default: configured source).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write the weekly security report (markdown + PNG charts) for one ISO week."""
    from pipeline.reports.weekly import build_weekly_report, write_weekly_report
    from pipeline.reports.weeks import parse_week

    try:
        week_start = parse_week(week) if week else None
    except ValueError as exc:
        raise ConfigError(f"--week: {exc}") from None
    settings = settings_for(config, source=source)
    check_source(settings.source)  # no such folder, empty, AWSLogs itself: said, not an all-clear
    check_writable(out, "--out", folder=True)  # before the report is built, not after minutes of queries
    with progress_bar() as progress:
        report = build_weekly_report(settings, settings.source, week_start, progress=progress)
    path = write_weekly_report(report, out)
    for line in report.summary:
        console.print(f"- {line}")
    console.print(f"report written to {path} ({len(report.charts)} charts beside it)")

"""``trailguard run``, ``schedule`` and ``suppressions``: scheduled detection runs from the command line."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from pipeline.cli.common import ConfigOption, check_writable, guarded, parse_when, settings_for
from pipeline.cli.console import QUIET, console, err_console, info, progress_bar, table, verbosity
from pipeline.cli.output import STDOUT, Format, FormatOption, OutputPathOption, emit
from pipeline.config import ConfigError

SourceOption = Annotated[str | None, typer.Option(help="Folder or s3:// URI (default: configured source).")]
OutputOption = Annotated[Path | None, typer.Option(help="JSON lines file findings are appended to.")]
StateOption = Annotated[str | None, typer.Option("--state", help="State folder or s3:// URI.")]


def _print_tick(report) -> None:  # noqa: ANN001 - scheduler.TickReport
    """The tick's table; with --quiet only detections that found, updated or failed something."""
    ran = [t for t in report.ran if verbosity() > QUIET or t.new or t.updated or t.error]
    rows = [
        (
            t.detection_id,
            t.windows,
            t.window_start or "",
            t.window_end or "",
            t.new,
            t.updated,
            "behind" if t.behind else "",
            t.error or "ok",
        )
        for t in ran
    ]
    if rows:
        console.print(
            table(
                f"Tick {report.now}",
                ["detection", "windows", "from", "to", "new", "updated", "catch-up", "status"],
                rows,
            )
        )
    elif not report.ran:
        info(f"tick {report.now}: nothing due")
    if report.integrity is not None and report.integrity.status != "not due":
        if report.integrity.status in ("INVALID", "error"):  # even with --quiet: evidence is at stake
            err_console.print(report.integrity.line(), markup=False, highlight=False, soft_wrap=True)
        else:
            info(report.integrity.line())
    for warning in report.warnings:
        err_console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


def _runner(config, source, output, state):  # noqa: ANN001, ANN202
    from pipeline.workflow import make_runner

    settings = settings_for(config, source=source)
    if not settings.source.startswith("s3://") and not Path(settings.source).is_dir():
        raise ConfigError(f"--source {settings.source}: no such folder")
    unsaved = "; nothing was run and no state advanced"
    check_writable(state or settings.state_location, "state folder", folder=True, note=unsaved)
    check_writable(output, "--output file", note=unsaved)
    check_writable(settings.findings_store, "findings store folder", folder=True, note=unsaved)
    runner = make_runner(settings, settings.source, output, state)
    runner.integrity_source = settings.source  # validate this source's digests each tick ([integrity])
    return runner


@guarded
def run(
    now: Annotated[str | None, typer.Option(metavar="WHEN", help="The tick's time: ISO 8601 or a duration "
                                                                 "ago (default: the clock).")] = None,
    source: SourceOption = None,
    output: OutputOption = None,
    state: StateOption = None,
    config: ConfigOption = None,
) -> None:
    """One scheduled tick: every due detection over its next windows; exits 0 when nothing is due."""
    from pipeline.times import utcnow

    moment = parse_when(now, "--now") if now else utcnow()
    runner = _runner(config, source, output, state)
    with progress_bar() as progress:
        runner.progress = lambda done, total: progress("detections", done, total)
        report = runner.tick(moment)
    _print_tick(report)
    if report.errors:
        for tick in report.errors:
            err_console.print(
                f"[red]{tick.detection_id}[/]: {escape(tick.error or '')}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(1)


@guarded
def schedule(
    source: SourceOption = None,
    output: OutputOption = None,
    state: StateOption = None,
    config: ConfigOption = None,
) -> None:
    """Run ticks until interrupted (Ctrl-C or SIGTERM stop cleanly after the running detection)."""
    from pipeline.times import utcnow

    settings = settings_for(config, source=source)
    poll = float(settings["schedule"]["poll_seconds"])
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runner = _runner(config, source, output, state)
    while not stop.is_set():
        report = runner.tick(utcnow(), should_stop=stop.is_set)
        if report.ran:
            _print_tick(report)
        stop.wait(poll)
    err_console.print("stopped")


@guarded
def suppressions(fmt: FormatOption = Format.table, output: OutputPathOption = STDOUT,
                 config: ConfigOption = None) -> None:
    """List the configured suppressions, with their reason and whether they have expired."""
    from datetime import UTC, datetime, timedelta

    from pipeline.detections.suppressions import load_suppressions

    today = datetime.now(UTC).date()
    rules = load_suppressions(settings_for(config))
    rows = []
    for rule in rules:
        status = (
            "expired"
            if not rule.active(today)
            else ("expires soon" if rule.expires - today <= timedelta(days=14) else "active")
        )
        matches = "; ".join(f"{name}={', '.join(values)}" for name, values in rule.matches.items())
        rows.append({"#": rule.index, "detections": list(rule.detections), "matches": matches,
                     "fields": {k: list(v) for k, v in rule.matches.items()},
                     "expires": rule.expires.isoformat(), "status": status, "reason": rule.reason})
    emit(rows, fmt=fmt, output=output, columns=["#", "detections", "matches", "expires", "status", "reason"],
         title=f"{len(rules)} suppression(s)")

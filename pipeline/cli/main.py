"""``trailguard``: a thin command line over the library (``pipeline.workflow`` and friends).

Arguments that make no sense exit with code 2 and one line naming the option or file; a query
the engine rejects exits with 1. Nothing here computes anything a notebook could not call.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from pipeline.cli import runs as cli_runs
from pipeline.cli.catalog import catalog_app
from pipeline.cli.common import ConfigOption, fail, guarded, parse_when, settings_for
from pipeline.cli.compact import compact
from pipeline.cli.console import console, err_console, progress_bar, table
from pipeline.cli.cost import cost
from pipeline.cli.coverage import coverage
from pipeline.cli.incidents import incidents_app
from pipeline.cli.integrity import validate_logs
from pipeline.cli.reports import report_app
from pipeline.cli.routing import resolve
from pipeline.config import ConfigError
from pipeline.detections.spec import load_detections, select
from pipeline.lake.ingest import IngestReport

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Security analytics for an AWS organization's CloudTrail and GuardDuty data.",
)
app.add_typer(catalog_app, name="catalog")
app.add_typer(report_app, name="report")
app.add_typer(incidents_app, name="incidents")
app.command("run")(cli_runs.run)
app.command("schedule")(cli_runs.schedule)
app.command("findings")(cli_runs.findings)
app.command("suppressions")(cli_runs.suppressions)
app.command("validate-logs")(validate_logs)
app.command("resolve")(resolve)
app.command("coverage")(coverage)
app.command("cost")(cost)
app.command("compact")(compact)


def print_ingest(reports: list[IngestReport]) -> None:
    rows = [
        (
            r.table,
            r.files_seen,
            r.files_new,
            r.files_ingested,
            r.files_empty,
            len(r.skipped_files),
            r.records_seen,
            r.records_ingested,
            r.records_skipped,
        )
        for r in reports
    ]
    console.print(
        table(
            "Ingest",
            [
                "table",
                "files seen",
                "new",
                "ingested",
                "empty",
                "skipped files",
                "records seen",
                "stored",
                "skipped records",
            ],
            rows,
        )
    )
    for report in reports:
        for path, reason in report.skipped_files:
            err_console.print(
                f"[yellow]skipped[/] {escape(str(path))}: {escape(reason)}", highlight=False, soft_wrap=True
            )
        for warning in report.warnings:
            err_console.print(f"[yellow]warning[/] {escape(warning)}", highlight=False, soft_wrap=True)
        if report.records_skipped or report.skipped_files:
            console.print(escape(report.reconciliation()), highlight=False, soft_wrap=True)


def print_summary(outcome: Any) -> None:
    counts = Counter(f.detection_id for f in outcome.findings)
    records = Counter()
    for finding in outcome.findings:
        records[finding.detection_id] += finding.event_count
    detections = load_detections()
    rows = []
    for run in outcome.result.runs:
        det = detections[run.detection_id]
        status = Text(run.error, style="red") if run.error else "ok"
        rows.append(
            (
                run.detection_id,
                det.severity,
                counts[run.detection_id],
                records[run.detection_id],
                f"{run.duration_s:.2f}s",
                status,
            )
        )
    console.print(
        table("Detections", ["detection", "severity", "findings", "records", "time", "status"], rows)
    )


@app.command()
@guarded
def detect(
    source: Annotated[str, typer.Option(help="Folder with the S3 key layout, or s3://bucket/prefix.")],
    start: Annotated[str, typer.Option(help="Window start, ISO 8601 (inclusive).")],
    end: Annotated[str, typer.Option(help="Window end, ISO 8601 (exclusive).")],
    output: Annotated[Path, typer.Option(help="JSON lines file, one finding a line.")],
    detection: Annotated[list[str] | None, typer.Option("--detection", "-d", help="Only these ids.")] = None,
    record: Annotated[bool, typer.Option(help="Also store the findings and run costs in the findings store "
                                              "(what `trailguard report weekly` reads).")] = False,
    config: ConfigOption = None,
) -> None:
    """Run detections over a time window and write findings as JSON lines."""
    from pipeline.workflow import detect as run_detect
    from pipeline.workflow import record_findings

    begin, finish = parse_when(start, "--start"), parse_when(end, "--end")
    if begin >= finish:
        raise ConfigError(f"--start {start} is not before --end {end}")
    if not source.startswith("s3://") and not Path(source).is_dir():
        raise ConfigError(f"--source {source}: no such folder")
    settings = settings_for(config, source=source)
    select(load_detections(), detection)  # an unknown id fails before any work starts
    with progress_bar() as progress:
        outcome = run_detect(settings, source, begin, finish, detection, progress=progress)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as handle:
        for finding in outcome.findings:
            handle.write(finding.to_json() + "\n")
    if outcome.ingest:
        print_ingest(outcome.ingest)
    print_summary(outcome)
    console.print(f"{len(outcome.findings)} finding(s) written to {output}")
    if record:
        console.print(f"findings stored in {record_findings(settings, outcome, begin, finish)}")
    if outcome.result.failed:
        raise typer.Exit(1)


@app.command()
@guarded
def ingest(
    source: Annotated[
        str | None, typer.Option(help="Folder or s3:// URI (default: configured source).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Bring new raw files into the local Parquet lake (incremental)."""
    from pipeline.workflow import ingest as run_ingest

    settings = settings_for(config, source=source)
    with progress_bar() as progress:
        _, reports = run_ingest(settings, settings.source, None, progress)
    print_ingest(reports)


@app.command()
@guarded
def demo(
    out: Annotated[Path, typer.Option(help="Where to write the synthetic organization.")] = Path("demo"),
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 7,
    events: Annotated[int, typer.Option(min=2500, help="CloudTrail records in total.")] = 500_000,
    days: Annotated[int, typer.Option(min=2, help="Days of activity.")] = 14,
    config: ConfigOption = None,
) -> None:
    """Generate a synthetic organization, ingest it, run every detection, print a summary."""
    from pipeline.demo import generate_demo
    from pipeline.workflow import detect as run_detect
    from pipeline.workflow import record_findings

    settings = settings_for(config, source=str(out))
    with progress_bar() as progress:
        manifest = generate_demo(
            out,
            digests=True,
            seed=seed,
            events=events,
            days=days,
            progress=lambda d, t: progress("generate", d, t),
        )
        start, end = manifest.window()
        outcome = run_detect(settings, str(out), start, end, progress=progress)
    print_ingest(outcome.ingest)
    print_summary(outcome)
    fired = {f.detection_id for f in outcome.findings}
    silent = sorted(set(load_detections()) - fired)
    console.print(
        f"{len(outcome.findings)} findings from {len(fired)} detections over "
        f"{manifest.total_events:,} events in {out}/"
    )
    if silent:
        err_console.print(f"[yellow]no finding for:[/] {', '.join(silent)}")
    findings_file = out / "findings.jsonl"
    with open(findings_file, "w", encoding="utf-8") as handle:
        for finding in outcome.findings:
            handle.write(finding.to_json() + "\n")
    console.print(f"findings written to {findings_file}")
    console.print(f"findings stored in {record_findings(settings, outcome, start, end)} "
                  "(next: trailguard report weekly, trailguard cost)")


@app.command("lint")
@guarded
def lint_command() -> None:
    """Check every detection: metadata, Athena syntax, partition pruning, finding columns."""
    from pipeline.detections.lint import lint_all

    results = lint_all()
    rows = [(r.path.name, "ok" if r.ok else "; ".join(r.problems)) for r in results]
    console.print(table("Lint", ["query", "result"], rows))
    bad = [r for r in results if not r.ok]
    if bad:
        fail(f"{len(bad)} of {len(results)} queries failed the lint", 1)
    console.print(f"{len(results)} queries pass")


@app.command("detections")
@guarded
def list_detections() -> None:
    """List the detection library."""
    rows = [(d.id, d.severity, ", ".join(d.attack), d.schedule, d.title) for d in load_detections().values()]
    console.print(table("Detections", ["id", "severity", "ATT&CK", "schedule", "title"], rows))


@app.command("test")
@guarded
def test_examples(
    ids: Annotated[list[str] | None, typer.Argument(help="Detection ids (default: all).")] = None,
) -> None:
    """Run each detection's example records (tests/detections/<id>.yaml) through the pipeline."""
    from pipeline.detections.examples import run_examples

    rows, failed = [], 0
    for detection in select(load_detections(), ids):
        for result in run_examples(detection):
            failed += not result.ok
            rows.append((detection.id, result.case, "ok" if result.ok else "; ".join(result.problems)))
    console.print(table("Examples", ["detection", "case", "result"], rows))
    if failed:
        fail(f"{failed} example case(s) failed", 1)


@app.command()
@guarded
def query(
    sql: Annotated[str, typer.Argument(help="Athena SQL; tables: cloudtrail, guardduty.")],
    source: Annotated[str | None, typer.Option(help="Source whose lake to query (DuckDB).")] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    config: ConfigOption = None,
) -> None:
    """Run ad-hoc Athena SQL on the configured engine and print the result."""
    from pipeline.workflow import open_engine

    settings = settings_for(config, source=source)
    engine = open_engine(settings)
    try:
        result = engine.query(sql)
    finally:
        engine.close()
    frame = result.frame
    if as_json:
        for line in frame.head(limit).to_json(orient="records", lines=True, default_handler=str).splitlines():
            sys.stdout.write(line + "\n")
        return
    console.print(
        table(
            f"{len(frame)} row(s)",
            [str(c) for c in frame.columns],
            frame.head(limit).astype(str).itertuples(index=False),
        )
    )
    cost = f", {result.bytes_scanned:,} bytes scanned" if result.bytes_scanned is not None else ""
    qid = f", query {result.query_id}" if result.query_id else ""
    err_console.print(f"{result.engine}: {result.duration_s:.2f}s{cost}{qid}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()

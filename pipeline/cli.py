"""``trailguard``: a thin command line over the library (``pipeline.workflow`` and friends).

Arguments that make no sense exit with code 2 and one line naming the option or file; a query
the engine rejects exits with 1. Nothing here computes anything a notebook could not call.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.catalog import CatalogError
from pipeline.config import ConfigError, Settings, load_settings
from pipeline.console import console, err_console, progress_bar, table
from pipeline.detections import DetectionError, load_detections, select
from pipeline.engines.base import EngineError
from pipeline.ingest import IngestReport
from pipeline.templating import TemplateError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Security analytics for an AWS organization's CloudTrail and GuardDuty data.",
)
catalog_app = typer.Typer(no_args_is_help=True, help="Glue/Athena table definitions.")
app.add_typer(catalog_app, name="catalog")

ConfigOption = Annotated[Path | None, typer.Option("--config", help="trailguard.toml to use.")]
USAGE_ERRORS = (ConfigError, DetectionError, TemplateError, CatalogError)


def _fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our errors into one line and an exit code instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USAGE_ERRORS as exc:
            _fail(str(exc), 2)
        except EngineError as exc:
            _fail(str(exc), 1)
        except KeyboardInterrupt:
            _fail("interrupted", 130)

    return wrapper


def parse_when(text: str, option: str) -> datetime:
    """ISO 8601 date or time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not an ISO 8601 time (e.g. 2026-11-01T00:00:00Z)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _settings(config: Path | None, **overrides: Any) -> Settings:
    return load_settings(config).with_overrides(**overrides)


def print_ingest(reports: list[IngestReport]) -> None:
    rows = [
        (
            r.table,
            r.files_seen,
            r.files_new,
            r.files_ingested,
            r.files_empty,
            len(r.skipped_files),
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
                "records",
                "skipped records",
            ],
            rows,
        )
    )
    for report in reports:
        for path, reason in report.skipped_files:
            err_console.print(f"[yellow]skipped[/] {path}: {reason}", highlight=False, soft_wrap=True)
        for warning in report.warnings:
            err_console.print(f"[yellow]warning[/] {warning}", highlight=False, soft_wrap=True)


def print_summary(outcome: Any) -> None:
    counts = Counter(f.detection_id for f in outcome.findings)
    records = Counter()
    for finding in outcome.findings:
        records[finding.detection_id] += finding.event_count
    detections = load_detections()
    rows = []
    for run in outcome.result.runs:
        det = detections[run.detection_id]
        status = f"[red]{run.error}[/]" if run.error else "ok"
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
    config: ConfigOption = None,
) -> None:
    """Run detections over a time window and write findings as JSON lines."""
    from pipeline.workflow import detect as run_detect

    begin, finish = parse_when(start, "--start"), parse_when(end, "--end")
    if begin >= finish:
        raise ConfigError(f"--start {start} is not before --end {end}")
    if not source.startswith("s3://") and not Path(source).is_dir():
        raise ConfigError(f"--source {source}: no such folder")
    settings = _settings(config, source=source)
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

    settings = _settings(config, source=source)
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

    settings = _settings(config, source=str(out))
    with progress_bar() as progress:
        manifest = generate_demo(
            out, seed=seed, events=events, days=days, progress=lambda d, t: progress("generate", d, t)
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


@app.command("lint")
@guarded
def lint_command() -> None:
    """Check every detection: metadata, Athena syntax, partition pruning, finding columns."""
    from pipeline.lint import lint_all

    results = lint_all()
    rows = [(r.path.name, "ok" if r.ok else "; ".join(r.problems)) for r in results]
    console.print(table("Lint", ["query", "result"], rows))
    bad = [r for r in results if not r.ok]
    if bad:
        _fail(f"{len(bad)} of {len(results)} queries failed the lint", 1)
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
    from pipeline.examples import run_examples

    rows, failed = [], 0
    for detection in select(load_detections(), ids):
        for result in run_examples(detection):
            failed += not result.ok
            rows.append((detection.id, result.case, "ok" if result.ok else "; ".join(result.problems)))
    console.print(table("Examples", ["detection", "case", "result"], rows))
    if failed:
        _fail(f"{failed} example case(s) failed", 1)


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

    settings = _settings(config, source=source)
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


def _catalog_settings(settings: Settings):  # noqa: ANN202 - CatalogSettings
    from datetime import date

    from pipeline.athena_ddl import CatalogSettings

    cat = settings["catalog"]
    source = settings.source if settings.source.startswith("s3://") else "s3://YOUR-CLOUDTRAIL-BUCKET"
    try:
        start = date.fromisoformat(str(cat["projection_start"]))
    except ValueError:
        raise ConfigError(f"catalog.projection_start {cat['projection_start']!r} is not a date") from None
    return CatalogSettings(
        database=cat["database"],
        source_uri=source,
        org_id=settings["org_id"] or None,
        accounts=tuple(str(a) for a in cat["accounts"]),
        regions=tuple(cat["regions"]),
        lake_uri=cat["lake_uri"] or None,
        projection_start=start,
    )


@catalog_app.command("ddl")
@guarded
def catalog_ddl(
    table_name: Annotated[str | None, typer.Option("--table", help="Only this table.")] = None,
    config: ConfigOption = None,
) -> None:
    """Print the Athena CREATE TABLE statements (partition projection)."""
    from pipeline.athena_ddl import athena_ddl
    from pipeline.catalog import load_specs

    settings = _catalog_settings(_settings(config))
    specs = load_specs()
    if table_name and table_name not in specs:
        raise ConfigError(f"--table {table_name!r}: known tables are {', '.join(specs)}")
    for name, spec in specs.items():
        if table_name in (None, name):
            sys.stdout.write(athena_ddl(spec, settings) + ";\n\n")


@catalog_app.command("deploy")
@guarded
def catalog_deploy(config: ConfigOption = None) -> None:
    """Create or update the Glue database and tables with boto3."""
    import boto3

    from pipeline.catalog import load_specs
    from pipeline.glue_deploy import deploy_catalog

    settings = _catalog_settings(_settings(config))
    actions = deploy_catalog(settings, load_specs(), boto3.client("glue"))
    console.print(table(f"Glue database {settings.database}", ["table", "action"], actions))


@catalog_app.command("drift")
@guarded
def catalog_drift(config: ConfigOption = None) -> None:
    """Compare the projected accounts and regions with AWS Organizations, EC2 and the bucket.

    Exits 1 when an account or region would be left unscanned (or a configured one is gone).
    """
    import boto3

    from pipeline.glue_deploy import discover_partitions, projection_drift, suggested_lists

    settings = _settings(config)
    if not settings.source.startswith("s3://"):
        raise ConfigError(f"source {settings.source!r}: drift is checked against an s3:// source")
    cat = _catalog_settings(settings)
    found = discover_partitions(
        boto3.client("organizations"), boto3.client("ec2"), boto3.client("s3"), cat.source_uri, cat.org_id
    )
    warnings = projection_drift(cat, found)
    for line in warnings:
        err_console.print(f"[yellow]drift[/] {line}", highlight=False, soft_wrap=True)
    if warnings:
        lists = suggested_lists(cat, found)
        console.print(
            "Suggested [catalog] lists:\n"
            f"accounts = {json.dumps(lists['accounts'])}\nregions = {json.dumps(lists['regions'])}"
        )
        raise typer.Exit(1)
    console.print("projection lists cover every account and region")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()

"""``trailguard``: a thin command line over the library (``pipeline.workflow`` and friends).

Arguments that make no sense exit with code 2 and one line naming the option or file; a query
the engine rejects exits with 1. Nothing here computes anything a notebook could not call.
Conventions (output formats, ``-``, relative times, quiet/verbose, profile/region, exit codes):
docs/cli.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from pipeline.cli import runs as cli_runs
from pipeline.cli.catalog import catalog_app
from pipeline.cli.common import (
    ConfigOption,
    check_source,
    check_writable,
    fail,
    guarded,
    settings_for,
    window,
)
from pipeline.cli.compact import compact
from pipeline.cli.console import QUIET, debug, err_console, info, progress_bar, table, verbosity
from pipeline.cli.cost import cost
from pipeline.cli.coverage import coverage
from pipeline.cli.detections import detections_app
from pipeline.cli.doctor import doctor
from pipeline.cli.findings import FINDING_COLUMNS, findings_app
from pipeline.cli.importer import import_logs
from pipeline.cli.incidents import incidents_app
from pipeline.cli.integrity import validate_logs
from pipeline.cli.options import ROOT_HELP, GlobalOptionsGroup, root_options, show_version
from pipeline.cli.output import STDOUT, Format, emit, write_json_lines
from pipeline.cli.reports import report_app
from pipeline.cli.routing import resolve
from pipeline.config import ConfigError, Settings
from pipeline.detections.spec import load_detections, select
from pipeline.lake.ingest import IngestReport

app = typer.Typer(
    cls=GlobalOptionsGroup,
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Security analytics for an AWS organization's CloudTrail and GuardDuty data.",
)


@app.callback()
def _root(
    version_flag: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help=ROOT_HELP["version"])
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=ROOT_HELP["quiet"])] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help=ROOT_HELP["verbose"])] = 0,
    profile: Annotated[str | None, typer.Option(metavar="NAME", help=ROOT_HELP["profile"])] = None,
    region: Annotated[str | None, typer.Option(metavar="REGION", help=ROOT_HELP["region"])] = None,
) -> None:
    """Security analytics for an AWS organization's CloudTrail and GuardDuty data."""
    root_options(version_flag, quiet, verbose, profile, region)


app.add_typer(catalog_app, name="catalog")
app.add_typer(report_app, name="report")
app.add_typer(findings_app, name="findings")
app.add_typer(detections_app, name="detections")
app.add_typer(incidents_app, name="incidents")
app.command("run")(cli_runs.run)
app.command("schedule")(cli_runs.schedule)
app.command("suppressions")(cli_runs.suppressions)
app.command("validate-logs")(validate_logs)
app.command("resolve")(resolve)
app.command("coverage")(coverage)
app.command("cost")(cost)
app.command("compact")(compact)
app.command("doctor")(doctor)
app.command("import")(import_logs)


def print_ingest(reports: list[IngestReport]) -> None:
    """The ingest table (stderr; not with --quiet), and every skipped file once, always."""
    columns = ["table", "files seen", "new", "ingested", "empty", "skipped files", "records seen",
               "stored", "skipped records"]
    rows = [(r.table, r.files_seen, r.files_new, r.files_ingested, r.files_empty, len(r.skipped_files),
             r.records_seen, r.records_ingested, r.records_skipped) for r in reports]
    if verbosity() > QUIET:
        err_console.print(table("Ingest", columns, rows))
    for report in reports:
        for path, reason in report.skipped_files:
            err_console.print(Text.assemble(("skipped ", "yellow"), f"{path}: {reason}"), soft_wrap=True)
        for warning in dict.fromkeys(report.warnings):
            err_console.print(Text.assemble(("warning ", "yellow"), warning), soft_wrap=True)
        if (report.records_skipped or report.skipped_files) and report.balanced:
            info(report.reconciliation())


def print_summary(outcome: Any) -> None:
    """Per detection: findings, records, time and status (stderr; with --quiet only failures)."""
    counts = Counter(f.detection_id for f in outcome.findings)
    records: Counter[str] = Counter()
    for finding in outcome.findings:
        records[finding.detection_id] += finding.event_count
    detections = load_detections()
    rows = []
    for run in outcome.result.runs:
        if verbosity() == QUIET and not run.error:
            continue
        status = Text(run.error, style="red") if run.error else "ok"
        rows.append((run.detection_id, detections[run.detection_id].severity, counts[run.detection_id],
                     records[run.detection_id], f"{run.duration_s:.2f}s", status))
        if run.query_id:
            debug(f"{run.detection_id}: query {run.query_id}, {run.bytes_scanned or 0:,} bytes scanned")
    if rows:
        err_console.print(
            table("Detections", ["detection", "severity", "findings", "records", "time", "status"], rows)
        )


def _detection_progress(progress: Any, total: int) -> Any:
    done = [0]
    progress("detections", 0, total)

    def on_done(_run: Any) -> None:
        done[0] += 1
        progress("detections", done[0], total)

    return on_done


@app.command()
@guarded
def detect(
    since: Annotated[str | None, typer.Option("--since", "--start", metavar="WHEN",
                                              help="Window start: ISO 8601 or a duration ago (24h, 7d). "
                                                   "Default: 24h.")] = None,
    until: Annotated[str | None, typer.Option("--until", "--end", metavar="WHEN",
                                              help="Window end (exclusive): ISO 8601, a duration ago, "
                                                   "or now (default).")] = None,
    last: Annotated[str | None, typer.Option(metavar="DURATION",
                                             help="The last DURATION up to now, e.g. 7d "
                                                  "(instead of --since/--until).")] = None,
    source: Annotated[str | None, typer.Option(help="Folder or s3:// URI (default: configured source).")]
    = None,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="PATH",
                                               help="Write the findings as JSON lines here (- is stdout); "
                                                    "an existing file needs --force or --append.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --output file.")] = False,
    append: Annotated[bool, typer.Option("--append", help="Append to the --output file.")] = False,
    fmt: Annotated[Format | None, typer.Option("--format", "-f", case_sensitive=False,
                                               help="table, json or csv (default: table on the terminal, "
                                                    "json for --output).")] = None,
    detection: Annotated[list[str] | None, typer.Option("--detection", "-d", metavar="ID",
                                                               help="Only these ids.")] = None,
    record: Annotated[bool, typer.Option(help="Also store the findings and run costs in the findings store "
                                              "(what `trailguard report weekly` reads).")] = False,
    config: ConfigOption = None,
) -> None:
    """Run detections over a time window (default: the last 24 hours of the configured source)."""
    from pipeline.workflow import detect as run_detect
    from pipeline.workflow import record_findings

    begin, finish = window(since, until, last)
    settings = settings_for(config, source=source)
    src = settings.source
    check_source(src)  # no such folder, empty, AWSLogs itself: said, not "0 findings"
    if force and append:
        raise ConfigError("--force and --append are alternatives: pick one")
    if output not in (None, STDOUT):
        target = Path(output)
        check_writable(target, "--output")
        if target.is_file() and target.stat().st_size and not (force or append):
            raise ConfigError(f"--output {target}: already holds findings; add --append to add to it "
                              "or --force to replace it")
    chosen = select(load_detections(), detection)  # an unknown id fails before any work starts
    enabled = [d for d in chosen if settings.detection_overrides(d.id).get("enabled", True)]
    with progress_bar() as progress:
        outcome = run_detect(settings, src, begin, finish, detection, progress=progress,
                             on_done=_detection_progress(progress, len(enabled)))
    if outcome.ingest:
        print_ingest(outcome.ingest)
    print_summary(outcome)
    rows = [f.to_dict() for f in outcome.findings]
    if output in (None, STDOUT):
        emit(rows, fmt=fmt or (Format.json if output == STDOUT else Format.table), output=STDOUT,
             columns=FINDING_COLUMNS, title=f"{len(rows)} finding(s)")
    elif (fmt or Format.json) is Format.json:
        with open(output, "a" if append else "w", encoding="utf-8") as handle:
            write_json_lines(rows, handle)
        info(f"{len(rows)} finding(s) {'appended' if append else 'written'} to {output}")
    else:
        emit(rows, fmt=fmt, output=output, columns=FINDING_COLUMNS)
        info(f"{len(rows)} finding(s) written to {output}")
    if record:
        info(f"findings stored in {record_findings(settings, outcome, begin, finish)}")
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
    check_source(settings.source)
    with progress_bar() as progress:
        _, reports = run_ingest(settings, settings.source, None, progress)
    print_ingest(reports)


@app.command()
@guarded
def demo(
    out: Annotated[Path, typer.Option(help="Where to write the synthetic organization.")] = Path("demo"),
    seed: Annotated[int, typer.Option(metavar="N",
                                      help="Random seed; the same seed gives the same files.")] = 7,
    events: Annotated[int, typer.Option(metavar="N", min=2500,
                                        help="CloudTrail records in total.")] = 500_000,
    days: Annotated[int, typer.Option(metavar="N", min=2, help="Days of activity.")] = 14,
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
        outcome = run_detect(settings, str(out), start, end, progress=progress,
                             on_done=_detection_progress(progress, len(load_detections())))
    print_ingest(outcome.ingest)
    print_summary(outcome)
    fired = {f.detection_id for f in outcome.findings}
    silent = sorted(set(load_detections()) - fired)
    info(
        f"{len(outcome.findings)} findings from {len(fired)} detections over "
        f"{manifest.total_events:,} events in {out}/"
    )
    if silent:
        info(f"no finding for: {', '.join(silent)}")
    findings_file = out / "findings.jsonl"
    with open(findings_file, "w", encoding="utf-8") as handle:
        write_json_lines((f.to_dict() for f in outcome.findings), handle)
    info(f"findings written to {findings_file}")
    from pipeline.demo.digests import demo_keys_file

    info(f"digest public keys written to {demo_keys_file(out)} (outside the source: "
         "validate-logs --public-keys)")
    info(f"findings stored in {record_findings(settings, outcome, start, end)} "
         "(next: trailguard findings, trailguard report weekly, trailguard cost)")


@app.command("lint")
@guarded
def lint_command(fmt: Annotated[Format, typer.Option("--format", "-f", case_sensitive=False,
                                                     help="table, json or csv.")] = Format.table) -> None:
    """Check every detection: metadata, Athena syntax, partition pruning, finding columns."""
    from pipeline.detections.lint import lint_all

    results = lint_all()
    rows = [{"query": r.path.name, "result": "ok" if r.ok else "; ".join(r.problems)} for r in results]
    emit(rows, fmt=fmt, columns=["query", "result"], title="Lint")
    bad = [r for r in results if not r.ok]
    if bad:
        fail(f"{len(bad)} of {len(results)} queries failed the lint", 1)
    info(f"{len(results)} queries pass")


@app.command("test")
@guarded
def test_examples(
    ids: Annotated[list[str] | None, typer.Argument(metavar="ID", help="Detection ids (default: all).")]
    = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", case_sensitive=False,
                                        help="table, json or csv.")] = Format.table,
) -> None:
    """Run each detection's example records (tests/detections/<id>.yaml) through the pipeline."""
    from pipeline.detections.examples import run_examples

    rows, failed = [], 0
    chosen = select(load_detections(), ids)
    with progress_bar() as progress:
        progress("examples", 0, len(chosen))
        for done, detection in enumerate(chosen, start=1):
            for result in run_examples(detection):
                failed += not result.ok
                rows.append({"detection": detection.id, "case": result.case,
                             "result": "ok" if result.ok else "; ".join(result.problems)})
            progress("examples", done, len(chosen))
    emit(rows, fmt=fmt, columns=["detection", "case", "result"], title="Examples")
    if failed:
        fail(f"{failed} example case(s) failed", 1)


@app.command()
@guarded
def query(
    sql: Annotated[str, typer.Argument(metavar="SQL", help="Athena SQL; tables: cloudtrail, guardduty.")],
    source: Annotated[str | None, typer.Option(help="Source whose lake to query (DuckDB).")] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="Rows to print.")] = 50,
    fmt: Annotated[Format, typer.Option("--format", "-f", case_sensitive=False,
                                        help="table, json (JSON lines) or csv.")] = Format.table,
    output: Annotated[str, typer.Option("--output", "-o", metavar="PATH",
                                        help="Write the rows here; - is stdout.")] = STDOUT,
    as_json: Annotated[bool, typer.Option("--json", hidden=True, help="Same as --format json.")] = False,
    config: ConfigOption = None,
) -> None:
    """Run ad-hoc Athena SQL on the configured engine and print the result."""
    from pipeline.workflow import open_engine

    settings = settings_for(config, source=source)
    if settings.engine == "duckdb":
        _check_lake(settings)
    engine = open_engine(settings)
    try:
        result = engine.query(sql)
    finally:
        engine.close()
    frame = result.frame
    emit(frame.head(limit), fmt=Format.json if as_json else fmt, output=output,
         columns=[str(c) for c in frame.columns], title=f"{len(frame)} row(s)")
    cost = f", {result.bytes_scanned:,} bytes scanned" if result.bytes_scanned is not None else ""
    qid = f", query {result.query_id}" if result.query_id else ""
    info(f"{result.engine}: {result.duration_s:.2f}s{cost}{qid}")


def _check_lake(settings: Settings) -> None:
    """DuckDB queries read the source's lake: a bad source or one never ingested is said, not 0 rows."""
    from pipeline.lake.access import lake_for

    check_source(settings.source)
    lake = lake_for(settings, settings.source)
    if not any(lake.rglob("*.parquet")):
        raise ConfigError(f"no lake for {settings.source} yet ({lake}): run `trailguard ingest --source "
                          f"{settings.source}` (or detect) first")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()

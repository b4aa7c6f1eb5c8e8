"""``trailguard validate-logs``: is the CloudTrail evidence whole before we report on it?

Exit codes follow what a CI step or a scheduler needs: 0 only when every digest and log file in
the window verified, 1 when anything failed (or nothing could be verified), 2 for bad arguments.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import ConfigOption, guarded, settings_for, window
from pipeline.cli.console import console, table
from pipeline.config import ConfigError
from pipeline.integrity.findings import LIST_PUBLIC_KEYS, public_keys_for
from pipeline.integrity.validate import CATEGORIES, ValidationReport, validate


def _keys(source: str, public_keys: str | None, configured: str | None, begin: datetime,
          finish: datetime) -> dict:
    """--public-keys, else [integrity] public_keys, else ListPublicKeys (s3:// only): never the source."""
    if public_keys and public_keys != LIST_PUBLIC_KEYS and not Path(public_keys).is_file():
        raise ConfigError(f"--public-keys {public_keys}: no such file")
    return public_keys_for(source, public_keys or configured or None, begin, finish)


def print_report(report: ValidationReport) -> None:
    counts = report.counts()
    rows = [(name, counts[name]) for name in ("valid_digests", "valid_log_files", "unverified_log_files")]
    rows += [(name, counts[name]) for name in CATEGORIES]
    window = report.to_dict()
    heading = f"Log file validation of {report.source}, {window['start']} to {window['end']}"
    console.print(heading, markup=False, highlight=False)
    console.print(table("", ["category", "count"], rows))
    for problem in report.problems:
        console.print(f"{problem.category}: {problem.file}: {problem.detail}", markup=False, highlight=False,
                      soft_wrap=True)
    if report.ok:
        verdict = "all valid"
    elif report.problems:
        verdict = f"INVALID: {len(report.problems)} problem(s)"
    else:
        verdict = f"NOTHING VERIFIED: {report.note or 'no digest in the window'}"
    console.print(verdict, markup=False, highlight=False, soft_wrap=True)


@guarded
def validate_logs(
    source: Annotated[str | None, typer.Option(help="Folder with the S3 key layout, or s3://bucket/prefix "
                                                    "(default: configured source).")] = None,
    start: Annotated[str, typer.Option("--since", "--start", metavar="WHEN",
                                       help="Window start: ISO 8601 or a duration ago (24h, 7d).")] = "24h",
    end: Annotated[str | None, typer.Option("--until", "--end", metavar="WHEN",
                                            help="Window end (exclusive): ISO 8601 or a duration ago; "
                                                 "default now.")] = None,
    public_keys: Annotated[
        str | None,
        typer.Option(help="JSON {fingerprint: PEM or base64 DER} kept OUTSIDE the source folder, or "
                          "'cloudtrail' for ListPublicKeys; default [integrity] public_keys, else "
                          "ListPublicKeys for s3://."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Validate CloudTrail log files against their signed digests, for every account and region.

    Local folders keep each digest's signature in a ``<digest>.sig`` sidecar (S3 keeps it in the
    object's metadata).
    """
    begin, finish = window(start, end, None)
    settings = settings_for(config, source=source)  # a broken config fails here, like every other command
    source = settings.source
    if not source.startswith("s3://") and not Path(source).is_dir():
        raise ConfigError(f"--source {source}: no such folder")
    if source.startswith("s3://"):
        from pipeline.source.s3 import parse_s3_uri

        try:
            parse_s3_uri(source)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    settings = settings_for(config, source=source)  # a broken config fails here, like every other command
    keys = _keys(source, public_keys, settings["integrity"].get("public_keys"), begin, finish)
    report = validate(source, begin, finish, keys)
    if as_json:
        print(report.to_json())
    else:
        print_report(report)
    if not report.ok:
        raise typer.Exit(1)

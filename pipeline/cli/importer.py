"""``trailguard import``: CloudTrail a responder was handed, filed into the bucket layout.

Reads plain or gzip ``.json`` exports, JSON lines and ``aws cloudtrail lookup-events`` output
(lower-cased keys too; :mod:`pipeline.source.responder`) and writes them as CloudTrail would
have delivered them, so ``trailguard ingest`` and ``detect --source DEST`` read them like a bucket.
Every file is accounted for: read, skipped with its reason, or named in a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import fail, guarded
from pipeline.cli.console import console, err_console, table
from pipeline.source.responder import scan
from pipeline.source.writer import write_cloudtrail
from pipeline.times import parse_iso


@guarded
def import_logs(
    source: Annotated[Path, typer.Argument(help="A file or folder of CloudTrail exports.")],
    dest: Annotated[Path, typer.Option(help="Folder to file the records under (AWSLogs/...).")],
    org_id: Annotated[
        str | None, typer.Option(help="Organization id (the AWSLogs/o-xxx/ level); none: account trail.")
    ] = None,
) -> None:
    """File exported CloudTrail records (.json, JSON lines, lookup-events output) into the bucket layout."""
    if not source.exists():
        fail(f"{source}: no such file or folder", 2)
    report = scan(source)
    usable, undated = [], 0
    for record in report.records:
        try:
            parse_iso(str(record.get("eventTime")))
        except ValueError:
            undated += 1
            continue
        if not record.get("eventID"):
            undated += 1
            continue
        usable.append(record)
    written = write_cloudtrail(dest, usable, org_id=org_id) if usable else []
    rows = [(path, "read", f"{count} record(s)") for path, count in report.read.items()]
    rows += [(path, "skipped", why) for path, why in report.skipped.items()]
    rows += [(path, "NOT READ", why) for path, why in report.not_read.items()]
    console.print(table("Import", ["file", "outcome", "detail"], rows))
    console.print(
        f"{len(usable)} record(s) filed as {len(written)} file(s) under {dest}"
        + (f"; {undated} record(s) without a valid eventTime or eventID skipped" if undated else "")
    )
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    if not usable:
        fail(f"{source}: no CloudTrail records found", 1)

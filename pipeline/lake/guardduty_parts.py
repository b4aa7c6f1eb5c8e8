"""GuardDuty export files into one Parquet part per partition, streamed and bounded per file.

Kept apart from ``pipeline.lake.ingest`` (CloudTrail goes through DuckDB; GuardDuty exports are
read line by line in Python, see ``pipeline.source.guardduty.iter_findings``). A file counts only
once it was read to the end, so a late error (a truncated gzip, a file past ``[ingest]``'s caps)
skips the whole file, named, and the ingest report still balances.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.catalog.specs import LAKE_FOLDERS, TableSpec
from pipeline.lake.parts import SOURCE_FILE_COLUMN, part_path
from pipeline.lake.report import IngestReport
from pipeline.source.guardduty import iter_findings
from pipeline.source.limits import Limits, UnreadableFile


def guardduty_partition(
    spec: TableSpec, partition: tuple[str, ...], files: list[Path], lake: Path, report: IngestReport,
    limits: Limits | None = None,
) -> None:
    rows: list[dict] = []
    for path in files:
        found, seen, bad_lines, file_rows = 0, 0, [], []
        try:  # a file counts only once it was read to the end: a late error skips all of it
            for finding, line in iter_findings(path, limits):
                seen += 1
                if finding is None:
                    bad_lines.append(line)
                    continue
                found += 1
                file_rows.append(_guardduty_row(spec, finding, path))
        except UnreadableFile as exc:
            report.skip(path, str(exc))
            continue
        report.records_seen += seen
        for line in bad_lines:
            report.skip_records(f"{path}:{line}", "not a GuardDuty finding", 1)
        rows.extend(file_rows)
        if found:
            report.files_ingested += 1
            report.records_ingested += found
        else:
            report.files_empty += 1
    if not rows:
        return
    fields = [pa.field(c.name, pa.float64() if c.type == "double" else pa.string()) for c in spec.columns]
    schema = pa.schema([*fields, pa.field(SOURCE_FILE_COLUMN, pa.string())])
    out = part_path(lake / LAKE_FOLDERS["guardduty"], partition, files)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".parquet.tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp, compression="zstd")
    os.replace(tmp, out)


def _guardduty_row(spec: TableSpec, finding: dict, path: Path) -> dict:
    row = {}
    for column in spec.columns:
        value = finding.get(column.key)
        if column.json or (value is not None and column.type == "string" and not isinstance(value, str)):
            value = None if value is None else json.dumps(value, separators=(",", ":"))
        elif column.type == "double" and value is not None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = None
        row[column.name] = value
    row[SOURCE_FILE_COLUMN] = str(path)
    return row

"""``trailguard compact --engine athena``: rewrite raw CloudTrail days as Parquet on Athena.

A thin layer over :class:`pipeline.lake.athena_compact.AthenaCompactor`. Locally there is nothing to
do (``trailguard ingest`` already writes the Parquet lake), so only ``--engine athena`` is
accepted. A day that can still receive deliveries (today, or later) is refused: compacting it
now would leave out files that arrive afterwards.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import typer

from pipeline.catalog.athena import catalog_settings
from pipeline.cli.common import ConfigOption, guarded, parse_when, settings_for
from pipeline.cli.console import console, table
from pipeline.config import ConfigError
from pipeline.engines.scan_estimate import format_size
from pipeline.lake.athena_compact import AthenaCompactor, DayCompaction


def days_to_compact(day: str | None, start: str | None, end: str | None, today: date) -> list[date]:
    """``--day`` alone, or every day of ``[--start, --end)``; each one before ``today``."""
    if day and (start or end):
        raise ConfigError("give --day or --start/--end, not both")
    if day:
        first = parse_when(day, "--day").date()
        days = [first]
    elif start and end:
        first, last = parse_when(start, "--start").date(), parse_when(end, "--end").date()
        if first >= last:
            raise ConfigError(f"--start {first} is not before --end {last}")
        days = [first + timedelta(days=n) for n in range((last - first).days)]
    else:
        raise ConfigError("give --day YYYY-MM-DD, or --start and --end")
    late = [d for d in days if d >= today]
    if late:
        raise ConfigError(f"day {late[0]} can still receive deliveries; compact days before {today}")
    return days


@guarded
def compact(
    engine: Annotated[
        str, typer.Option(help="Only 'athena': locally, ingest already writes Parquet.")
    ] = "athena",
    day: Annotated[str | None, typer.Option(help="One delivery day, YYYY-MM-DD.")] = None,
    start: Annotated[str | None, typer.Option(help="First day (inclusive), YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day (exclusive), YYYY-MM-DD.")] = None,
    config: ConfigOption = None,
) -> None:
    """Rewrite raw CloudTrail days as the Parquet table, idempotently (a re-run leaves the same rows)."""
    if engine != "athena":
        raise ConfigError(
            f"--engine {engine}: compact runs on athena (locally, trailguard ingest writes Parquet)"
        )
    days = days_to_compact(day, start, end, datetime.now(UTC).date())
    settings = settings_for(config, engine="athena")
    import boto3

    from pipeline.lake.access import open_engine

    region = settings["athena"].get("region") or None
    athena = open_engine(settings)
    compactor = AthenaCompactor(athena, boto3.client("s3", region_name=region), catalog_settings(settings))
    rows: list[tuple[str, ...]] = []

    def show(done: DayCompaction) -> None:
        scanned = format_size(done.bytes_scanned) if done.bytes_scanned is not None else "?"
        rows.append(
            (
                done.day,
                str(done.partitions),
                str(done.objects_written),
                str(done.objects_replaced),
                scanned,
                done.query_id or "",
            )
        )
        console.print(
            f"compacted {done.day}: {done.objects_written} object(s), query {done.query_id}",
            markup=False,
            highlight=False,
        )

    try:
        compactor.compact(days, on_day=show)
    finally:
        athena.close()
        if rows:
            console.print(
                table(
                    "Compacted days",
                    ["day", "partitions", "objects", "replaced", "scanned", "query id"],
                    rows,
                )
            )

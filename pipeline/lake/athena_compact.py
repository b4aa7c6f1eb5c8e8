"""Compact the raw CloudTrail table into its Parquet twin on Athena, one delivery day at a time.

Why: every detection over raw JSON makes Athena read whole gzip files ($5 per TB scanned);
over zstd Parquet it reads only the columns it names, a small fraction. Why this way:

- ``INSERT INTO`` a partition-projected table writes Hive-style ``account=.../day=...`` folders,
  which the projection's location template never reads. ``UNLOAD`` writes where it is told, so one
  query per day unloads into a staging prefix (partitioned by account and region) and S3 copies
  move each folder to the Parquet table's own layout ``<lake>/cloudtrail/<account>/<region>/<yyyy/MM/dd>/``.
- Idempotent: a day is rewritten whole. Its marker goes first (queries stop choosing the Parquet
  table for that day), then the staging prefix is emptied (``UNLOAD`` refuses a non-empty target),
  the day's old Parquet objects are deleted, the new ones copied, and the marker written last.
  Running it twice leaves the same rows; a crash anywhere leaves the day unmarked, so queries keep
  reading the raw table until a re-run completes it.
- The markers (``<lake>/_trailguard/compacted/cloudtrail/<yyyy-MM-dd>.json``) are what
  :func:`compacted_days` reads: a detection reads the Parquet table only when every day of its
  window is marked (:func:`pipeline.catalog.specs.physical_table`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.catalog.athena import CatalogSettings, table_location
from pipeline.catalog.specs import LOGICAL_TABLES, TableSpec, load_specs
from pipeline.engines.base import EngineError
from pipeline.engines.templating import QUERIES_DIR, RenderContext, render
from pipeline.source.s3 import list_objects, parse_s3_uri

TEMPLATE = QUERIES_DIR / "maintenance" / "compact_cloudtrail_day.sql"
MARKERS = "_trailguard/compacted"
STAGING = "_trailguard/staging"
_STAGED = re.compile(r"account=(?P<account>[^/]+)/region=(?P<region>[^/]+)/(?P<name>[^/]+)$")


class CompactError(EngineError):
    """A day that could not be compacted; the message names the day and the step."""


@dataclass
class DayCompaction:
    """What compacting one day did: the query, its cost, and the objects written and replaced."""

    day: str  # yyyy/MM/dd, as the partition names it
    query_id: str | None
    bytes_scanned: int | None
    objects_written: int
    objects_replaced: int
    partitions: int


def _lake_root(catalog: CatalogSettings, spec: TableSpec) -> tuple[str, str]:
    """Bucket and key prefix of the lake (the folder holding ``cloudtrail/``)."""
    bucket, table_prefix = parse_s3_uri(table_location(spec, catalog))
    root = table_prefix.rstrip("/").rsplit("/", 1)[0] + "/" if "/" in table_prefix.rstrip("/") else ""
    return bucket, root


def render_compaction(day: date, raw_table: str, staging_uri: str, spec: TableSpec) -> str:
    """The UNLOAD statement for one day (``raw_table`` fully qualified and quoted)."""
    text = TEMPLATE.read_text(encoding="utf-8")
    body = text[text.index("*/") + 2 :].strip() + "\n"
    start = datetime.combine(day, time(), tzinfo=UTC)
    ctx = RenderContext(
        start=start,
        end=start + timedelta(days=1),
        table_names={"cloudtrail": raw_table},
        time_columns={"cloudtrail": spec.time_column},
        params={"columns": spec.column_names, "day": day.strftime("%Y/%m/%d"), "staging": staging_uri},
    )
    return render(body, ctx, name=str(TEMPLATE))


def _keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [obj.key for obj in list_objects(s3, bucket, prefix)]


def _delete(s3: Any, bucket: str, keys: list[str]) -> None:
    for i in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True}
        )


class AthenaCompactor:
    """Runs the day compactions on an :class:`~pipeline.engines.athena.AthenaEngine` (its ``execute``)."""

    def __init__(
        self, engine: Any, s3_client: Any, catalog: CatalogSettings, specs: dict[str, TableSpec] | None = None
    ) -> None:
        if not catalog.lake_uri:
            raise CompactError("compact: set [catalog] lake_uri (s3://bucket/prefix of the Parquet lake)")
        self.engine, self.s3, self.catalog = engine, s3_client, catalog
        specs = specs or load_specs()
        self.raw, self.parquet = (specs[name] for name in LOGICAL_TABLES["cloudtrail"])
        self.bucket, self.root = _lake_root(catalog, self.parquet)
        _, self.table_prefix = parse_s3_uri(table_location(self.parquet, catalog))

    def marker_key(self, day: date) -> str:
        return f"{self.root}{MARKERS}/{self.parquet.name}/{day.isoformat()}.json"

    def compact_day(self, day: date) -> DayCompaction:
        """Rewrite one day of the Parquet table from the raw table (the order: see the module docstring)."""
        where = f"compact {day.isoformat()}"
        slash_day = day.strftime("%Y/%m/%d")
        staging = f"{self.root}{STAGING}/{self.parquet.name}/{day.isoformat()}/"
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.marker_key(day))
            _delete(self.s3, self.bucket, _keys(self.s3, self.bucket, staging))
            raw_name = f'"{self.catalog.database}"."{self.raw.name}"'
            sql = render_compaction(day, raw_name, f"s3://{self.bucket}/{staging}", self.raw)
            answer = self.engine.execute(sql)
            staged = [k for k in _keys(self.s3, self.bucket, staging) if not k.endswith("/")]
            old: list[str] = []
            for account in self.catalog.accounts:
                for region in self.catalog.regions:
                    old += _keys(self.s3, self.bucket, f"{self.table_prefix}{account}/{region}/{slash_day}/")
            _delete(self.s3, self.bucket, old)
            partitions = set()
            for key in staged:
                match = _STAGED.search(key[len(staging) :])
                if not match:
                    raise CompactError(
                        f"{where}: unexpected object s3://{self.bucket}/{key} in the staging prefix"
                    )
                account, region = unquote(match["account"]), unquote(match["region"])
                target = f"{self.table_prefix}{account}/{region}/{slash_day}/{match['name']}"
                self.s3.copy_object(
                    Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key}
                )
                partitions.add((account, region))
            _delete(self.s3, self.bucket, staged)
            result = DayCompaction(
                slash_day, answer.query_id, answer.bytes_scanned, len(staged), len(old), len(partitions)
            )
            body = json.dumps({**asdict(result), "table": self.parquet.name}, sort_keys=True).encode()
            self.s3.put_object(Bucket=self.bucket, Key=self.marker_key(day), Body=body)
        except (BotoCoreError, ClientError) as exc:
            raise CompactError(f"{where}: S3 error on s3://{self.bucket}/{self.root}: {exc}") from exc
        return result

    def compact(
        self, days: list[date], on_day: Callable[[DayCompaction], None] | None = None
    ) -> list[DayCompaction]:
        """Compact ``days`` in order; stops at the first failure (earlier days stay compacted)."""
        done = []
        for day in days:
            done.append(self.compact_day(day))
            if on_day:
                on_day(done[-1])
        return done


def compacted_days(s3_client: Any, catalog: CatalogSettings) -> Callable[[str], frozenset[str]]:
    """For :class:`~pipeline.engines.athena.AthenaEngine`: logical table -> days marked compacted.

    Lists the markers once per table and engine (one LIST call), on first use. Anything that goes
    wrong reading them means "nothing compacted": queries then read the raw table, which is slower
    and dearer but never wrong.
    """
    if not catalog.lake_uri:
        return lambda logical: frozenset()
    cache: dict[str, frozenset[str]] = {}
    specs = load_specs()

    def days(logical: str) -> frozenset[str]:
        if logical not in cache:
            spec = specs[LOGICAL_TABLES[logical][1]]
            bucket, root = _lake_root(catalog, spec)
            prefix = f"{root}{MARKERS}/{spec.name}/"
            try:
                names = [Path(k).stem for k in _keys(s3_client, bucket, prefix)]
            except (BotoCoreError, ClientError):
                names = []
            cache[logical] = frozenset(
                n.replace("-", "/") for n in names if re.fullmatch(r"\d{4}-\d{2}-\d{2}", n)
            )
        return cache[logical]

    return days

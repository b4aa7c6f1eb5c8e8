"""Know what an Athena detection will scan before paying for it, and refuse when it is too much.

On Athena, bytes scanned are dollars ($5 per TB), and a detection whose window or partitions were
set wrong can scan the organization's whole history. The estimate is made the way Athena itself
will read the table: every (account, region, day) partition of the window, with accounts and
regions taken from the same projection lists the table's DDL carries, and every object under each
partition's prefix counted (Athena reads all files under a partition location; it cannot skip any).
Raw JSON is read whole. Parquet is read column by column, so its estimate is scaled by the share of
columns the query references (see :func:`estimate_scan`).

Two limits are honoured: a per-detection budget (refuse and report), and the workgroup's
``BytesScannedCutoffPerQuery``, which Athena enforces by *cancelling* a query once it has scanned
that much: the scanned part is billed and no result comes back, so a query that would cross it is
better not started.
"""

from __future__ import annotations

import itertools
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from botocore.exceptions import BotoCoreError, ClientError
from sqlglot import exp

from pipeline.catalog.athena import CatalogSettings, table_location
from pipeline.catalog.specs import TableSpec
from pipeline.engines.base import EngineError
from pipeline.source.s3 import list_objects, parse_s3_uri
from pipeline.source.s3sync import normalise_day

_UNITS = {"": 1, "b": 1}
_UNITS.update({f"{p}b": 1000 ** (i + 1) for i, p in enumerate("kmgtp")})  # SI, as AWS prices them
_UNITS.update({f"{p}ib": 1024 ** (i + 1) for i, p in enumerate("kmgtp")})  # IEC
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ScanEstimate:
    """What a query over ``table`` for ``days`` would read: objects, bytes and partitions listed."""

    table: str
    days: list[str]
    objects: int
    bytes: int
    partitions: int
    columns: tuple[int, int] | None = field(default=None, compare=False)  # (read, total) for Parquet

    def describe(self) -> str:
        """``cloudtrail 1.2 GiB (2 days, 8 partitions, 96 objects)``, for messages and logs."""
        scaled = f", {self.columns[0]}/{self.columns[1]} columns" if self.columns else ""
        return (f"{self.table} {format_size(self.bytes)} ({len(self.days)} days, "
                f"{self.partitions} partitions, {self.objects} objects{scaled})")


class BudgetExceeded(EngineError):
    """A detection not run because its estimated scan is over its budget or the workgroup's cutoff."""

    def __init__(self, detection_id: str, estimate: ScanEstimate, exceeded: list[tuple[str, int]]) -> None:
        self.detection_id = detection_id
        self.estimate = estimate
        self.exceeded = exceeded  # [(which limit, bytes)], e.g. [("its budget", 524288000)]
        limits = " and ".join(f"{which} of {format_size(limit)}" for which, limit in exceeded)
        super().__init__(f"detection {detection_id} not run: estimated scan of {estimate.describe()} "
                         f"exceeds {limits}")


def format_size(size: int) -> str:
    """Bytes in binary units with one decimal (``1.2 GiB``); plain bytes below 1 KiB."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            break
    return f"{value:.1f} {unit}"


def parse_size(text: str | int) -> int:
    """``"500MB"``, ``"2 GiB"``, ``"1TB"``, ``1048576`` -> bytes.

    KB/MB/GB/TB are powers of 1000 (how Athena's price and the console's cutoff are stated),
    KiB/MiB/GiB/TiB powers of 1024; a bare number is bytes. Budgets are written in configuration
    by hand, so anything else is refused rather than guessed.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"invalid size {text!r}: must not be negative")
        return text
    match = _SIZE.match(text) if isinstance(text, str) else None
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"invalid size {text!r}: expected a number and a unit such as 500MB, 2 GiB or 1TB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _partition_prefixes(settings: CatalogSettings, spec: TableSpec, days: list[str]) -> tuple[str, list[str]]:
    """The bucket and one key prefix per partition: the product of the spec's partition values."""
    bucket, base = parse_s3_uri(table_location(spec, settings))
    values: list[tuple[str, ...]] = []
    for part in spec.partitions:
        if part.projection == "date":
            values.append(tuple(days))
        else:
            assert part.values_from is not None
            values.append(settings.enum_values(part.values_from))  # the projection list, as Athena sees it
    names = [p.name for p in spec.partitions]
    prefixes = [base + spec.partition_template.format(**dict(zip(names, combo, strict=True))) + "/"
                for combo in itertools.product(*values)]
    return bucket, prefixes


def _list_prefix(s3_client: Any, bucket: str, prefix: str) -> tuple[int, int]:
    """(objects, bytes) under one prefix; zero-byte ``folder/`` markers are not data."""
    sizes = [obj.size for obj in list_objects(s3_client, bucket, prefix)]
    return len(sizes), sum(sizes)


class ListingCache:
    """Partition listings kept for ``max_age`` seconds: a tick's detections share one window's days.

    Without it every detection of a tick lists the same prefixes again (LIST requests are billed,
    and an organization has accounts x regions prefixes per day). New deliveries land all the time,
    so entries expire rather than live for the process.
    """

    def __init__(self, max_age: float = 300.0) -> None:
        self.max_age = max_age
        self._entries: dict[tuple[str, str], tuple[float, tuple[int, int]]] = {}

    def get(self, key: tuple[str, str]) -> tuple[int, int] | None:
        entry = self._entries.get(key)
        return entry[1] if entry and time.monotonic() - entry[0] <= self.max_age else None

    def put(self, key: tuple[str, str], value: tuple[int, int]) -> None:
        self._entries[key] = (time.monotonic(), value)


def estimate_scan(s3_client: Any, settings: CatalogSettings, spec: TableSpec, days: list[str],
                  columns_read: int | None = None, max_workers: int = 8,
                  cache: ListingCache | None = None) -> ScanEstimate:
    """Bytes a query of ``spec`` over ``days`` would scan, from one listing per partition prefix.

    ``days`` are partition days as the query's ``day IN (...)`` names them (the caller pads the
    next day, CloudTrail files by delivery time). Accounts and regions come from ``settings``, the
    projection lists: a delivering account missing from them is not read by Athena, so not counted.
    Listing is by partition prefix, never a walk of the bucket, in a small thread pool.

    For Parquet, ``columns_read`` scales the total by ``columns_read / total columns`` (at least
    one: footers are read even for ``count(*)``). It is a rough, upper-bound-ish figure: Parquet
    reads only the referenced column chunks, and assuming they are an average share of the file
    usually overstates them, but a query touching only the widest columns (the JSON-text ones)
    can scan more. Raw JSON is always read whole, so its estimate is exact up to new deliveries.
    """
    wanted = sorted({normalise_day(d) for d in days})
    bucket, prefixes = _partition_prefixes(settings, spec, wanted)

    def listing(prefix: str) -> tuple[int, int]:
        found = cache.get((bucket, prefix)) if cache is not None else None
        if found is None:
            found = _list_prefix(s3_client, bucket, prefix)
            if cache is not None:
                cache.put((bucket, prefix), found)
        return found

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(prefixes) or 1))) as pool:
            listed = list(pool.map(listing, prefixes))
    except (BotoCoreError, ClientError) as exc:
        raise EngineError(f"scan estimate for {spec.name}: cannot list s3://{bucket}: {exc}") from exc
    objects, total = sum(o for o, _ in listed), sum(b for _, b in listed)
    columns = None
    if spec.format == "parquet" and columns_read is not None:
        width = len(spec.columns)
        read = min(max(columns_read, 1), width)
        columns, total = (read, width), math.ceil(total * read / width)
    return ScanEstimate(table=spec.name, days=wanted, objects=objects, bytes=total,
                        partitions=len(prefixes), columns=columns)


def estimate_partitions(s3_client: Any, settings: CatalogSettings, spec: TableSpec, values: list[str],
                        cache: ListingCache | None = None) -> ScanEstimate:
    """Bytes a ``SELECT *`` of ``spec`` over the partitions ``values`` of its one date partition reads.

    For the hot tier (``cloudtrail_hot``, partitioned by ``batch``): every object under each named
    partition, summed; a query that names its batches with ``batch IN (...)`` reads exactly those.
    """
    wanted = sorted(set(values))
    bucket, prefixes = _partition_prefixes(settings, spec, wanted)
    listed = []
    try:
        for prefix in prefixes:
            found = cache.get((bucket, prefix)) if cache is not None else None
            if found is None:
                found = _list_prefix(s3_client, bucket, prefix)
                if cache is not None:
                    cache.put((bucket, prefix), found)
            listed.append(found)
    except (BotoCoreError, ClientError) as exc:
        raise EngineError(f"scan estimate for {spec.name}: cannot list s3://{bucket}: {exc}") from exc
    return ScanEstimate(table=spec.name, days=wanted, objects=sum(o for o, _ in listed),
                        bytes=sum(b for _, b in listed), partitions=len(prefixes))


def workgroup_cutoff(athena_client: Any, workgroup: str) -> int | None:
    """The workgroup's ``BytesScannedCutoffPerQuery`` in bytes, ``None`` when it sets none.

    Read from the workgroup rather than configured again, so the check follows whatever the
    account's administrators set; an error (no such workgroup, no ``athena:GetWorkGroup``) is an
    :class:`EngineError` naming the workgroup, for the caller to decide whether to go on unchecked.
    """
    try:
        answer = athena_client.get_work_group(WorkGroup=workgroup)
    except (BotoCoreError, ClientError) as exc:
        raise EngineError(f"athena: cannot read workgroup {workgroup}'s per-query cutoff: {exc}") from exc
    cutoff = (answer.get("WorkGroup") or {}).get("Configuration", {}).get("BytesScannedCutoffPerQuery")
    return int(cutoff) if cutoff is not None else None


def check_budget(detection_id: str, estimate: ScanEstimate, budget_bytes: int | None,
                 cutoff_bytes: int | None, workgroup: str | None = None) -> None:
    """Raise :class:`BudgetExceeded` when the estimate is over the budget or the workgroup cutoff.

    Over the cutoff, Athena would run the query, cancel it at the cutoff and bill what it had
    scanned, for no result: refusing up front is cheaper and says why. ``None`` means no limit.
    """
    exceeded: list[tuple[str, int]] = []
    if budget_bytes is not None and estimate.bytes > budget_bytes:
        exceeded.append(("its budget", budget_bytes))
    if cutoff_bytes is not None and estimate.bytes > cutoff_bytes:
        owner = f"workgroup {workgroup}'s" if workgroup else "the workgroup's"
        exceeded.append((f"{owner} per-query cutoff", cutoff_bytes))
    if exceeded:
        raise BudgetExceeded(detection_id, estimate, exceeded)


def columns_read(sql: str, spec: TableSpec) -> int:
    """Distinct top-level columns of ``spec`` that a rendered (Athena-dialect) query references.

    For the Parquet scaling in :func:`estimate_scan`. ``useridentity.arn`` counts ``useridentity``
    (the struct is one column chunk group); partition columns cost nothing and are not columns of
    the spec; ``SELECT *`` straight from the table counts every column. By name, not by full
    scope resolution: a CTE column named like a table column is counted, which only overstates.
    """
    known = set(spec.column_names)
    try:
        trees = [t for t in sqlglot.parse(sql, read="athena") if t is not None]
    except sqlglot.errors.ParseError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else "parse error"
        raise ValueError(f"cannot parse query to count columns of {spec.name}: {first_line}") from exc
    used: set[str] = set()
    for tree in trees:
        # Names that qualify a column without being one: tables, their aliases, CTEs, subqueries.
        qualifiers = {n.lower() for t in tree.find_all(exp.Table) for n in (t.catalog, t.db, t.name) if n}
        qualifiers |= {a.name.lower() for a in tree.find_all(exp.TableAlias) if a.name}
        for table in tree.find_all(exp.Table):
            select = table.find_ancestor(exp.Select)
            if table.name.lower() == spec.name and select is not None and any(
                    isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
                    for e in select.expressions):
                return len(known)
        for column in tree.find_all(exp.Column):
            head = next((p.name.lower() for p in column.parts if p.name.lower() not in qualifiers), None)
            if head in known:
                used.add(head)
    return len(used)

"""Every finding every run produced, with the run that produced it: what ``trailguard findings`` and
later reports read.

Append-only Parquet, one part per run, so a write never touches what earlier runs wrote and a
killed run can leave at most its own half-written part behind:

    <root>/findings/day=YYYY-MM-DD/part-<run_id>.parquet   the run's findings (absent if none)
    <root>/runs/day=YYYY-MM-DD/part-<run_id>.parquet       one row: the run itself

(``day`` is the UTC day of the run's ``now``.) The runs part is written last and only if absent,
so it is the commit marker: findings parts whose run has no runs part (a run killed between the
two writes) are not read. Updates re-emit a finding under the same ``finding_id``; ``read`` marks
them ``is_update`` and by default keeps each finding's latest version. The root is a local folder
or ``s3://bucket/prefix`` (parts uploaded with ``put_object``, read back with pyarrow).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from pipeline.findings.model import Finding
from pipeline.paths import write_atomically
from pipeline.source.s3 import list_objects, parse_s3_uri

_STR, _INT, _LIST = pa.string(), pa.int64(), pa.list_(pa.string())
FINDING_FIELDS = pa.schema([
    ("detection_id", _STR), ("finding_id", _STR), ("severity", _STR), ("title", _STR), ("event_ids", _LIST),
    ("account_id", _STR), ("region", _STR), ("principal", _STR), ("first_seen", _STR), ("last_seen", _STR),
    ("event_count", _INT), ("source_ip", _STR), ("attack", _LIST), ("runbook", _STR),
    ("dedup_key", _STR), ("context", _STR),  # dicts of arbitrary values: JSON text
    ("actor", _STR), ("actor_type", _STR),  # null in parts written before actors were resolved
])
RUN_FIELDS = pa.schema([
    ("run_id", _STR), ("detection_id", _STR), ("engine", _STR), ("window_start", _STR), ("window_end", _STR),
    ("now", _STR), ("query_id", _STR), ("bytes_scanned", _INT), ("duration_s", pa.float64()), ("rows", _INT),
    ("estimated_bytes", _INT),  # the scan estimate made before the query ran (Athena); null in older parts
])
FINDINGS_SCHEMA = pa.schema([*FINDING_FIELDS, *(f for f in RUN_FIELDS if f.name != "detection_id"),
                             ("is_update", pa.bool_())])
RUNS_SCHEMA = pa.schema([*RUN_FIELDS, ("findings", _INT)])
# Local triage (``trailguard findings ack|resolve``): one part per change, the latest change wins.
STATUS_SCHEMA = pa.schema([("finding_id", _STR), ("status", _STR), ("by", _STR), ("reason", _STR),
                           ("at", _STR)])
STATUSES = ("open", "acknowledged", "resolved")
_JSON_COLUMNS = ("dedup_key", "context")
_SAFE_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,199}")
_TAKEN = ("PreconditionFailed", "ConditionalRequestConflict")  # create-only put: the key exists
_PART = re.compile(r"(?:findings|runs|status)/day=\d{4}-\d{2}-\d{2}/part-(?P<run_id>[^/]+)\.parquet")


def _run_id(rel: str) -> str | None:
    """The run a part belongs to, from its path; None for anything that is not a part."""
    match = _PART.fullmatch(rel)
    return match.group("run_id") if match else None


@dataclass
class RunMetadata:
    """One run of one detection over one window: what it cost and how much it found."""

    run_id: str
    detection_id: str
    engine: str
    window_start: str
    window_end: str
    now: str
    query_id: str | None
    bytes_scanned: int | None
    duration_s: float
    rows: int
    estimated_bytes: int | None = None  # what the scan guard expected, beside the bytes_scanned Athena billed


def _utc(values: pd.Series) -> pd.Series:
    """ISO strings in any of the forms in use ("Z", "+00:00", a space, a bare day) as UTC times."""
    return pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")


def _bound(text: str | None, name: str) -> pd.Timestamp | None:
    """A filter bound as a UTC time; a typo must fail loudly, not silently match nothing."""
    if text is None:
        return None
    value = _utc(pd.Series([text])).iloc[0]
    if pd.isna(value):
        raise ValueError(f"{name}: {text!r} is not an ISO 8601 date or time")
    return value


def _day(now: str) -> str:
    stamp = pd.Timestamp(now)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d")


def _in_run_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Oldest run first: by the tick's ``now``, then by window (one tick's catch-up windows share a
    ``now``), then run id; rows within one run keep their order."""
    keys = pd.DataFrame({"now": _utc(frame["now"]), "end": _utc(frame["window_end"]), "run": frame["run_id"]})
    return frame.loc[keys.sort_values(["now", "end", "run"], kind="stable").index]


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A part in the current schema: columns an older writer did not have become nulls."""
    columns = [table.column(f.name).cast(f.type) if f.name in table.column_names
               else pa.nulls(table.num_rows, f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """Nullable integers stay integers (not floats with NaN); list cells are plain Python lists."""
    frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for field in table.schema:
        if pa.types.is_list(field.type):
            values = table.column(field.name).to_pylist()
            frame[field.name] = pd.Series(values, index=frame.index, dtype=object)
    return frame


class _LocalParts:
    """Parts under a folder; atomic writes (tmp + fsync + rename), so readers never see half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, rel: str, data: bytes, exclusive: bool) -> None:
        write_atomically(self.root / rel, data, exclusive)

    def exists(self, rel: str) -> bool:
        return (self.root / rel).is_file()

    def list(self, top: str) -> list[str]:
        base = self.root / top
        if not base.is_dir():
            return []
        rels = (p.relative_to(self.root).as_posix() for p in base.glob("day=*/part-*.parquet"))
        return sorted(rel for rel in rels if _run_id(rel))

    def get_many(self, rels: list[str]) -> list[bytes]:
        return [(self.root / rel).read_bytes() for rel in rels]


class _S3Parts:
    """Parts under ``s3://bucket/prefix``; a single put_object is atomic, so no tmp object is needed."""

    def __init__(self, bucket: str, prefix: str, s3_client: Any) -> None:
        self.bucket, self.prefix, self.s3 = bucket, prefix, s3_client

    def put(self, rel: str, data: bytes, exclusive: bool) -> None:
        condition = {"IfNoneMatch": "*"} if exclusive else {}
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self.prefix + rel, Body=data, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _TAKEN:
                raise FileExistsError(f"s3://{self.bucket}/{self.prefix}{rel}") from exc
            raise

    def exists(self, rel: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.prefix + rel)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list(self, top: str) -> list[str]:
        listed = list_objects(self.s3, self.bucket, f"{self.prefix}{top}/")
        keys = [obj.key[len(self.prefix):] for obj in listed]
        return sorted(k for k in keys if _run_id(k))

    def get_many(self, rels: list[str]) -> list[bytes]:
        def get(rel: str) -> bytes:
            return bytes(self.s3.get_object(Bucket=self.bucket, Key=self.prefix + rel)["Body"].read())

        with ThreadPoolExecutor(max_workers=8) as pool:  # one round trip per part: overlap them
            return list(pool.map(get, rels))


class FindingsStore:
    """Append runs' findings; read them back filtered, latest version first-class."""

    def __init__(self, parts: _LocalParts | _S3Parts, location: str) -> None:
        self._parts = parts
        self.location = location

    def append(self, findings: list[Finding], run: RunMetadata, is_update: list[bool] | None = None) -> None:
        """Record one run: its findings part (if it found anything), then its runs part. A run id
        is recorded once; appending it again raises ``FileExistsError`` instead of rewriting.
        ``is_update`` (per finding) is what the scheduler knew; without it ``read`` works it out."""
        if not isinstance(run.run_id, str) or not _SAFE_RUN_ID.fullmatch(run.run_id):
            raise ValueError(f"run id {run.run_id!r} cannot name a file (letters, digits, . _ : - only)")
        if is_update is not None and len(is_update) != len(findings):
            raise ValueError(f"run {run.run_id}: {len(is_update)} is_update flags, {len(findings)} findings")
        strays = sorted({f.detection_id for f in findings} - {run.detection_id})
        if strays:
            raise ValueError(f"run {run.run_id} is for {run.detection_id!r} but has findings of {strays}")
        name = f"day={_day(run.now)}/part-{run.run_id}.parquet"
        if self._parts.exists(f"runs/{name}"):
            raise FileExistsError(f"{self.location}: run {run.run_id} is already recorded")
        meta = asdict(run)
        if findings:
            rows = []
            for number, finding in enumerate(findings):
                row = finding.to_dict()
                row["is_update"] = None if is_update is None else bool(is_update[number])
                for column in _JSON_COLUMNS:
                    row[column] = json.dumps(row[column], sort_keys=True, default=str, ensure_ascii=False)
                row["event_ids"] = [str(e) for e in row["event_ids"]]
                row["attack"] = [str(a) for a in row["attack"]]
                rows.append({**row, **{k: v for k, v in meta.items() if k != "detection_id"}})
            table = pa.Table.from_pylist(rows, schema=FINDINGS_SCHEMA)
            self._parts.put(f"findings/{name}", _parquet_bytes(table), exclusive=False)
        run_table = pa.Table.from_pylist([{**meta, "findings": len(findings)}], schema=RUNS_SCHEMA)
        self._parts.put(f"runs/{name}", _parquet_bytes(run_table), exclusive=True)  # the commit

    def _read_parts(self, rels: list[str], schema: pa.Schema) -> pa.Table:
        tables = [_conform(pq.read_table(io.BytesIO(data)), schema) for data in self._parts.get_many(rels)]
        return pa.concat_tables(tables) if tables else schema.empty_table()

    def read(self, *, detection_ids: Iterable[str] | None = None, severities: Iterable[str] | None = None,
             accounts: Iterable[str] | None = None, since: str | None = None, until: str | None = None,
             latest_only: bool = True) -> pd.DataFrame:
        """Findings, oldest run first. ``is_update``: as the appending run said, or else whether an
        earlier run already stored this finding_id.
        ``since``/``until`` keep findings whose activity (first_seen..last_seen) overlaps
        [since, until); the other filters match exactly (severity case-insensitively), and None or
        an empty list means no filter. Filters apply to the latest version when ``latest_only``."""
        start, end = _bound(since, "since"), _bound(until, "until")
        if start is not None and end is not None and start >= end:
            raise ValueError(f"since ({since}) is not before until ({until})")
        committed = {_run_id(rel) for rel in self._parts.list("runs")}
        rels = [rel for rel in self._parts.list("findings") if _run_id(rel) in committed]
        frame = _to_frame(self._read_parts(rels, FINDINGS_SCHEMA))
        if frame.empty:
            return frame.astype({"is_update": bool})
        frame = _in_run_order(frame)
        seen_before = frame.groupby("finding_id", sort=False).cumcount() > 0
        frame["is_update"] = frame["is_update"].astype(object).where(frame["is_update"].notna(), seen_before)
        frame["is_update"] = frame["is_update"].astype(bool)
        if latest_only:
            frame = frame.drop_duplicates("finding_id", keep="last")
        keep = pd.Series(True, index=frame.index)
        detection_ids, severities, accounts = (list(v or []) for v in (detection_ids, severities, accounts))
        if detection_ids:
            keep &= frame["detection_id"].isin(detection_ids)
        if severities:
            keep &= frame["severity"].str.lower().isin([s.lower() for s in severities])
        if accounts:
            keep &= frame["account_id"].isin([str(a) for a in accounts])
        if start is not None:
            keep &= _utc(frame["last_seen"]) >= start
        if end is not None:
            keep &= _utc(frame["first_seen"]) < end
        return frame[keep].reset_index(drop=True)

    def set_status(self, finding_ids: Iterable[str], status: str, by: str, reason: str, now: str) -> None:
        """Record a triage decision for findings: ``acknowledged``, ``resolved`` or back to ``open``.

        Kept beside the findings (one create-only part per change, like runs) so a team without
        Jira or PagerDuty can still see who closed what and why; the history stays.
        """
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        rows = [{"finding_id": i, "status": status, "by": by, "reason": reason, "at": now}
                for i in finding_ids]
        if not rows:
            return
        import uuid

        stamp = re.sub(r"[^0-9A-Za-z]", "", now)
        name = f"day={_day(now)}/part-status-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
        table = pa.Table.from_pylist(rows, schema=STATUS_SCHEMA)
        self._parts.put(f"status/{name}", _parquet_bytes(table), exclusive=True)

    def statuses(self, history: bool = False) -> pd.DataFrame:
        """Each finding's latest triage status (``history``: every change), oldest change first."""
        frame = _to_frame(self._read_parts(self._parts.list("status"), STATUS_SCHEMA))
        if frame.empty:
            return frame
        frame = frame.iloc[_utc(frame["at"]).argsort(kind="stable")]
        if not history:
            frame = frame.drop_duplicates("finding_id", keep="last")
        return frame.reset_index(drop=True)

    def runs(self) -> pd.DataFrame:
        """One row per recorded run (runs that found nothing included), oldest first."""
        frame = _to_frame(self._read_parts(self._parts.list("runs"), RUNS_SCHEMA))
        if frame.empty:
            return frame
        return _in_run_order(frame).reset_index(drop=True)


def open_findings_store(location: str | Path, s3_client: Any = None) -> FindingsStore:
    """``s3://bucket/prefix`` or a local folder (created on first append)."""
    if isinstance(location, str) and location.startswith("s3://"):
        bucket, prefix = parse_s3_uri(location)
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        return FindingsStore(_S3Parts(bucket, prefix, s3_client), location)
    return FindingsStore(_LocalParts(Path(location)), str(location))

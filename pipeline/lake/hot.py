"""The hot tier: each tick turns the CloudTrail objects delivered since the last one into one Parquet file.

Why: CloudTrail's layout has no partition below the day, so a tick that queries the raw table reads
everything delivered that day again, once per detection. Here each tick lists only what is new
(per account/region/day prefix, ``StartAfter`` a key built from the last mark minus the late
allowance: keys sort by the time in their name inside a prefix), reads those objects once with the
embedded ingest's DuckDB reader, and writes the rows the enabled detections can use (see
:mod:`pipeline.detections.row_filter`) as zstd Parquet under ``cloudtrail_hot/<batch>/``, where
``batch`` is the tick's mark (``yyyy/MM/dd/HHmm``). A query names the batches its windows touch.

The rules that make it exact:

- A batch takes every new object visible when its tick runs (as the old path reads every visible
  file). A file is named after its events and is visible at the earliest at its name time, so a
  record of batch ``b`` happened before ``b``'s mark + the delivery lag + 1 minute: the records of
  a window ``[start, end)`` sit in batches with a mark after ``start`` − lag − 1 minute.
- An object is taken once: the manifest (``cloudtrail_hot/_manifest.json``) remembers the keys of
  the late allowance. A file delivered late but within the allowance lands in the next batch.
- Written file first, manifest second. A run killed in between leaves a file no manifest names:
  the next run deletes it before doing anything (so no row is ever in two batches).
- The row plan's fingerprint is stored per batch: after a configuration change, a window that
  reaches batches written under another plan is not answered from them (the caller falls back).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipeline.catalog.duckdb_views import raw_scan_sql
from pipeline.catalog.specs import TableSpec, load_specs
from pipeline.engines.dialect import configure_connection
from pipeline.lake.hot_cache import BatchCache
from pipeline.lake.parts import READ_ERRORS, copy_to_parquet
from pipeline.times import iso_z, parse_optional

HOT_FOLDER = "cloudtrail_hot"
MANIFEST = f"{HOT_FOLDER}/_manifest.json"
KEY_TIME = re.compile(r"_(\d{8}T\d{4})Z_[^/]*$")
BATCH_FORMAT = "%Y/%m/%d/%H%M"


def batch_name(mark: datetime) -> str:
    return mark.astimezone(UTC).strftime(BATCH_FORMAT)


def key_time(key: str) -> datetime | None:
    """The time in a CloudTrail object's name (``..._20260115T1005Z_abc.json.gz``), else None."""
    match = KEY_TIME.search(key)
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC) if match else None


@dataclass(frozen=True)
class RowPlan:
    """Which rows and columns a batch keeps: ``matched`` (DuckDB SQL over the raw rows) or every row."""

    matched: str | None
    keep_all_rows: bool
    all_row_columns: frozenset[str]
    fingerprint: str


@dataclass
class HotBatch:
    """What one tick brought into the hot tier."""

    batch: str
    objects: int = 0
    delivered_bytes: int = 0
    rows: int = 0
    written_bytes: int = 0
    skipped: list[str] = field(default_factory=list)  # "key: reason" for files that could not be read


class Storage:
    """A folder or ``s3://bucket/prefix``, addressed by relative keys: one code path for both engines."""

    def __init__(self, location: str, s3_client: Any = None) -> None:
        self.location = location
        if location.startswith("s3://"):
            from pipeline.source.s3sync import parse_s3_uri

            self.bucket, self.prefix = parse_s3_uri(location)
            if s3_client is None:
                import boto3

                s3_client = boto3.client("s3")
            self.s3 = s3_client
            self.root = None
        else:
            self.root, self.s3 = Path(location), None

    def list(self, prefix: str, start_after: str = "") -> list[tuple[str, int]]:
        """(key, size) under ``prefix`` in key order, after ``start_after`` when given."""
        if self.root is not None:
            folder = self.root / prefix
            if not folder.is_dir():
                return []
            found = [
                (p.relative_to(self.root).as_posix(), p.stat().st_size)
                for p in folder.rglob("*")
                if p.is_file()
            ]
            return sorted((k, s) for k, s in found if k > start_after)
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after:
            kwargs["StartAfter"] = self.prefix + start_after
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(**kwargs):
            out += [(o["Key"][len(self.prefix) :], int(o["Size"])) for o in page.get("Contents", [])]
        return out

    def list_tagged(self, prefix: str) -> list[tuple[str, int, str]]:
        """(key, size, version tag) under ``prefix``: the ETag on S3, the modification time locally."""
        if self.root is not None:
            return [(k, s, str((self.root / k).stat().st_mtime_ns)) for k, s in self.list(prefix)]
        out = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            out += [
                (o["Key"][len(self.prefix) :], int(o["Size"]), str(o.get("ETag", "")))
                for o in page.get("Contents", [])
            ]
        return out

    def subfolders(self, prefix: str) -> list[str]:
        if self.root is not None:
            folder = self.root / prefix
            return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        names = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix, Delimiter="/"
        ):
            names += [
                c["Prefix"][len(self.prefix + prefix) :].rstrip("/") for c in page.get("CommonPrefixes", [])
            ]
        return names

    def fetch(self, key: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if self.root is not None:
            shutil.copyfile(self.root / key, dest)
        else:
            self.s3.download_file(self.bucket, self.prefix + key, str(dest))

    def put(self, source: Path, key: str) -> None:
        if self.root is not None:
            target = self.root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target.with_suffix(".tmp"))
            target.with_suffix(".tmp").replace(target)
        else:
            self.s3.upload_file(str(source), self.bucket, self.prefix + key)

    def read_text(self, key: str) -> str | None:
        if self.root is not None:
            path = self.root / key
            return path.read_text(encoding="utf-8") if path.is_file() else None
        try:
            return (
                self.s3.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read().decode("utf-8")
            )
        except self.s3.exceptions.NoSuchKey:
            return None

    def write_text(self, key: str, text: str) -> None:
        if self.root is not None:
            path = self.root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.with_suffix(".tmp").write_text(text, encoding="utf-8")
            path.with_suffix(".tmp").replace(path)
        else:
            self.s3.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=text.encode("utf-8"))

    def delete(self, key: str) -> None:
        if self.root is not None:
            (self.root / key).unlink(missing_ok=True)
        else:
            self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + key)


def account_prefixes(source: Storage, service: str = "CloudTrail") -> list[tuple[str, str, str]]:
    """(account, region, ``AWSLogs/.../<service>/<region>/``) for every delivering account and region."""
    out = []
    for child in source.subfolders("AWSLogs/"):
        accounts = (
            [(f"AWSLogs/{child}/{a}/", a) for a in source.subfolders(f"AWSLogs/{child}/")]
            if child.startswith("o-")
            else [(f"AWSLogs/{child}/", child)]
        )
        for base, account in accounts:
            for region in source.subfolders(f"{base}{service}/"):
                out.append((account, region, f"{base}{service}/{region}/"))
    return out


class HotTier:
    """Brings new CloudTrail deliveries of ``source`` into the hot tier under ``lake``."""

    def __init__(
        self, source: Storage, lake: Storage, spec: TableSpec | None = None, cache: BatchCache | None = None
    ) -> None:
        self.source, self.lake = source, lake
        self.spec = spec or load_specs()["cloudtrail"]
        self.cache = cache  # the runner's copy of each batch it writes (Athena: no query to read it back)

    def manifest(self) -> dict[str, Any]:
        text = self.lake.read_text(MANIFEST)
        return (
            json.loads(text)
            if text
            else {"version": 1, "since": None, "last_end": None, "batches": [], "seen": {}}
        )

    def batches(
        self, after: datetime, fingerprint: str | None = None, slack: timedelta = timedelta(0)
    ) -> tuple[list[str], bool]:
        """Batches with a mark after ``after`` holding rows, and whether all of them follow ``fingerprint``
        and the tier reaches back far enough to hold every record from ``after`` on."""
        entries, usable = self.entries(after, fingerprint, slack)
        return [b["batch"] for b in entries], usable

    def entries(
        self, after: datetime, fingerprint: str | None = None, slack: timedelta = timedelta(0)
    ) -> tuple[list[dict[str, Any]], bool]:
        """:meth:`batches`, as the manifest entries (``batch``, ``end``, ``files``, ...)."""
        manifest = self.manifest()
        since = parse_optional(manifest.get("since"))
        chosen = [b for b in manifest["batches"] if parse_optional(b["end"]) > after - slack]
        covered = since is not None and since <= after - slack
        same = all(b["fingerprint"] == fingerprint for b in chosen) if fingerprint else True
        return [b for b in chosen if b["files"]], covered and same

    def _drop_orphans(self, manifest: dict[str, Any], end: datetime) -> None:
        """Delete files a killed run wrote but never recorded (they would repeat rows in the next batch)."""
        known = {f for b in manifest["batches"] for f in b["files"]}
        last = parse_optional(manifest.get("last_end")) or end
        day = last.date()
        while day <= end.date():
            for key, _ in self.lake.list(f"{HOT_FOLDER}/{day:%Y/%m/%d}/"):
                if key.endswith(".parquet") and key not in known:
                    self.lake.delete(key)
            day += timedelta(days=1)

    def _new_objects(
        self, manifest: dict[str, Any], end: datetime, cutoff: datetime
    ) -> list[tuple[str, int]]:
        seen = manifest["seen"]
        start_name = (cutoff - timedelta(minutes=1)).strftime("%Y%m%dT%H%M")
        found = []
        for account, region, base in account_prefixes(self.source):
            day = cutoff.date()
            while day <= end.date():
                prefix = f"{base}{day:%Y/%m/%d}/"
                after = f"{prefix}{account}_CloudTrail_{region}_{start_name}Z"
                for key, size in self.source.list(prefix, after):
                    named = key_time(key)
                    if named is None or key in seen or not key.endswith(".json.gz"):
                        continue
                    if named >= cutoff - timedelta(minutes=1):
                        found.append((key, size))
                day += timedelta(days=1)
        return found

    def ingest(
        self, end: datetime, initial_lookback: timedelta, late: timedelta, plan: RowPlan
    ) -> HotBatch | None:
        """Bring what was delivered up to ``end`` into a new batch; None when ``end`` was already done."""
        manifest = self.manifest()
        self._drop_orphans(manifest, end)
        last_end = parse_optional(manifest.get("last_end"))
        if last_end is not None and end <= last_end:
            return None
        cutoff = last_end - late if last_end else end - initial_lookback
        if manifest.get("since") is None:
            manifest["since"] = iso_z(end - initial_lookback)
        new = self._new_objects(manifest, end, cutoff)
        batch = HotBatch(batch_name(end), objects=len(new), delivered_bytes=sum(s for _, s in new))
        files: list[str] = []
        if new:
            # the plan is part of the name: the same objects kept under another plan are other rows
            named = "\n".join([plan.fingerprint, *(k for k, _ in new)])
            digest = hashlib.sha1(named.encode()).hexdigest()[:16]
            key = f"{HOT_FOLDER}/{batch.batch}/part-{digest}.parquet"
            with tempfile.TemporaryDirectory(prefix="trailguard-hot-") as tmp:
                out = Path(tmp) / "batch.parquet"
                batch.rows = self._convert(Path(tmp), new, plan, out, batch)
                if batch.rows:
                    batch.written_bytes = out.stat().st_size
                    self.lake.put(out, key)
                    files.append(key)
                    if self.cache is not None:  # before the manifest: an unnamed entry is never read
                        self.cache.put(batch.batch, files, out)
        marks = [b for b in manifest["batches"] if b["batch"] != batch.batch or b["files"]]
        marks.append(
            {
                "batch": batch.batch,
                "end": iso_z(end),
                "fingerprint": plan.fingerprint,
                "files": files,
                "objects": batch.objects,
                "delivered_bytes": batch.delivered_bytes,
            }
        )
        horizon = end - late - timedelta(days=2)
        manifest["batches"] = [b for b in marks if parse_optional(b["end"]) > horizon]
        manifest["seen"] = {k: t for k, t in manifest["seen"].items() if parse_optional(t) > cutoff - late}
        manifest["seen"].update({k: iso_z(end) for k, _ in new})
        manifest["last_end"] = iso_z(end)
        self.lake.write_text(MANIFEST, json.dumps(manifest, sort_keys=True))
        return batch

    def _convert(
        self, tmp: Path, objects: list[tuple[str, int]], plan: RowPlan, out: Path, batch: HotBatch
    ) -> int:
        """Download ``objects`` under ``tmp`` (keeping the key layout); write the plan's rows to ``out``."""
        paths = []
        for key, _ in objects:
            local = tmp / "src" / key
            self.source.fetch(key, local)
            paths.append(local)
        con = duckdb.connect()
        try:
            configure_connection(con)
            good = self._readable(con, paths, batch)
            if not good:
                return 0
            copy_to_parquet(con, self._select(good, plan), out)
            escaped = str(out).replace("'", "''")
            return int(con.execute(f"SELECT count(*) FROM read_parquet('{escaped}')").fetchall()[0][0])
        finally:
            con.close()

    def _readable(self, con: duckdb.DuckDBPyConnection, paths: list[Path], batch: HotBatch) -> list[Path]:
        """All files when DuckDB reads them together; else those it reads alone (the rest named, skipped)."""
        try:
            con.execute(
                f"SELECT count(*) FROM ({raw_scan_sql(self.spec, [str(p) for p in paths])})"
            ).fetchall()
            return paths
        except READ_ERRORS:
            good = []
            for path in paths:
                try:
                    con.execute(f"SELECT count(*) FROM ({raw_scan_sql(self.spec, [str(path)])})").fetchall()
                    good.append(path)
                except READ_ERRORS as exc:
                    batch.skipped.append(f"{path.name}: {str(exc).splitlines()[0][:200]}")
            return good

    def _select(self, paths: list[Path], plan: RowPlan) -> str:
        matched = f"COALESCE(({plan.matched}), FALSE)" if plan.matched else "FALSE"
        columns = [
            f'"{c.name}"'
            if c.name in plan.all_row_columns or not plan.keep_all_rows
            else f'CASE WHEN matched THEN "{c.name}" END AS "{c.name}"'
            for c in self.spec.columns
        ]
        keep = "TRUE" if plan.keep_all_rows else "matched"
        scan = raw_scan_sql(self.spec, [str(p) for p in paths])
        return (
            f"WITH cloudtrail AS ({scan}), flagged AS (SELECT *, {matched} AS matched FROM cloudtrail) "
            f"SELECT {', '.join(columns)}, account, region, day, matched FROM flagged "
            f"WHERE {keep}"
        )

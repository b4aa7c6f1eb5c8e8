"""Local ingestion: raw bucket-layout files into a zstd Parquet lake with the same schema.

Why a lake: reading gzip JSON costs seconds per million events every time; Parquet makes each
detection run a fraction of a second. The lake keeps the bucket's partitions
(``<table>/<account>/<region>/<yyyy>/<MM>/<dd>/part-*.parquet``), so the same window predicate
prunes both. Ingestion is incremental (a file already ingested is not read again) and streams one
partition at a time, so memory follows the largest day, not the number of files. Every file
that cannot be read is skipped, named and counted; nothing is lost silently.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from fnmatch import fnmatch
from pathlib import Path

import duckdb

from pipeline.catalog.duckdb_views import raw_scan_sql
from pipeline.catalog.specs import LAKE_FOLDERS, RAW_TO_LOGICAL, TableSpec
from pipeline.lake.guardduty_parts import guardduty_partition
from pipeline.lake.normalize import NO_FIELDS, NormalizeReport, normalize_records
from pipeline.lake.parts import READ_ERRORS, SOURCE_FILE_COLUMN, compact_partition, copy_to_parquet, part_path
from pipeline.lake.report import IngestReport, SkipLedger
from pipeline.source.keys import local_account_dirs
from pipeline.source.limits import Limits, UnreadableFile, check_size
from pipeline.source.responder import skip_reason

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir())
    except OSError:
        return []


ISO_EVENT_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z"  # what CloudTrail writes
GLOB_CHARACTERS = frozenset("*?[]{}")  # DuckDB reads a file name as a glob pattern
SYMLINK = "symbolic link, not followed (it may point outside the source or nowhere)"
NOT_A_FILE = "named like a log file but not a regular file"


def rejected_entry(path: Path) -> str | None:
    """Why a name the file glob matched is not read: a symlink or a non-file; None for a plain file."""
    if path.is_symlink():
        return SYMLINK
    if not path.is_file():
        return NOT_A_FILE
    return None


def discover(
    root: Path,
    spec: TableSpec,
    days: set[str] | None = None,
    rejected: list[tuple[Path, str]] | None = None,
    strays: list[Path] | None = None,
) -> dict[tuple[str, ...], list[Path]]:
    """Raw files under ``root`` grouped by partition values; only ``days`` when given.

    Walks the folder levels instead of globbing per day, so a window of years costs no more
    than the folders that exist. Symbolic links (dangling, looping, or pointing outside the
    source) and folders named like log files are never read: they go to ``rejected`` with the
    reason, so the caller can name and count them. Other files in the day folders (a plain
    ``.json`` export copied into the layout) are appended to ``strays``, so the caller can say
    they were not read.
    """
    regex = re.compile(spec.partition_regex())
    marker = spec.partition_template.split("/")[1]  # "CloudTrail" or "GuardDuty"
    groups: dict[tuple[str, ...], list[Path]] = defaultdict(list)
    for account_dir, _ in local_account_dirs(root):
        for region_dir in _subdirs(account_dir / marker):
            for year in _subdirs(region_dir):
                for month in _subdirs(year):
                    for day_dir in _subdirs(month):
                        if days is not None and f"{year.name}/{month.name}/{day_dir.name}" not in days:
                            continue
                        for path in day_dir.glob(spec.file_glob):
                            match = regex.search(path.as_posix())
                            if not match:
                                continue
                            why = rejected_entry(path)
                            if why is None:
                                groups[match.groups()].append(path)
                            elif rejected is not None:
                                rejected.append((path, why))
                        if strays is not None:
                            strays.extend(p for p in day_dir.iterdir()
                                          if p.is_file() and not fnmatch(p.name, spec.file_glob))
    return {k: sorted(v) for k, v in sorted(groups.items())}


class IngestState:
    """Which raw files are in the lake (path -> size), written after each partition commits.

    Paths are absolute: :func:`ingest_table` resolves the source root once, so every discovered
    path is already resolved (resolving each of millions of files cost a tenth of ingest).
    """

    def __init__(self, lake: Path, table: str) -> None:
        self.path = lake / "_state" / f"{table}.json"
        self.journal = self.path.with_suffix(".journal")
        self.files: dict[str, int] = {}
        self._unsaved: dict[str, int] = {}
        if self.path.is_file():
            self.files = json.loads(self.path.read_text(encoding="utf-8"))
        if self.journal.is_file():  # partitions committed since the last full write
            for line in self.journal.read_text(encoding="utf-8").splitlines():
                try:
                    self.files.update(json.loads(line))
                except json.JSONDecodeError:
                    break  # a line cut by a crash: its partition is ingested again, into the same part

    def is_new(self, path: Path) -> bool:
        return str(path) not in self.files

    def changed(self, path: Path) -> bool:
        known = self.files.get(str(path))
        return known is not None and known != path.stat().st_size

    def add(self, paths: list[Path]) -> None:
        for path in paths:
            self.files[str(path)] = self._unsaved[str(path)] = path.stat().st_size

    def save(self) -> None:
        """Append what was added since the last save: one line per partition, not the whole state
        (rewriting it after each of hundreds of partitions was quadratic)."""
        if not self._unsaved:
            return
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with open(self.journal, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(self._unsaved, sort_keys=True) + "\n")
        self._unsaved = {}

    def checkpoint(self) -> None:
        """Fold the journal into the state file (end of an ingest)."""
        self.save()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.files, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)
        self.journal.unlink(missing_ok=True)


def _lake_select(spec: TableSpec, files: list[Path], source_name: str | None = None,
                 limits: Limits | None = None) -> str:
    """The rows of ``files``; DuckDB holds a file's one JSON object whole, so the size cap bounds it."""
    names = ", ".join(f'"{c.name}"' for c in spec.columns)
    source = "filename" if source_name is None else "'" + source_name.replace("'", "''") + "'"
    scan = raw_scan_sql(spec, [str(f) for f in files], (limits or Limits()).max_file_bytes)
    return f"SELECT {names}, {source} AS {SOURCE_FILE_COLUMN} FROM ({scan})"


def _load_cloudtrail_json(path: Path, limits: Limits | None = None) -> dict:
    """The file's JSON document, read only after a streaming check that it fits ``limits``."""
    limits = limits or Limits()
    try:
        check_size(path, limits)
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return json.load(handle)
    except (EOFError, OSError, zlib.error) as exc:
        raise UnreadableFile(f"unreadable gzip ({exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UnreadableFile(f"invalid JSON ({exc})") from exc
    except RecursionError:
        raise UnreadableFile("JSON nested too deeply to read") from None


def _why_no_records(path: Path, limits: Limits | None = None) -> str | None:
    """For a file that produced no rows: None when it is a valid empty log, else the reason to skip."""
    try:
        document = _load_cloudtrail_json(path, limits)
    except UnreadableFile as exc:
        return str(exc)
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        return None if not document["Records"] else "records could not be read"
    if isinstance(document, dict) and "logFiles" in document and "digestEndTime" in document:
        return "CloudTrail digest file, not log records"
    return "not a CloudTrail log file (no Records array)"


class CloudTrailIngester:
    """Writes one Parquet part per partition and batch of new files."""

    def __init__(self, spec: TableSpec, lake: Path, con: duckdb.DuckDBPyConnection, report: IngestReport,
                 limits: Limits | None = None):
        self.spec, self.con, self.report = spec, con, report
        self.lake_table = lake / LAKE_FOLDERS["cloudtrail"]
        self.limits = limits or Limits()

    def ingest_partition(self, partition: tuple[str, ...], files: list[Path]) -> list[Path]:
        """Ingest ``files``; returns the files now accounted for (ingested, empty or skipped)."""
        oversized = [f for f in files if self._over_limit(f)]
        literal = [f for f in files if GLOB_CHARACTERS & set(f.name) and f not in set(oversized)]
        aside = set(oversized) | set(literal)
        for path in literal:  # DuckDB would read the name as a pattern and match other files too
            self.report.warn(f"{path}: file name has glob characters; read on its own, not as a pattern")
            self._ingest_normalized(partition, path)
        files = [f for f in files if f not in aside]
        if not files:
            return literal + oversized
        out = part_path(self.lake_table, partition, files)
        try:
            copy_to_parquet(self.con, _lake_select(self.spec, files, limits=self.limits), out)
            good = files
        except READ_ERRORS:
            good = self._ingest_one_by_one(partition, files)
        if good:
            self._count(out, good)
        return files + literal + oversized

    def _over_limit(self, path: Path) -> bool:
        """Skip (with the limit named) a file past ``[ingest]``'s caps before DuckDB holds it whole."""
        try:
            check_size(path, self.limits)
        except UnreadableFile as exc:
            self.report.skip(path, str(exc))
            return True
        except (OSError, EOFError, zlib.error):
            return False  # a broken gzip: the readers name it as before
        return False

    def _ingest_one_by_one(self, partition: tuple[str, ...], files: list[Path]) -> list[Path]:
        good: list[Path] = []
        for path in files:
            try:
                select = _lake_select(self.spec, [path], limits=self.limits)
                self.con.execute(f"SELECT count(*) FROM ({select})").fetchall()
                good.append(path)
            except READ_ERRORS:
                self._ingest_normalized(partition, path)
        if good:
            copy_to_parquet(
                self.con, _lake_select(self.spec, good, limits=self.limits),
                part_path(self.lake_table, partition, files),
            )
        return good

    def _ingest_normalized(self, partition: tuple[str, ...], path: Path) -> None:
        try:
            document = _load_cloudtrail_json(path, self.limits)
        except UnreadableFile as exc:
            self.report.skip(path, str(exc))
            return
        if not isinstance(document, dict) or not isinstance(document.get("Records"), list):
            self.report.skip(path, "not a CloudTrail log file (no Records array)")
            return
        if len(document["Records"]) > self.limits.max_records_per_file:
            self.report.skip(path, f"{len(document['Records'])} records, more than max_records_per_file = "
                             f"{self.limits.max_records_per_file} ([ingest] in the config); not read")
            return
        norm = NormalizeReport()
        try:
            records = normalize_records(document["Records"], self.spec.columns, norm)
        except RecursionError:
            self.report.skip(path, "JSON nested too deeply to read")
            return
        if records:
            with tempfile.TemporaryDirectory() as tmp:
                fixed = Path(tmp) / "records.json.gz"  # never the source's name: it may hold glob characters
                with gzip.open(fixed, "wt", encoding="utf-8") as handle:
                    json.dump({"Records": records}, handle)
                out = part_path(self.lake_table, partition, [path], suffix="-normalized")
                try:
                    copy_to_parquet(self.con, _lake_select(self.spec, [fixed], str(path), self.limits), out)
                except READ_ERRORS as exc:  # counted only once stored: a failure skips the whole file
                    self.report.skip(path, f"unreadable even record by record ({str(exc)[:200]})")
                    return
        self.report.records_seen += norm.records_in
        for reason, count in sorted(norm.skipped.items()):
            self.report.skip_records(path, reason, count)
        for field_path, count in sorted(norm.fields_dropped.items()):
            self.report.warn(
                f"{path}: field {field_path} had an unexpected type in {count} record(s); set to NULL"
            )
        if not records:
            if norm.records_in:
                self.report.files_ingested += 1  # read; every record skipped and counted
            else:
                self.report.files_empty += 1
            return
        self.report.files_ingested += 1
        self.report.records_ingested += len(records)

    def _count(self, out: Path, files: list[Path]) -> None:
        """Reconcile what DuckDB read per file; rows that hold no CloudTrail field are taken out.

        DuckDB turns a ``null`` or ``{}`` element of Records into a row of NULLs; the Python path
        skips such records, so this path skips them too (rewriting the part only when there are any).
        """
        escaped = str(out).replace("'", "''")
        empty_row = " AND ".join(f'"{c.name}" IS NULL' for c in self.spec.columns)
        rows = self.con.execute(
            f"SELECT {SOURCE_FILE_COLUMN}, count(*), "
            "count(*) FILTER (WHERE eventtime IS NULL OR eventid IS NULL), "
            f"count(*) FILTER (WHERE {empty_row}), "
            f"count(*) FILTER (WHERE NOT regexp_full_match(eventtime, '{ISO_EVENT_TIME}')) "
            f"FROM read_parquet('{escaped}') GROUP BY 1"
        ).fetchall()
        per_file = {name: (count, invalid, empty) for name, count, invalid, empty, _ in rows}
        for name, _, _, _, odd in rows:
            if odd:
                self.report.warn(f"{name}: {odd} record(s) whose eventTime is not an ISO 8601 UTC time; "
                                 "kept, read as far as it parses")
        if any(empty for _, _, empty in per_file.values()):
            kept = f"SELECT * FROM read_parquet('{escaped}') WHERE NOT ({empty_row})"
            rewritten = out.with_name(out.stem + "-kept.parquet")
            copy_to_parquet(self.con, kept, rewritten)
            os.replace(rewritten, out)
        for path in files:
            count, invalid, empty = per_file.get(str(path), (0, 0, 0))
            if count:
                self.report.files_ingested += 1
                self.report.records_seen += count
                self.report.records_ingested += count - empty
                self.report.skip_records(path, NO_FIELDS, empty)
                if invalid - empty:
                    self.report.warn(f"{path}: {invalid - empty} record(s) without eventTime or eventID")
                continue
            reason = _why_no_records(path, self.limits)
            if reason is None:
                self.report.files_empty += 1
            else:
                self.report.skip(path, reason)


def _ingest_partition_alone(
    spec: TableSpec, lake: Path, con: duckdb.DuckDBPyConnection, partition: tuple[str, ...],
    files: list[Path], limits: Limits | None = None,
) -> IngestReport:
    """One CloudTrail partition on its own cursor, counted in its own report (merged by the caller)."""
    report = IngestReport(table=spec.name)
    cursor = con.cursor()
    try:
        CloudTrailIngester(spec, lake, cursor, report, limits).ingest_partition(partition, files)
    finally:
        cursor.close()
    return report


def ingest_table(
    spec: TableSpec,
    source: Path,
    lake: Path,
    *,
    days: set[str] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    limits: Limits | None = None,
) -> IngestReport:
    """Ingest the new raw files of one table (``cloudtrail`` or ``guardduty_findings``).

    CloudTrail partitions are copied ``workers`` at a time (default: one per core), each COPY on
    one DuckDB thread: a single COPY of gzip JSON keeps one core busy reading while the other
    waits, so parallel partitions roughly double throughput on two cores (``make bench``).
    """
    report = IngestReport(table=spec.name)
    source = Path(source).resolve()
    rejected: list[tuple[Path, str]] = []
    strays: list[Path] = []
    groups = discover(source, spec, days, rejected, strays)
    for path in strays:  # nothing under the source goes unread without a word
        if skip_reason(path) is None:
            report.warn(f"{path}: not read: not {spec.file_glob} as delivered to S3 "
                        "(`trailguard import` files exports into the layout)")
    state, ledger = IngestState(lake, spec.name), SkipLedger(lake, spec.name)
    todo: list[tuple[tuple[str, ...], list[Path]]] = []
    for path, why in rejected:  # named and counted on every run: never read, never in the state
        report.files_seen += 1
        report.files_new += 1
        report.skip(path, why)
    for partition, files in groups.items():
        report.files_seen += len(files)
        new = [f for f in files if state.is_new(f)]
        for path in files:
            if state.changed(path):
                report.warn(f"{path}: changed size since it was ingested; the lake keeps the first version")
        if new:
            todo.append((partition, new))
    report.files_new += sum(len(f) for _, f in todo)
    own = con is None
    con = con or duckdb.connect()
    parallel = own and spec.format == "cloudtrail_json" and len(todo) > 1
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo))) if parallel else 1
    if workers > 1:
        con.execute("SET threads = 1")
    done = 0

    def commit(partition: tuple[str, ...], files: list[Path], skipped_before: int) -> None:
        nonlocal done
        compact_partition(lake / LAKE_FOLDERS[RAW_TO_LOGICAL[spec.name]] / Path(*partition), con)
        state.add(files)
        state.save()
        if len(report.skipped_files) > skipped_before:
            ledger.add(report.skipped_files[skipped_before:], partition[2])
            ledger.save()
        done += len(files)
        if progress:
            progress(done, report.files_new)

    try:
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_ingest_partition_alone, spec, lake, con, *job, limits): job
                           for job in todo}
                for future in as_completed(futures):
                    skipped_before = len(report.skipped_files)
                    report.merge(future.result())
                    commit(*futures[future], skipped_before)
        else:
            cloudtrail = spec.format == "cloudtrail_json"
            ingester = CloudTrailIngester(spec, lake, con, report, limits) if cloudtrail else None
            for partition, files in todo:
                skipped_before = len(report.skipped_files)
                if ingester is not None:
                    ingester.ingest_partition(partition, files)
                else:
                    guardduty_partition(spec, partition, files, lake, report, limits)
                commit(partition, files, skipped_before)
    finally:
        if own:
            con.close()
    if todo:
        state.checkpoint()
    if not report.balanced:  # a bug, never expected: say so where the summary is printed
        report.warn(report.reconciliation())
    return report

"""Incremental ticks: ingest what was delivered into the hot tier, then detect over it locally.

``[schedule] hot_tier`` turns it on (``auto``, the default: on for Athena with ``[catalog]
lake_uri``; see docs/incremental-athena.md).
Each tick:

1. plans the rows the enabled CloudTrail detections can use (:mod:`pipeline.detections.row_filter`)
   and brings the objects delivered since the last tick into one hot-tier batch
   (:mod:`pipeline.lake.hot`), reading each delivered object once;
2. gathers the batches the due detections' windows can touch (in steady state the new batch plus
   the look-back of the longest burst). The embedded engine reads them in its local lake. On
   Athena the runner reads its own copy (:mod:`pipeline.lake.hot_cache`): the batch it just wrote,
   and those earlier ticks wrote or downloaded; a cold runner downloads the batches it lacks from
   the lake, once. No Athena query reads the tier on a tick;
3. runs each due detection's own SQL, rendered for its own windows exactly as before, on an
   embedded DuckDB over those rows (each filtered read also requires ``matched``, so it only sees
   complete rows). The findings, reconciliation and state are the scheduler's, unchanged.

GuardDuty detections (tables ``[guardduty]``) on Athena read no GuardDuty byte through Athena
either: the runner mirrors the export objects of the day partitions their windows reach
(:mod:`pipeline.lake.guardduty_mirror`: one LIST per account/region/day, a GET only for a key it
does not hold), turns them into rows with the embedded ingest, and runs the detection's own SQL,
rendered for its own windows exactly as before, on the embedded DuckDB over those rows. The findings
are the same by construction: the mirror holds every object of every day partition the rendered
query's ``day`` predicate names (the days are read from the rendered SQL itself), as rows of the
embedded ingest, which is what a read of those partitions returns; the query's own day and time
predicates then select exactly the rows they select there. On the embedded engine GuardDuty keeps
its old way (the local lake's files: no bill).

A detection reading both tables, a window the hot tier cannot answer (it starts before the tier
began, or reaches batches written under another row plan after a configuration change), or any
error of the tier (CloudTrail or GuardDuty: each falls back alone, and says so) goes the old way:
its own query over the day partitions.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlglot

from pipeline.catalog.specs import Column, load_specs
from pipeline.config import Settings
from pipeline.detections.row_filter import RowNeed, row_need
from pipeline.detections.run import render_detection
from pipeline.detections.spec import Detection
from pipeline.engines.base import EngineError, QueryResult
from pipeline.engines.duckdb import DuckDBEngine, configured_options
from pipeline.engines.templating import iso_utc, quote_string
from pipeline.lake.guardduty_mirror import GuardDutyMirror, MirrorSync
from pipeline.lake.hot import HotBatch, HotTier, RowPlan
from pipeline.runs.schedule import Schedule

_WINDOW_LITERAL = re.compile(r"'(\d{4}/\d{2}/\d{2}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})'")
_PLACEHOLDER = re.compile(r"__tgw(\d+)__")
_DAY_LITERAL = re.compile(r"'(\d{4}/\d{2}/\d{2})'")
# what window() renders: ``day IN ('2026/01/15', ...)``, or ``day BETWEEN '...' AND '...'`` for long spans
_DAY_PREDICATE = re.compile(r"\bday\s+(?:IN\s*\(([^)]*)\)|BETWEEN\s+('[^']*'\s+AND\s+'[^']*'))")
GUARDDUTY = ("guardduty",)
MATCHED = Column(key="matched", type="boolean", name="matched")
PLAN_START = datetime(2000, 1, 1, tzinfo=UTC)  # any window: the plan strips the window's own conjuncts


def hot_enabled(settings: Settings) -> bool:
    return settings.hot_tier


class HotPath:
    """The runner's reader for CloudTrail detections over the hot tier and GuardDuty detections over
    its mirror of the exports (see the module docstring)."""

    def __init__(
        self, settings: Settings, tier: HotTier, lake_root: Path | None = None,
        mirror: GuardDutyMirror | None = None,
    ) -> None:
        self.settings, self.tier = settings, tier
        self.mirror = mirror  # Athena: the GuardDuty exports, mirrored (None: GuardDuty the old way)
        self.guardduty_active: set[str] = set()  # GuardDuty detections answered from the mirror
        self.guardduty_error: str | None = None  # the mirror failed this tick: those went the old way
        self.guardduty_sync: MirrorSync | None = None
        self.lake_root = lake_root  # local lake (DuckDB engine): rows are read from its files directly
        specs = load_specs()
        base = specs["cloudtrail_parquet"]
        specs["cloudtrail_parquet"] = dataclasses.replace(base, columns=(*base.columns, MATCHED))
        self._tmp = tempfile.TemporaryDirectory(prefix="trailguard-hotpath-")

        self.local = DuckDBEngine(
            Path(self._tmp.name), specs=specs, spill_dir=Path(self._tmp.name) / "spill",
            **configured_options(settings),
        )
        # the tier's columns with no rows, taken before any tick points ``cloudtrail`` at the tier
        self.local.con.execute("CREATE TEMP TABLE _hot_no_rows AS SELECT * FROM cloudtrail WHERE false")
        self.spec = load_specs()["cloudtrail"]
        self.structs = {c.name for c in self.spec.columns if c.type in ("struct", "array")}
        self.active: set[str] = set()  # detection ids answered from the fetched rows this tick
        self.fallback = False  # this tick's CloudTrail detections read the day partitions (the old way)
        self.last_batch: HotBatch | None = None
        self.cached_batches = 0  # batches read from the runner's cache, nothing downloaded (Athena)
        self.queries: list[
            dict[str, Any]
        ] = []  # what each tick's fetch cost: for the findings store and benches

    def _need(self, sql: str) -> RowNeed:
        """``row_need`` once per query shape: only the window's day and time literals change per tick."""
        values: list[str] = []

        def hold(match: re.Match[str]) -> str:
            values.append(match.group(1))
            return f"'__tgw{len(values) - 1}__'"

        need = _need_of_shape(
            _WINDOW_LITERAL.sub(hold, sql), frozenset(self.structs), frozenset(self.spec.column_names)
        )
        return dataclasses.replace(need, sql=_PLACEHOLDER.sub(lambda m: values[int(m.group(1))], need.sql))

    # -- planning -------------------------------------------------------------------------------
    def needs(self, detections: list[Detection], start: datetime, end: datetime) -> dict[str, RowNeed]:
        out = {}
        for detection in detections:
            if detection.tables != ("cloudtrail",):
                continue
            sql, _ = render_detection(detection, self.local, start, end, self.settings)
            out[detection.id] = self._need(sql)
        return out

    def plan(self, detections: list[Detection]) -> RowPlan:
        needs = self.needs(detections, PLAN_START, PLAN_START + timedelta(hours=1))
        predicates = sorted({p for n in needs.values() for p in n.predicates})
        wide = frozenset(c for n in needs.values() for c in n.columns)
        matched = None
        if predicates:
            matched = self._matched_sql(" OR ".join(f"({p})" for p in predicates))
        digest = hashlib.sha256(f"{matched}|{sorted(wide)}".encode()).hexdigest()[:16]
        return RowPlan(matched=matched, keep_all_rows=bool(wide), all_row_columns=wide, fingerprint=digest)

    @functools.lru_cache(maxsize=16)  # noqa: B019 - one HotPath per runner; the plan rarely changes
    def _matched_sql(self, union: str) -> str:
        """The union of the lifted filters in DuckDB SQL, for the ingest to flag rows with."""
        translated = self.local.translate(f"SELECT * FROM cloudtrail WHERE {union}")
        return sqlglot.parse_one(translated, read="duckdb").args["where"].this.sql(dialect="duckdb")

    # -- the tick -------------------------------------------------------------------------------
    def begin(self, runner: Any, now: datetime) -> None:
        """GuardDuty's mirror first (its failure is its own), then the CloudTrail tier."""
        self.guardduty_active, self.guardduty_error, self.guardduty_sync = set(), None, None
        if self.mirror is not None:
            try:
                self._begin_guardduty(runner, now)
            except Exception as exc:  # noqa: BLE001 - S3 or DuckDB: GuardDuty goes the old way this tick
                self.guardduty_active = set()
                self.guardduty_error = (
                    f"hot tier (GuardDuty, its detections went the old way): {type(exc).__name__}: {exc}"
                )
        self._begin_cloudtrail(runner, now)

    def _begin_guardduty(self, runner: Any, now: datetime) -> None:
        """Mirror the day partitions the GuardDuty windows reach; point ``guardduty`` at their rows.

        The days are those the detection's own SQL names, rendered over the span of its due windows
        (each window's query reaches back the runner's look-back, as in the scheduler), so the mirror
        holds every object those queries' ``day`` predicates select. Days before the earliest any
        enabled GuardDuty detection can still reach are pruned.
        """
        assert self.mirror is not None
        due_days: set[str] = set()
        reach: list[str] = []
        due: set[str] = set()
        for detection in (d for d in runner.enabled() if d.tables == GUARDDUTY):
            state, _ = runner.state.load(detection.id)
            schedule = Schedule.parse(detection.schedule)
            windows = runner._windows(state, schedule, now)
            if not windows:
                continue
            params = detection.params(self.settings.detection_overrides(detection.id))
            start = windows[0][0] - runner._lookback(detection, params)
            sql, _ = render_detection(detection, self.local, start, windows[-1][1], self.settings)
            days = _days_named(sql)
            reach.append(days[0])
            if schedule.is_due(_parse(state.last_run), now):
                due.add(detection.id)
                due_days.update(days)
        if not due:
            return
        started = time.perf_counter()
        days = _day_range(min(due_days), max(due_days))
        self.guardduty_sync = sync = self.mirror.sync(days)
        if sync.cold and sync.objects:  # a cold runner re-downloaded what it lacked: say what it read
            self._record("s3", sync.objects, sync.downloaded_bytes, started, source="guardduty")
        self.mirror.prune(min(reach))
        self.local.con.execute(f"CREATE OR REPLACE VIEW guardduty AS {self.mirror.scan_sql(days)}")
        self.guardduty_active = due

    def _begin_cloudtrail(self, runner: Any, now: datetime) -> None:
        """Ingest the new batch, then fetch the rows every due CloudTrail detection's windows need."""
        self.active, self.fallback = set(), False
        enabled = [d for d in runner.enabled() if d.tables == ("cloudtrail",)]
        if not enabled:
            return
        timing = runner.timing
        end = now - timing.delivery_lag
        plan = self.plan(enabled)
        longest = max(self._reach(runner, d) for d in enabled)
        # the first batch reaches back as far as any first window reads, plus the batches' slack
        initial = timing.first_run_lookback + longest + timing.delivery_lag + timedelta(minutes=2)
        self.last_batch = self.tier.ingest(end, initial, timing.overlap, plan)
        starts: dict[str, datetime] = {}
        for detection in enabled:
            state, _ = runner.state.load(detection.id)
            schedule = Schedule.parse(detection.schedule)
            windows = runner._windows(state, schedule, now)
            if windows and schedule.is_due(_parse(state.last_run), now):
                starts[detection.id] = windows[0][0] - self._reach(runner, detection)
        if not starts:
            return
        earliest = min(starts.values())
        # a batch holds records up to its mark + the delivery lag (files visible when it ran)
        slack = timing.delivery_lag + timedelta(minutes=1)
        entries, usable = self.tier.entries(earliest, plan.fingerprint, slack)
        if not usable:
            self.fallback = True
            return  # the old path answers this tick: the tier began later, or the plan changed
        self._fetch(entries, earliest, end)
        self.active = set(starts)
        if self.tier.cache is not None:
            # keep what the next ticks' windows can still reach: the longest reach plus an hour
            # (a detection due hourly starts where its last window ended), and the slack
            horizon = end - longest - timedelta(hours=1) - slack - timing.overlap
            kept, _ = self.tier.entries(horizon, None, slack)
            # and what this tick's view reads (a catch-up can reach further back than the horizon)
            self.tier.cache.prune(self.tier.cache.path_of(e) for e in [*kept, *entries])

    def _reach(self, runner: Any, detection: Detection) -> timedelta:
        """How far before a window's start the detection reads: the runner's look-back, then its own."""
        params = detection.params(self.settings.detection_overrides(detection.id))
        return runner._lookback(detection, params) + timedelta(minutes=detection.lookback_minutes)

    def _fetch(self, entries: list[dict[str, Any]], start: datetime, end: datetime) -> None:
        con = self.local.con
        if not entries:
            con.execute("CREATE OR REPLACE VIEW _hot_rows AS SELECT * FROM _hot_no_rows")
        elif self.lake_root is not None:
            self._fetch_local(entries, start, end)
        else:
            self._fetch_cached(entries, start, end)
        con.execute("CREATE OR REPLACE VIEW cloudtrail AS SELECT * FROM _hot_rows")

    def _window_sql(self, start: datetime, end: datetime) -> str:
        return f"eventtime >= {quote_string(iso_utc(start))} AND eventtime < {quote_string(iso_utc(end))}"

    def _read_files(self, files: list[str], start: datetime, end: datetime) -> None:
        """``_hot_rows``: the window's rows of these hot-tier Parquet files (all written by the ingest).

        A view, not a table: each detection reads the columns it names from the local files,
        so memory stays with what one query holds rather than every column of the look-back.
        """
        listed = ", ".join(quote_string(f) for f in files)
        self.local.con.execute(
            "CREATE OR REPLACE VIEW _hot_rows AS SELECT * "
            f"FROM read_parquet([{listed}], union_by_name=true) "
            f"WHERE {self._window_sql(start, end)}"
        )

    def _fetch_local(self, entries: list[dict[str, Any]], start: datetime, end: datetime) -> None:
        """Embedded engine: the tier is in the local lake, DuckDB reads its files where they are."""
        assert self.lake_root is not None
        started = time.perf_counter()
        files = [str(self.lake_root / f) for e in entries for f in sorted(e["files"])]
        self._read_files(files, start, end)
        self._record("duckdb", len(entries), sum(Path(f).stat().st_size for f in files), started)

    def _fetch_cached(self, entries: list[dict[str, Any]], start: datetime, end: datetime) -> None:
        """Athena: the batches this runner holds are read locally; the missing ones are downloaded.

        A missing batch (a cold runner, or one another runner wrote) is the ingest's own Parquet in
        the lake: downloading it reads the same bytes an Athena ``SELECT *`` of it would scan, with
        no query, no 10 MB minimum and no JSON transport of nested columns.
        """
        cache = self.tier.cache
        assert cache is not None
        started = time.perf_counter()
        missing = [e for e in entries if not cache.has(e)]
        downloaded = sum(self._download(e) for e in missing)
        self.cached_batches += len(entries) - len(missing)
        self._read_files([str(cache.path_of(e)) for e in entries], start, end)
        if missing:
            self._record("s3", len(missing), downloaded, started)

    def _download(self, entry: dict[str, Any]) -> int:
        """Put a batch's lake files into the cache as one file; the bytes read from the lake."""
        assert self.tier.cache is not None
        folder = Path(self._tmp.name) / "download"
        shutil.rmtree(folder, ignore_errors=True)
        local = [folder / f"{n}.parquet" for n in range(len(entry["files"]))]
        for key, path in zip(sorted(entry["files"]), local, strict=True):
            self.tier.lake.fetch(key, path)
        staged = local[0]
        if len(local) > 1:  # the ingest writes one file a batch; any more are merged into one entry
            staged = folder / "merged.parquet"
            listed = ", ".join(quote_string(str(p)) for p in local)
            self.local.con.execute(
                f"COPY (SELECT * FROM read_parquet([{listed}], union_by_name=true)) "
                f"TO {quote_string(str(staged))} (FORMAT parquet, COMPRESSION zstd)"
            )
        self.tier.cache.put(entry["batch"], entry["files"], staged)
        return sum(p.stat().st_size for p in local)

    def _record(
        self, engine: str, batches: int, size: int, started: float, source: str = "cloudtrail_hot"
    ) -> None:
        """What a fetch read, for the findings store (a ``hot_tier`` run) and the benchmark.

        ``batches`` counts hot-tier batches (``source`` ``cloudtrail_hot``) or GuardDuty objects
        (``guardduty``: a cold runner's mirror downloading what it lacked).
        """
        self.queries.append(
            {
                "source": source,
                "engine": engine,
                "batches": batches,
                "estimated_bytes": size,
                "duration_s": time.perf_counter() - started,
                "query_id": None,
                "bytes_scanned": None,
            }
        )

    def handles(self, detection: Detection) -> bool:
        return detection.id in self.active or detection.id in self.guardduty_active

    def query(
        self, detection: Detection, start: datetime, end: datetime
    ) -> tuple[QueryResult, dict[str, Any]]:
        """The detection's own SQL for ``[start, end)`` over the fetched rows (filtered reads: full rows)."""
        sql, params = render_detection(detection, self.local, start, end, self.settings)
        try:
            if detection.id in self.guardduty_active:  # over the mirror's rows of its day partitions
                return self.local.query(sql), params
            return self.local.query(self._need(sql).sql), params
        except EngineError as exc:
            raise EngineError(f"{detection.id} over the hot tier: {exc}") from exc

    def close(self) -> None:
        self.local.close()
        self._tmp.cleanup()


@functools.lru_cache(maxsize=1024)
def _need_of_shape(shape: str, structs: frozenset[str], columns: frozenset[str]) -> RowNeed:
    return row_need(shape, "cloudtrail", set(structs), set(columns))


def _days_named(sql: str) -> list[str]:
    """The ``yyyy/MM/dd`` days the ``day`` predicates of a rendered query name, in order (a
    ``BETWEEN`` names its two ends); only those predicates, so a day-like suppression value is not one."""
    days = sorted({d for match in _DAY_PREDICATE.findall(sql) for d in _DAY_LITERAL.findall("".join(match))})
    if not days:
        raise ValueError("the rendered GuardDuty query names no day partition")
    return days


def _day_range(first: str, last: str) -> list[str]:
    """Every day from ``first`` to ``last`` (``yyyy/MM/dd``), both included."""
    from pipeline.times import parse_format

    day, stop = parse_format(first, "%Y/%m/%d"), parse_format(last, "%Y/%m/%d")
    out = []
    while day <= stop:
        out.append(day.strftime("%Y/%m/%d"))
        day += timedelta(days=1)
    return out


def _parse(text: str | None) -> datetime | None:
    from pipeline.times import parse_optional

    return parse_optional(text)

"""Scheduled detection runs: one tick = every due detection over its next windows.

Why it is built this way:

- CloudTrail delivers files 5-15 minutes after the events, sometimes later. A window ends at
  NOW minus ``delivery_lag``, and each query reaches back ``overlap`` (plus a burst's own window)
  before the watermark, so late files are still read and a burst straddling two windows is seen
  whole.
- Overlapping windows report records twice; the state remembers which records each delivered
  finding holds. A record already reported is never reported again by that detection. A burst
  that grows across ticks (its new rows share records with a delivered finding) is re-emitted
  under the delivered finding's id with the union of records, so consumers can upsert.
- State advances only after every sink accepted the findings. A run killed in between repeats
  the same deliveries (same ``delivery_id``), which idempotent sinks drop: exactly once there,
  at least once elsewhere.
- After downtime the missed time runs window by window, oldest first, at most
  ``max_catchup_windows`` per tick; the rest waits for the next tick, so nothing is skipped.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipeline.config import Settings
from pipeline.detections.results import rows_to_findings
from pipeline.detections.run import render_detection
from pipeline.detections.scan_guard import ScanGuard
from pipeline.detections.spec import Detection, load_detections
from pipeline.engines.base import Engine
from pipeline.engines.templating import partition_days
from pipeline.errors import RunError
from pipeline.findings.model import Finding
from pipeline.findings.store import FindingsStore, RunMetadata
from pipeline.runs.schedule import Schedule
from pipeline.runs.state import DetectionState, LockHeld, StateStore
from pipeline.sinks.base import Delivery, Sink, make_delivery
from pipeline.times import iso_z, parse_lenient


@dataclass(frozen=True)
class Timing:
    """The runner's clock settings (``[schedule]`` in trailguard.toml)."""

    delivery_lag: timedelta = timedelta(minutes=15)
    overlap: timedelta = timedelta(minutes=60)
    max_catchup_windows: int = 96
    first_run_lookback: timedelta = timedelta(minutes=60)

    @classmethod
    def from_settings(cls, settings: Settings) -> Timing:
        raw = settings["schedule"]
        return cls(
            delivery_lag=timedelta(minutes=float(raw["delivery_lag_minutes"])),
            overlap=timedelta(minutes=float(raw["overlap_minutes"])),
            max_catchup_windows=int(raw["max_catchup_windows"]),
            first_run_lookback=timedelta(minutes=float(raw["first_run_lookback_minutes"])),
        )


@dataclass
class DetectionTick:
    """What one detection did in a tick."""

    detection_id: str
    windows: int = 0
    window_start: str | None = None
    window_end: str | None = None
    new: int = 0
    updated: int = 0
    behind: bool = False
    error: str | None = None
    skipped: str | None = None  # e.g. another runner holds the lock: not an error, it is being done


@dataclass
class TickReport:
    now: str
    ran: list[DetectionTick] = field(default_factory=list)
    not_due: list[str] = field(default_factory=list)
    integrity: Any = None  # pipeline.integrity.tick_job.IntegrityTick: log file validation this tick
    warnings: list[str] = field(default_factory=list)  # e.g. a corrupt state file and how it recovered
    hot: Any = None  # pipeline.lake.hot.HotBatch: what the hot tier ingested this tick ([schedule] hot_tier)
    hot_error: str | None = None  # the hot tier failed this tick: its detections went the old way
    interrupted: bool = False  # asked to stop: the detections not yet run wait for the next tick

    @property
    def errors(self) -> list[DetectionTick]:
        return [t for t in self.ran if t.error]


TickJob = Callable[["Runner", datetime, TickReport], None]
"""Work a tick does after the detections (log file validation registers one): it may use
``Runner.run_windows`` for exactly-once delivery and records what it did in the report."""


def reconcile(findings: list[Finding], state: DetectionState) -> list[Delivery]:
    """New findings and grown bursts, minus everything the detection already delivered."""
    deliveries: list[Delivery] = []
    for finding in findings:
        prior = [fid for fid in dict.fromkeys(state.finding_for_event(e) for e in finding.event_ids) if fid]
        if not prior and finding.finding_id in state.delivered:
            prior = [finding.finding_id]
        if not prior:
            deliveries.append(make_delivery(finding))
            continue
        target = prior[0]
        delivered = state.delivered[target]
        known = set(delivered.event_ids)
        fresh = [e for e in finding.event_ids if e not in known]
        if not fresh:
            continue
        first_seen = min(finding.first_seen, getattr(delivered, "first_seen", None) or finding.first_seen)
        merged = dataclasses.replace(
            finding,
            finding_id=target,
            event_ids=[*delivered.event_ids, *fresh],
            event_count=len(delivered.event_ids) + len(fresh),
            first_seen=first_seen,
            last_seen=max(finding.last_seen, delivered.last_seen),
        )
        deliveries.append(make_delivery(merged, is_update=True))
    return deliveries


class Runner:
    """Runs due detections against one engine and delivers to the configured sinks."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        state: StateStore,
        sinks: list[Sink],
        store: FindingsStore,
        prepare: Callable[[list[str]], None] | None = None,
        detections: dict[str, Detection] | None = None,
        guard: ScanGuard | None = None,
        integrity_source: str | None = None,
        jobs: list[TickJob] | None = None,
        hot: Any = None,
    ) -> None:
        self.settings, self.engine, self.state, self.sinks, self.store = settings, engine, state, sinks, store
        # The source whose digests each tick validates ([integrity]); None: no validation.
        self.integrity_source = integrity_source
        self.timing = Timing.from_settings(settings)
        self.prepare = prepare  # makes the given day partitions queryable (local ingest); None on Athena
        self.detections = detections or load_detections()
        self._prepared: set[str] = set()
        self.guard = guard  # ScanGuard on Athena: refuses a query whose estimated scan is over budget
        self.jobs = list(jobs or [])
        # Called as progress(done, total) after each enabled detection of a tick (the CLI's bar).
        self.progress: Callable[[int, int], None] | None = None
        self.hot = hot  # pipeline.runs.hot_path.HotPath: ingest new deliveries, one query per tick

    def enabled(self) -> list[Detection]:
        return [
            d
            for d in self.detections.values()
            if self.settings.detection_overrides(d.id).get("enabled", True)
        ]

    def tick(self, now: datetime, should_stop: Callable[[], bool] | None = None) -> TickReport:
        """Run every due detection once, then the tick jobs.

        ``should_stop`` is asked between detections (SIGTERM on ``schedule``): a stop leaves the
        detections not yet run as they were (their watermark unchanged, the next tick catches them
        up) and still runs the jobs, so findings already delivered reach their incidents.
        """
        report = TickReport(now=iso_z(now))
        self._prepared.clear()  # files may have arrived since the last tick: re-check every day
        if self.hot is not None:
            self._begin_hot(now, report)
        enabled = self.enabled()
        for done, detection in enumerate(enabled, start=1):
            if should_stop is not None and should_stop():
                report.interrupted = True
                break
            if self.progress is not None:
                self.progress(done - 1, len(enabled))
            schedule = Schedule.parse(detection.schedule)
            state, _ = self.state.load(detection.id)
            if state.recovered:
                report.warnings.append(f"{detection.id}: {state.recovered}")
            if not schedule.is_due(parse_lenient(state.last_run), now):
                report.not_due.append(detection.id)
                continue
            outcome = DetectionTick(detection.id)
            try:
                with self.state.lock(detection.id):
                    self._run_detection(detection, schedule, now, outcome)
            except LockHeld as exc:
                outcome.skipped = str(exc)
            except RunError as exc:
                outcome.error = str(exc)
            except (ValueError, TypeError, KeyError, OSError) as exc:  # stops this detection only
                outcome.error = f"{type(exc).__name__}: {exc}"
            report.ran.append(outcome)
        if self.progress is not None:
            self.progress(len(enabled), len(enabled))
        for job in self.jobs:
            job(self, now, report)
        return report

    def _windows(
        self, state: DetectionState, schedule: Schedule, now: datetime
    ) -> list[tuple[datetime, datetime]]:
        end = now - self.timing.delivery_lag
        start = parse_lenient(state.watermark) or end - self.timing.first_run_lookback
        step = schedule.interval(now)
        windows = []
        while start < end and len(windows) < self.timing.max_catchup_windows:
            stop = min(start + step, end)
            windows.append((start, stop))
            start = stop
        return windows

    def _lookback(self, detection: Detection, params: dict) -> timedelta:
        """How far before a window the runner starts the query: the overlap and the burst window.

        A detection's own ``lookback_minutes`` is not added here: ``render_detection`` already
        reaches that far before the start it is given (counting it twice read 17 hours, not 9, for
        ``log_delivery_gap`` every hour).
        """
        burst = timedelta(minutes=int(params.get("window_minutes", 0)))
        return self.timing.overlap + burst

    def _run_detection(
        self, detection: Detection, schedule: Schedule, now: datetime, outcome: DetectionTick
    ) -> None:
        params = detection.params(self.settings.detection_overrides(detection.id))
        lookback = self._lookback(detection, params)

        def find(query_start: datetime, end: datetime) -> tuple[list[Finding], RunMetadata]:
            estimate = None
            if self.hot is not None and self.hot.handles(detection):  # over the rows the tick fetched once
                answer, used = self.hot.query(detection, query_start, end)
            else:
                self._prepare(partition_days(query_start, end))
                sql, used = render_detection(detection, self.engine, query_start, end, self.settings)
                if self.guard is not None:
                    estimate = self.guard.check(detection, sql, query_start, end)
                answer = self.engine.query(sql)
            run = RunMetadata(
                run_id=uuid.uuid4().hex,
                detection_id=detection.id,
                engine=answer.engine,
                window_start=iso_z(query_start),
                window_end=iso_z(end),
                now=iso_z(now),
                query_id=answer.query_id,
                bytes_scanned=answer.bytes_scanned,
                duration_s=answer.duration_s,
                rows=len(answer.frame),
                estimated_bytes=estimate,
            )
            return rows_to_findings(detection, answer.frame, used), run

        self.run_windows(detection.id, schedule, now, outcome, lookback, find)

    def run_windows(
        self,
        detection_id: str,
        schedule: Schedule,
        now: datetime,
        outcome: DetectionTick,
        lookback: timedelta,
        find: Callable[[datetime, datetime], tuple[list[Finding], RunMetadata]],
    ) -> None:
        """Each due window: ``find`` its findings, deliver what is new, then advance the state."""
        state, version = self.state.load(detection_id)  # again, under the lock
        windows = self._windows(state, schedule, now)
        outcome.behind = bool(windows) and windows[-1][1] < now - self.timing.delivery_lag
        for start, end in windows:
            query_start = start - lookback
            findings, run = find(query_start, end)
            deliveries = reconcile(findings, state)
            for sink in self.sinks:
                accepted = [d for d in deliveries if sink.accepts(d.finding)]
                if accepted:
                    sink.deliver(accepted)
            self.store.append([d.finding for d in deliveries], run, [d.is_update for d in deliveries])
            for delivery in deliveries:
                f = delivery.finding
                state.record(f.finding_id, f.event_ids, f.last_seen, f.first_seen)
            state.watermark = iso_z(end)
            state.prune(iso_z(end - 2 * lookback - timedelta(days=1)))
            version = self.state.save(state, version)
            outcome.windows += 1
            outcome.window_start = outcome.window_start or iso_z(start)
            outcome.window_end = iso_z(end)
            outcome.new += sum(not d.is_update for d in deliveries)
            outcome.updated += sum(d.is_update for d in deliveries)
        state.last_run = iso_z(now)
        self.state.save(state, version)

    def _begin_hot(self, now: datetime, report: TickReport) -> None:
        """Hot tier: ingest this tick's deliveries and fetch the rows the due detections need, once."""
        done = len(self.hot.queries)
        try:
            self.hot.begin(self, now)
        except Exception as exc:  # noqa: BLE001 - S3, DuckDB or Athena: the tick goes on the old way
            self.hot.active, self.hot.fallback = set(), True
            report.hot_error = f"hot tier: {type(exc).__name__}: {exc}"
        if getattr(self.hot, "guardduty_error", None):  # GuardDuty's mirror failed: those went the old way
            report.hot_error = "; ".join(e for e in (report.hot_error, self.hot.guardduty_error) if e)
        report.hot = self.hot.last_batch
        for query in self.hot.queries[done:]:
            run = RunMetadata(
                run_id=uuid.uuid4().hex, detection_id="hot_tier", engine=query["engine"],
                window_start=iso_z(now), window_end=iso_z(now), now=iso_z(now), query_id=query["query_id"],
                bytes_scanned=query["bytes_scanned"], duration_s=query["duration_s"], rows=0,
                estimated_bytes=query["estimated_bytes"],
            )
            self.store.append([], run, [])

    def _prepare(self, days: list[str]) -> None:
        missing = [d for d in days if d not in self._prepared]
        if self.prepare and missing:
            self.prepare(days)
            self._prepared.update(days)


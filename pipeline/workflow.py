"""The library calls behind the CLI: prepare a source, open an engine, detect, run on a schedule.

A notebook uses these directly (``from pipeline.workflow import detect``); the CLI only parses
arguments and prints what they return. ``ingest``, ``open_engine``, ``lake_for`` and
``local_root`` live in :mod:`pipeline.lake.access` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.config import ConfigError, Settings
from pipeline.detections.run import DetectionRun, RunResult, run_detections
from pipeline.detections.spec import load_detections, select
from pipeline.engines.templating import partition_days
from pipeline.lake.access import Progress, ingest, lake_for, local_root, open_engine
from pipeline.lake.ingest import IngestReport
from pipeline.times import iso_z, utcnow

__all__ = ["DetectOutcome", "detect", "ingest", "lake_for", "local_root", "make_runner",
           "open_engine", "record_findings", "scan_guard"]

@dataclass
class DetectOutcome:
    """Findings of one detect run, with what was ingested and skipped on the way."""

    result: RunResult
    ingest: list[IngestReport] = field(default_factory=list)
    engine: str = "duckdb"

    @property
    def findings(self):  # noqa: ANN201 - list[Finding], kept short for notebooks
        return self.result.findings


def detect(
    settings: Settings,
    source: str,
    start: datetime,
    end: datetime,
    ids: list[str] | None = None,
    progress: Progress | None = None,
    on_done: Callable[[DetectionRun], None] | None = None,
) -> DetectOutcome:
    """Run the chosen detections (all by default) over ``[start, end)`` of ``source``."""
    if start >= end:
        raise ConfigError(f"--start {start.isoformat()} is not before --end {end.isoformat()}")
    chosen = select(load_detections(), ids)
    chosen = [d for d in chosen if settings.detection_overrides(d.id).get("enabled", True)]
    if settings.engine == "athena":
        engine = open_engine(settings)
        try:
            result = run_detections(engine, chosen, start, end, settings, on_done, guard=scan_guard(settings))
            return DetectOutcome(result, engine="athena")
        finally:
            engine.close()
    lake, reports = ingest(settings, source, partition_days(start, end), progress)
    engine = open_engine(settings, lake)
    try:
        result = run_detections(engine, chosen, start, end, settings, on_done)
    finally:
        engine.close()
    return DetectOutcome(result, reports)


def scan_guard(settings: Settings):  # noqa: ANN201 - ScanGuard
    """The Athena scan budget check, with clients from the usual boto3 chain."""
    import boto3

    from pipeline.detections.scan_guard import ScanGuard

    region = settings["athena"].get("region") or None
    return ScanGuard(
        settings, boto3.client("s3", region_name=region), boto3.client("athena", region_name=region)
    )


def make_runner(settings: Settings, source: str, output: Path | None = None, state: str | None = None):  # noqa: ANN201
    """A scheduler :class:`~pipeline.runs.scheduler.Runner` wired from configuration.

    Local sources are ingested day by day as windows need them (new and late files included);
    on Athena the tables are read where they are.
    """
    from pipeline.findings.store import open_findings_store
    from pipeline.integrity.tick_job import run_integrity
    from pipeline.runs.scheduler import Runner
    from pipeline.runs.state import open_state_store
    from pipeline.sinks.factory import build_sinks

    state_location = state or settings["state"] or str(settings.data_dir / "state")
    store_location = settings["findings_store"] or str(settings.data_dir)
    sinks = build_sinks(settings, output=output)
    if settings.engine == "athena":
        engine, guard = open_engine(settings), scan_guard(settings)
        return Runner(
            settings,
            engine,
            open_state_store(state_location),
            sinks,
            open_findings_store(store_location),
            guard=guard,
            integrity_source=source,
            jobs=[run_integrity],
            hot=hot_path(settings, source, engine, guard),
        )
    lake = lake_for(settings, source)
    engine = open_engine(settings, lake)

    hot = hot_path(settings, source, engine, None, lake)

    def prepare(days: list[str]) -> None:
        # With the hot tier, CloudTrail detections read the tier: the day partitions are for the
        # rest, and for a tick the tier cannot answer (it fell back to the old way).
        both = hot is None or hot.fallback
        tables = ("cloudtrail", "guardduty_findings") if both else ("guardduty_findings",)
        ingest(settings, source, days, tables=tables)
        engine.refresh()  # type: ignore[attr-defined]

    return Runner(
        settings,
        engine,
        open_state_store(state_location),
        sinks,
        open_findings_store(store_location),
        prepare=prepare,
        integrity_source=source,
        jobs=[run_integrity],
        hot=hot,
    )


def hot_path(settings: Settings, source: str, engine, guard, lake: Path | None = None):  # noqa: ANN001, ANN201
    """The runner's hot-tier reader when ``[schedule] hot_tier`` is on (else None).

    On Athena the tier lives under ``[catalog] lake_uri`` and is read by one Athena query per tick;
    on the embedded engine it lives in the source's local lake and DuckDB reads its files.
    """
    from pipeline.runs.hot_path import HotPath, hot_enabled

    if not hot_enabled(settings):
        return None
    from pipeline.lake.hot import HotTier, Storage

    if lake is None:
        lake_uri = str(settings["catalog"].get("lake_uri") or "")
        if not lake_uri.startswith("s3://"):
            raise ConfigError("schedule.hot_tier on Athena needs [catalog] lake_uri = \"s3://bucket/prefix\"")
        return HotPath(settings, HotTier(Storage(source), Storage(lake_uri)), engine, guard)
    return HotPath(settings, HotTier(Storage(source), Storage(str(lake))), engine, None, lake_root=lake)


def record_findings(settings: Settings, outcome: DetectOutcome, start: datetime, end: datetime) -> str:
    """Append a detect run's findings and per-detection costs to the findings store.

    What the weekly report and ``trailguard findings`` read; a re-run over the same window
    re-stores the same finding ids, and the store keeps each one's latest version.
    """
    import uuid

    from pipeline.findings.store import RunMetadata, open_findings_store

    store = open_findings_store(settings["findings_store"] or str(settings.data_dir))
    now = iso_z(utcnow())
    batch = uuid.uuid4().hex[:12]
    by_detection: dict[str, list] = {}
    for finding in outcome.findings:
        by_detection.setdefault(finding.detection_id, []).append(finding)
    for run in outcome.result.runs:
        if run.error:
            continue
        meta = RunMetadata(
            run_id=f"detect-{batch}-{run.detection_id}", detection_id=run.detection_id, engine=outcome.engine,
            window_start=iso_z(start),
            window_end=iso_z(end), now=now,
            query_id=run.query_id, bytes_scanned=run.bytes_scanned, duration_s=run.duration_s, rows=run.rows,
            estimated_bytes=run.estimated_bytes,
        )
        store.append(by_detection.get(run.detection_id, []), meta)
    return store.location

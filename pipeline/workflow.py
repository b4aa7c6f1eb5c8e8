"""The library calls behind the CLI: prepare a source, open an engine, detect.

A notebook uses these directly (``from pipeline.workflow import detect``); the CLI only parses
arguments and prints what they return.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline.catalog import load_specs
from pipeline.config import ConfigError, Settings
from pipeline.detections import load_detections, select
from pipeline.engines.base import Engine
from pipeline.ingest import IngestReport, ingest_table
from pipeline.runner import DetectionRun, RunResult, run_detections
from pipeline.templating import partition_days

Progress = Callable[[str, int, int], None]


@dataclass
class DetectOutcome:
    """Findings of one detect run, with what was ingested and skipped on the way."""

    result: RunResult
    ingest: list[IngestReport] = field(default_factory=list)
    engine: str = "duckdb"

    @property
    def findings(self):  # noqa: ANN201 - list[Finding], kept short for notebooks
        return self.result.findings


def lake_for(settings: Settings, source: str) -> Path:
    """Each source gets its own lake under the data directory, so two sources never mix."""
    if source.startswith("s3://"):
        slug = source.removeprefix("s3://").strip("/").replace("/", "_")
    else:
        slug = Path(source).resolve().name or "root"
        source = str(Path(source).resolve())
    digest = hashlib.sha1(source.encode()).hexdigest()[:8]
    return settings.data_dir / "lake" / f"{slug}-{digest}"


def local_root(
    settings: Settings, source: str, days: list[str] | None, progress: Progress | None = None
) -> Path:
    """A local folder with the bucket layout: the source itself, or a synced copy of an S3 source."""
    if source.startswith("s3://"):
        import boto3

        from pipeline.s3source import sync_source

        dest = settings.data_dir / "s3cache" / source.removeprefix("s3://").strip("/").replace("/", "_")
        try:
            sync_source(
                source,
                dest,
                days or [],
                boto3.client("s3"),
                progress=(lambda d, t: progress("sync", d, t)) if progress else None,
            )
        except ValueError as exc:  # a malformed s3:// URI or day
            raise ConfigError(f"source {source}: {exc}") from exc
        return dest
    root = Path(source)
    if not root.is_dir():
        raise ConfigError(f"source {source}: no such folder")
    return root


def ingest(
    settings: Settings, source: str, days: list[str] | None = None, progress: Progress | None = None
) -> tuple[Path, list[IngestReport]]:
    """Bring new raw files of ``source`` (only ``days`` when given) into its Parquet lake."""
    root = local_root(settings, source, days, progress)
    lake = lake_for(settings, source)
    specs = load_specs()
    wanted = set(days) if days is not None else None
    reports = []
    for table in ("cloudtrail", "guardduty_findings"):
        callback = (lambda d, t, name=table: progress(f"ingest {name}", d, t)) if progress else None
        reports.append(ingest_table(specs[table], root, lake, days=wanted, progress=callback))
    return lake, reports


def open_engine(settings: Settings, lake: Path | None = None) -> Engine:
    """The configured engine: DuckDB over ``lake``, or Athena from the ``[athena]`` settings."""
    if settings.engine == "athena":
        from pipeline.engines.athena import AthenaEngine

        return AthenaEngine.from_settings(settings)
    from pipeline.engines.duckdb import DuckDBEngine

    if lake is None:
        lake = lake_for(settings, settings.source)
    duck = settings["duckdb"]
    return DuckDBEngine(
        lake, threads=int(duck.get("threads") or 0), memory_limit=str(duck.get("memory_limit") or "")
    )


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

    from pipeline.scan_guard import ScanGuard

    region = settings["athena"].get("region") or None
    return ScanGuard(
        settings, boto3.client("s3", region_name=region), boto3.client("athena", region_name=region)
    )


def make_runner(settings: Settings, source: str, output: Path | None = None, state: str | None = None):  # noqa: ANN201
    """A scheduler :class:`~pipeline.scheduler.Runner` wired from configuration.

    Local sources are ingested day by day as windows need them (new and late files included);
    on Athena the tables are read where they are.
    """
    from pipeline.findings_store import open_findings_store
    from pipeline.scheduler import Runner
    from pipeline.sinks.factory import build_sinks
    from pipeline.state import open_state_store

    state_location = state or settings["state"] or str(settings.data_dir / "state")
    store_location = settings["findings_store"] or str(settings.data_dir)
    sinks = build_sinks(settings, output=output)
    if settings.engine == "athena":
        return Runner(
            settings,
            open_engine(settings),
            open_state_store(state_location),
            sinks,
            open_findings_store(store_location),
            guard=scan_guard(settings),
            integrity_source=source,
        )
    lake = lake_for(settings, source)
    engine = open_engine(settings, lake)

    def prepare(days: list[str]) -> None:
        ingest(settings, source, days)
        engine.refresh()  # type: ignore[attr-defined]

    return Runner(
        settings,
        engine,
        open_state_store(state_location),
        sinks,
        open_findings_store(store_location),
        prepare=prepare,
        integrity_source=source,
    )


def record_findings(settings: Settings, outcome: DetectOutcome, start: datetime, end: datetime) -> str:
    """Append a detect run's findings and per-detection costs to the findings store.

    What the weekly report and ``trailguard findings`` read; a re-run over the same window
    re-stores the same finding ids, and the store keeps each one's latest version.
    """
    import uuid
    from datetime import UTC

    from pipeline.findings_store import RunMetadata, open_findings_store

    store = open_findings_store(settings["findings_store"] or str(settings.data_dir))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    batch = uuid.uuid4().hex[:12]
    by_detection: dict[str, list] = {}
    for finding in outcome.findings:
        by_detection.setdefault(finding.detection_id, []).append(finding)
    for run in outcome.result.runs:
        if run.error:
            continue
        meta = RunMetadata(
            run_id=f"detect-{batch}-{run.detection_id}", detection_id=run.detection_id, engine=outcome.engine,
            window_start=start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            window_end=end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), now=now,
            query_id=run.query_id, bytes_scanned=run.bytes_scanned, duration_s=run.duration_s, rows=run.rows,
            estimated_bytes=run.estimated_bytes,
        )
        store.append(by_detection.get(run.detection_id, []), meta)
    return store.location

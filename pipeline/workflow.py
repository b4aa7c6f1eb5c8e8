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
from typing import TYPE_CHECKING, Any

from pipeline.config import ConfigError, Settings
from pipeline.detections.run import DetectionRun, RunResult, run_detections
from pipeline.detections.spec import load_detections, select
from pipeline.engines.templating import partition_days
from pipeline.lake.access import Progress, ingest, lake_for, local_root, open_engine
from pipeline.lake.report import IngestReport
from pipeline.times import iso_z, utcnow

if TYPE_CHECKING:
    from pipeline.detections.scan_guard import ScanGuard
    from pipeline.engines.base import Engine
    from pipeline.findings.model import Finding
    from pipeline.runs.scheduler import Runner

__all__ = ["DetectOutcome", "check_configuration", "detect", "ingest", "lake_for", "local_root",
           "make_runner", "open_engine", "record_findings", "scan_guard"]

@dataclass
class DetectOutcome:
    """Findings of one detect run, with what was ingested and skipped on the way."""

    result: RunResult
    ingest: list[IngestReport] = field(default_factory=list)
    engine: str = "duckdb"

    @property
    def findings(self) -> list[Finding]:
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


def check_configuration(settings: Settings) -> Settings:
    """The rest of the configuration schema, checked by the code that owns each part.

    ``load_settings`` checks sections, keys and types against ``DEFAULTS``; here each
    ``[detections.<id>]`` parameter against that detection's header, each suppression (and the
    detections it names) and each sink's keys, so any mistake in the file stops every command
    with one line (exit 2) instead of being ignored until the part that reads it runs.
    """
    import difflib

    from pipeline.detections.spec import DetectionError
    from pipeline.detections.suppressions import load_suppressions
    from pipeline.sinks.factory import KEYS

    where = f"{settings.path}: " if settings.path else ""
    detections = load_detections()
    for detection_id, overrides in settings["detections"].items():
        parameters = sorted(detections[detection_id].parameters) + ["enabled", "max_scan"]
        for name in sorted(set(overrides) - set(parameters)):
            close = difflib.get_close_matches(name, parameters, n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(parameters)}"
            raise ConfigError(f"{where}[detections.{detection_id}] {name}: unknown parameter ({hint})")
        try:
            detections[detection_id].params(overrides)
        except DetectionError as exc:
            raise ConfigError(f"{where}[detections.{detection_id}] {str(exc).split(': ', 1)[-1]}") from None
    known = sorted(detections)
    try:
        rules = load_suppressions(settings)
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None
    for rule in rules:
        for name in rule.detections:
            if name != "*" and name not in detections:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else " (see trailguard detections)"
                raise ConfigError(
                    f"{where}suppressions[{rule.index}].detection: {name!r} is not a detection{hint}"
                )
    for index, table in enumerate(settings["sinks"]):
        kind = table.get("type")
        for key in sorted(set(table) - KEYS.get(kind, set(table))):
            close = difflib.get_close_matches(key, sorted(KEYS[kind]), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{where}sinks[{index}] ({kind}): {key}: unknown key{hint}")
    return settings


def scan_guard(settings: Settings) -> ScanGuard:
    """The Athena scan budget check, with clients from the usual boto3 chain."""
    import boto3

    from pipeline.detections.scan_guard import ScanGuard

    region = settings["athena"].get("region") or None
    return ScanGuard(
        settings, boto3.client("s3", region_name=region), boto3.client("athena", region_name=region)
    )


def make_runner(
    settings: Settings, source: str, output: Path | None = None, state: str | None = None
) -> Runner:
    """A scheduler :class:`~pipeline.runs.scheduler.Runner` wired from configuration.

    Local sources are ingested day by day as windows need them (new and late files included);
    on Athena the tables are read where they are.
    """
    from pipeline.findings.store import open_findings_store
    from pipeline.incidents.route import split_sinks
    from pipeline.incidents.service import IncidentConfig
    from pipeline.incidents.tick_job import incident_tick_job
    from pipeline.integrity.tick_job import run_integrity
    from pipeline.runs.scheduler import Runner
    from pipeline.runs.state import open_state_store
    from pipeline.sinks.factory import build_sinks

    state_location = state or settings.state_location
    store_location = settings.findings_store
    incidents = IncidentConfig.from_settings(settings)
    # [incidents] route = "incident": Jira/PagerDuty/Slack get incidents from a tick job instead of findings.
    sinks, incident_sinks = split_sinks(build_sinks(settings, output=output), incidents.route)
    jobs = [run_integrity, *([incident_tick_job(incident_sinks, incidents)] if incident_sinks else [])]

    def runner(engine: Engine, **wiring: Any) -> Runner:
        return Runner(settings, engine, open_state_store(state_location), sinks,
                      open_findings_store(store_location), integrity_source=source, jobs=jobs, **wiring)

    if settings.engine == "athena":
        engine, guard = open_engine(settings), scan_guard(settings)
        return runner(engine, guard=guard, hot=hot_path(settings, source))
    lake = lake_for(settings, source)
    engine = open_engine(settings, lake)

    hot = hot_path(settings, source, lake)

    def prepare(days: list[str]) -> None:
        # With the hot tier, CloudTrail detections read the tier: the day partitions are for the
        # rest, and for a tick the tier cannot answer (it fell back to the old way).
        both = hot is None or hot.fallback
        tables = ("cloudtrail", "guardduty_findings") if both else ("guardduty_findings",)
        ingest(settings, source, days, tables=tables)
        engine.refresh()  # type: ignore[attr-defined]

    return runner(engine, prepare=prepare, hot=hot)


def hot_path(settings: Settings, source: str, lake: Path | None = None):  # noqa: ANN201
    """The runner's hot-tier reader when ``[schedule] hot_tier`` is on (else None).

    On Athena the tier lives under ``[catalog] lake_uri`` and the runner keeps its own copy of each
    batch in the data dir (a cold runner downloads what it lacks), and a mirror of the GuardDuty
    exports its windows reach; on the embedded engine the tier lives in the source's local lake and
    DuckDB reads its files (GuardDuty too, the old way).
    """
    if not settings.hot_tier:
        return None  # before any import: the tier needs DuckDB, which a runner on a layer may lack
    import hashlib

    from pipeline.lake.guardduty_mirror import GuardDutyMirror
    from pipeline.lake.hot import HotTier, Storage
    from pipeline.lake.hot_cache import BatchCache
    from pipeline.runs.hot_path import HotPath
    from pipeline.source.limits import Limits

    if lake is None:
        lake_uri = str(settings["catalog"].get("lake_uri") or "")
        if not lake_uri.startswith("s3://"):
            raise ConfigError("schedule.hot_tier on Athena needs [catalog] lake_uri = \"s3://bucket/prefix\"")
        # the runner's copy of the batches (data dir: Lambda's /tmp), per lake so two never mix
        cache = BatchCache(settings.data_dir / "hot_cache" / hashlib.sha1(lake_uri.encode()).hexdigest()[:12])
        # the GuardDuty exports the windows reach, mirrored beside it (per source bucket)
        mirror = GuardDutyMirror(
            Storage(source),
            settings.data_dir / "hot_cache" / f"guardduty-{hashlib.sha1(source.encode()).hexdigest()[:12]}",
            Limits.from_config(settings.raw.get("ingest")),
        )
        return HotPath(settings, HotTier(Storage(source), Storage(lake_uri), cache=cache), mirror=mirror)
    return HotPath(settings, HotTier(Storage(source), Storage(str(lake))), lake_root=lake)


def record_findings(settings: Settings, outcome: DetectOutcome, start: datetime, end: datetime) -> str:
    """Append a detect run's findings and per-detection costs to the findings store.

    What the weekly report and ``trailguard findings`` read; a re-run over the same window
    re-stores the same finding ids, and the store keeps each one's latest version.
    """
    import uuid

    from pipeline.findings.store import RunMetadata, open_findings_store

    store = open_findings_store(settings.findings_store)
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

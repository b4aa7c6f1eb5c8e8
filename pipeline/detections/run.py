"""Run detections over a time window on an engine and collect findings plus what each run cost."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipeline.config import Settings
from pipeline.detections.results import rows_to_findings
from pipeline.detections.shared_pass import MAX_SHARED_WINDOW, shareable_filter
from pipeline.detections.spec import Detection
from pipeline.detections.suppressions import active_rules
from pipeline.engines.base import Engine, EngineError
from pipeline.engines.templating import RenderContext, render
from pipeline.findings.model import Finding
from pipeline.source.s3sync import parse_s3_uri


@dataclass
class DetectionRun:
    """One detection's query: rows, findings and cost, or the error that stopped it."""

    detection_id: str
    rows: int = 0
    findings: int = 0
    duration_s: float = 0.0
    bytes_scanned: int | None = None
    estimated_bytes: int | None = None  # the scan guard's estimate, made before the query ran
    query_id: str | None = None
    error: str | None = None


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    runs: list[DetectionRun] = field(default_factory=list)

    @property
    def failed(self) -> list[DetectionRun]:
        return [r for r in self.runs if r.error]


def render_detection(
    detection: Detection, engine: Engine, start: datetime, end: datetime, settings: Settings | None = None
) -> tuple[str, dict[str, Any]]:
    """The detection's SQL for this window and engine, and the parameters it used."""
    overrides = settings.detection_overrides(detection.id) if settings else {}
    params = detection.params(overrides)
    if settings is not None and settings.source.startswith("s3://"):
        # The bucket this deployment reads its logs from: a trail's bucket whatever its name.
        params["source_bucket"] = parse_s3_uri(settings.source)[0]
    query_start = start - timedelta(minutes=detection.lookback_minutes)
    # An engine that picks tables per window (Athena: the Parquet twin once those days are compacted).
    tables_for = getattr(engine, "tables_for", None)
    ctx = RenderContext(
        start=query_start,
        end=end,
        table_names=tables_for(query_start, end) if tables_for else engine.table_names,
        time_columns=engine.time_columns,
        params=params,
        suppressions=active_rules(settings, detection.id) if settings else [],
    )
    return render(detection.sql, ctx, name=str(detection.path)), params


def _shared_filters(
    engine: Engine, detections: list[Detection], rendered: dict[str, str], start: datetime, end: datetime
) -> dict[str, str]:
    """Detection id -> its lifted filter, for the single-record CloudTrail detections that can share a pass.

    Only on an engine that offers ``shared_rows`` (DuckDB), for windows up to ``MAX_SHARED_WINDOW``, and when
    at least two detections take part (see :mod:`pipeline.detections.shared_pass` for the measurements).
    """
    if not hasattr(engine, "shared_rows") or end - start > MAX_SHARED_WINDOW:
        return {}
    table = engine.table_names["cloudtrail"]
    found = {}
    for detection in detections:
        if detection.tables == ("cloudtrail",) and not detection.group_by and detection.id in rendered:
            lifted = shareable_filter(rendered[detection.id], table)
            if lifted is not None:
                found[detection.id] = lifted
    return found if len(found) >= 2 else {}


def run_detections(
    engine: Engine,
    detections: Iterable[Detection],
    start: datetime,
    end: datetime,
    settings: Settings | None = None,
    on_done: Callable[[DetectionRun], None] | None = None,
    guard: Any = None,
) -> RunResult:
    """Run each detection; one failing query is recorded and does not stop the others.

    On DuckDB, over a short window, the single-record detections share one pass over the rows
    (:mod:`pipeline.detections.shared_pass`); their results are the same as run one by one.
    """
    chosen = list(detections)
    result = RunResult()
    rendered: dict[str, tuple[str, dict[str, Any]]] = {}
    for detection in chosen:
        rendered[detection.id] = render_detection(detection, engine, start, end, settings)
    shared = _shared_filters(engine, chosen, {k: v[0] for k, v in rendered.items()}, start, end)
    runs: dict[str, DetectionRun] = {}

    def run_one(detection: Detection) -> None:
        run = DetectionRun(detection.id)
        sql, params = rendered[detection.id]
        try:
            if guard is not None:  # ScanGuard on Athena: estimate, and refuse before paying for too much
                run.estimated_bytes = guard.check(
                    detection, sql, start - timedelta(minutes=detection.lookback_minutes), end
                )
            answer = engine.query(sql)
            findings = rows_to_findings(detection, answer.frame, params)
            run.rows, run.findings = len(answer.frame), len(findings)
            run.duration_s, run.bytes_scanned, run.query_id = (
                answer.duration_s,
                answer.bytes_scanned,
                answer.query_id,
            )
            result.findings.extend(findings)
        except EngineError as exc:
            run.error = str(exc)
        runs[detection.id] = run
        if on_done:
            on_done(run)

    if shared:
        try:
            with engine.shared_rows("cloudtrail", list(shared.values())):  # type: ignore[attr-defined]
                for detection in chosen:
                    if detection.id in shared:
                        run_one(detection)
        except EngineError:
            runs = {k: v for k, v in runs.items() if k not in shared}  # the pass failed: run them alone
            result.findings = [f for f in result.findings if f.detection_id not in shared]
            shared = {}
    for detection in chosen:
        if detection.id not in runs:
            run_one(detection)
    result.runs = [runs[d.id] for d in chosen]
    result.findings.sort(key=lambda f: (f.first_seen, f.detection_id, f.finding_id))
    return result

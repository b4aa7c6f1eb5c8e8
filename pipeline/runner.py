"""Run detections over a time window on an engine and collect findings plus what each run cost."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipeline.config import Settings
from pipeline.detections import Detection
from pipeline.engines.base import Engine, EngineError
from pipeline.findings import Finding, rows_to_findings
from pipeline.suppressions import active_rules
from pipeline.templating import RenderContext, render


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


def run_detections(
    engine: Engine,
    detections: Iterable[Detection],
    start: datetime,
    end: datetime,
    settings: Settings | None = None,
    on_done: Callable[[DetectionRun], None] | None = None,
    guard: Any = None,
) -> RunResult:
    """Run each detection; one failing query is recorded and does not stop the others."""
    result = RunResult()
    for detection in detections:
        run = DetectionRun(detection.id)
        try:
            sql, params = render_detection(detection, engine, start, end, settings)
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
        result.runs.append(run)
        if on_done:
            on_done(run)
    result.findings.sort(key=lambda f: (f.first_seen, f.detection_id, f.finding_id))
    return result

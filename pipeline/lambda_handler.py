"""AWS Lambda entry point: EventBridge Scheduler invokes one tick.

Configuration comes from the environment (``TRAILGUARD_ENGINE=athena``, ``TRAILGUARD_SOURCE``,
``TRAILGUARD_STATE=s3://...``, ``TRAILGUARD_FINDINGS_STORE=s3://...``, ``TRAILGUARD_SINKS``
as JSON, ...) or a bundled ``TRAILGUARD_CONFIG`` file. The tick's time is the event's ``time``
(EventBridge sets it to the scheduled time, so a delayed or retried invocation runs the window it
was meant to), else the clock. Handler: ``pipeline.lambda_handler.handler``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pipeline.config import load_settings
from pipeline.times import parse_iso, utcnow
from pipeline.workflow import make_runner


def _tick_time(event: Any) -> datetime:
    text = event.get("time") if isinstance(event, dict) else None
    return parse_iso(str(text)) if text else utcnow()


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Run one tick; raise (so Lambda retries and alarms) when a detection failed."""
    settings = load_settings()
    runner = make_runner(settings, settings.source)
    runner.integrity_source = settings.source  # log file validation ([integrity] validate)
    report = runner.tick(_tick_time(event))
    summary = {"now": report.now, "ran": [asdict(t) for t in report.ran], "not_due": report.not_due,
               "integrity": asdict(report.integrity) if report.integrity is not None else None}
    if report.errors:
        failed = "; ".join(f"{t.detection_id}: {t.error}" for t in report.errors)
        raise RuntimeError(
            f"trailguard tick {report.now}: {len(report.errors)} detection(s) failed: {failed}"
        )
    return summary

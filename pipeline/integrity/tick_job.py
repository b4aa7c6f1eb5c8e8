"""Log file validation as part of a scheduled tick: ``log_file_tampered`` through the usual sinks.

The tick treats validation like one more detection with its own schedule (``[integrity] schedule``,
hourly by default, as CloudTrail delivers digests hourly) and its own state. Each window is
validated ``SETTLE`` (two hours) behind its end: a digest arrives up to an hour after the hour it
covers, and not every account and region's at the same moment, so validating the newest hour
would report a digest that is merely late as missing. Problems become findings, and the runner's
record-level dedup delivers each one exactly once however often later windows see it again.
``[integrity] validate = false`` turns it off; a source with no ``CloudTrail-Digest/`` tree (log
file validation off) is reported as such and not validated.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline.errors import TrailguardError
from pipeline.findings.model import Finding
from pipeline.findings.store import RunMetadata
from pipeline.integrity.findings import DETECTION_ID, has_digests, public_keys_for, report_findings
from pipeline.integrity.validate import SETTLE, validate
from pipeline.runs.schedule import Schedule
from pipeline.runs.scheduler import DetectionTick, Runner, TickReport
from pipeline.runs.state import LockHeld
from pipeline.times import iso_z, parse_lenient

ERRORS = (TrailguardError, OSError, ValueError, ClientError, BotoCoreError)  # a digest can fail in many ways


@dataclass
class IntegrityTick:
    """What validation said in this tick (counts of the most recent window it validated)."""

    status: str  # valid | INVALID | no digests | off | not due | skipped | error
    windows: int = 0
    validated_from: str | None = None
    validated_to: str | None = None
    valid_digests: int = 0
    valid_log_files: int = 0
    unverified_log_files: int = 0
    problems: int = 0
    new_findings: int = 0
    error: str | None = None

    def line(self) -> str:
        """The run summary's one line."""
        if self.status in ("off", "no digests", "not due", "skipped"):
            return f"log file validation: {self.status}"
        if self.error:
            return f"log file validation: error: {self.error}"
        return (
            f"log file validation {self.validated_from} to {self.validated_to}: {self.status}, "
            f"{self.valid_digests} valid digest(s), {self.valid_log_files} valid log file(s), "
            f"{self.problems} problem(s), {self.new_findings} new log_file_tampered finding(s)"
        )


def run_integrity(runner: Runner, now: datetime, report: TickReport, s3_client: Any = None) -> None:
    """Validate the digests of the tick's due windows; findings go through ``runner``'s sinks."""
    config = runner.settings["integrity"]
    source = runner.integrity_source
    if not config.get("validate", True) or not source:
        report.integrity = IntegrityTick("off")
        return
    schedule = Schedule.parse(str(config.get("schedule") or "1h"))
    state, _ = runner.state.load(DETECTION_ID)
    if state.recovered:
        report.warnings.append(f"{DETECTION_ID}: {state.recovered}")
    if not schedule.is_due(parse_lenient(state.last_run), now):
        report.not_due.append(DETECTION_ID)
        report.integrity = IntegrityTick("not due")
        return
    try:
        if not has_digests(source, s3_client):
            report.integrity = IntegrityTick("no digests")
            return
    except ERRORS as exc:
        report.integrity = IntegrityTick("error", error=str(exc))
        report.ran.append(DetectionTick(DETECTION_ID, error=str(exc)))
        return
    tick = IntegrityTick("valid")
    outcome = DetectionTick(DETECTION_ID)

    def find(start: datetime, end: datetime) -> tuple[list[Finding], RunMetadata]:
        began = time.monotonic()
        keys = public_keys_for(source, config.get("public_keys") or None, start, end)
        checked = validate(source, start, end - SETTLE, keys, s3_client, now=now)
        tick.windows += 1
        tick.validated_from = tick.validated_from or iso_z(start)
        tick.validated_to = iso_z(end - SETTLE)
        tick.valid_digests, tick.valid_log_files = checked.valid_digests, checked.valid_log_files
        tick.unverified_log_files, tick.problems = checked.unverified_log_files, len(checked.problems)
        tick.status = "valid" if checked.ok else "INVALID"
        run = RunMetadata(
            run_id=uuid.uuid4().hex, detection_id=DETECTION_ID, engine="integrity",
            window_start=iso_z(start), window_end=iso_z(end - SETTLE), now=iso_z(now), query_id=None,
            bytes_scanned=None, duration_s=time.monotonic() - began, rows=len(checked.problems),
        )
        return report_findings(checked), run

    try:
        with runner.state.lock(DETECTION_ID):
            runner.run_windows(DETECTION_ID, schedule, now, outcome,
                                runner.timing.overlap + SETTLE, find)
    except LockHeld as exc:
        outcome.skipped = str(exc)
        tick.status = "skipped"
    except ERRORS as exc:
        outcome.error = tick.error = str(exc)
        tick.status = "error"
    tick.new_findings = outcome.new
    if tick.windows == 0 and tick.status == "valid":
        tick.status = "not due"
    report.ran.append(outcome)
    report.integrity = tick

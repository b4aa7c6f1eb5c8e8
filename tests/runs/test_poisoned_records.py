"""One poisoned record must not stop scheduled detection (issue 16, items 4 and 9).

A record with an impossible eventTime and one with no eventID sit beside a good root login. Every
tick keeps running every detection and the integrity job, delivers the good record's findings,
and names the bad records instead of crashing on them or inventing an event id "None".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pipeline.catalog.specs import load_specs
from pipeline.config import Settings
from pipeline.lake.ingest import ingest_table
from pipeline.workflow import make_runner
from tests.helpers import POISON_ACCOUNT, poisoned_source

ACCOUNT = POISON_ACCOUNT


def delivered(output: Path) -> list[dict]:
    return [json.loads(line) for line in output.read_text().splitlines()] if output.exists() else []


def test_ticks_survive_an_impossible_event_time_and_a_missing_event_id(tmp_path: Path) -> None:
    source = poisoned_source(tmp_path / "src")
    settings = Settings().with_overrides(data_dir=str(tmp_path / "data"))
    output = tmp_path / "out" / "findings.jsonl"
    output.parent.mkdir()
    for now in (datetime(2026, 1, 15, 10, 30, tzinfo=UTC), datetime(2026, 1, 15, 11, 30, tzinfo=UTC),
                datetime(2026, 1, 15, 12, 30, tzinfo=UTC)):
        runner = make_runner(settings, str(source), output, str(tmp_path / "state"))
        runner.integrity_source = str(source)
        try:
            report = runner.tick(now)
        finally:
            runner.engine.close()
        assert not report.errors, [(t.detection_id, t.error) for t in report.errors]
        assert report.integrity is not None  # the job after the detections still ran
    findings = delivered(output)
    roots = [f for f in findings if f["detection_id"] == "root_account_usage"]
    assert {tuple(f["event_ids"]) for f in roots} >= {("good-1",), ("junk-1",)}
    assert all("None" not in f["event_ids"] for f in findings)
    stand_in = [f for f in roots if f["event_ids"][0].startswith("missing-eventID:")]
    assert len(stand_in) == 1 and stand_in[0]["context"]["records_without_event_id"] == 1
    junk = next(f for f in roots if f["event_ids"] == ["junk-1"])
    assert junk["context"]["unparseable_event_times"] == ["2026-01-15T10:01:00Zjunk"]
    assert len(roots) == 3  # delivered once each across the three overlapping ticks


def test_ingest_names_and_counts_unparseable_times_and_missing_ids(tmp_path: Path) -> None:
    source = poisoned_source(tmp_path / "src")
    report = ingest_table(load_specs()["cloudtrail"], source, tmp_path / "lake")
    assert report.records_ingested == 3 and report.balanced
    assert any("1 record(s) whose eventTime is not an ISO 8601" in w for w in report.warnings)
    assert any("without eventTime or eventID" in w for w in report.warnings)

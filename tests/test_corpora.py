"""Real detonation logs and samples from public projects (../shared/corpora), replayed end to end.

Each Stratus Red Team detonation log must fire exactly the catalogue ids its ``expected.json``
lists; each TrailDiscover sample the ids it lists; every GuardDuty sample fires only
``guardduty_finding``, with the catalogue's severity mapping.
"""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.catalog import load_specs
from pipeline.config import Settings
from pipeline.detections import load_detections
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.ingest import ingest_table
from pipeline.layout import parse_time, write_cloudtrail
from pipeline.runner import run_detections

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
pytestmark = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}")

DETECTIONS = load_detections()
SPECS = load_specs()


def catalogue_ids() -> set[str]:
    text = (CORPORA.parent / "DETECTIONS.md").read_text(encoding="utf-8")
    return {
        line.split("|")[1].strip()
        for line in text.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() not in ("id", "---")
    }


CATALOGUE = catalogue_ids() if CORPORA.is_dir() else set()


def replay(tmp_path: Path, records: list[dict], gd_files: list[Path] = ()) -> list:
    source, lake = tmp_path / "source", tmp_path / "lake"
    write_cloudtrail(source, records)
    for index, path in enumerate(gd_files):
        times = json.dumps(json.loads(path.read_text()))
        target = source / "AWSLogs" / "111111111111" / "GuardDuty" / "us-east-1" / "2026" / "01" / "15"
        target.mkdir(parents=True, exist_ok=True)
        with gzip.open(target / f"{index}.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write(times)
    for table in ("cloudtrail", "guardduty_findings"):
        ingest_table(SPECS[table], source, lake)
    times = [parse_time(r["eventTime"]) for r in records]
    if gd_files:  # filed under 2026/01/15 whatever their own times: a window over that folder's days
        start, end = parse_time("2000-01-01T00:00:00Z"), parse_time("2026-01-16T00:00:00Z")
    else:
        start, end = min(times) - timedelta(hours=1), max(times) + timedelta(hours=1)
    engine = DuckDBEngine(lake, SPECS)
    try:
        result = run_detections(engine, DETECTIONS.values(), start, end, Settings())
    finally:
        engine.close()
    assert not result.failed, [r.error for r in result.failed]
    return result.findings


STRATUS = json.loads((CORPORA / "stratus" / "expected.json").read_text()) if CORPORA.is_dir() else {}
TECHNIQUES = sorted(k for k in STRATUS if k != "_meta")


def test_catalogue_is_fully_implemented():
    assert CATALOGUE and set(DETECTIONS) >= CATALOGUE


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_stratus_detonation_fires_exactly_the_expected_ids(technique, tmp_path):
    records = json.loads((CORPORA / "stratus" / f"{technique}.json").read_text())
    fired = {f.detection_id for f in replay(tmp_path, records)} & CATALOGUE
    assert fired == set(STRATUS[technique]["expected"])


# Detections whose catalogue row counts failed calls ("successful or failed"). The corpus's
# expected.json assumes only cloudtrail_tampering does; DETECTIONS.md, the contract, says
# guardduty_tampering does too (with its eventSource), so those failed samples must fire it.
ATTEMPTS_COUNT = {
    "cloudtrail_tampering": "cloudtrail.amazonaws.com",
    "guardduty_tampering": "guardduty.amazonaws.com",
}


def traildiscover_expected(entry: dict) -> set[str]:
    ids = set(entry["expected"])
    for detection_id in entry.get("expected_if_failed_calls_count") or []:
        if ATTEMPTS_COUNT.get(detection_id) == entry.get("eventSource"):
            ids.add(detection_id)
    return ids


def test_traildiscover_samples(tmp_path):
    expected = json.loads((CORPORA / "traildiscover" / "expected.json").read_text())
    records, owner = [], {}
    base = parse_time("2026-01-01T00:00:00Z")
    for index, name in enumerate(sorted(k for k in expected if k != "_meta")):
        for record in json.loads((CORPORA / "traildiscover" / name).read_text()):
            # Two hours apart: each sample is judged alone, as bursts cannot form from single records.
            record = dict(
                record, eventTime=(base + timedelta(hours=2 * index)).strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            records.append(record)
            owner[record["eventID"]] = name
    assert len(owner) == len(records), "eventIDs must be unique to attribute findings"
    fired: dict[str, set[str]] = {name: set() for name in owner.values()}
    for finding in replay(tmp_path, records):
        for event_id in finding.event_ids:
            fired[owner[event_id]].add(finding.detection_id)
    wrong = {
        name: (sorted(fired[name] & CATALOGUE), sorted(traildiscover_expected(expected[name])))
        for name in fired
        if fired[name] & CATALOGUE != traildiscover_expected(expected[name])
    }
    assert wrong == {}


GD_FILES = (
    sorted(p for p in (CORPORA / "guardduty-events").rglob("*.json") if p.name != "index.json")
    if CORPORA.is_dir()
    else []
)


@pytest.mark.parametrize("path", GD_FILES, ids=[p.name for p in GD_FILES])
def test_guardduty_samples_fire_guardduty_finding_only(path, tmp_path):
    document = json.loads(path.read_text())
    finding = document["Findings"][0] if "Findings" in document else document
    severity = float(finding.get("severity", finding.get("Severity")))
    findings = replay(tmp_path, [], [path])
    assert {f.detection_id for f in findings} == {"guardduty_finding"}
    expected = "high" if severity >= 7 else "medium" if severity >= 4 else "low"
    assert [f.severity for f in findings] == [expected]
    assert findings[0].event_ids == [finding.get("id", finding.get("Id"))]

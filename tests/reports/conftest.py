"""One small generated organization for the report, trend, investigation and notebook tests.

Two full ISO weeks (Monday 2026-11-02 to Monday 2026-11-16), every detection run over them and
stored in a findings store, as ``trailguard demo`` does; and readers of the raw files that the
tests use as the independent computation.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.demo import generate_demo
from pipeline.demo.digests import demo_keys_file
from pipeline.workflow import DetectOutcome, detect, record_findings

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday: ISO weeks 2026-W45 and 2026-W46
END = datetime(2026, 11, 16, tzinfo=UTC)


@dataclass
class ReportData:
    root: Path
    demo: Path
    settings: Settings
    outcome: DetectOutcome


def cloudtrail_records(demo: Path) -> list[dict]:
    """Every CloudTrail record under the folder, read with gzip + json (digests excluded)."""
    records: list[dict] = []
    for path in sorted(demo.glob("AWSLogs/*/*/CloudTrail/*/*/*/*/*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records.extend(json.load(handle)["Records"])
    return records


def guardduty_findings(demo: Path) -> list[dict]:
    findings: list[dict] = []
    for path in sorted(demo.glob("AWSLogs/*/GuardDuty/*/*/*/*/*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            findings.extend(json.loads(line) for line in handle if line.strip())
    return findings


def in_window(stamp: str, start: datetime, end: datetime) -> bool:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return start <= moment < end


def settings_for(root: Path, demo: Path) -> Settings:
    settings = Settings().with_overrides(source=str(demo), data_dir=str(root / "data"))
    settings.raw["integrity"]["public_keys"] = str(demo_keys_file(demo))  # trusted: beside, not inside
    return settings


@pytest.fixture(scope="session")
def report_data(tmp_path_factory: pytest.TempPathFactory) -> ReportData:
    root = tmp_path_factory.mktemp("reports")
    demo = root / "demo"
    generate_demo(demo, seed=11, events=40_000, days=14, start=START)
    settings = settings_for(root, demo)
    outcome = detect(settings, str(demo), START, END)
    record_findings(settings, outcome, START, END)
    return ReportData(root, demo, settings, outcome)


@pytest.fixture(scope="session")
def raw_records(report_data: ReportData) -> list[dict]:
    return cloudtrail_records(report_data.demo)

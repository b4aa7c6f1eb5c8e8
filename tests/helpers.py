"""Plain helpers shared by test modules: canned values and small builders, no fixtures.

Fixtures (servers, generated organizations) live in tests/conftest.py; the fake HTTP services in
tests/fake_services.py. A test module imports from here, never from another test module
(tests/test_test_layout.py checks it).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from pipeline.cli.console import NORMAL, set_verbosity
from pipeline.cli.main import app
from pipeline.config import Settings
from pipeline.demo import CATALOGUE_IDS
from pipeline.demo.digests import demo_keys_file
from pipeline.findings.model import Finding
from pipeline.findings.store import FindingsStore, RunMetadata
from pipeline.paths import known_detection_ids
from pipeline.times import parse_iso

# --- the generated organizations of tests/conftest.py ---------------------------------------------

# ``small_org``: two days from 2026-11-01, every CloudTrail file covered by signed digests.
SMALL_ORG = {"events": 5_000, "days": 2, "seed": 7}
SMALL_START, SMALL_END = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)

# ``demo_org``: two full ISO weeks, Monday 2026-11-02 (2026-W45) to Monday 2026-11-16 (2026-W46 ends).
ORG_START, ORG_END = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC)
DEMO_ORG = {"events": 40_000, "days": 14, "seed": 11, "start": ORG_START}


def cloudtrail_records(demo: Path) -> list[dict]:
    """Every CloudTrail record under the folder, read with gzip + json (digests excluded)."""
    records: list[dict] = []
    for path in sorted(demo.glob("AWSLogs/*/*/CloudTrail/*/*/*/*/*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            records.extend(json.load(handle)["Records"])
    return records


def guardduty_findings(demo: Path) -> list[dict]:
    """Every GuardDuty finding exported under the folder, read with gzip + json."""
    findings: list[dict] = []
    for path in sorted(demo.glob("AWSLogs/*/GuardDuty/*/*/*/*/*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            findings.extend(json.loads(line) for line in handle if line.strip())
    return findings


def in_window(stamp: str, start: datetime, end: datetime) -> bool:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return start <= moment < end


def settings_for(root: Path, demo: Path) -> Settings:
    """Settings reading ``demo`` as the source, with state (lake, findings) under ``root/data``."""
    settings = Settings().with_overrides(source=str(demo), data_dir=str(root / "data"))
    settings.raw["integrity"]["public_keys"] = str(demo_keys_file(demo))  # trusted: beside, not inside
    return settings


# --- AWS (the moto server) ------------------------------------------------------------------------

REGION = "us-east-1"
RESULTS_BUCKET = "athena-results"
# The first columns every detection returns (queries/fragments/record_columns.sql), as Athena types them.
FINDING_COLUMNS = [
    ("event_id", "varchar"),
    ("event_time", "varchar"),
    ("account_id", "varchar"),
    ("region", "varchar"),
    ("principal", "varchar"),
    ("source_ip", "varchar"),
]


def athena_result(columns: list[tuple[str, str]], rows: list[list[str | None]]) -> dict[str, Any]:
    """One canned result: a header row then the data rows, shaped as GetQueryResults returns them."""

    def cell(value: str | None) -> dict[str, str]:
        return {} if value is None else {"VarCharValue": value}

    return {
        "rows": [{"Data": [cell(n) for n, _ in columns]}] + [{"Data": [cell(v) for v in r]} for r in rows],
        "column_info": [{"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n, "Label": n,
                         "Type": t, "Precision": 0, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": True}
                        for n, t in columns],
    }


# --- findings and the findings store --------------------------------------------------------------


def make_finding(finding_id: str, detection_id: str = "root_login", **changes: Any) -> Finding:
    values: dict[str, Any] = dict(
        detection_id=detection_id, finding_id=finding_id, severity="high", title="Root console login",
        event_ids=[f"{finding_id}-e1"], account_id="111111111111", region="eu-west-1",
        principal="root", first_seen="2024-05-01T10:00:00Z", last_seen="2024-05-01T10:05:00Z",
        event_count=1, source_ip="203.0.113.9", attack=["T1078"], runbook="runbooks/root.md",
        dedup_key={"principal": "root"}, context={"user_agent": ["a", "b"], "n": 3},
    )
    values.update(changes)
    return Finding(**values)


def make_run(run_id: str, now: str = "2024-05-01T11:00:00Z", detection_id: str = "root_login",
             **changes: Any) -> RunMetadata:
    values: dict[str, Any] = dict(
        run_id=run_id, detection_id=detection_id, engine="duckdb", window_start="2024-05-01T10:00:00Z",
        window_end=now, now=now, query_id=None, bytes_scanned=None, duration_s=0.25, rows=1,
    )
    values.update(changes)
    return RunMetadata(**values)


def fill(store: FindingsStore) -> None:
    """Three runs: r1 finds f1 and f2, r2 (another detection, another day) finds g1, r3 updates f1."""
    store.append([make_finding("f1"), make_finding("f2", severity="low", account_id="222222222222",
                                                   first_seen="2024-05-01T08:00:00Z",
                                                   last_seen="2024-05-01T08:30:00Z")],
                 make_run("r1", query_id="q-1", bytes_scanned=1024))
    store.append([make_finding("g1", detection_id="burst", severity="CRITICAL",
                               first_seen="2024-05-02T09:00:00Z", last_seen="2024-05-02T09:10:00Z")],
                 make_run("r2", now="2024-05-02T10:00:00Z", detection_id="burst", engine="athena"))
    store.append([make_finding("f1", event_ids=["f1-e1", "f1-e2"], event_count=2,
                               last_seen="2024-05-02T10:30:00+00:00")],
                 make_run("r3", now="2024-05-02T11:00:00Z"))


def sink_finding(n: int = 1, events: int = 3, severity: str = "high",
                 detection: str = "iam_access_key_created",
                 principal: str = "arn:aws:iam::222222222222:user/mallory") -> Finding:
    """A finding as the ticketing and paging sinks (Jira, PagerDuty) receive it."""
    return Finding(
        detection_id=detection, finding_id=f"{n:032x}", severity=severity,
        title="IAM access key created", event_ids=[f"event-{n}-{i}" for i in range(events)],
        account_id="222222222222", region="eu-west-1", principal=principal,
        first_seen="2026-01-15 10:00:00", last_seen="2026-01-15 10:30:00", event_count=events,
        source_ip="203.0.113.9", attack=["T1098.001"], runbook="Deactivate the key.\nAsk the owner.",
        dedup_key={"principal": principal}, context={"target_user": "ci-bot"},
    )


def grown(f: Finding, more: int = 2) -> Finding:
    """The same finding after ``more`` events joined it (a burst still going)."""
    ids = [*f.event_ids, *(f"event-extra-{i}" for i in range(more))]
    return dataclasses.replace(f, event_ids=ids, event_count=len(ids), last_seen="2026-01-15 11:00:00")


# --- tiny hand-made sources (hostile-input tests) ---------------------------------------------------

POISON_ACCOUNT = "111111111111"


def one_record_source(tmp_path: Path) -> Path:
    """A bucket-shaped folder holding one CloudTrail file with one ListBuckets record."""
    day = tmp_path / "bucket" / "AWSLogs" / POISON_ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "11" / "01"
    day.mkdir(parents=True)
    record = {"eventVersion": "1.09", "eventID": "e1", "eventTime": "2026-11-01T10:00:00Z",
              "eventName": "ListBuckets", "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1",
              "recipientAccountId": POISON_ACCOUNT}
    with gzip.open(day / f"{POISON_ACCOUNT}_CloudTrail_us-east-1_20261101T1005Z_a.json.gz", "wt") as handle:
        json.dump({"Records": [record]}, handle)
    return tmp_path / "bucket"


def data_dir_config(tmp_path: Path) -> Path:
    """A trailguard.toml that keeps state under ``tmp_path/data``."""
    path = tmp_path / "trailguard.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return path


def s3_read(event_id: str, when: datetime, identity: dict[str, Any], **fields: Any) -> dict:
    """An S3 GetObject record in account 111111111111 (us-east-1) by ``identity``, plus ``fields``."""
    return {"eventVersion": "1.09", "eventID": event_id, "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventName": "GetObject", "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1",
            "recipientAccountId": "111111111111", "userIdentity": identity, **fields}


def root_login(event_id: str | None, when: str = "2026-01-15T10:00:00Z") -> dict:
    """A root console login without MFA (fires root_account_usage and console_login_without_mfa)."""
    return {"eventVersion": "1.09", "eventID": event_id, "eventTime": when, "eventName": "ConsoleLogin",
            "eventSource": "signin.amazonaws.com", "awsRegion": "us-east-1",
            "recipientAccountId": POISON_ACCOUNT,
            "userIdentity": {"type": "Root", "arn": f"arn:aws:iam::{POISON_ACCOUNT}:root",
                             "accountId": POISON_ACCOUNT},
            "responseElements": {"ConsoleLogin": "Success"}, "additionalEventData": {"MFAUsed": "No"},
            "sourceIPAddress": "198.51.100.7"}


def poisoned_source(root: Path) -> Path:
    """One file: a good root login, one with an impossible eventTime, one without an eventID."""
    day = root / "AWSLogs" / "o-test" / POISON_ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "01" / "15"
    day.mkdir(parents=True)
    records = [root_login("good-1"), root_login("junk-1", "2026-01-15T10:01:00Zjunk"), root_login(None)]
    name = f"{POISON_ACCOUNT}_CloudTrail_us-east-1_20260115T1005Z_aaaa.json.gz"
    with gzip.open(day / name, "wt") as handle:
        json.dump({"Records": records}, handle)
    return root


CLI_RUNNER = CliRunner()


def invoke(*args: str, **kwargs):
    """``trailguard ARGS`` through typer's runner, with verbosity reset after (it is process state)."""
    result = CLI_RUNNER.invoke(app, list(args), **kwargs)
    set_verbosity(NORMAL)  # --quiet/--verbose set process state; each invocation starts afresh
    return result


TICK = timedelta(minutes=15)


def catalogue_settings(data_dir: Path) -> Settings:
    """Only the catalogue's detections, through configuration (``enabled = false`` for the rest).

    Each tick re-runs every enabled detection; the equivalence checked here does not depend on how
    many there are, and the catalogue keeps the simulation fast as the library grows.
    """
    disabled = {i: {"enabled": False} for i in known_detection_ids() if i not in CATALOGUE_IDS}
    return Settings().with_overrides(data_dir=str(data_dir), detections=disabled)


class Bucket:
    """A source folder that receives the generated files as simulated time passes."""

    def __init__(self, full: Path, live: Path) -> None:
        self.full, self.live = full, live
        files = [p for p in full.rglob("*.gz") if "AWSLogs" in p.parts and "CloudTrail-Digest" not in p.parts]
        self.pending = sorted(((availability(p), p) for p in files), key=lambda x: x[0])

    def advance(self, now: datetime) -> None:
        while self.pending and self.pending[0][0] <= now:
            _, path = self.pending.pop(0)
            target = self.live / path.relative_to(self.full)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


class SimulatedCrash(BaseException):
    """A kill: not an Exception, so nothing in the runner can swallow it."""


CT_TIME = re.compile(r"_(\d{8}T\d{4}Z)_")


def availability(path: Path) -> datetime:
    """When the file lands in the bucket: its delivery time, 30 minutes later for one file in ten."""
    match = CT_TIME.search(path.name)
    if match:
        landed = datetime.strptime(match.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    else:
        with gzip.open(path, "rt") as handle:
            updated = max(json.loads(line)["updatedAt"] for line in handle if line.strip())
        landed = parse_iso(updated) + timedelta(minutes=5)
    late = int(hashlib.sha1(path.name.encode()).hexdigest(), 16) % 10 == 0
    return landed + (timedelta(minutes=30) if late else timedelta())

"""Property: ingest loses nothing uncounted and no detection crashes, whatever shape the records have.

Hypothesis writes a few CloudTrail files of generated records (fields missing, null, changing type
from one record to the next, very large and unicode-heavy values, eventIDs repeated across files,
elements of Records that are not records at all) mixed with malformed files (truncated gzip,
invalid JSON, JSON without Records, a digest in the wrong folder, an empty log). Then:

- the report balances: records seen = stored + skipped (by reason), new files = read + empty +
  skipped, and each count equals what the test itself wrote;
- the lake holds exactly the records that are records, duplicates included (kept as delivered);
- every detection runs without error over the lake, and each finding names each eventID once,
  only eventIDs that were stored.
"""

from __future__ import annotations

import gzip
import json
import string
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.catalog.specs import load_specs
from pipeline.detections.run import run_detections
from pipeline.detections.spec import load_detections
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.ingest import ingest_table

SPECS = load_specs()
DETECTIONS = list(load_detections().values())
ACCOUNT, REGION, DAY = "111111111111", "us-east-1", "2026/01/15"
START, END = datetime(2026, 1, 15, tzinfo=UTC), datetime(2026, 1, 16, tzinfo=UTC)
SOURCES = ["iam.amazonaws.com", "s3.amazonaws.com", "signin.amazonaws.com", "cloudtrail.amazonaws.com"]
SHARED_IDS = ["dup-a", "dup-b", "dup-c"]  # drawn often, so the same eventID lands in several files

unicode_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
large_text = st.builds(lambda piece, n: piece * n, st.sampled_from(["é", "🦆", "ß∂ƒ", "\u202e", "x"]),
                       st.integers(1_000, 60_000))
scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
                   unicode_text, large_text)
any_json = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(unicode_text, inner, max_size=3)),
                        max_leaves=8)
event_time = st.one_of(
    st.integers(0, 86_399).map(lambda s: f"2026-01-15T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"),
    st.sampled_from(["not a time", "2026-01-15", "", "2026-01-16T00:00:00Z"]),
    st.integers(), st.none(),
)
identity = st.one_of(
    st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["IAMUser", "Root", "AssumedRole", "AWSService"]),
        "arn": st.one_of(st.sampled_from([f"arn:aws:iam::{ACCOUNT}:user/alice",
                                          f"arn:aws:iam::{ACCOUNT}:root"]), unicode_text),
        "userName": unicode_text,
        "invokedBy": st.one_of(st.none(), unicode_text),
        "sessionContext": any_json,
    }),
    any_json,
)
event_name = st.one_of(
    st.sampled_from(["ConsoleLogin", "CreateUser", "CreateAccessKey", "PutBucketPolicy", "StopLogging",
                     "AuthorizeSecurityGroupIngress", "DeleteDetector", "ListBuckets", "GetObject"]),
    unicode_text.filter(bool), large_text,
)
event_id = st.one_of(st.sampled_from(SHARED_IDS), st.text(string.ascii_lowercase + string.digits,
                                                          min_size=1, max_size=12))
record = st.fixed_dictionaries(
    {"eventID": event_id, "eventName": event_name},
    optional={
        "eventTime": event_time,
        "eventVersion": st.one_of(st.just("1.09"), scalar),
        "eventSource": st.one_of(st.sampled_from(SOURCES), scalar),
        "awsRegion": st.one_of(st.just(REGION), scalar),
        "recipientAccountId": st.one_of(st.just(ACCOUNT), scalar),
        "sourceIPAddress": st.one_of(st.sampled_from(["198.51.100.7", "AWS Internal"]), scalar),
        "userIdentity": identity,
        "requestParameters": any_json,
        "responseElements": any_json,
        "additionalEventData": any_json,
        "errorCode": st.one_of(st.sampled_from(["AccessDenied", "UnauthorizedOperation"]), any_json),
        "readOnly": scalar,
        "resources": any_json,
        "eventType": st.one_of(st.sampled_from(["AwsApiCall", "AwsServiceEvent"]), scalar),
        "brandNewField": any_json,
    },
)
# A record may lose its eventID (CloudTrail never does; a broken producer might): kept, eventName holds it.
maybe_id_less = st.one_of(record, record.map(lambda r: {k: v for k, v in r.items() if k != "eventID"}))
not_a_record = st.one_of(
    st.none(), st.integers(), unicode_text, st.lists(st.integers(), max_size=2), st.just({}),
    st.dictionaries(st.sampled_from(["unknown", "other"]), scalar, min_size=1),
)
element = st.one_of(maybe_id_less, maybe_id_less, maybe_id_less, not_a_record.map(lambda v: ("junk", v)))
log_file = st.lists(element, max_size=8)

def _truncated() -> bytes:
    """A log cut in the middle of its deflate stream (varied ids, so the stream is long enough to cut)."""
    whole = gzip.compress(json.dumps({"Records": [{"eventID": f"t-{n:05d}-{n * 7919 % 10007}"}
                                                  for n in range(400)]}).encode())
    return whole[: len(whole) // 2]


DIGEST = {"logFiles": [], "digestStartTime": "2026-01-15T00:00:00Z", "digestEndTime": "2026-01-15T01:00:00Z"}
BAD_FILES = {
    "truncated": _truncated,
    "invalid-json": lambda: gzip.compress(b'{"Records": [{"eventID": "x",'),
    "no-records": lambda: gzip.compress(b'{"hello": "world"}'),
    "digest": lambda: gzip.compress(json.dumps(DIGEST).encode()),
    "not-gzip": lambda: b"plain text, not gzip",
}
bad_files = st.lists(st.sampled_from([*BAD_FILES, "empty-log"]), max_size=3)


def _write(folder: Path, logs: list[list[Any]], bad: list[str]) -> tuple[list[Any], dict[str, str]]:
    """Write the files; returns every element written to a readable log, and the bad files by name."""
    folder.mkdir(parents=True, exist_ok=True)
    elements: list[Any] = []
    for n, items in enumerate(logs):
        payload = [v[1] if isinstance(v, tuple) else v for v in items]
        name = f"{ACCOUNT}_CloudTrail_{REGION}_20260115T{n % 24:02d}00Z_good{n:04d}.json.gz"
        (folder / name).write_bytes(gzip.compress(json.dumps(payload and {"Records": payload} or
                                                             {"Records": []}).encode()))
        elements.extend(payload)
    expected_bad: dict[str, str] = {}
    for n, kind in enumerate(bad):
        name = f"{ACCOUNT}_CloudTrail_{REGION}_20260115T{n:02d}30Z_{kind}{n}.json.gz"
        if kind == "empty-log":
            (folder / name).write_bytes(gzip.compress(b'{"Records": []}'))
            continue
        (folder / name).write_bytes(BAD_FILES[kind]())
        expected_bad[name] = kind
    return elements, expected_bad


def _is_record(value: Any) -> bool:
    """What the test generated as a record: an object with a string eventID or eventName."""
    return isinstance(value, dict) and any(isinstance(value.get(k), str) for k in ("eventID", "eventName"))


@pytest.mark.slow
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(logs=st.lists(log_file, min_size=1, max_size=4), bad=bad_files)
def test_ingest_counts_every_record_and_file(logs, bad):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "src" / "AWSLogs" / "o-test" / ACCOUNT / "CloudTrail" / REGION / DAY
        elements, expected_bad = _write(folder, logs, bad)
        report = ingest_table(SPECS["cloudtrail"], root / "src", root / "lake")

        assert report.balanced, report.reconciliation()
        records = [e for e in elements if _is_record(e)]
        assert report.records_seen == len(elements)
        assert report.records_ingested == len(records)
        assert report.records_skipped == len(elements) - len(records)
        assert report.files_new == report.files_seen == len(logs) + len(bad)
        skipped = {Path(p).name: reason for p, reason in report.skipped_files}
        assert set(skipped) == set(expected_bad), report.skipped_files
        assert all(reason for reason in skipped.values())

        engine = DuckDBEngine(root / "lake", SPECS)
        try:
            sql = "SELECT coalesce(eventid, '<none>') AS eventid FROM cloudtrail"
            stored = Counter(engine.query(sql).frame["eventid"].tolist()) if records else Counter()
            # Duplicated eventIDs are kept as delivered: each copy is a stored row.
            assert stored == Counter(r.get("eventID", "<none>") for r in records)
            result = run_detections(engine, DETECTIONS, START, END)
        finally:
            engine.close()
        assert not result.failed, [(r.detection_id, r.error) for r in result.failed]
        ids = {r.get("eventID") for r in records}
        known = {str(i) for i in ids if i is not None}
        for finding in result.findings:
            assert len(finding.event_ids) == len(set(finding.event_ids)), finding.detection_id
            for event_id in finding.event_ids:  # a record without an eventID gets a stand-in that says so
                assert event_id in known or (None in ids and event_id.startswith("missing-eventID:")), (
                    finding.detection_id, event_id)


def test_detections_survive_an_impossible_event_time(tmp_path):
    """A record whose eventTime looks like a time but is not one (hour 25) must not stop a query."""
    folder = tmp_path / "src" / "AWSLogs" / "o-test" / ACCOUNT / "CloudTrail" / REGION / DAY
    good = {"eventID": "ok", "eventTime": "2026-01-15T10:00:00Z", "eventName": "CreateUser",
            "eventSource": "iam.amazonaws.com", "awsRegion": REGION, "recipientAccountId": ACCOUNT,
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}}
    bad = {**good, "eventID": "bad", "eventTime": "2026-01-15T25:61:00Z", "errorCode": "AccessDenied"}
    _write(folder, [[good, bad]], [])
    report = ingest_table(SPECS["cloudtrail"], tmp_path / "src", tmp_path / "lake")
    assert report.balanced and report.records_ingested == 2
    engine = DuckDBEngine(tmp_path / "lake", SPECS)
    try:
        result = run_detections(engine, DETECTIONS, START, END)
    finally:
        engine.close()
    assert not result.failed, sorted(r.detection_id for r in result.failed)
    assert "ok" in {e for f in result.findings if f.detection_id == "iam_user_created" for e in f.event_ids}


def test_a_record_delivered_twice_is_stored_twice_and_reported_once(tmp_path):
    """CloudTrail may deliver a record twice: the lake keeps both copies, a finding names it once."""
    folder = tmp_path / "src" / "AWSLogs" / "o-test" / ACCOUNT / "CloudTrail" / REGION / DAY
    create = {"eventID": "twice", "eventTime": "2026-01-15T10:00:00Z", "eventName": "CreateUser",
              "eventSource": "iam.amazonaws.com", "awsRegion": REGION, "recipientAccountId": ACCOUNT,
              "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice"}}
    _write(folder, [[create], [create]], [])
    report = ingest_table(SPECS["cloudtrail"], tmp_path / "src", tmp_path / "lake")
    assert report.balanced and report.records_seen == report.records_ingested == 2
    engine = DuckDBEngine(tmp_path / "lake", SPECS)
    try:
        assert engine.query("SELECT count(*) AS n FROM cloudtrail").frame["n"].tolist() == [2]
        result = run_detections(engine, DETECTIONS, START, END)
    finally:
        engine.close()
    created = [f for f in result.findings if f.detection_id == "iam_user_created"]
    assert [f.event_ids for f in created] == [["twice"]]

"""The hot tier takes each delivered object once, late ones in the next batch, and keeps the planned rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from pipeline.lake.hot import HOT_FOLDER, MANIFEST, HotTier, RowPlan, Storage, key_time
from pipeline.source.writer import write_cloudtrail

T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
PLAN = RowPlan(
    matched="eventname = 'CreateUser'",
    keep_all_rows=True,
    all_row_columns=frozenset({"eventid", "eventtime"}),
    fingerprint="p1",
)


def record(n: int, when: datetime, name: str = "GetObject") -> dict:
    return {
        "eventVersion": "1.09",
        "eventID": f"e{n:03d}",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": name,
        "eventSource": "iam.amazonaws.com",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111111111111",
        "sourceIPAddress": "198.51.100.7",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/a"},
    }


def rows(lake: Path) -> list[tuple]:
    files = sorted(str(p) for p in (lake / HOT_FOLDER).rglob("*.parquet"))
    query = (
        "SELECT eventid, eventname, sourceipaddress, matched, "
        f"regexp_extract(filename, '{HOT_FOLDER}/(.*)/part', 1) "
        f"FROM read_parquet({files!r}, filename=true) ORDER BY eventid"
    )
    return duckdb.connect().execute(query).fetchall()


def test_each_object_once_late_ones_in_the_next_batch(tmp_path):
    source, lake = tmp_path / "bucket", tmp_path / "lake"
    tier = HotTier(Storage(str(source)), Storage(str(lake)))
    # events at 09:50 and 10:05 (files named 09:55 and 10:10 by write_cloudtrail's 7-minute delivery)
    write_cloudtrail(
        source, [record(1, T0 - timedelta(minutes=10)), record(2, T0 + timedelta(minutes=5), "CreateUser")]
    )
    first = tier.ingest(T0 + timedelta(minutes=5), timedelta(hours=1), timedelta(minutes=60), PLAN)
    assert first is not None and first.objects == 2  # every visible file, as the old path reads them
    # a late file: an event of 09:52 named 09:55 that lands only now, beside the 10:10 one
    write_cloudtrail(source, [record(3, T0 - timedelta(minutes=8))], org_id="o-exampleorg")
    second = tier.ingest(T0 + timedelta(minutes=20), timedelta(hours=1), timedelta(minutes=60), PLAN)
    assert second is not None and second.objects == 1
    assert tier.ingest(T0 + timedelta(minutes=20), timedelta(hours=1), timedelta(minutes=60), PLAN) is None
    got = rows(lake)
    assert [r[0] for r in got] == ["e001", "e002", "e003"]  # nothing twice
    batches = {r[0]: r[4] for r in got}
    assert batches == {"e001": "2026/01/15/1005", "e002": "2026/01/15/1005", "e003": "2026/01/15/1020"}
    # matched rows keep every column; the others only those a wide detection reads
    assert [(r[0], r[2], r[3]) for r in got] == [
        ("e001", None, False),
        ("e002", "198.51.100.7", True),
        ("e003", None, False),
    ]
    assert tier.batches(T0, "p1") == (["2026/01/15/1005", "2026/01/15/1020"], True)
    assert tier.batches(T0, "another plan")[1] is False  # a window over batches of another plan is refused
    assert tier.batches(T0 - timedelta(hours=2), "p1")[1] is False  # before the tier began


def test_a_file_written_by_a_killed_run_is_removed_before_the_next(tmp_path):
    source, lake = tmp_path / "bucket", tmp_path / "lake"
    tier = HotTier(Storage(str(source)), Storage(str(lake)))
    write_cloudtrail(source, [record(1, T0 - timedelta(minutes=10))])
    tier.ingest(T0, timedelta(hours=1), timedelta(minutes=60), PLAN)
    manifest = (lake / MANIFEST).read_text()
    write_cloudtrail(source, [record(2, T0 + timedelta(minutes=1))])
    tier.ingest(T0 + timedelta(minutes=15), timedelta(hours=1), timedelta(minutes=60), PLAN)
    (lake / MANIFEST).write_text(manifest)  # killed after the upload, before the manifest was saved
    tier.ingest(T0 + timedelta(minutes=30), timedelta(hours=1), timedelta(minutes=60), PLAN)
    got = rows(lake)
    assert [r[0] for r in got] == ["e001", "e002"]
    assert json.loads((lake / MANIFEST).read_text())["last_end"] == "2026-01-15T10:30:00Z"


def test_an_unreadable_file_is_named_and_skipped(tmp_path):
    source, lake = tmp_path / "bucket", tmp_path / "lake"
    tier = HotTier(Storage(str(source)), Storage(str(lake)))
    (good,) = write_cloudtrail(source, [record(1, T0 - timedelta(minutes=10))])
    bad = good.with_name(good.name.replace(good.name.split("_")[-1], "broken.json.gz"))
    bad.write_bytes(b"not gzip at all")
    batch = tier.ingest(T0, timedelta(hours=1), timedelta(minutes=60), PLAN)
    assert batch is not None and batch.rows == 1
    assert len(batch.skipped) == 1 and "broken" in batch.skipped[0]


def test_key_time_reads_the_delivery_minute():
    assert key_time("x/111_CloudTrail_us-east-1_20260115T1005Z_ab.json.gz") == datetime(
        2026, 1, 15, 10, 5, tzinfo=UTC
    )
    assert key_time("x/readme.txt") is None

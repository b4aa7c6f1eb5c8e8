"""Ingest: bad files are skipped and named, odd fields kept, nothing lost silently, re-runs incremental."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from pipeline.catalog.specs import load_specs
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.ingest import discover, ingest_table

SPECS = load_specs()
DAY = "2026/01/15"


def folder(root: Path, day: str = DAY, account: str = "111111111111", region: str = "us-east-1") -> Path:
    path = root / "AWSLogs" / "o-test" / account / "CloudTrail" / region / day
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(event_id: str, **extra) -> dict:
    base = {
        "eventVersion": "1.09",
        "eventID": event_id,
        "eventTime": "2026-01-15T10:00:00Z",
        "eventName": "ListBuckets",
        "eventSource": "s3.amazonaws.com",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111111111111",
        "readOnly": True,
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/alice"},
    }
    base.update(extra)
    return base


def write(path: Path, payload) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(payload if isinstance(payload, str) else json.dumps(payload))
    return path


def rows(lake: Path, sql: str) -> list[tuple]:
    engine = DuckDBEngine(lake, SPECS)
    try:
        return [tuple(r) for r in engine.query(sql).frame.itertuples(index=False)]
    finally:
        engine.close()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return tmp_path / "bucket"


def test_every_kind_of_bad_file_is_skipped_named_and_counted(source, tmp_path):
    f = folder(source)
    write(f / "good.json.gz", {"Records": [record("good-1"), record("good-2")]})
    truncated = write(f / "truncated.json.gz", {"Records": [record(f"t-{i}") for i in range(50)]})
    truncated.write_bytes(truncated.read_bytes()[:-40])
    write(f / "invalid.json.gz", '{"Records": [{"eventID": "x",')
    write(f / "notcloudtrail.json.gz", {"hello": "world"})
    write(
        f / "digest.json.gz",
        {"awsAccountId": "111111111111", "digestStartTime": "x", "digestEndTime": "y", "logFiles": []},
    )
    write(f / "empty.json.gz", {"Records": []})
    report = ingest_table(SPECS["cloudtrail"], source, tmp_path / "lake")
    skipped = {Path(p).name: reason for p, reason in report.skipped_files}
    assert set(skipped) == {"truncated.json.gz", "invalid.json.gz", "notcloudtrail.json.gz", "digest.json.gz"}
    assert "gzip" in skipped["truncated.json.gz"]
    assert "JSON" in skipped["invalid.json.gz"]
    assert "no Records" in skipped["notcloudtrail.json.gz"]
    assert "digest" in skipped["digest.json.gz"]
    assert report.files_empty == 1
    assert report.files_ingested == 1 and report.records_ingested == 2
    assert rows(tmp_path / "lake", "SELECT count(*) FROM cloudtrail") == [(2,)]


def test_unknown_fields_are_ignored_and_type_changes_kept_as_text(source, tmp_path):
    f = folder(source)
    write(
        f / "odd.json.gz",
        {
            "Records": [
                record("a", brandNewField={"x": 1}, readOnly="false"),
                record("b", errorCode={"nested": "object"}, requestParameters=["a", "list"]),
                record("c", userIdentity="not-an-object"),
                "not a record",
            ]
        },
    )
    write(f / "fine.json.gz", {"Records": [record("d")]})
    report = ingest_table(SPECS["cloudtrail"], source, tmp_path / "lake")
    assert report.records_ingested == 4 and report.records_skipped == 1
    assert report.records_seen == 5 and report.skipped_records == {"not a JSON object": 1}
    assert report.balanced
    assert any("userIdentity" in w for w in report.warnings)
    assert any("not a JSON object" in w for w in report.warnings)
    got = dict(rows(tmp_path / "lake", "SELECT eventid, errorcode FROM cloudtrail"))
    assert got["b"] == '{"nested":"object"}'
    assert rows(tmp_path / "lake", "SELECT readonly FROM cloudtrail WHERE eventid = 'a'") == [("false",)]
    assert rows(tmp_path / "lake", "SELECT requestparameters FROM cloudtrail WHERE eventid = 'b'") == [
        ('["a","list"]',)
    ]


def test_reingest_reads_only_new_files(source, tmp_path):
    f = folder(source)
    write(f / "one.json.gz", {"Records": [record("1")]})
    lake = tmp_path / "lake"
    first = ingest_table(SPECS["cloudtrail"], source, lake)
    assert first.files_new == 1
    again = ingest_table(SPECS["cloudtrail"], source, lake)
    assert again.files_new == 0 and again.records_ingested == 0
    write(f / "two.json.gz", {"Records": [record("2"), record("3")]})
    third = ingest_table(SPECS["cloudtrail"], source, lake)
    assert third.files_new == 1 and third.records_ingested == 2
    assert rows(lake, "SELECT count(*) FROM cloudtrail") == [(3,)]


def test_only_requested_days_are_read(source, tmp_path):
    for day in ("2026/01/14", "2026/01/15", "2026/01/16"):
        write(folder(source, day) / "f.json.gz", {"Records": [record(day)]})
    groups = discover(source, SPECS["cloudtrail"], {"2026/01/15"})
    assert [k[2] for k in groups] == ["2026/01/15"]
    report = ingest_table(SPECS["cloudtrail"], source, tmp_path / "lake", days={"2026/01/15"})
    assert report.files_seen == 1


def test_account_trail_and_org_trail_layouts_and_digests_folder(source, tmp_path):
    write(folder(source) / "org.json.gz", {"Records": [record("org")]})
    plain = source / "AWSLogs" / "222222222222" / "CloudTrail" / "eu-west-1" / "2026" / "01" / "15"
    plain.mkdir(parents=True)
    write(plain / "acct.json.gz", {"Records": [record("acct")]})
    digest = source / "AWSLogs" / "222222222222" / "CloudTrail-Digest" / "eu-west-1" / "2026" / "01" / "15"
    digest.mkdir(parents=True)
    write(digest / "d.json.gz", {"logFiles": []})
    ingest_table(SPECS["cloudtrail"], source, tmp_path / "lake")
    got = rows(tmp_path / "lake", "SELECT eventid, account, region, day FROM cloudtrail ORDER BY eventid")
    assert got == [("acct", "222222222222", "eu-west-1", DAY), ("org", "111111111111", "us-east-1", DAY)]


def test_partition_filter_skips_lake_files(source, tmp_path):
    for day in ("2026/01/14", "2026/01/15", "2026/01/16"):
        write(folder(source, day) / "f.json.gz", {"Records": [record(day)]})
    lake = tmp_path / "lake"
    ingest_table(SPECS["cloudtrail"], source, lake)
    engine = DuckDBEngine(lake, SPECS)
    try:
        texts = []
        for predicate in ("day IN ('2026/01/15')", "day BETWEEN '2026/01/15' AND '2026/01/16'"):
            plan = engine.con.execute(f"EXPLAIN ANALYZE SELECT count(*) FROM cloudtrail WHERE {predicate}")
            texts.append("".join(str(r[1]) for r in plan.fetchall()))
    finally:
        engine.close()
    assert "Scanning Files: 1/3" in texts[0]
    assert "Scanning Files: 2/3" in texts[1]


def test_guardduty_export_and_other_shapes(tmp_path):
    src = tmp_path / "bucket"
    gd = src / "AWSLogs" / "111111111111" / "GuardDuty" / "us-east-1" / "2026" / "01" / "15"
    gd.mkdir(parents=True)
    finding = {
        "schemaVersion": "2.0",
        "accountId": "111111111111",
        "region": "us-east-1",
        "id": "f1",
        "type": "Recon:EC2/PortProbeUnprotectedPort",
        "severity": 2,
        "updatedAt": "2026-01-15T10:00:00.000Z",
        "createdAt": "2026-01-15T10:00:00.000Z",
        "resource": {"resourceType": "Instance"},
        "service": {"archived": False},
        "title": "t",
        "description": "d",
    }
    lines = json.dumps(finding) + "\n" + "{broken\n" + json.dumps({**finding, "id": "f2"}) + "\n"
    write(gd / "a.jsonl.gz", lines)
    pascal = {
        "Findings": [
            {
                "Id": "f3",
                "Type": "Policy:IAMUser/RootCredentialUsage",
                "Severity": 8,
                "AccountId": "111111111111",
                "UpdatedAt": "2026-01-15T11:00:00.000Z",
                "Resource": {"AccessKeyDetails": {"UserName": "root"}},
            }
        ]
    }
    write(gd / "b.jsonl.gz", pascal)
    truncated = write(gd / "c.jsonl.gz", lines * 50)
    truncated.write_bytes(truncated.read_bytes()[:-30])
    report = ingest_table(SPECS["guardduty_findings"], src, tmp_path / "lake")
    assert report.records_ingested == 3 and report.records_skipped == 1
    assert [Path(p).name for p, _ in report.skipped_files] == ["c.jsonl.gz"]
    got = rows(
        tmp_path / "lake",
        "SELECT id, severity, json_extract_scalar(resource, '$.accessKeyDetails.userName') "
        "FROM guardduty ORDER BY id",
    )
    assert got[2] == ("f3", 8.0, "root")


def test_lake_is_zstd_parquet(source, tmp_path):
    write(folder(source) / "f.json.gz", {"Records": [record("z")]})
    lake = tmp_path / "lake"
    ingest_table(SPECS["cloudtrail"], source, lake)
    part = next(lake.rglob("*.parquet"))
    codec = (
        duckdb.connect().execute(f"SELECT DISTINCT compression FROM parquet_metadata('{part}')").fetchall()
    )
    assert codec == [("ZSTD",)]


def test_many_small_parts_are_compacted_without_losing_or_duplicating_rows(source, tmp_path):
    lake = tmp_path / "lake"
    for n in range(12):  # twelve ingest runs, one new file each, as twelve scheduled ticks would
        write(folder(source) / f"f{n}.json.gz", {"Records": [record(f"e{n}")]})
        ingest_table(SPECS["cloudtrail"], source, lake)
    parts = list(lake.rglob("*.parquet"))
    assert len(parts) <= 8
    assert rows(lake, "SELECT count(*), count(DISTINCT eventid) FROM cloudtrail") == [(12, 12)]


def test_interrupted_compaction_is_finished_from_its_journal(source, tmp_path):
    from pipeline.lake.parts import _finish_compaction

    lake = tmp_path / "lake"
    for n in range(3):
        write(folder(source) / f"f{n}.json.gz", {"Records": [record(f"e{n}")]})
        ingest_table(SPECS["cloudtrail"], source, lake)
    part_dir = next(lake.rglob("*.parquet")).parent
    parts = sorted(p.name for p in part_dir.glob("part-*.parquet"))
    con = duckdb.connect()
    merged = part_dir / "part-x-merged.parquet"
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{part_dir}/part-*.parquet')) TO '{merged}' (FORMAT parquet)"
    )
    (part_dir / "_compaction.json").write_text(json.dumps({"merged": merged.name, "parts": parts}))
    _finish_compaction(part_dir)  # the crash happened after the merged part landed
    assert [p.name for p in part_dir.glob("*.parquet")] == [merged.name]
    assert rows(lake, "SELECT count(*) FROM cloudtrail") == [(3,)]


def test_ingest_state_journal_survives_a_crash_between_checkpoints(tmp_path):
    from pipeline.lake.ingest import IngestState

    files = []
    for name in ("a", "b", "c"):
        path = tmp_path / f"{name}.json.gz"
        path.write_bytes(name.encode() * 3)
        files.append(path)
    state = IngestState(tmp_path / "lake", "cloudtrail")
    state.add(files[:1])
    state.save()
    state.checkpoint()  # a.json.gz in the state file
    state.add(files[1:2])
    state.save()  # b.json.gz only in the journal: the run was killed before its checkpoint
    with open(state.journal, "a", encoding="utf-8") as handle:
        handle.write('{"' + str(files[2]) + '": 3')  # c.json.gz's line, cut by the crash
    again = IngestState(tmp_path / "lake", "cloudtrail")
    assert [again.is_new(f) for f in files] == [False, False, True]
    again.checkpoint()
    assert not again.journal.exists()
    assert [IngestState(tmp_path / "lake", "cloudtrail").is_new(f) for f in files] == [False, False, True]

"""The runner's GuardDuty mirror: it downloads only keys it does not hold, rebuilds a day whose
objects changed, and forgets days no window reaches (pipeline/lake/guardduty_mirror.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb

from pipeline.lake.guardduty_mirror import GuardDutyMirror
from pipeline.lake.hot import Storage

DAY, NEXT = "2026/01/15", "2026/01/16"


def export(bucket: Path, account: str, region: str, day: str, name: str, ids: list[str]) -> Path:
    """A GuardDuty export object as the publishing destination writes it (JSON lines, gzip)."""
    path = bucket / "AWSLogs" / account / "GuardDuty" / region / day / f"{name}.jsonl.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    at = f"{day.replace('/', '-')}T10:00:00Z"
    lines = [
        json.dumps({"id": i, "type": "Recon:EC2/PortProbeUnprotectedPort", "accountId": account,
                    "region": region, "severity": 5, "createdAt": at, "updatedAt": at,
                    "resource": {"resourceType": "Instance"}, "service": {"count": 1}})
        for i in ids
    ]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


class CountingStorage(Storage):
    """A folder source that counts its LISTs and GETs (S3 requests on the real bucket)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.gets: list[str] = []
        self.day_lists: list[str] = []

    def fetch(self, key: str, dest: Path) -> None:
        self.gets.append(key)
        super().fetch(key, dest)

    def list_tagged(self, prefix: str) -> list[tuple[str, int, str]]:
        self.day_lists.append(prefix)
        return super().list_tagged(prefix)


def rows(mirror: GuardDutyMirror, days: list[str]) -> list[tuple[str, str, str]]:
    con = duckdb.connect()
    try:
        return sorted(con.execute(f"SELECT id, account, day FROM ({mirror.scan_sql(days)})").fetchall())
    finally:
        con.close()


def test_a_sync_downloads_only_the_keys_it_does_not_hold(tmp_path):
    bucket = tmp_path / "bucket"
    export(bucket, "111111111111", "us-east-1", DAY, "a", ["f1", "f2"])
    export(bucket, "222222222222", "eu-west-1", DAY, "b", ["f3"])
    source = CountingStorage(str(bucket))
    mirror = GuardDutyMirror(source, tmp_path / "mirror")

    first = mirror.sync([DAY, NEXT])
    assert first.cold and first.objects == 2 and first.downloaded_bytes > 0
    assert first.listed == 4  # one LIST per account/region/day prefix: 2 prefixes x 2 days
    assert rows(mirror, [DAY, NEXT]) == [("f1", "111111111111", DAY), ("f2", "111111111111", DAY),
                                         ("f3", "222222222222", DAY)]

    export(bucket, "111111111111", "us-east-1", DAY, "c", ["f4"])  # delivered since: the only GET
    source.gets.clear()
    second = mirror.sync([DAY, NEXT])
    assert not second.cold and second.objects == 1 and source.gets == [
        "AWSLogs/111111111111/GuardDuty/us-east-1/2026/01/15/c.jsonl.gz"]
    assert [r[0] for r in rows(mirror, [DAY])] == ["f1", "f2", "f3", "f4"]  # each row once

    source.gets.clear()
    assert mirror.sync([DAY, NEXT]).objects == 0 and source.gets == []  # nothing new: nothing read

    # a cold runner (its data dir gone) downloads what it lacks, and says it was cold
    again = GuardDutyMirror(source, tmp_path / "other-dir")
    caught_up = again.sync([DAY])
    assert caught_up.cold and caught_up.objects == 3
    assert rows(again, [DAY]) == rows(mirror, [DAY])


def test_a_changed_or_vanished_object_rebuilds_its_day(tmp_path):
    bucket = tmp_path / "bucket"
    path = export(bucket, "111111111111", "us-east-1", DAY, "a", ["f1"])
    gone = export(bucket, "111111111111", "us-east-1", DAY, "b", ["f2"])
    mirror = GuardDutyMirror(Storage(str(bucket)), tmp_path / "mirror")
    mirror.sync([DAY])
    export(bucket, "111111111111", "us-east-1", DAY, "a", ["f1", "f9"])  # same key, other content
    gone.unlink()
    sync = mirror.sync([DAY])
    assert sync.rebuilt == [DAY] and sync.objects == 1
    assert [r[0] for r in rows(mirror, [DAY])] == ["f1", "f9"]  # what the bucket holds now, nothing else
    assert path.is_file()


def test_days_no_window_reaches_are_pruned(tmp_path):
    bucket = tmp_path / "bucket"
    export(bucket, "111111111111", "us-east-1", DAY, "a", ["f1"])
    export(bucket, "111111111111", "us-east-1", NEXT, "b", ["f2"])
    mirror = GuardDutyMirror(Storage(str(bucket)), tmp_path / "mirror")
    mirror.sync([DAY, NEXT])
    assert mirror.held_days() == [DAY, NEXT]
    assert mirror.prune(NEXT) == [DAY]
    assert mirror.held_days() == [NEXT] and not mirror.day_root(DAY).exists()
    assert rows(mirror, [DAY, NEXT]) == [("f2", "111111111111", NEXT)]
    assert mirror.prune(NEXT) == []


def test_files_other_than_exports_and_unreadable_exports_are_not_rows(tmp_path):
    bucket = tmp_path / "bucket"
    export(bucket, "111111111111", "us-east-1", DAY, "a", ["f1"])
    folder = bucket / "AWSLogs" / "111111111111" / "GuardDuty" / "us-east-1" / DAY
    (folder / "notes.txt").write_text("not an export")
    (folder / "broken.jsonl.gz").write_bytes(b"\x1f\x8b not gzip")
    source = CountingStorage(str(bucket))
    mirror = GuardDutyMirror(source, tmp_path / "mirror")
    sync = mirror.sync([DAY])
    assert sync.objects == 2 and not any(k.endswith("notes.txt") for k in source.gets)
    assert len(sync.skipped) == 1 and "broken.jsonl.gz" in sync.skipped[0]  # named, as the ingest does
    assert [r[0] for r in rows(mirror, [DAY])] == ["f1"]

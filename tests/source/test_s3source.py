"""Mirroring the needed days of an S3 log bucket for the embedded engine, against moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.source.s3sync import discover_log_prefixes, parse_s3_uri, sync_source

pytestmark = pytest.mark.aws

BUCKET = "org-trail-logs"
ORG = "o-abcdefghij"
ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")
DAYS = ("2024/05/01", "2024/05/02", "2024/05/03")


@pytest.mark.parametrize(("uri", "expected"), [
    ("s3://bucket", ("bucket", "")),
    ("s3://bucket/", ("bucket", "")),
    ("s3://bucket/logs", ("bucket", "logs/")),
    ("s3://my.bucket-1/a/b/", ("my.bucket-1", "a/b/")),
])
def test_parse_s3_uri(uri: str, expected: tuple[str, str]) -> None:
    assert parse_s3_uri(uri) == expected


@pytest.mark.parametrize("uri", ["./demo", "s3:/bucket", "s3://", "s3:///logs", "https://b/x", "s3://a b/"])
def test_parse_s3_uri_rejects_with_one_line(uri: str) -> None:
    with pytest.raises(ValueError, match="not an S3 URI") as caught:
        parse_s3_uri(uri)
    assert "\n" not in str(caught.value)


def org_layout(s3: Any) -> dict[str, bytes]:
    """An org trail and a GuardDuty export under ``logs/``: every key, with its body."""
    objects: dict[str, bytes] = {}
    for day in DAYS:
        stamp = day.replace("/", "")
        for account in ACCOUNTS:
            for region in REGIONS:
                for n in range(2):
                    key = (f"logs/AWSLogs/{ORG}/{account}/CloudTrail/{region}/{day}/"
                           f"{account}_CloudTrail_{region}_{stamp}T0{n}00Z_x.json.gz")
                    objects[key] = f"ct {key}".encode()
                digest = (f"logs/AWSLogs/{ORG}/{account}/CloudTrail-Digest/{region}/{day}/"
                          f"{account}_CloudTrail-Digest_{region}_{stamp}.json.gz")
                objects[digest] = b"digest"
        gd = f"logs/AWSLogs/{ACCOUNTS[0]}/GuardDuty/us-east-1/{day}/{stamp}-findings.jsonl.gz"
        objects[gd] = b"gd" * 50
    objects["logs/README.txt"] = b"not a log"
    objects[f"logs/AWSLogs/{ORG}/_delivery_check"] = b"x"
    s3.create_bucket(Bucket=BUCKET)
    for key, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return objects


def local_files(dest: Path) -> set[str]:
    return {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}


def test_discovery_finds_org_and_account_trees(aws_client: Any) -> None:
    s3 = aws_client("s3")
    org_layout(s3)
    trees = discover_log_prefixes(s3, BUCKET, "logs/")
    found = {(t.account, t.service, t.region, t.org_id) for t in trees}
    assert found == {(a, "CloudTrail", r, ORG) for a in ACCOUNTS for r in REGIONS} | {
        (ACCOUNTS[0], "GuardDuty", "us-east-1", None)}


def test_sync_fetches_only_the_requested_days_then_nothing(aws_client: Any, tmp_path: Path) -> None:
    s3 = aws_client("s3")
    objects = org_layout(s3)
    wanted = {k: v for k, v in objects.items()
              if any(f"/{d}/" in k for d in ("2024/05/01", "2024/05/02")) and "CloudTrail-Digest" not in k}
    assert len(wanted) == 2 * (len(ACCOUNTS) * len(REGIONS) * 2 + 1)
    calls: list[tuple[int, int]] = []

    report = sync_source(f"s3://{BUCKET}/logs", tmp_path, ["2024/05/01", "2024-05-02"], s3,
                         progress=lambda done, total: calls.append((done, total)))

    assert local_files(tmp_path) == {k.removeprefix("logs/") for k in wanted}
    for key, body in wanted.items():
        assert (tmp_path / key.removeprefix("logs/")).read_bytes() == body
    assert (report.listed, report.downloaded, report.skipped) == (len(wanted), len(wanted), 0)
    assert report.bytes_downloaded == report.bytes_listed == sum(len(b) for b in wanted.values())
    assert report.prefixes == len(ACCOUNTS) * len(REGIONS) + 1
    assert report.days == ["2024/05/01", "2024/05/02"]
    assert calls[0] == (0, len(wanted)) and calls[-1] == (len(wanted), len(wanted))

    again = sync_source(f"s3://{BUCKET}/logs/", tmp_path, ["2024/05/01", "2024/05/02"], s3)
    assert (again.listed, again.downloaded, again.skipped) == (len(wanted), 0, len(wanted))
    assert again.bytes_downloaded == 0
    assert not list(tmp_path.rglob("*.part"))


def test_sync_refetches_a_file_whose_size_differs(aws_client: Any, tmp_path: Path) -> None:
    s3 = aws_client("s3")
    objects = org_layout(s3)
    sync_source(f"s3://{BUCKET}/logs", tmp_path, ["2024/05/03"], s3)
    key = next(k for k in objects if "/GuardDuty/" in k and "/2024/05/03/" in k)
    local = tmp_path / key.removeprefix("logs/")
    local.write_bytes(b"truncated")  # an earlier copy cut short by hand, or a disk hiccup

    report = sync_source(f"s3://{BUCKET}/logs", tmp_path, ["2024/05/03"], s3)
    assert report.downloaded == 1 and report.skipped == report.listed - 1
    assert local.read_bytes() == objects[key]


def test_sync_without_prefix_and_no_logs_for_the_day(aws_client: Any, tmp_path: Path) -> None:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    key = f"AWSLogs/{ACCOUNTS[0]}/CloudTrail/us-east-1/2024/05/01/a.json.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"a")
    report = sync_source(f"s3://{BUCKET}", tmp_path, ["2024/06/01"], s3)
    assert (report.prefixes, report.listed, report.downloaded) == (1, 0, 0)
    report = sync_source(f"s3://{BUCKET}", tmp_path, ["2024/05/01"], s3)
    assert report.downloaded == 1
    assert (tmp_path / key).read_bytes() == b"a"


def test_sync_refuses_keys_that_climb_out_of_dest(aws_client: Any, tmp_path: Path) -> None:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    climbing = f"AWSLogs/{ACCOUNTS[0]}/CloudTrail/us-east-1/2024/05/01/" + "../" * 7 + "x"
    s3.put_object(Bucket=BUCKET, Key=climbing, Body=b"evil")
    dest = tmp_path / "mirror"
    with pytest.raises(ValueError, match="outside"):
        sync_source(f"s3://{BUCKET}", dest, ["2024/05/01"], s3)
    assert not (tmp_path / "x").exists()


def test_sync_rejects_a_bad_day(aws_client: Any, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a day"):
        sync_source(f"s3://{BUCKET}", tmp_path, ["May 1st"], aws_client("s3"))

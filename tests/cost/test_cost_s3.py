"""Object inventory of an ``s3://`` source: listed (sizes only), never downloaded. Stubbed S3."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from pipeline.cost.period import window_period
from pipeline.cost.volumes import SMALL_OBJECT_BYTES, inventory_s3


def prefixes(*names: str) -> dict:
    return {"CommonPrefixes": [{"Prefix": n} for n in names], "KeyCount": len(names)}


def objects(*items: tuple[str, int]) -> dict:
    return {"Contents": [{"Key": k, "Size": s} for k, s in items], "KeyCount": len(items)}


def test_inventory_lists_each_day_prefix_and_counts_small_objects():
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    base = "logs/AWSLogs/o-abc123/111111111111/"
    trail = f"{base}CloudTrail/us-east-1/"
    period = window_period(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    with Stubber(s3) as stub:
        stub.add_response(
            "list_objects_v2",
            prefixes("logs/AWSLogs/o-abc123/"),
            {"Bucket": "trail", "Prefix": "logs/AWSLogs/", "Delimiter": "/"},
        )
        stub.add_response(
            "list_objects_v2",
            prefixes(base),
            {"Bucket": "trail", "Prefix": "logs/AWSLogs/o-abc123/", "Delimiter": "/"},
        )
        stub.add_response(
            "list_objects_v2",
            prefixes(f"{base}CloudTrail/", f"{base}CloudTrail-Digest/"),
            {"Bucket": "trail", "Prefix": base, "Delimiter": "/"},
        )
        stub.add_response(
            "list_objects_v2",
            prefixes(trail),
            {"Bucket": "trail", "Prefix": f"{base}CloudTrail/", "Delimiter": "/"},
        )
        stub.add_response(
            "list_objects_v2",
            objects(
                (f"{trail}2026/11/01/a.json.gz", 1000),
                (f"{trail}2026/11/01/b.json.gz", 200_000),
                (f"{trail}2026/11/01/", 0),
                (f"{trail}2026/11/01/notes.txt", 5),
            ),
            {"Bucket": "trail", "Prefix": f"{trail}2026/11/01/"},
        )
        stub.add_response("list_objects_v2", objects(), {"Bucket": "trail", "Prefix": f"{trail}2026/11/02/"})
        frame = inventory_s3(s3, "s3://trail/logs/", period, max_workers=1)
        stub.assert_no_pending_responses()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["account_id"], row["region"], row["service"], row["day"]) == (
        "111111111111",
        "us-east-1",
        "CloudTrail",
        "2026/11/01",
    )
    assert row["objects"] == 2 and row["bytes"] == 201_000
    assert row["small_objects"] == 1 and row["small_bytes"] == 1000 < SMALL_OBJECT_BYTES
    assert frame["bytes"].dtype == "int64"

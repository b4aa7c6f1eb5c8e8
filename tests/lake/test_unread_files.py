"""A file in the bucket layout that ingest does not read is named in a warning, never ignored silently."""

from __future__ import annotations

import json

from pipeline.catalog.specs import load_specs
from pipeline.lake.ingest import ingest_table
from pipeline.source.writer import write_cloudtrail

RECORD = {"eventID": "e1", "eventTime": "2026-01-15T10:00:00Z", "eventName": "ListBuckets",
          "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1", "recipientAccountId": "111111111111",
          "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/a"}}


def test_plain_json_in_a_day_folder_is_warned_about(tmp_path):
    [written] = write_cloudtrail(tmp_path / "src", [RECORD])
    plain = written.parent / "exported-by-hand.json"
    plain.write_text(json.dumps({"Records": [RECORD]}))
    report = ingest_table(load_specs()["cloudtrail"], tmp_path / "src", tmp_path / "lake")
    assert report.files_ingested == 1
    assert [w for w in report.warnings if "not read" in w] == [
        f"{plain.resolve()}: not read: not *.json.gz as delivered to S3 "
        "(`trailguard import` files exports into the layout)"
    ]

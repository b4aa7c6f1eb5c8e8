"""Digest signatures checked with keys from CloudTrail's ListPublicKeys (botocore's Stubber: moto
lacks the call), paginated as the API pages them, against a generated organization's digests."""

from __future__ import annotations

import base64
import json

import boto3
from botocore.stub import Stubber

from pipeline.demo.digests import demo_keys_file
from pipeline.integrity.findings import public_keys_for
from pipeline.integrity.keys import fetch_public_keys
from pipeline.integrity.validate import validate


def _listed(small_org):
    """The session's small_org (tests/conftest.py) and its demo keys as ListPublicKeys entries."""
    manifest = small_org.manifest
    keys = json.loads(demo_keys_file(small_org.root).read_text(encoding="utf-8"))
    start, end = manifest.window()
    entries = [
        {
            "Value": base64.b64decode(value),
            "ValidityStartTime": start,
            "ValidityEndTime": end,
            "Fingerprint": fp,
        }
        for fp, value in keys.items()
    ]
    return manifest, entries


def test_paginated_keys_verify_the_demo_digests(small_org):
    manifest, entries = _listed(small_org)
    start, end = manifest.window()
    client = boto3.client(
        "cloudtrail", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    decoy = {**entries[0], "Fingerprint": "0" * 32}
    with Stubber(client) as stub:
        stub.add_response(
            "list_public_keys",
            {"PublicKeyList": [decoy], "NextToken": "page-2"},
            {"StartTime": start, "EndTime": end},
        )
        stub.add_response(
            "list_public_keys",
            {"PublicKeyList": entries},
            {"StartTime": start, "EndTime": end, "NextToken": "page-2"},
        )
        keys = fetch_public_keys(client, start, end)
        stub.assert_no_pending_responses()
    assert set(keys) == {e["Fingerprint"] for e in entries} | {"0" * 32}
    report = validate(small_org.root, start, end, keys)
    assert report.ok and report.valid_digests > 0


def test_an_s3_source_without_a_key_file_asks_cloudtrail(small_org):
    manifest, entries = _listed(small_org)
    start, end = manifest.window()
    client = boto3.client(
        "cloudtrail", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_response(
            "list_public_keys", {"PublicKeyList": entries}, {"StartTime": start, "EndTime": end}
        )
        keys = public_keys_for("s3://org-trail/logs", None, start, end, client)
    assert set(keys) == {e["Fingerprint"] for e in entries}

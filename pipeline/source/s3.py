"""Listing S3, in one place: paginated, by prefix, never a walk of the whole bucket.

Every caller (sync, digest validation, compaction markers, scan estimates, the findings store)
lists through these two generators, so pagination, ``StartAfter`` and the zero-byte ``folder/``
markers some tools create are handled once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int


def list_objects(client: Any, bucket: str, prefix: str, *, delimiter: str | None = None,
                 start_after: str | None = None) -> Iterator[S3Object]:
    """Objects under ``prefix`` in key order (one level with ``delimiter="/"``), skipping ``folder/`` markers.

    ``start_after``: only keys after it, which is how "what arrived since the last key" is one
    listing (CloudTrail's names sort by delivery time inside a day folder).
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        kwargs["Delimiter"] = delimiter
    if start_after:
        kwargs["StartAfter"] = start_after
    for page in client.get_paginator("list_objects_v2").paginate(**kwargs):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):
                yield S3Object(obj["Key"], int(obj.get("Size", 0)))


def common_prefixes(client: Any, bucket: str, prefix: str) -> Iterator[str]:
    """The next path segment below ``prefix`` (one level, via Delimiter), without the trailing slash."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        for entry in page.get("CommonPrefixes", []):
            yield entry["Prefix"][len(prefix):].rstrip("/")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix/")``; prefix is ``""`` or ends in ``/``."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r} (expected s3://bucket[/prefix])")
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._\-]{2,254}", bucket):  # legacy names allow A-Z and _
        raise ValueError(f"not an S3 URI: {uri!r} (bucket name {bucket!r} is not valid)")
    prefix = prefix.strip("/")
    return bucket, (prefix + "/" if prefix else "")


def uri_slug(uri: str) -> str:
    """``s3://bucket/a/b`` -> ``bucket_a_b``: a folder name for a local copy or lake of that source."""
    return uri.removeprefix("s3://").strip("/").replace("/", "_")

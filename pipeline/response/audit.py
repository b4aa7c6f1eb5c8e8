"""The audit log: one JSON object a line per decision, appended as each decision is made.

Locally (or on a mounted volume) the file is appended and fsynced per decision, so a Lambda
killed by its timeout half way still leaves the decisions made before it. S3 cannot append, so
an ``s3://bucket/prefix`` target gets one object per invocation
(``prefix/YYYY/MM/DD/<time>-<request>.jsonl``), written when the invocation ends; an object per
invocation also means concurrent invocations never overwrite each other. Writing the audit log
must not stop the response itself: a failure is logged (CloudWatch) and reported in the result.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FIELDS = ("time", "event_id", "finding_type", "source", "resource_type", "resource", "action",
          "dry_run", "outcome", "error", "detail")


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def decision(**values: Any) -> dict[str, Any]:
    """A decision record with every field present (None where it does not apply), in a stable order."""
    record = {name: values.get(name) for name in FIELDS}
    record["time"] = record["time"] or utc_now()
    record.update({k: v for k, v in values.items() if k not in record})
    return record


class AuditLog:
    """Appends decisions to ``target`` (a path or s3:// URI); keeps them in memory for the result."""

    def __init__(self, target: str, s3_client: Any = None, request_id: str | None = None) -> None:
        self.target = target
        self.records: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._s3 = s3_client
        self._request_id = re.sub(r"[^A-Za-z0-9-]", "", request_id or "") or uuid.uuid4().hex

    @property
    def is_s3(self) -> bool:
        return self.target.startswith("s3://")

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        log.info("response decision: %s", json.dumps(record, sort_keys=True, default=str))
        if self.is_s3:
            return
        try:
            path = Path(self.target)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, default=str) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            self._failed(f"cannot append to {self.target} ({exc.strerror})")

    def close(self) -> None:
        """Write the S3 object for this invocation (a no-op for a local file)."""
        if not self.is_s3 or not self.records:
            return
        bucket, _, prefix = self.target[len("s3://"):].partition("/")
        now = datetime.now(UTC)
        key = f"{prefix.strip('/') + '/' if prefix.strip('/') else ''}{now:%Y/%m/%d}/" \
              f"{now:%Y%m%dT%H%M%S%fZ}-{self._request_id}.jsonl"
        body = "".join(json.dumps(r, default=str) + "\n" for r in self.records).encode("utf-8")
        try:
            if self._s3 is None:
                import boto3

                self._s3 = boto3.client("s3")
            self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")
        except Exception as exc:  # noqa: BLE001 - any failure here must not undo the response
            self._failed(f"cannot write s3://{bucket}/{key} ({type(exc).__name__}: {exc})")

    def _failed(self, message: str) -> None:
        log.error("response audit log: %s", message)
        self.errors.append(message)

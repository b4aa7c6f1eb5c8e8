"""The findings store on S3 (moto): same layout as the local one, parts written with put_object."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipeline.findings.store import FINDINGS_SCHEMA, RUNS_SCHEMA, open_findings_store
from tests.helpers import fill, make_finding, make_run

pytestmark = pytest.mark.aws

BUCKET = "sec-findings"


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _keys(s3: Any, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_empty_prefix_reads_empty_frames(s3: Any) -> None:
    store = open_findings_store(f"s3://{BUCKET}/tg", s3_client=s3)
    assert list(store.read().columns) == FINDINGS_SCHEMA.names
    assert store.read().empty
    assert list(store.runs().columns) == RUNS_SCHEMA.names


def test_append_and_read_back_with_filters(s3: Any) -> None:
    store = open_findings_store(f"s3://{BUCKET}/org/tg/", s3_client=s3)
    fill(store)
    store.append([], make_run("r4", now="2024-05-03T00:00:00Z", rows=0))
    s3.put_object(Bucket=BUCKET, Key="org/tg/findings/README.txt", Body=b"not a part")  # ignored
    assert _keys(s3, "org/tg/") == [
        "org/tg/findings/README.txt",
        "org/tg/findings/day=2024-05-01/part-r1.parquet",
        "org/tg/findings/day=2024-05-02/part-r2.parquet",
        "org/tg/findings/day=2024-05-02/part-r3.parquet",
        "org/tg/runs/day=2024-05-01/part-r1.parquet",
        "org/tg/runs/day=2024-05-02/part-r2.parquet",
        "org/tg/runs/day=2024-05-02/part-r3.parquet",
        "org/tg/runs/day=2024-05-03/part-r4.parquet",
    ]
    body = s3.get_object(Bucket=BUCKET, Key="org/tg/findings/day=2024-05-01/part-r1.parquet")["Body"].read()
    assert pq.ParquetFile(io.BytesIO(body)).metadata.row_group(0).column(0).compression == "ZSTD"

    latest = store.read()
    assert sorted(latest["finding_id"]) == ["f1", "f2", "g1"]
    f1 = latest.set_index("finding_id").loc["f1"]
    assert (f1["run_id"], bool(f1["is_update"]), f1["event_ids"]) == ("r3", True, ["f1-e1", "f1-e2"])
    assert list(store.read(latest_only=False)["is_update"]) == [False, False, False, True]
    assert sorted(store.read(severities=["critical"], detection_ids=["burst"])["finding_id"]) == ["g1"]
    assert sorted(store.read(accounts=["222222222222"])["finding_id"]) == ["f2"]
    assert sorted(store.read(since="2024-05-02T10:00:00Z")["finding_id"]) == ["f1"]
    runs = store.runs()
    assert list(runs["run_id"]) == ["r1", "r2", "r3", "r4"]
    assert list(runs["findings"]) == [2, 1, 1, 0]


def test_a_run_is_recorded_once_on_s3_too(s3: Any) -> None:
    store = open_findings_store(f"s3://{BUCKET}", s3_client=s3)
    store.append([make_finding("f1")], make_run("r1"))
    with pytest.raises(FileExistsError, match="r1"):
        store.append([make_finding("f2")], make_run("r1"))
    assert list(store.read()["finding_id"]) == ["f1"]
    # the runs part is the commit and is created only if absent (If-None-Match: *), even in a race
    # the up-front check cannot see:
    store._parts.exists = lambda rel: False  # type: ignore[method-assign]
    with pytest.raises(FileExistsError):
        store.append([make_finding("f1")], make_run("r1"))
    assert _keys(s3, "runs/") == ["runs/day=2024-05-01/part-r1.parquet"]

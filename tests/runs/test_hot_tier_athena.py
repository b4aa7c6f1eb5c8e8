"""The hot tier on the Athena engine, against S3 on moto.

moto's Athena runs no SQL, so the one query a tick sends is answered by a stand-in that runs the same
Athena SQL with DuckDB over the hot-tier objects in the moto bucket (the layout Athena would read).
Everything else is the production path: listing and downloading deliveries with boto3, writing the
tier to ``[catalog] lake_uri``, the scan guard's estimate from the bucket.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import sqlglot

from pipeline.config import Settings
from pipeline.detections.scan_guard import ScanGuard
from pipeline.engines.base import QueryResult
from pipeline.engines.dialect import configure_connection
from pipeline.lake.hot import HOT_FOLDER
from pipeline.workflow import detect, make_runner
from tests.helpers import TICK, availability, catalogue_settings

pytestmark = [pytest.mark.aws, pytest.mark.slow]

RESULTS = "hot-results"


class DuckAthena:
    """Answers the hot-tier query as Athena would: the SQL transpiled, over the objects in the bucket."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix
        self.sent: list[str] = []

    def query(self, sql: str) -> QueryResult:
        self.sent.append(sql)
        tree = sqlglot.parse_one(sql, read="athena")
        batches = [lit.this for lit in tree.find(sqlglot.exp.In).expressions]
        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for batch in batches:
                listed = self.s3.list_objects_v2(
                    Bucket=self.bucket, Prefix=f"{self.prefix}{HOT_FOLDER}/{batch}/"
                )
                for n, obj in enumerate(listed.get("Contents", [])):
                    local = Path(tmp) / f"{batch.replace('/', '')}-{n}.parquet"
                    self.s3.download_file(self.bucket, obj["Key"], str(local))
                    files.append((batch, str(local)))
            con = duckdb.connect()
            configure_connection(con)
            if files:
                parts = " UNION ALL ".join(
                    f"SELECT *, '{b}' AS batch FROM read_parquet('{f}')" for b, f in files
                )
                con.execute(f"CREATE VIEW cloudtrail_hot AS {parts}")
            else:
                con.execute("CREATE VIEW cloudtrail_hot AS SELECT NULL AS batch WHERE false")
                return QueryResult(frame=pd.DataFrame(), engine="athena", duration_s=0.0, query_id="q")
            for table in tree.find_all(sqlglot.exp.Table):
                table.set("db", None)
            frame = con.execute(tree.sql(dialect="duckdb")).df()
        return QueryResult(frame=frame, engine="athena", duration_s=0.0, query_id=f"q{len(self.sent)}")


def athena_settings(root: Path, source: str, manifest) -> Settings:  # noqa: ANN001
    settings = catalogue_settings(root / "data").with_overrides(
        engine="athena", source=source, org_id=manifest.org_id
    )
    settings.raw["catalog"].update(
        accounts=[a["id"] for a in manifest.accounts],
        regions=list(manifest.regions),
        lake_uri="s3://hot-lake/lake",
    )
    settings.raw["athena"].update(
        output_location=f"s3://{RESULTS}/q/", region="us-east-1", poll_interval=0.01
    )
    settings.raw["schedule"]["hot_tier"] = True
    settings.raw["integrity"]["validate"] = False
    settings.raw["detections"]["guardduty_finding"] = {"enabled": False}  # GuardDuty: not the hot tier's
    return settings


@pytest.fixture
def buckets(aws_client, moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    s3 = aws_client("s3")
    for bucket in ("hot-trail", "hot-lake", RESULTS):
        s3.create_bucket(Bucket=bucket)
    return s3


def test_hot_ticks_on_athena_deliver_what_one_detect_reports(generated, buckets, tmp_path):
    root, manifest = generated
    s3 = buckets
    settings = athena_settings(tmp_path, "s3://hot-trail", manifest)
    files = [
        p for p in (root / "org").rglob("*.gz") if "AWSLogs" in p.parts and "CloudTrail-Digest" not in p.parts
    ]
    pending = sorted(((availability(p), p) for p in files), key=lambda x: x[0])
    start, _ = manifest.window()
    now, last = start + TICK, start + timedelta(hours=10)
    uploaded: list[Path] = []
    stand_in = DuckAthena(s3, "hot-lake", "lake/")
    per_tick = []
    while now <= last:
        while pending and pending[0][0] <= now:
            _, path = pending.pop(0)
            s3.upload_file(str(path), "hot-trail", path.relative_to(root / "org").as_posix())
            uploaded.append(path)
        runner = make_runner(settings, "s3://hot-trail", tmp_path / "out.jsonl", str(tmp_path / "state"))
        runner.hot.fetch_engine = stand_in
        sent = len(stand_in.sent)
        report = runner.tick(now)
        assert not report.errors and not report.hot_error, [t.error for t in report.errors]
        per_tick.append(len(stand_in.sent) - sent)
        now += TICK
    assert max(per_tick) == 1 and sum(per_tick) > 30  # one Athena query a tick, not one per detection
    local = (
        tmp_path / "local-org"
    )  # what the bucket held at the end (files still to come are not findings yet)
    for path in uploaded:
        target = local / path.relative_to(root / "org")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    detect_settings = athena_settings(tmp_path / "detect", "s3://hot-trail", manifest).with_overrides(
        engine="duckdb", source=str(local)
    )
    first = start + TICK - timedelta(minutes=15) - timedelta(minutes=60)
    outcome = detect(detect_settings, str(local), first, last - timedelta(minutes=15))
    expected = {(f.detection_id, tuple(sorted(f.event_ids))) for f in outcome.findings}
    latest: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in (tmp_path / "out.jsonl").read_text().splitlines():
        f = json.loads(line)
        latest[f["finding_id"]] = (f["detection_id"], tuple(sorted(f["event_ids"])))
    assert len(expected) > 10
    assert set(latest.values()) == expected
    # the scan guard's estimate of each fetch: exactly the objects under the batches it named
    runs = runner.store.runs()
    fetches = runs[runs["detection_id"] == "hot_tier"]
    assert len(fetches) == sum(per_tick) and fetches["estimated_bytes"].notna().all()


def test_hot_scan_estimate_is_the_objects_under_the_named_batches(buckets, tmp_path):
    s3 = buckets
    sizes = {"2026/01/15/1000": [1234, 50], "2026/01/15/1015": [777], "2026/01/15/1030": [99_999]}
    for batch, parts in sizes.items():
        for n, size in enumerate(parts):
            s3.put_object(
                Bucket="hot-lake", Key=f"lake/{HOT_FOLDER}/{batch}/part-{n}.parquet", Body=b"x" * size
            )
    s3.put_object(Bucket="hot-lake", Key=f"lake/{HOT_FOLDER}/_manifest.json", Body=b"{}")  # not under a batch
    settings = Settings().with_overrides(engine="athena", source="s3://hot-trail", data_dir=str(tmp_path))
    settings.raw["catalog"].update(
        lake_uri="s3://hot-lake/lake", accounts=["111111111111"], regions=["us-east-1"]
    )
    guard = ScanGuard(settings, s3, athena_client=None)
    guard._cutoff = None  # no workgroup to ask on moto's side for this check
    assert guard.check_hot(["2026/01/15/1000", "2026/01/15/1030"]) == 1234 + 50 + 99_999
    assert guard.check_hot(["2026/01/15/1015"]) == 777
    assert guard.check_hot(["2026/01/15/1045"]) == 0

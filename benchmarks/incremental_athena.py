"""One simulated day of 15-minute ticks on the Athena engine: the old design against the hot tier.

Replays a generated organization against S3 on moto (each file appears at its delivery time, the
time in its name), runs the 96 ticks of one day with every detection enabled, once as today
(each detection its own query over the raw day partitions) and once with ``[schedule] hot_tier``
(each tick ingests its deliveries into the hot tier and runs the CloudTrail detections over the
runner's copy of it, and the GuardDuty detection over the runner's mirror of the export objects).
moto's Athena runs no SQL (every query gets an empty canned result), so the figures are the queries
sent and the scan guard's estimate of each, made from the S3 objects under the partitions each
query names.

    .venv/bin/python -m benchmarks.incremental_athena [--events 20000] [--seed 23]

Prints one line per design and a last line of ``key=value`` pairs for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REGION = "us-east-1"
TICK = timedelta(minutes=15)


def post_empty_result(endpoint: str) -> None:
    """Queue one empty result (a detection's record columns) for the next Athena query moto answers."""
    names = ["event_id", "event_time", "account_id", "region", "principal", "source_ip"]
    columns = [
        {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": n,
            "Label": n,
            "Type": "varchar",
            "Precision": 0,
            "Scale": 0,
            "Nullable": "UNKNOWN",
            "CaseSensitive": True,
        }
        for n in names
    ]
    header = {"Data": [{"VarCharValue": n} for n in names]}
    body = json.dumps({"region": REGION, "results": [{"rows": [header], "column_info": columns}]}).encode()
    request = urllib.request.Request(
        f"{endpoint}/moto-api/static/athena/query-results",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - 127.0.0.1 only
        pass


class Replay:
    """Uploads the generated CloudTrail and GuardDuty objects to the bucket as simulated time passes."""

    def __init__(self, root: Path, s3: Any, bucket: str, availability: Callable[[Path], datetime]) -> None:
        self.root, self.s3, self.bucket = root, s3, bucket
        files = [p for p in root.rglob("*.gz") if "AWSLogs" in p.parts and "CloudTrail-Digest" not in p.parts]
        self.pending = sorted(((availability(p), p) for p in files), key=lambda x: x[0])
        self.delivered_cloudtrail = 0
        self.delivered_guardduty = 0

    def advance(self, now: datetime, until_day_end: datetime | None = None) -> None:
        while self.pending and self.pending[0][0] <= now:
            landed, path = self.pending.pop(0)
            key = path.relative_to(self.root).as_posix()
            self.s3.upload_file(str(path), self.bucket, key)
            if until_day_end is not None and landed >= until_day_end:
                continue
            if "CloudTrail" in path.parts:
                self.delivered_cloudtrail += path.stat().st_size
            elif "GuardDuty" in path.parts:
                self.delivered_guardduty += path.stat().st_size


def run_design(
    hot: bool, org: Path, manifest: Any, endpoint: str, work: Path, cold: bool = False
) -> dict[str, Any]:
    import boto3

    from pipeline.config import Settings
    from pipeline.workflow import make_runner
    from tests.helpers import availability

    s3 = boto3.client("s3", region_name=REGION)
    suffix = ("hot-cold" if cold else "hot") if hot else "old"
    source_bucket, lake_bucket, results = f"trail-{suffix}", f"lake-{suffix}", f"results-{suffix}"
    for bucket in (source_bucket, lake_bucket, results):
        s3.create_bucket(Bucket=bucket)
    settings = Settings().with_overrides(
        engine="athena",
        source=f"s3://{source_bucket}",
        org_id=manifest.org_id,
        data_dir=str(work / suffix / "data"),
        state=str(work / suffix / "state"),
    )
    settings.raw["catalog"].update(
        accounts=[a["id"] for a in manifest.accounts],
        regions=list(manifest.regions),
        lake_uri=f"s3://{lake_bucket}/lake",
    )
    settings.raw["athena"].update(output_location=f"s3://{results}/q/", region=REGION, poll_interval=0.01)
    settings.raw["schedule"]["hot_tier"] = hot
    settings.raw["integrity"]["validate"] = False  # digests are not what this measures
    replay = Replay(org, s3, source_bucket, availability=lambda p: _on_time(availability, p))
    start, _ = manifest.window()
    day_end = start + timedelta(days=1)
    queries: list[int] = []
    hot_written = 0
    mirror = {"objects": 0, "bytes": 0, "lists": 0}  # GuardDuty through the runner: its S3 reads
    tmp_peak = 0  # a tick's downloads plus its Parquet batch: what /tmp must hold on Lambda
    now = start + TICK
    began = time.perf_counter()
    while now <= day_end:
        replay.advance(now, until_day_end=day_end)
        if cold:  # every tick on a fresh Lambda: its /tmp (the runner's copy of the batches) is gone
            shutil.rmtree(work / suffix / "data" / "hot_cache", ignore_errors=True)
        runner = make_runner(settings, f"s3://{source_bucket}", work / suffix / "out.jsonl")
        sent: list[str] = []
        original = runner.engine.query

        def counting(sql: str, original: Callable[[str], Any] = original, sent: list[str] = sent) -> Any:
            sent.append(sql)
            post_empty_result(endpoint)
            return original(sql)

        runner.engine.query = counting  # type: ignore[method-assign]
        report = runner.tick(now)
        errors = [t.error for t in report.errors]
        if errors or report.hot_error:
            raise SystemExit(f"tick {now}: {errors or report.hot_error}")
        queries.append(len(sent))
        sync = getattr(runner.hot, "guardduty_sync", None)
        if sync is not None:
            mirror["objects"] += sync.objects
            mirror["bytes"] += sync.downloaded_bytes
            mirror["lists"] += sync.listed
        if report.hot is not None:
            hot_written += report.hot.written_bytes
            tmp_peak = max(tmp_peak, report.hot.delivered_bytes + report.hot.written_bytes)
        now += TICK
    runs = runner.store.runs()
    athena = runs[runs["engine"] == "athena"]  # the hot tier's downloads are runs of engine "s3"
    estimated = int(athena["estimated_bytes"].fillna(0).sum()) if len(athena) else 0
    downloads = runs[runs["engine"] == "s3"]
    downloaded = int(downloads["estimated_bytes"].fillna(0).sum()) if len(downloads) else 0
    by_detection = athena.groupby("detection_id")["estimated_bytes"].sum().sort_values(ascending=False)
    top = {str(k): int(v) for k, v in by_detection.head(4).items()}
    return {
        "design": ("hot cold" if cold else "hot tier") if hot else "old",
        "ticks": len(queries),
        "queries": sum(queries),
        "queries_per_tick": sum(queries) / len(queries),
        "max_queries_per_tick": max(queries),
        "estimated_bytes": estimated,
        "billed_bytes_10mb_min": sum(max(1, q) * 0 for q in queries),  # filled below
        "delivered_bytes": replay.delivered_cloudtrail,
        "delivered_guardduty_bytes": replay.delivered_guardduty,
        "guardduty_estimated_bytes": int(athena[athena["detection_id"] == "guardduty_finding"][
            "estimated_bytes"].fillna(0).sum()),
        "lake_downloaded_bytes": downloaded,
        "guardduty_mirror_objects": mirror["objects"],
        "guardduty_mirror_bytes": mirror["bytes"],
        "guardduty_mirror_day_lists": mirror["lists"],
        "hot_tier_bytes_written": hot_written,
        "tmp_peak_bytes": tmp_peak,
        "estimated_bytes_top": top,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # moto included
        "wall_s": round(time.perf_counter() - began, 1),
        "_query_counts": queries,
    }


def _on_time(availability: Callable[[Path], datetime], path: Path) -> datetime:
    """The test's availability without its late files: here every file lands at its delivery time."""
    landed = availability(path)
    return landed if "CloudTrail" not in path.parts else _named(path) or landed


def _named(path: Path) -> datetime | None:
    from pipeline.lake.hot import key_time

    return key_time(path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        type=int,
        default=24_000,
        help="CloudTrail records over the two generated days (one is replayed)",
    )
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--only", choices=["old", "hot", "cold"], default=None,
                        help="old; hot (the runner keeps its copy); cold (a fresh runner each tick)")
    args = parser.parse_args(argv)

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from pipeline.demo import generate_demo

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_ENDPOINT_URL=endpoint,
    )
    work = Path(tempfile.mkdtemp(prefix="trailguard-incremental-"))
    try:
        manifest = generate_demo(work / "org", seed=args.seed, events=args.events, days=2)
        results = []
        for name, hot, cold in (("old", False, False), ("hot", True, False), ("cold", True, True)):
            if args.only and args.only != name:
                continue
            result = run_design(hot, work / "org", manifest, endpoint, work, cold=cold)
            ten_mb = 10 * 1000 * 1000
            # Athena bills at least 10 MB per query; the per-query estimates are in the findings store
            result["billed_bytes_10mb_min"] = max(result["queries"] * ten_mb, result["estimated_bytes"])
            results.append(result)
            ratio = result["estimated_bytes"] / max(1, result["delivered_bytes"])
            print(
                f"{result['design']:>8}: {result['ticks']} ticks, {result['queries']} queries "
                f"({result['queries_per_tick']:.2f}/tick, max {result['max_queries_per_tick']}), "
                f"estimated scan {result['estimated_bytes']:,} B for {result['delivered_bytes']:,} B of "
                f"CloudTrail delivered ({ratio:.2f}x; GuardDuty's own query "
                f"{result['guardduty_estimated_bytes']:,} B for {result['delivered_guardduty_bytes']:,} B "
                f"delivered; GuardDuty mirror GETs {result['guardduty_mirror_objects']} objects, "
                f"{result['guardduty_mirror_bytes']:,} B, {result['guardduty_mirror_day_lists']} day LISTs); "
                f"recorded S3 downloads (lake batches, cold mirror) {result['lake_downloaded_bytes']:,} B; "
                f"hot tier written {result['hot_tier_bytes_written']:,} B; {result['wall_s']} s; "
                f"largest estimates {result['estimated_bytes_top']}; "
                f"/tmp peak {result['tmp_peak_bytes']:,} B; "
                f"peak RSS {result['peak_rss_mb']} MB"
            )
        print(
            " ".join(
                f"{r['design'].replace(' ', '_')}_{k}={v}"
                for r in results
                for k, v in r.items()
                if k not in ("design", "_query_counts")
            )
        )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The hot tier on the Athena engine, against S3 on moto.

The production path end to end: listing and downloading deliveries with boto3, writing the tier to
``[catalog] lake_uri``, the runner's copy of the batches in its data dir, and a cold runner (its
copy gone, as Lambda's ``/tmp``) downloading the batches it lacks from the lake bucket; GuardDuty
through the runner's mirror of the export objects (no Athena query either).
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.detections.scan_guard import ScanGuard
from pipeline.lake.hot import HOT_FOLDER
from pipeline.times import parse_iso
from pipeline.workflow import detect, make_runner
from tests.helpers import TICK, availability, catalogue_settings

pytestmark = [pytest.mark.aws, pytest.mark.slow]

RESULTS = "hot-results"


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
    per_tick, cold_ticks, downloads, recorded, warm_objects = [], [], [], 0, 0
    cache = tmp_path / "data" / "hot_cache"
    tick = 0
    while now <= last:
        arrived: list[Path] = []
        while pending and pending[0][0] <= now:
            _, path = pending.pop(0)
            s3.upload_file(str(path), "hot-trail", path.relative_to(root / "org").as_posix())
            uploaded.append(path)
            arrived.append(path)
        cold = tick % 5 == 4  # a cold runner (Lambda's /tmp gone): it holds no batch
        if cold:
            shutil.rmtree(cache, ignore_errors=True)
        runner = make_runner(settings, "s3://hot-trail", tmp_path / "out.jsonl", str(tmp_path / "state"))
        sent: list[str] = []
        original = runner.engine.query
        runner.engine.query = lambda sql, sent=sent, original=original: sent.append(sql) or original(sql)
        report = runner.tick(now)
        assert not report.errors and not report.hot_error, [t.error for t in report.errors]
        assert not runner.hot.fallback and runner.hot.active
        assert runner.hot.guardduty_active == {"guardduty_finding"}  # GuardDuty through the mirror too
        sync = runner.hot.guardduty_sync
        held = [p for p in uploaded if "GuardDuty" in p.parts and "/".join(p.parts[-4:-1]) in sync.days]
        if cold or tick == 0:  # a cold runner downloads every object of the days its windows reach
            assert sync.cold and sync.objects == len(held)
        else:  # a warm one only what arrived since the last tick: each object is downloaded once
            assert not sync.cold
            assert sync.objects == len([p for p in arrived if p in held])
            warm_objects += sync.objects
        per_tick.append(len(sent))
        cold_ticks.append(cold)
        downloads.append([q["batches"] for q in runner.hot.queries if q["source"] == "cloudtrail_hot"])
        mirrored = [q for q in runner.hot.queries if q["source"] == "guardduty"]
        assert mirrored == [] if not (cold and sync.objects) else len(mirrored) == 1
        recorded += len(runner.hot.queries)
        now += TICK
        tick += 1
    assert sum(per_tick) == 0  # no Athena query on any tick: every detection, GuardDuty's too, ran locally
    # a warm runner holds every batch (the one it just wrote included): nothing downloaded;
    # a cold one downloads the look-back's batches once, in one go
    assert all(d == [] for d, cold in zip(downloads, cold_ticks, strict=True) if not cold)
    assert all(len(d) == 1 and d[0] >= 2 for d, cold in zip(downloads, cold_ticks, strict=True) if cold)
    assert sum(cold_ticks) >= 7 and warm_objects > 0
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
    # GuardDuty's findings are in both, those of the late export objects included
    guardduty = {ids for detection, ids in latest.values() if detection == "guardduty_finding"}
    late = [p for p in uploaded if "GuardDuty" in p.parts and availability(p) > _landed_on_time(p)]
    in_period = {i for p in late for i, t in _findings(p) if t < last - timedelta(minutes=15)}
    assert guardduty and in_period and in_period <= {i for ids in guardduty for i in ids}
    # each download is recorded (engine s3) with the bytes it read from the lake or the trail
    runs = runner.store.runs()
    fetches = runs[runs["detection_id"] == "hot_tier"]
    assert len(fetches) == recorded >= sum(cold_ticks) and (fetches["engine"] == "s3").all()
    assert (fetches["estimated_bytes"] > 0).all()


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


def _findings(path: Path) -> list:
    """(id, updatedAt) of each finding in a GuardDuty export object."""
    with gzip.open(path, "rt") as handle:
        return [(f["id"], parse_iso(f["updatedAt"])) for f in map(json.loads, filter(str.strip, handle))]


def _landed_on_time(path: Path):  # noqa: ANN202
    """When a GuardDuty object lands when it is not late (the helper's rule without its delay)."""
    return max(t for _, t in _findings(path)) + timedelta(minutes=5)

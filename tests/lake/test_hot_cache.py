"""The runner's copy of hot-tier batches: the ingest fills it, only manifest-named entries count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pipeline.lake.hot import MANIFEST, HotTier, RowPlan, Storage
from pipeline.lake.hot_cache import BatchCache
from pipeline.source.writer import write_cloudtrail
from tests.helpers import s3_read

T0 = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
PLAN = RowPlan(matched=None, keep_all_rows=True, all_row_columns=frozenset({"eventid"}), fingerprint="p1")


def record(n: int, when: datetime) -> dict:
    return s3_read(f"e{n:03d}", when, {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/a"})


def test_the_ingest_keeps_a_copy_of_the_batch_it_wrote(tmp_path):
    source, lake, cache = tmp_path / "bucket", tmp_path / "lake", BatchCache(tmp_path / "cache")
    tier = HotTier(Storage(str(source)), Storage(str(lake)), cache=cache)
    write_cloudtrail(source, [record(1, T0 - timedelta(minutes=10))])
    assert tier.ingest(T0, timedelta(hours=1), timedelta(minutes=60), PLAN).rows == 1
    (entry,) = json.loads((lake / MANIFEST).read_text())["batches"]
    assert cache.has(entry)  # the same bytes as the lake file: nothing to download or query
    (named,) = entry["files"]
    assert cache.path_of(entry).read_bytes() == (lake / named).read_bytes()
    # an entry naming other files (a batch another run rewrote) is not this copy
    assert not cache.has({**entry, "files": [named.replace("part-", "part-x")]})


def test_a_plan_change_names_the_same_objects_another_file(tmp_path):
    """Same objects under another plan are other rows: a cached copy of the first is never taken for it."""
    source = tmp_path / "bucket"
    write_cloudtrail(source, [record(1, T0 - timedelta(minutes=10))])
    files = []
    for n, fingerprint in enumerate(("p1", "p2")):
        lake = tmp_path / f"lake{n}"
        tier = HotTier(Storage(str(source)), Storage(str(lake)))
        plan = RowPlan(None, True, frozenset({"eventid"}), fingerprint)
        tier.ingest(T0, timedelta(hours=1), timedelta(minutes=60), plan)
        files += json.loads((lake / MANIFEST).read_text())["batches"][0]["files"]
    assert files[0] != files[1]


def test_prune_keeps_only_what_it_is_told(tmp_path):
    cache = BatchCache(tmp_path / "cache")
    source = tmp_path / "x.parquet"
    source.write_bytes(b"PAR1")
    old = cache.put("2026/01/15/0900", ["a"], source)
    new = cache.put("2026/01/15/1000", ["b"], source)
    assert cache.prune([new]) == 1
    assert new.is_file() and not old.exists()
    assert not list(cache.root.rglob("*.partial"))

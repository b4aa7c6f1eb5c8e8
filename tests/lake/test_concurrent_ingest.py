"""Two runners at once on a fresh lake: ingest is serialized, each record stored once (issue 16, item 8)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from pipeline.catalog.specs import load_specs
from pipeline.config import Settings
from pipeline.demo import generate_demo
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.access import ingest


def _ingest(source: str, data_dir: str, queue) -> None:  # noqa: ANN001 - a multiprocessing queue
    try:
        _, reports = ingest(Settings().with_overrides(data_dir=data_dir), source)
        queue.put(("ok", sum(r.records_ingested for r in reports if r.table == "cloudtrail")))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which asserts on it
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def test_two_ingests_at_once_on_a_fresh_lake(tmp_path: Path) -> None:
    manifest = generate_demo(tmp_path / "demo", events=20_000, days=2, digests=False)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_ingest, args=(str(tmp_path / "demo"), str(tmp_path / "data"), queue))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert all(status == "ok" for status, _ in results), results
    assert sorted(count for _, count in results)[0] == 0  # the second found the first one's work done
    lake = next((tmp_path / "data" / "lake").iterdir())
    engine = DuckDBEngine(lake, load_specs())
    try:
        stored = int(engine.query("SELECT count(*) AS n FROM cloudtrail").frame["n"][0])
    finally:
        engine.close()
    assert stored == sum(count for _, count in results) == manifest.total_events

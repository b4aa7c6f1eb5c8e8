"""Pruning by construction: every detection, rendered for a 1-hour window, reads only its day partitions.

Two proofs per detection file in ``queries/detections/`` (whoever added it): the partition
predicates in the rendered Athena SQL name exactly the window's days (plus the next, for
delivery lag), and DuckDB's profile of the translated query over the lake of the session's
two-week ``demo_detected`` (tests/conftest.py) shows each scan opening exactly the files of those
days (of the table it reads), out of two weeks' worth.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from pipeline.catalog.specs import LAKE_FOLDERS, LOGICAL_TABLES
from pipeline.detections.run import render_detection
from pipeline.detections.spec import DETECTIONS_DIR, parse_detection
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.engines.templating import partition_days
from pipeline.lake.access import lake_for

START, END = datetime(2026, 11, 3, 12, tzinfo=UTC), datetime(2026, 11, 3, 13, tzinfo=UTC)
DETECTION_FILES = sorted(DETECTIONS_DIR.glob("*.sql"))
ALL_DAYS = [f"2026/11/{n:02d}" for n in range(2, 17)]  # demo_org: two weeks, delivered up to the next day


@pytest.fixture(scope="module")
def engine(demo_detected) -> DuckDBEngine:
    """The lake of two weeks of the demo organization (4 accounts, 3 regions): real values, so DuckDB's
    statistics cannot prove a query empty without opening files."""
    return DuckDBEngine(lake_for(demo_detected.settings, str(demo_detected.demo)))


def lake_files(engine: DuckDBEngine, logical: str, days: list[str]) -> list[Path]:
    files = sorted((engine.lake / LAKE_FOLDERS[logical]).rglob("*.parquet"))
    return [f for f in files if "/".join(f.parent.parts[-3:]) in days]


def _rendered(path: Path, engine: DuckDBEngine) -> tuple[str, list[str], tuple[str, ...]]:
    detection = parse_detection(path)
    sql, _ = render_detection(detection, engine, START, END)
    query_start = START.timestamp() - 60 * detection.lookback_minutes
    days = partition_days(datetime.fromtimestamp(query_start, UTC), END)
    return sql, days, detection.tables


def test_the_lake_has_more_days_than_a_window_touches(engine: DuckDBEngine) -> None:
    window = partition_days(START, END)
    for logical in LOGICAL_TABLES:
        assert 0 < len(lake_files(engine, logical, window)) < len(lake_files(engine, logical, ALL_DAYS)) / 2
    assert DETECTION_FILES, "no detections found"


@pytest.mark.parametrize("path", DETECTION_FILES, ids=lambda p: p.stem)
def test_rendered_partition_predicates_name_only_the_window_days(path: Path, engine: DuckDBEngine) -> None:
    sql, days, _ = _rendered(path, engine)
    predicates = [
        node
        for tree in sqlglot.parse(sql, read="athena")
        if tree is not None
        for node in tree.find_all(exp.In)
        if isinstance(node.this, exp.Column) and node.this.name == "day"
    ]
    assert predicates, f"{path.name}: no day IN (...) predicate"
    for node in predicates:
        assert sorted(v.name for v in node.expressions) == days, node.sql()


@pytest.mark.parametrize("path", DETECTION_FILES, ids=lambda p: p.stem)
def test_duckdb_opens_only_the_window_day_files(path: Path, engine: DuckDBEngine) -> None:
    sql, days, tables = _rendered(path, engine)
    scans = [s for s in engine.scans(sql) if s.function == "READ_PARQUET"]
    assert len(scans) >= len(tables), f"{path.name}: expected a scan per table, got {scans}"
    expected = {len(lake_files(engine, logical, days)) for logical in tables}
    for scan in scans:
        assert scan.files_read in expected, f"{path.name}: {scan} (window files: {expected})"

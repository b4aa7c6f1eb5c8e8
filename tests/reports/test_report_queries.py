"""Every query of queries/reports/ and queries/hunts/ as Athena receives it: valid Athena SQL,
every partitioned table read through the window's partition predicate, translatable to DuckDB."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.detections.lint import ATHENA_NAMES, TIME_COLUMNS, LintResult, lint_sql
from pipeline.engines.queries import KINDS, query_path, render_query
from pipeline.engines.templating import QUERIES_DIR

START, END = datetime(2026, 11, 9, tzinfo=UTC), datetime(2026, 11, 9, 1, tzinfo=UTC)
PARAMS = {
    "top_apis": {"limit": 10},
    "first_seen": {"period_start": START},
    "timeline": {"field": "useridentity.arn", "value": "x", "limit": 10},
    "pivot": {"field": "sourceipaddress", "value": "x", "by": "useridentity.arn"},
    "guardduty_related": {"user_names": ["a"], "access_keys": ["b"], "ips": ["c"]},
    "finding_records": {"event_ids": ["e1", "e2"], "limit": 50},
    "finding_guardduty": {"event_ids": ["g1"], "limit": 50},
}
QUERIES = [(kind, path.stem) for kind in KINDS for path in sorted((QUERIES_DIR / kind).glob("*.sql"))]


class AthenaNames:
    name = "athena"
    table_names = ATHENA_NAMES
    time_columns = TIME_COLUMNS


@pytest.mark.parametrize(("kind", "name"), QUERIES, ids=[f"{k}/{n}" for k, n in QUERIES])
def test_query_lints_as_athena_sql_and_prunes_partitions(kind, name):
    sql = render_query(name, AthenaNames(), START, END, kind, **PARAMS.get(name, {}))
    path = query_path(name, kind)
    result = LintResult(path)
    lint_sql(sql, path, result, require_finding_columns=False)
    assert result.ok, result.problems
    assert "'2026/11/09'" in sql and "'2026/11/11'" not in sql


def test_unknown_queries_are_named():
    with pytest.raises(ValueError, match="no query reports/nope.sql; known: .*event_volume"):
        query_path("nope")
    with pytest.raises(ValueError, match="query kind"):
        query_path("event_volume", "detections")

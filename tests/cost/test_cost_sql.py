"""The cost volume query as Athena receives it: valid Athena SQL, partitions pruned by window()."""

from __future__ import annotations

import pandas as pd

from pipeline.cost.period import month_period
from pipeline.cost.volumes import measure_events
from pipeline.detections.lint import ATHENA_NAMES, TIME_COLUMNS, LintResult, lint_sql
from pipeline.engines.base import QueryResult
from pipeline.engines.queries import query_path


class RecordingEngine:
    """Stands in for Athena: keeps the SQL, answers with canned rows (strings, as pyathena may)."""

    name = "athena"
    table_names = ATHENA_NAMES
    time_columns = TIME_COLUMNS

    def __init__(self) -> None:
        self.sql: list[str] = []

    def query(self, sql: str) -> QueryResult:
        self.sql.append(sql)
        rows = [("111111111111", "us-east-1", "2026-11-02", "management", "42")]
        frame = pd.DataFrame(rows, columns=["account_id", "region", "event_day", "category", "events"])
        return QueryResult(frame, "athena", 0.1, query_id="q-1", bytes_scanned=1234)

    def close(self) -> None:
        pass


def test_volume_query_prunes_the_month_and_the_delivery_day_after():
    engine = RecordingEngine()
    frame = measure_events(engine, month_period("2026-11"))
    assert frame["events"].tolist() == [42] and frame["events"].dtype == "int64"
    sql = engine.sql[0]
    assert '"trailguard"."cloudtrail"' in sql
    assert (
        "'2026/11/01'" in sql and "'2026/11/30'" in sql and "'2026/12/01'" in sql
    )  # files delivered after midnight
    assert "'2026/12/02'" not in sql
    assert "eventtime >= '2026-11-01T00:00:00' AND eventtime < '2026-12-01T00:00:00'" in sql
    path = query_path("cost_cloudtrail_volumes")
    result = LintResult(path)
    lint_sql(sql, path, result, require_finding_columns=False)
    assert result.ok, result.problems

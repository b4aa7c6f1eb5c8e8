"""Run the aggregations of ``queries/reports/`` and the pivots of ``queries/hunts/`` on either engine.

The SQL is the same Jinja-templated Athena SQL as the detections' (quoted values, the
``window()`` partition predicate); this module only renders it for a window, runs it on the engine
and hands back a DataFrame with the dtypes an analyst expects.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.engines.base import Engine
from pipeline.engines.templating import QUERIES_DIR, RenderContext, render

KINDS = ("reports", "hunts")


def query_path(name: str, kind: str = "reports") -> Path:
    """``queries/<kind>/<name>.sql``; an unknown name is an error naming what exists."""
    if kind not in KINDS:
        raise ValueError(f"query kind {kind!r}: expected one of {', '.join(KINDS)}")
    path = QUERIES_DIR / kind / f"{name}.sql"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (QUERIES_DIR / kind).glob("*.sql")))
        raise ValueError(f"no query {kind}/{name}.sql; known: {known}")
    return path


def render_query(
    name: str, engine: Engine, start: datetime, end: datetime, kind: str = "reports", **params: Any
) -> str:
    """The query's SQL for ``[start, end)`` on ``engine``, ``params`` as quoted literals."""
    path = query_path(name, kind)
    ctx = RenderContext(
        start=start, end=end, table_names=engine.table_names, time_columns=engine.time_columns, params=params
    )
    return render(path.read_text(encoding="utf-8"), ctx, name=str(path))


def run_query(
    name: str, engine: Engine, start: datetime, end: datetime, kind: str = "reports", **params: Any
) -> pd.DataFrame:
    """Run one report or hunt query and return its rows."""
    return engine.query(render_query(name, engine, start, end, kind, **params)).frame


def typed(
    frame: pd.DataFrame,
    *,
    times: Iterable[str] = (),
    counts: Iterable[str] = (),
    categories: Iterable[str] = (),
    ordered: dict[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Give columns the dtypes analysts expect whatever the engine returned.

    Times become UTC datetimes (CloudTrail's ISO strings, Athena's timestamps, DuckDB's), counts
    int64 (an empty or all-NULL column too: a count of nothing is 0), repeated labels categories,
    and severity an ordered category so that sorting puts critical above low.
    """
    frame = frame.copy()
    for column in times:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601", errors="coerce")
    for column in counts:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype("int64")
    for column in categories:
        if column in frame:
            frame[column] = frame[column].astype("category")
    for column, levels in (ordered or {}).items():
        if column in frame:
            frame[column] = pd.Categorical(frame[column], categories=levels, ordered=True)
    return frame

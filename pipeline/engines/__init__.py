"""Query engines: Athena (production, scale-out) and DuckDB (embedded default).

Both take the same hand-written Athena SQL and return a :class:`QueryResult`.
"""

from pipeline.engines.base import Engine, EngineError, QueryResult

__all__ = ["Engine", "EngineError", "QueryResult"]

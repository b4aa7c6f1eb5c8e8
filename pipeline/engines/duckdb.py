"""The embedded engine: Athena SQL, translated by sqlglot plus our fix-ups, run by DuckDB.

Tables are views over the local Parquet lake that ``trailguard ingest`` writes (partitions
derived from the path, so window predicates skip files). A table with no data yet is an empty,
typed view: queries still bind and return no rows.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipeline.catalog.duckdb_views import empty_scan_sql, parquet_scan_sql
from pipeline.catalog.specs import LAKE_FOLDERS, LOGICAL_TABLES, TableSpec, load_specs
from pipeline.engines.base import EngineError, QueryResult
from pipeline.engines.dialect import configure_connection, to_duckdb

if TYPE_CHECKING:
    from pipeline.config import Settings

_WINDOW_LITERAL = re.compile(r"'(\d{4}/\d{2}/\d{2}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})'")
_PLACEHOLDER = re.compile(r"__tgw(\d+)__")


# In Lambda, DuckDB's own default (80% of the memory it sees) leaves too little for Python, pandas
# and pyarrow beside it: the function is killed instead of DuckDB spilling. Lambda says its size.
LAMBDA_MEMORY_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
LAMBDA_DUCKDB_SHARE = 0.5


def default_memory_limit(environ: dict[str, str] | None = None) -> str:
    """``[duckdb] memory_limit`` when unset: half of a Lambda function's memory there, else DuckDB's."""
    text = (os.environ if environ is None else environ).get(LAMBDA_MEMORY_ENV, "")
    return f"{int(int(text) * LAMBDA_DUCKDB_SHARE)}MB" if text.isdigit() else ""


def configured_options(settings: Settings) -> dict[str, Any]:
    """``[duckdb] threads`` and ``memory_limit`` as :class:`DuckDBEngine`'s keyword arguments."""
    duck = settings["duckdb"]
    return {"threads": int(duck.get("threads") or 0), "memory_limit": str(duck.get("memory_limit") or "")}


@dataclass(frozen=True)
class ScanReport:
    """One table scan of a query as DuckDB's profiler saw it: how many files it opened, and why."""

    function: str
    files_read: int
    file_filters: str


@functools.lru_cache(maxsize=512)
def _translate_shape(shape: str, schema_json: str) -> str:
    return to_duckdb(shape, json.loads(schema_json))


class DuckDBEngine:
    """Runs Athena-dialect SQL over a local lake; ``lake`` is the folder ``ingest`` writes."""

    name = "duckdb"

    def __init__(
        self,
        lake: Path,
        specs: dict[str, TableSpec] | None = None,
        *,
        threads: int = 0,
        memory_limit: str = "",
        spill_dir: Path | None = None,
    ) -> None:
        self.lake = Path(lake)
        self.specs = specs or load_specs()
        self.con = duckdb.connect()
        configure_connection(self.con)
        if threads:
            self.con.execute(f"SET threads={int(threads)}")
        memory_limit = memory_limit or default_memory_limit()
        if memory_limit:
            self.con.execute("SET memory_limit=?", [memory_limit])
        if spill_dir is not None:
            # Where rows over memory_limit go; DuckDB's default (.tmp in the working folder) is
            # read-only in Lambda (/var/task), so an in-memory database there could not spill.
            self.con.execute("SET temp_directory=?", [str(spill_dir)])
        self.refresh()

    @property
    def table_names(self) -> dict[str, str]:
        return {logical: logical for logical in LOGICAL_TABLES}

    @property
    def time_columns(self) -> dict[str, str]:
        return {logical: self.specs[physical[1]].time_column for logical, physical in LOGICAL_TABLES.items()}

    def schema(self) -> dict[str, dict[str, str]]:
        return {
            logical: self.specs[physical[1]].sqlglot_schema() for logical, physical in LOGICAL_TABLES.items()
        }

    def refresh(self) -> None:
        """(Re)create the views, e.g. after an ingest added the first files of a table."""
        for logical, (_, physical) in LOGICAL_TABLES.items():
            spec = self.specs[physical]
            root = self.lake / LAKE_FOLDERS[logical]
            has_files = root.is_dir() and any(root.rglob(spec.file_glob))
            body = parquet_scan_sql(spec, root) if has_files else empty_scan_sql(spec)
            self.con.execute(f"CREATE OR REPLACE VIEW {logical} AS {body}")

    def translate(self, sql: str) -> str:
        """Translate once per query shape: the window's day and time literals vary, nothing else.

        Scheduled runs render the same detection for a new window every tick; sqlglot's parse,
        qualify and type annotation cost more than the query itself on a small window. No fix-up
        reads these literals (they are plain dates and times), so they are swapped for
        placeholders before translating and put back after.
        """
        values: list[str] = []

        def hold(match: re.Match[str]) -> str:
            values.append(match.group(1))
            return f"'__tgw{len(values) - 1}__'"

        shape = _WINDOW_LITERAL.sub(hold, sql)
        translated = _translate_shape(shape, json.dumps(self.schema(), sort_keys=True))
        return _PLACEHOLDER.sub(lambda m: values[int(m.group(1))], translated)

    def query(self, sql: str) -> QueryResult:
        started = time.perf_counter()
        try:
            translated = self.translate(sql)
        except Exception as exc:  # sqlglot raises several error types; all mean "cannot translate"
            raise EngineError(f"duckdb: cannot translate query: {exc}") from exc
        try:
            frame = self.con.execute(translated).df()
        except duckdb.Error as exc:
            first_line = str(exc).splitlines()[0]
            raise EngineError(f"duckdb: query failed: {first_line}") from exc
        return QueryResult(
            frame=frame, engine=self.name, duration_s=time.perf_counter() - started, extra={"sql": translated}
        )

    @contextlib.contextmanager
    def shared_rows(self, logical: str, filters: list[str]) -> Iterator[int]:
        """Inside the block, ``logical`` is a temporary table of its rows matching any of ``filters``.

        ``filters`` are Athena-dialect predicates (each detection's own ``WHERE``); the rows are read
        once, with every column, and the queries run inside read them instead of the lake (see
        :mod:`pipeline.detections.shared_pass`). Yields the number of rows kept; the view is restored after.
        """
        union = " OR ".join(f"({f})" for f in filters)
        try:
            translated = self.translate(f"SELECT * FROM {logical} WHERE {union}")
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE _shared_{logical} AS {translated}")
            self.con.execute(f"CREATE OR REPLACE VIEW {logical} AS SELECT * FROM _shared_{logical}")
            rows = self.con.execute(f"SELECT count(*) FROM _shared_{logical}").fetchall()[0][0]
        except (duckdb.Error, ValueError) as exc:  # sqlglot errors are ValueErrors
            self.refresh()
            raise EngineError(f"duckdb: shared scan of {logical} failed: {str(exc).splitlines()[0]}") from exc
        try:
            yield int(rows)
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS _shared_{logical}")
            self.refresh()

    def scans(self, sql: str) -> list[ScanReport]:
        """Run ``sql`` under DuckDB's profiler and report what each table scan opened.

        The proof that a window prunes: DuckDB applies the ``day`` predicate to file names before
        opening files, and its profile counts the files each scan read. Used by the pruning test
        and the benchmark; the query runs (EXPLAIN ANALYZE), its rows are discarded.
        """
        translated = self.translate(sql)
        self.con.execute("PRAGMA enable_profiling='json'")
        try:
            rows = self.con.execute("EXPLAIN ANALYZE " + translated).fetchall()
        except duckdb.Error as exc:
            raise EngineError(f"duckdb: query failed: {str(exc).splitlines()[0]}") from exc
        finally:
            self.con.execute("PRAGMA disable_profiling")
        found: list[ScanReport] = []
        stack = list(json.loads(rows[0][1]).get("operator", []))
        while stack:
            op = stack.pop()
            stack.extend(op.get("children", []))
            info = op.get("extra_info") or {}
            if "Total Files Read" in info:
                function = str(info.get("Function", op.get("name")))
                filters = str(info.get("File Filters", ""))
                found.append(ScanReport(function, int(info["Total Files Read"]), filters))
        return found

    def close(self) -> None:
        self.con.close()

"""Athena engine: the production path, where a scan of the whole organization's logs scales out.

Runs the same hand-written Athena SQL as the embedded engine, through PyAthena's pandas cursor
(results are read as the CSV Athena writes to S3, far faster than paging ``GetQueryResults``).
Every result carries the query id, the bytes scanned and the workgroup, because on Athena a query
costs money and an analyst must be able to find it in the console; every failure names the
query id, its final state and Athena's own reason, because "query failed" alone sends people to
CloudTrail to find out which one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from pyathena import connect
from pyathena.connection import Connection
from pyathena.cursor import Cursor
from pyathena.error import Error as PyAthenaError
from pyathena.pandas.cursor import PandasCursor

from pipeline.catalog.specs import LOGICAL_TABLES, TableSpec, load_specs, physical_table
from pipeline.engines.base import EngineError, QueryResult
from pipeline.engines.templating import partition_days

CompactedDays = Callable[[str], frozenset[str]]  # logical table -> partition days compacted to Parquet


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class AthenaEngine:
    """Runs Athena-dialect SQL on Amazon Athena and returns pandas frames with their cost.

    ``endpoint_url`` is for the Athena API only (a VPC interface endpoint, or a local emulator in
    tests); production leaves it ``None``. PyAthena reads result files with its own S3 client,
    which deliberately does not inherit the Athena endpoint; point it elsewhere with botocore's
    ``AWS_ENDPOINT_URL_S3`` if needed. ``output_location`` may be omitted when the workgroup
    sets one (or uses managed query results). ``on_query_started`` receives each query id as
    soon as Athena accepts the query, so a CLI can show it and a notebook can cancel it.
    """

    name = "athena"

    def __init__(self, database: str, workgroup: str = "primary", output_location: str | None = None,
                 region_name: str | None = None, endpoint_url: str | None = None, use_parquet: bool = False,
                 poll_interval: float = 1.0, specs: Mapping[str, TableSpec] | None = None,
                 on_query_started: Callable[[str], None] | None = None,
                 compacted: CompactedDays | None = None) -> None:
        if not database:
            raise EngineError("athena: no database configured ([catalog] database)")
        self.database = database
        self.workgroup = workgroup or None
        self.output_location = output_location or None
        self.region_name = region_name or None
        self.endpoint_url = endpoint_url
        self.use_parquet = use_parquet
        self.poll_interval = poll_interval
        self.on_query_started = on_query_started
        self.compacted = compacted
        self._specs = dict(specs) if specs is not None else load_specs()
        self._connection: Connection[PandasCursor] | None = None
        if not self.workgroup and not self.output_location:
            raise EngineError("athena: set [athena] workgroup or [athena] output_location "
                              "(Athena needs one of them to know where results go)")

    @classmethod
    def from_settings(cls, settings: Any, endpoint_url: str | None = None,
                      compacted: CompactedDays | None = None) -> AthenaEngine:
        """Build from :class:`pipeline.config.Settings` (sections ``athena`` and ``catalog``).

        ``compacted`` (:func:`pipeline.lake.access.open_engine` reads it from the lake's markers)
        lets a window whose days are all compacted read the Parquet table instead of the raw JSON.
        """
        athena = settings["athena"]
        return cls(
            database=str(settings["catalog"]["database"]),
            workgroup=str(athena.get("workgroup") or "") or "primary",
            output_location=str(athena.get("output_location") or "") or None,
            region_name=str(athena.get("region") or "") or None,
            endpoint_url=endpoint_url,
            use_parquet=bool(athena.get("use_parquet", False)),
            poll_interval=float(athena.get("poll_interval", 1.0)),
            compacted=compacted,
        )

    def _physical(self, logical: str) -> str:
        raw, parquet = LOGICAL_TABLES[logical]
        return parquet if self.use_parquet else raw

    @property
    def table_names(self) -> dict[str, str]:
        """Logical table -> fully qualified, quoted name: ``"db"."cloudtrail"`` or its Parquet twin."""
        database = _quote(self.database)
        return {logical: f"{database}.{_quote(self._physical(logical))}" for logical in LOGICAL_TABLES}

    def tables_for(self, start: datetime, end: datetime) -> dict[str, str]:
        """``table_names`` for one window: the Parquet twin wherever every day of the window is compacted."""
        days = partition_days(start, end)
        database = _quote(self.database)
        out = {}
        for logical in LOGICAL_TABLES:
            compacted = self.compacted(logical) if self.compacted and not self.use_parquet else None
            out[logical] = f"{database}.{_quote(physical_table(logical, days, compacted, self.use_parquet))}"
        return out

    @property
    def time_columns(self) -> dict[str, str]:
        """Logical table -> its time column, as the spec of the physical table declares it."""
        return {logical: self._specs[self._physical(logical)].time_column for logical in LOGICAL_TABLES}

    def _connect(self) -> Connection[PandasCursor]:
        """One connection per engine, made on first use so building an engine needs no credentials."""
        if self._connection is None:
            try:
                self._connection = connect(
                    # "" rather than None: PyAthena would otherwise fall back to its own environment
                    # variable, and trailguard's configuration is meant to be the only source.
                    s3_staging_dir=self.output_location or "",
                    work_group=self.workgroup,
                    schema_name=self.database,
                    region_name=self.region_name,
                    endpoint_url=self.endpoint_url,
                    poll_interval=self.poll_interval,
                    cursor_class=PandasCursor,
                    kill_on_interrupt=True,  # Ctrl-C cancels the scan instead of leaving it billing
                )
            except (PyAthenaError, BotoCoreError, ClientError) as exc:
                raise EngineError(f"athena: cannot connect (workgroup {self.workgroup}): {exc}") from exc
        return self._connection

    def query(self, sql: str) -> QueryResult:
        """Run one statement and wait for it; raises :class:`EngineError` unless it SUCCEEDED."""
        started = time.monotonic()
        connection = self._connect()
        cursor = connection.cursor()
        try:
            try:
                cursor.execute(sql, on_start_query_execution=self.on_query_started)
                frame = cursor.as_pandas()
            except (PyAthenaError, BotoCoreError, ClientError) as exc:
                raise self._failure(cursor.query_id, exc) from exc
            return QueryResult(
                frame=frame,
                engine=self.name,
                duration_s=time.monotonic() - started,
                query_id=cursor.query_id,
                bytes_scanned=cursor.data_scanned_in_bytes,
                workgroup=cursor.work_group or self.workgroup,
                output_location=cursor.output_location,
                extra={
                    "engine_execution_ms": cursor.engine_execution_time_in_millis,
                    "queue_ms": cursor.query_queue_time_in_millis,
                    "total_execution_ms": cursor.total_execution_time_in_millis,
                    "reused_previous_result": cursor.reused_previous_result,
                },
            )
        finally:
            cursor.close()

    def execute(self, sql: str) -> QueryResult:
        """Run a statement that returns no rows (``UNLOAD``, DDL) and wait for it.

        ``query`` would read a result CSV that such statements do not write; the cost and the query
        id are reported the same way.
        """
        started = time.monotonic()
        cursor = self._connect().cursor(Cursor)
        try:
            try:
                cursor.execute(sql, on_start_query_execution=self.on_query_started)
            except (PyAthenaError, BotoCoreError, ClientError) as exc:
                raise self._failure(cursor.query_id, exc) from exc
            return QueryResult(frame=pd.DataFrame(), engine=self.name, duration_s=time.monotonic() - started,
                               query_id=cursor.query_id, bytes_scanned=cursor.data_scanned_in_bytes,
                               workgroup=cursor.work_group or self.workgroup,
                               output_location=cursor.output_location)
        finally:
            cursor.close()

    def _failure(self, query_id: str | None, exc: Exception) -> EngineError:
        """Turn PyAthena's error into one naming the query id, its state and Athena's reason.

        PyAthena raises ``OperationalError(StateChangeReason)`` for a FAILED or CANCELLED query:
        the reason, but neither the state nor the id. The id is on the cursor; state and reason
        are asked again from ``GetQueryExecution``, which also carries ``AthenaError`` when the
        reason is empty (a cancelled query has none).
        """
        if query_id is None:
            return EngineError(f"athena: the query was not started (workgroup {self.workgroup}): {exc}")
        execution: dict[str, Any] = {}
        # If even this fails, PyAthena's message is kept: the id alone is still worth reporting.
        with contextlib.suppress(BotoCoreError, ClientError, KeyError):
            client = self._connect().client
            execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status = execution.get("Status", {})
        state = status.get("State", "UNKNOWN")
        workgroup = execution.get("WorkGroup") or self.workgroup
        if state == "SUCCEEDED":
            location = execution.get("ResultConfiguration", {}).get("OutputLocation", "?")
            return EngineError(f"athena query {query_id} (workgroup {workgroup}) SUCCEEDED but its results "
                               f"could not be read from {location}: {exc}")
        pyathena_reason = str(exc.args[0]) if exc.args and exc.args[0] else ""
        reason = (status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage")
                  or pyathena_reason or "no reason given")
        return EngineError(f"athena query {query_id} (workgroup {workgroup}) {state}: {reason}")

    def cancel(self, query_id: str) -> None:
        """Stop a running query (it ends CANCELLED; the scan so far is still billed)."""
        try:
            self._connect().client.stop_query_execution(QueryExecutionId=query_id)
        except (BotoCoreError, ClientError) as exc:
            raise EngineError(f"athena: could not cancel query {query_id}: {exc}") from exc

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

"""The engine interface both implementations satisfy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from pipeline.errors import RunError


class EngineError(RunError):
    """A query the engine refused or could not finish; the message says which and why."""


@dataclass
class QueryResult:
    """Rows plus what it cost: every result says where it ran and what it scanned."""

    frame: pd.DataFrame
    engine: str
    duration_s: float
    query_id: str | None = None
    bytes_scanned: int | None = None
    workgroup: str | None = None
    output_location: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


class Engine(Protocol):
    """Runs Athena-dialect SQL. ``table_names`` maps logical tables to names usable in that SQL."""

    name: str

    @property
    def table_names(self) -> dict[str, str]: ...

    @property
    def time_columns(self) -> dict[str, str]: ...

    def query(self, sql: str) -> QueryResult: ...

    def close(self) -> None: ...

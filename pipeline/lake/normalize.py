"""Bring odd CloudTrail records into the table's shape in Python, for the files DuckDB rejects.

DuckDB reads well-formed files fast with an explicit schema, but one record whose field has an
unexpected type (an object where a string belongs is fine; a string where an object belongs is
not) fails the whole file. Such files take this slower path: each value is coerced to the
column's shape, scalars that do not fit are kept as JSON text, and what could not be kept is
counted and named, never dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline.catalog.specs import Column

NOT_AN_OBJECT = "not a JSON object"
NO_FIELDS = "null or empty record (no CloudTrail field)"


@dataclass
class NormalizeReport:
    records_in: int = 0
    records_skipped: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> records
    fields_dropped: dict[str, int] = field(default_factory=dict)

    def drop(self, path: str) -> None:
        self.fields_dropped[path] = self.fields_dropped.get(path, 0) + 1

    def skip(self, reason: str) -> None:
        self.records_skipped += 1
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _coerce(value: Any, column: Column, path: str, report: NormalizeReport) -> Any:
    if value is None or column.json:
        return value
    if column.type == "struct":
        if not isinstance(value, dict):
            report.drop(path)
            return None
        by_key = {f.key: f for f in column.fields}
        return {k: _coerce(v, by_key[k], f"{path}.{k}", report) for k, v in value.items() if k in by_key}
    if column.type == "array":
        assert column.element is not None
        items = value if isinstance(value, list) else [value] if isinstance(value, dict) else None
        if items is None:
            report.drop(path)
            return None
        return [_coerce(v, column.element, f"{path}[]", report) for v in items]
    if column.type == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if column.type == "double":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            report.drop(path)
            return None
    return value


def normalize_records(records: list[Any], columns: tuple[Column, ...], report: NormalizeReport) -> list[dict]:
    """Coerce every record to the schema; records that are not objects, or hold no CloudTrail
    field at all (``null``, ``{}``), are skipped and counted by reason, as the fast path does."""
    by_key = {c.key: c for c in columns}
    out: list[dict] = []
    for record in records:
        report.records_in += 1
        if record is None:
            report.skip(NO_FIELDS)
            continue
        if not isinstance(record, dict):
            report.skip(NOT_AN_OBJECT)
            continue
        kept = {k: _coerce(v, by_key[k], k, report) for k, v in record.items() if k in by_key}
        if all(v is None for v in kept.values()):
            report.skip(NO_FIELDS)
            continue
        out.append(kept)
    return out

"""Render table specs as DuckDB SQL over a local folder laid out like the bucket.

The raw views read CloudTrail's ``{"Records": [...]}`` objects and GuardDuty's JSON lines with
an explicit schema (auto-detection guesses differently per sample), keys exactly as AWS writes
them, and reshape each record into the lower-case Athena columns. Partition columns come from
the file path, so a filter on ``day``/``account``/``region`` skips files instead of reading them.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.catalog.specs import Column, TableSpec

MAX_OBJECT_SIZE = 512 * 1024 * 1024


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(_sql_string(v) for v in values) + "]"


def duckdb_type(column: Column) -> str:
    """The DuckDB type of the reshaped (lower-case, Athena-shaped) column."""
    if column.type == "struct":
        return "STRUCT(" + ", ".join(f'"{f.name}" {duckdb_type(f)}' for f in column.fields) + ")"
    if column.type == "array":
        assert column.element is not None
        return f"{duckdb_type(column.element)}[]"
    return {"string": "VARCHAR", "double": "DOUBLE", "bigint": "BIGINT", "boolean": "BOOLEAN"}[column.type]


def partition_columns_sql(spec: TableSpec, filename: str = "filename") -> str:
    regex = _sql_string(spec.partition_regex())
    return ", ".join(
        f"regexp_extract({filename}, {regex}, {i}) AS {p.name}"
        for i, p in enumerate(spec.partitions, start=1)
    )


def record_select_list(spec: TableSpec, source: str) -> str:
    """``<expr> AS <column>`` for every column, reading the raw JSON value under ``source``."""
    prefix = f"{source}." if source else ""
    return ", ".join(
        f'{c.duckdb_select(prefix + chr(34) + c.key + chr(34))} AS "{c.name}"' for c in spec.columns
    )


def raw_scan_sql(spec: TableSpec, files: list[str], max_object_size: int = MAX_OBJECT_SIZE) -> str:
    """SELECT of the Athena-shaped rows (plus ``filename`` and partitions) from raw files.

    ``max_object_size`` bounds what DuckDB buffers for one JSON object (a CloudTrail file is one)."""
    if spec.format == "cloudtrail_json":
        record_type = "STRUCT(" + ", ".join(f'"{c.key}" {c.json_read_type()}' for c in spec.columns) + ")[]"
        reader = (
            f"read_json({_sql_list(files)}, format='auto', records=true, filename=true, "
            f"maximum_object_size={max_object_size}, columns={{'Records': {_sql_string(record_type)}}})"
        )
        inner = f"SELECT unnest(Records) AS r, filename FROM {reader}"
        return (
            f"SELECT {record_select_list(spec, 'r')}, filename, {partition_columns_sql(spec)} FROM ({inner})"
        )
    if spec.format == "json_lines":
        columns = (
            "{"
            + ", ".join(f"{_sql_string(c.key)}: {_sql_string(c.json_read_type())}" for c in spec.columns)
            + "}"
        )
        reader = (
            f"read_json({_sql_list(files)}, format='newline_delimited', filename=true, "
            f"maximum_object_size={max_object_size}, columns={columns})"
        )
        return f"SELECT {record_select_list(spec, '')}, filename, {partition_columns_sql(spec)} FROM {reader}"
    raise ValueError(f"glue/{spec.name}.yaml: no raw reader for format {spec.format!r}")


def parquet_scan_sql(spec: TableSpec, root: Path) -> str:
    """SELECT over the Parquet lake; partitions come from the path as for raw files."""
    pattern = str(
        root / spec.partition_template.format(account="*", region="*", day="*/*/*") / spec.file_glob
    )
    names = ", ".join(f'"{c.name}"' for c in spec.columns)
    return (
        f"SELECT {names}, {partition_columns_sql(spec)} "
        f"FROM read_parquet({_sql_string(pattern)}, filename=true, union_by_name=true)"
    )


def empty_scan_sql(spec: TableSpec) -> str:
    """A typed, empty relation: queries over an empty window still bind and return no rows."""
    cols = [f'CAST(NULL AS {duckdb_type(c)}) AS "{c.name}"' for c in spec.columns]
    cols += [f"CAST(NULL AS VARCHAR) AS {p.name}" for p in spec.partitions]
    return f"SELECT {', '.join(cols)} WHERE false"

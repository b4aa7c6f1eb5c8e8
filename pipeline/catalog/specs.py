"""Table specs (`glue/*.yaml`) and everything rendered from them.

One spec per table is the single source of truth: it renders the Athena DDL (with partition
projection), the Glue ``TableInput`` that boto3 and Terraform deploy, the DuckDB view over a
local folder laid out like the bucket, and the column types that sqlglot needs to translate
queries. Nothing about a table is written anywhere else.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import UsageError
from pipeline.paths import GLUE_DIR

# Logical names used by queries (`{{ table('cloudtrail') }}`) and the physical specs behind them.
LOGICAL_TABLES = {
    "cloudtrail": ("cloudtrail", "cloudtrail_parquet"),
    "guardduty": ("guardduty_findings", "guardduty_findings_parquet"),
}
# Where each logical table's Parquet sits inside a local lake (``<lake>/<folder>/account=.../``).
LAKE_FOLDERS = {"cloudtrail": "cloudtrail", "guardduty": "guardduty"}
RAW_TO_LOGICAL = {raw: logical for logical, (raw, _) in LOGICAL_TABLES.items()}



def physical_table(logical: str, days: list[str], compacted: frozenset[str] | None, use_parquet: bool) -> str:
    """The table a query over ``days`` reads: the Parquet twin when it holds every one of those days.

    ``use_parquet`` forces the twin (a lake kept complete by other means). Otherwise the twin is
    used only when every partition day of the window has been compacted (``compacted``, from
    ``trailguard compact``'s markers): a window reaching a day not compacted yet reads the raw
    table, so no query ever misses records because compaction is behind.
    """
    raw, parquet = LOGICAL_TABLES[logical]
    if use_parquet or (compacted and days and all(d in compacted for d in days)):
        return parquet
    return raw


_HIVE_SCALARS = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
}


class CatalogError(UsageError):
    """A table spec or catalog setting that cannot be rendered."""


@dataclass(frozen=True)
class Column:
    """One column; ``key`` is the JSON key exactly as AWS writes it (case matters to DuckDB)."""

    key: str
    type: str
    name: str
    json: bool = False
    fields: tuple[Column, ...] = ()
    element: Column | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Column:
        kind = raw["type"]
        fields = tuple(cls.from_dict(f) for f in raw.get("fields", ()))
        element = cls.from_dict({"key": "element", **raw["element"]}) if kind == "array" else None
        return cls(
            key=raw["key"],
            type=kind,
            name=raw.get("column", raw["key"].lower()),
            json=bool(raw.get("json", False)),
            fields=fields,
            element=element,
        )

    def hive_type(self) -> str:
        """The Hive/Athena type, e.g. ``struct<type:string,arn:string>``."""
        if self.type == "struct":
            return "struct<" + ",".join(f"{f.name}:{f.hive_type()}" for f in self.fields) + ">"
        if self.type == "array":
            assert self.element is not None
            return f"array<{self.element.hive_type()}>"
        return self.type

    def json_read_type(self) -> str:
        """The DuckDB type used to read the raw JSON: keys exactly as written, free-form objects as JSON."""
        if self.json:
            return "JSON"
        if self.type == "struct":
            return "STRUCT(" + ", ".join(f'"{f.key}" {f.json_read_type()}' for f in self.fields) + ")"
        if self.type == "array":
            assert self.element is not None
            return f"{self.element.json_read_type()}[]"
        return _HIVE_SCALARS[self.type]

    def duckdb_select(self, source: str) -> str:
        """Expression turning the raw JSON value at ``source`` into the lower-case Athena shape."""
        if self.json:
            return f"CAST({source} AS VARCHAR)"
        if self.type == "struct":
            packed = ", ".join(f"{f.name} := {f.duckdb_select(_child(source, f.key))}" for f in self.fields)
            return f"CASE WHEN {source} IS NULL THEN NULL ELSE struct_pack({packed}) END"
        if self.type == "array":
            assert self.element is not None
            return f"list_transform({source}, lambda _e: {self.element.duckdb_select('_e')})"
        return source


def _child(source: str, key: str) -> str:
    return f'{source}."{key}"'


@dataclass(frozen=True)
class Partition:
    name: str
    type: str
    projection: str
    values_from: str | None = None
    format: str | None = None
    interval_unit: str = "DAYS"  # date projection step: the hot tier's batches are minutes

    def value_regex(self) -> str:
        """A regex matching one value of this partition in a key (dates from their format)."""
        if self.projection != "date":
            return r"[^/]+"
        pattern = re.escape(self.format or "yyyy/MM/dd")
        for token, digits in (("yyyy", 4), ("MM", 2), ("dd", 2), ("HH", 2), ("mm", 2)):
            pattern = pattern.replace(token, rf"\d{{{digits}}}")
        return pattern


@dataclass(frozen=True)
class TableSpec:
    """A table as declared in ``glue/<name>.yaml``."""

    name: str
    description: str
    format: str
    time_column: str
    columns: tuple[Column, ...]
    location: str
    partition_template: str
    file_glob: str
    partitions: tuple[Partition, ...]
    athena: dict[str, Any] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def partition_regex(self) -> str:
        """A regex over a file path that captures the partition values, in partition order."""
        pattern = re.escape(self.partition_template)
        for part in self.partitions:
            pattern = pattern.replace(re.escape("{" + part.name + "}"), f"({part.value_regex()})")
        return "/" + pattern + "/[^/]+$"

    def sqlglot_schema(self) -> dict[str, str]:
        schema = {c.name: c.hive_type() for c in self.columns}
        schema.update({p.name: p.type for p in self.partitions})
        return schema


class _IncludeLoader(yaml.SafeLoader):
    """YAML loader with ``!include other.yaml``, so shared column lists are written once."""


def _include(loader: _IncludeLoader, node: yaml.Node) -> Any:
    base = Path(loader.name).parent
    with open(base / loader.construct_scalar(node), encoding="utf-8") as handle:
        return yaml.load(handle, _IncludeLoader)  # noqa: S506 - SafeLoader subclass


_IncludeLoader.add_constructor("!include", _include)


def load_spec(path: Path) -> TableSpec:
    """Load one table spec; errors name the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = yaml.load(handle, _IncludeLoader)  # noqa: S506 - SafeLoader subclass
        return TableSpec(
            name=raw["name"],
            description=raw["description"],
            format=raw["format"],
            time_column=raw["time_column"],
            # extra_columns: columns beyond an included list (the hot tier carries its source partitions)
            columns=tuple(Column.from_dict(c) for c in [*raw["columns"], *raw.get("extra_columns", [])]),
            location=raw["location"],
            partition_template=raw["partition_template"],
            file_glob=raw["file_glob"],
            partitions=tuple(Partition(**p) for p in raw["partitions"]),
            athena=raw.get("athena", {}),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise CatalogError(f"{path}: invalid table spec ({exc})") from exc


def load_specs(directory: Path = GLUE_DIR) -> dict[str, TableSpec]:
    """Every table spec in ``glue/`` (files starting with ``_`` are shared fragments)."""
    return dict(_load_specs_cached(directory))


@functools.cache
def _load_specs_cached(directory: Path) -> tuple[tuple[str, TableSpec], ...]:
    """Specs are read once per process: scheduled ticks and tests ask for them constantly."""
    specs = [load_spec(p) for p in sorted(directory.glob("*.yaml")) if not p.name.startswith("_")]
    return tuple((s.name, s) for s in specs)


def sqlglot_schema(specs: dict[str, TableSpec], names: dict[str, str]) -> dict[str, dict[str, str]]:
    """Column types per table name as the rendered SQL names it (``names``: logical -> SQL name)."""
    out: dict[str, dict[str, str]] = {}
    for logical, sql_name in names.items():
        physical = LOGICAL_TABLES[logical][1]
        out[sql_name] = specs[physical].sqlglot_schema()
    return out

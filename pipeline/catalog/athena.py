"""Render table specs for Athena and Glue: CREATE TABLE DDL and boto3 ``TableInput``.

Both come from the same spec and the same projection properties, so the DDL a user pastes into
the console and the table `trailguard catalog deploy` creates are the same table. Account and
region lists are never typed into a spec: they come from :class:`CatalogSettings`, which the
configuration (or AWS Organizations and EC2 discovery) fills in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.catalog.specs import CatalogError, TableSpec
from pipeline.config import ConfigError


@dataclass(frozen=True)
class CatalogSettings:
    """Where the data lives and which partitions exist, as far as Athena needs to know."""

    database: str
    source_uri: str  # s3://bucket/prefix of the CloudTrail/GuardDuty bucket
    org_id: str | None
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    lake_uri: str | None = None  # s3://bucket/prefix under which the Parquet lake lives
    projection_start: date = date(2020, 1, 1)

    def enum_values(self, source: str) -> tuple[str, ...]:
        values = {"accounts": self.accounts, "regions": self.regions}[source]
        if not values:
            raise CatalogError(
                f"no {source} configured for partition projection: set [catalog] {source} in "
                "trailguard.toml (`trailguard catalog drift` suggests them)"
            )
        return values


def table_location(spec: TableSpec, settings: CatalogSettings) -> str:
    """The S3 folder beneath which the partition template applies."""
    if spec.format == "parquet":
        base = settings.lake_uri or settings.source_uri
        relative = spec.location.removeprefix("lake/")
    else:
        base = settings.source_uri
        org_path = f"{settings.org_id}/" if settings.org_id and spec.name.startswith("cloudtrail") else ""
        relative = spec.location.format(org_path=org_path)
    return base.rstrip("/") + "/" + relative


def projection_properties(spec: TableSpec, settings: CatalogSettings) -> dict[str, str]:
    """Partition-projection table properties: no partitions to add, new days appear by themselves."""
    props = {"projection.enabled": "true"}
    for part in spec.partitions:
        prefix = f"projection.{part.name}"
        if part.projection == "enum":
            assert part.values_from is not None
            props[f"{prefix}.type"] = "enum"
            props[f"{prefix}.values"] = ",".join(settings.enum_values(part.values_from))
        elif part.projection == "date":
            props[f"{prefix}.type"] = "date"
            props[f"{prefix}.format"] = part.format or "yyyy/MM/dd"
            # the range is written in the projection's own format (the hot tier's batches end in /HHmm)
            pattern = part.format or "yyyy/MM/dd"
            for token, directive in (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M")):
                pattern = pattern.replace(token, directive)
            start = settings.projection_start.strftime(pattern)
            props[f"{prefix}.range"] = f"{start},NOW"
            props[f"{prefix}.interval"] = "1"
            props[f"{prefix}.interval.unit"] = part.interval_unit
        else:
            raise CatalogError(f"glue/{spec.name}.yaml: unknown projection {part.projection!r}")
    template = spec.partition_template.replace("{", "${")
    props["storage.location.template"] = table_location(spec, settings) + template
    props["classification"] = spec.athena.get("classification", spec.format)
    if "compression" in spec.athena:
        props["parquet.compression"] = spec.athena["compression"].upper()
    return props


def _quote_property(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return f"`{name}`"


def athena_ddl(spec: TableSpec, settings: CatalogSettings) -> str:
    """``CREATE EXTERNAL TABLE`` for Athena, with partition projection."""
    columns = ",\n".join(f"  {_ident(c.name)} {c.hive_type()}" for c in spec.columns)
    partitions = ", ".join(f"{_ident(p.name)} {p.type}" for p in spec.partitions)
    serde = spec.athena["serde"]
    serde_params = spec.athena.get("serde_parameters") or {}
    with_props = ""
    if serde_params:
        pairs = ", ".join(f"{_quote_property(k)}={_quote_property(v)}" for k, v in serde_params.items())
        with_props = f"\nWITH SERDEPROPERTIES ({pairs})"
    props = ",\n".join(
        f"  {_quote_property(k)}={_quote_property(v)}"
        for k, v in projection_properties(spec, settings).items()
    )
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {_ident(settings.database)}.{_ident(spec.name)} (\n"
        f"{columns}\n)\n"
        f"COMMENT {_quote_property(spec.description)}\n"
        f"PARTITIONED BY ({partitions})\n"
        f"ROW FORMAT SERDE {_quote_property(serde)}{with_props}\n"
        f"STORED AS INPUTFORMAT {_quote_property(spec.athena['input_format'])}\n"
        f"OUTPUTFORMAT {_quote_property(spec.athena['output_format'])}\n"
        f"LOCATION {_quote_property(table_location(spec, settings))}\n"
        f"TBLPROPERTIES (\n{props}\n)"
    )


def glue_table_input(spec: TableSpec, settings: CatalogSettings) -> dict:
    """The boto3 ``glue.create_table(TableInput=...)`` argument for the same table."""
    return {
        "Name": spec.name,
        "Description": spec.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", **projection_properties(spec, settings)},
        "PartitionKeys": [{"Name": p.name, "Type": p.type} for p in spec.partitions],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.hive_type()} for c in spec.columns],
            "Location": table_location(spec, settings),
            "InputFormat": spec.athena["input_format"],
            "OutputFormat": spec.athena["output_format"],
            "SerdeInfo": {
                "SerializationLibrary": spec.athena["serde"],
                "Parameters": dict(spec.athena.get("serde_parameters") or {}),
            },
        },
    }


def catalog_settings(settings: Any) -> CatalogSettings:
    """The catalog part of the configuration (a placeholder bucket when the source is local)."""
    cat = settings["catalog"]
    source = settings.source if settings.source.startswith("s3://") else "s3://YOUR-CLOUDTRAIL-BUCKET"
    try:
        start = date.fromisoformat(str(cat["projection_start"]))
    except ValueError:
        raise ConfigError(f"catalog.projection_start {cat['projection_start']!r} is not a date") from None
    return CatalogSettings(
        database=cat["database"],
        source_uri=source,
        org_id=settings["org_id"] or None,
        accounts=tuple(str(a) for a in cat["accounts"]),
        regions=tuple(cat["regions"]),
        lake_uri=cat["lake_uri"] or None,
        projection_start=start,
    )

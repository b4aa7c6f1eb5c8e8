"""Table specs render DDL, Glue input and DuckDB views that agree with each other."""

from __future__ import annotations

import re

import duckdb
import pytest

from pipeline.catalog.athena import CatalogSettings, athena_ddl, glue_table_input
from pipeline.catalog.duckdb_views import empty_scan_sql
from pipeline.catalog.specs import CatalogError, load_specs

SPECS = load_specs()
SETTINGS = CatalogSettings(
    "security",
    "s3://org-trail-bucket/prefix",
    "o-abc123",
    ("111111111111", "222222222222"),
    ("us-east-1", "eu-west-1"),
    lake_uri="s3://lake-bucket/trailguard",
)

# The column names of the AWS-documented CloudTrail Athena table.
DOCUMENTED = [
    "eventversion",
    "useridentity",
    "eventtime",
    "eventsource",
    "eventname",
    "awsregion",
    "sourceipaddress",
    "useragent",
    "errorcode",
    "errormessage",
    "requestparameters",
    "responseelements",
    "additionaleventdata",
    "requestid",
    "eventid",
    "readonly",
    "resources",
    "eventtype",
    "apiversion",
    "recipientaccountid",
    "serviceeventdetails",
    "sharedeventid",
    "vpcendpointid",
    "eventcategory",
    "tlsdetails",
]


def test_five_tables_declared():
    assert set(SPECS) == {
        "cloudtrail",
        "cloudtrail_hot",  # the scheduled ticks' hot tier (docs/incremental-athena.md)
        "cloudtrail_parquet",
        "guardduty_findings",
        "guardduty_findings_parquet",
    }


def test_cloudtrail_raw_and_parquet_expose_the_same_documented_columns():
    raw, parquet = SPECS["cloudtrail"], SPECS["cloudtrail_parquet"]
    assert raw.column_names == parquet.column_names
    assert set(DOCUMENTED) <= set(raw.column_names)
    assert [c.hive_type() for c in raw.columns] == [c.hive_type() for c in parquet.columns]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_ddl_and_glue_input_agree(name):
    spec = SPECS[name]
    ddl = athena_ddl(spec, SETTINGS)
    table_input = glue_table_input(spec, SETTINGS)
    for column in table_input["StorageDescriptor"]["Columns"]:
        assert f"`{column['Name']}` {column['Type']}" in ddl
    for key, value in table_input["Parameters"].items():
        if key != "EXTERNAL":
            assert f"'{key}'='{value}'" in ddl
    if name == "cloudtrail_hot":  # one partition: the tick's batch, to the minute (its rows carry the rest)
        assert [p["Name"] for p in table_input["PartitionKeys"]] == ["batch"]
        assert table_input["Parameters"]["projection.batch.interval.unit"] == "MINUTES"
        assert table_input["Parameters"]["projection.batch.range"].startswith("2020/01/01/0000,")
        assert [c["Name"] for c in table_input["StorageDescriptor"]["Columns"]][-4:] == [
            "account", "region", "day", "matched"]
        return
    assert [p["Name"] for p in table_input["PartitionKeys"]] == ["account", "region", "day"]
    assert table_input["Parameters"]["projection.account.values"] == "111111111111,222222222222"


def test_org_trail_location_template():
    props = glue_table_input(SPECS["cloudtrail"], SETTINGS)["Parameters"]
    assert props["storage.location.template"] == (
        "s3://org-trail-bucket/prefix/AWSLogs/o-abc123/${account}/CloudTrail/${region}/${day}"
    )
    assert props["projection.day.format"] == "yyyy/MM/dd"
    assert props["projection.day.range"].endswith(",NOW")
    lake = glue_table_input(SPECS["cloudtrail_parquet"], SETTINGS)["Parameters"]["storage.location.template"]
    assert lake == "s3://lake-bucket/trailguard/cloudtrail/${account}/${region}/${day}"


def test_no_account_or_region_is_written_in_a_spec():
    for path in SPECS.values():
        text = athena_ddl(path, SETTINGS)
        # only the configured projection value (the hot tier has no account partition to project)
        assert text.count("111111111111") == (0 if path.name == "cloudtrail_hot" else 1)
    for spec_file in (SPECS["cloudtrail"],):
        assert not re.search(r"\d{12}", str(spec_file))


def test_missing_projection_values_are_an_error_not_a_silent_gap():
    empty = CatalogSettings("security", "s3://b", None, (), ("us-east-1",))
    with pytest.raises(CatalogError, match="no accounts configured"):
        athena_ddl(SPECS["cloudtrail"], empty)


def test_regions_are_not_validated_against_a_fixed_list():
    odd = CatalogSettings("security", "s3://b", None, ("111111111111",), ("apiso-centralnorth-2r",))
    assert "apiso-centralnorth-2r" in athena_ddl(SPECS["cloudtrail"], odd)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_duckdb_empty_view_has_the_spec_columns(name):
    spec = SPECS[name]
    con = duckdb.connect()
    con.execute(f"CREATE VIEW v AS {empty_scan_sql(spec)}")
    names = [row[0] for row in con.execute("DESCRIBE v").fetchall()]
    assert names == [*spec.column_names, *(p.name for p in spec.partitions)]
    if name != "cloudtrail_hot":
        assert names[-3:] == ["account", "region", "day"]

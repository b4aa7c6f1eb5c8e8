"""`trailguard compact --engine athena` against moto, and the compaction SQL itself.

moto's Athena accepts any statement and executes none, so a hook stands in for UNLOAD's output:
when the UNLOAD starts, it writes one object per account/region into the TO location the query
names, as Athena would. Everything else is real: the queries issued, the S3 objects removed,
copied and kept, the markers, and which table detections then read. The SELECT inside the UNLOAD
is run on DuckDB through the dialect layer over real raw files.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from pipeline.catalog.athena import CatalogSettings
from pipeline.catalog.duckdb_views import raw_scan_sql
from pipeline.catalog.specs import load_specs, physical_table
from pipeline.cli.compact import days_to_compact
from pipeline.config import ConfigError, Settings
from pipeline.detections.run import run_detections
from pipeline.detections.scan_guard import ScanGuard
from pipeline.detections.spec import load_detections
from pipeline.engines.athena import AthenaEngine
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.athena_compact import AthenaCompactor, compacted_days, render_compaction

pytestmark = pytest.mark.aws

ACCOUNTS, REGIONS = ("111111111111", "222222222222"), ("us-east-1", "eu-west-1")
LAKE = "lake-bucket"
SPECS = load_specs()
UNLOAD = re.compile(
    r"^UNLOAD \((?P<select>.*)\)\s*TO '(?P<to>[^']+)'\s*WITH \((?P<options>.*)\)\s*$", re.DOTALL
)


def catalog() -> CatalogSettings:
    return CatalogSettings(
        database="trailguard",
        source_uri="s3://org-trail/logs",
        org_id="o-abc123def4",
        accounts=ACCOUNTS,
        regions=REGIONS,
        lake_uri=f"s3://{LAKE}/lake",
    )


@pytest.fixture
def aws(aws_client: Callable[..., Any], moto_endpoint: str) -> dict[str, Any]:
    s3, athena = aws_client("s3"), aws_client("athena")
    for bucket in (LAKE, "athena-results", "org-trail"):
        s3.create_bucket(Bucket=bucket)
    runs = {"n": 0}

    def fake_unload(query_id: str) -> None:
        """What Athena's UNLOAD leaves behind: Parquet files per account=/region= folder of the TO prefix."""
        sql = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Query"]
        match = UNLOAD.match(sql.strip())
        if not match:
            return
        runs["n"] += 1
        bucket, _, prefix = match["to"].removeprefix("s3://").partition("/")
        for account in ACCOUNTS:
            for region in REGIONS:
                key = f"{prefix}account={account}/region={region}/{query_id}_0.parquet"
                s3.put_object(Bucket=bucket, Key=key, Body=f"{account}/{region}".encode())

    engine = AthenaEngine(
        "trailguard",
        workgroup="primary",
        output_location="s3://athena-results/q/",
        region_name="us-east-1",
        endpoint_url=moto_endpoint,
        poll_interval=0.01,
        on_query_started=fake_unload,
    )
    return {"s3": s3, "athena": athena, "engine": engine, "unloads": runs}


def keys(s3: Any, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=LAKE, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def queries(athena: Any) -> list[str]:
    ids = athena.list_query_executions()["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]


def test_compacting_a_day_replaces_only_that_day_and_marks_it(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    stale = f"lake/cloudtrail/{ACCOUNTS[0]}/us-east-1/2026/11/02/old-run.parquet"
    other_day = f"lake/cloudtrail/{ACCOUNTS[0]}/us-east-1/2026/11/03/keep.parquet"
    leftover = "lake/_trailguard/staging/cloudtrail_parquet/2026-11-02/account=x/region=y/crashed.parquet"
    for key in (stale, other_day, leftover):
        s3.put_object(Bucket=LAKE, Key=key, Body=b"old")

    done = AthenaCompactor(aws["engine"], s3, catalog()).compact_day(date(2026, 11, 2))

    day_keys = [k for k in keys(s3, "lake/cloudtrail/") if "/2026/11/02/" in k]
    assert stale not in day_keys and other_day in keys(s3, "lake/cloudtrail/")
    assert sorted({"/".join(k.split("/")[2:4]) for k in day_keys}) == sorted(
        f"{a}/{r}" for a in ACCOUNTS for r in REGIONS
    )
    assert keys(s3, "lake/_trailguard/staging/") == []  # the crashed run's leftovers went too
    assert keys(s3, "lake/_trailguard/compacted/") == [
        "lake/_trailguard/compacted/cloudtrail_parquet/2026-11-02.json"
    ]
    assert (done.objects_written, done.objects_replaced, done.partitions) == (4, 1, 4)
    [sql] = queries(aws["athena"])
    assert 'FROM "trailguard"."cloudtrail"' in sql and "WHERE day = '2026/11/02'" in sql
    assert "TO 's3://lake-bucket/lake/_trailguard/staging/cloudtrail_parquet/2026-11-02/'" in sql


def test_compacting_twice_leaves_the_same_objects(aws: dict[str, Any]) -> None:
    compactor = AthenaCompactor(aws["engine"], aws["s3"], catalog())
    compactor.compact([date(2026, 11, 2)])
    first = [k.rsplit("/", 1)[0] for k in keys(aws["s3"], "lake/cloudtrail/")]
    compactor.compact([date(2026, 11, 2)])
    second = [k.rsplit("/", 1)[0] for k in keys(aws["s3"], "lake/cloudtrail/")]
    assert first == second and len(second) == len(ACCOUNTS) * len(
        REGIONS
    )  # one object per partition, not two
    assert aws["unloads"]["n"] == 2


def test_detections_read_the_parquet_table_only_for_compacted_windows(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    AthenaCompactor(aws["engine"], s3, catalog()).compact([date(2026, 11, 2), date(2026, 11, 3)])
    known = compacted_days(s3, catalog())
    assert known("cloudtrail") == {"2026/11/02", "2026/11/03"} and known("guardduty") == frozenset()
    engine = aws["engine"]
    engine.compacted = known
    detection = load_detections()["iam_user_created"]
    inside = (datetime(2026, 11, 2, 5, tzinfo=UTC), datetime(2026, 11, 2, 6, tzinfo=UTC))  # days 11/02, 11/03
    outside = (
        datetime(2026, 11, 3, 5, tzinfo=UTC),
        datetime(2026, 11, 3, 6, tzinfo=UTC),
    )  # 11/04 not compacted
    for start, end in (inside, outside):
        run_detections(engine, [detection], start, end)
    issued = [q for q in queries(aws["athena"]) if "CreateUser" in q]
    assert len(issued) == 2
    assert sum('"trailguard"."cloudtrail_parquet"' in q for q in issued) == 1
    assert sum('"trailguard"."cloudtrail" ' in q or '"trailguard"."cloudtrail"\n' in q for q in issued) == 1


def test_runs_record_the_estimate_of_the_table_they_read(
    aws: dict[str, Any], can_athena_results: Callable[..., None]
) -> None:
    s3 = aws["s3"]
    AthenaCompactor(aws["engine"], s3, catalog()).compact([date(2026, 11, 2), date(2026, 11, 3)])
    columns = ["event_id", "event_time", "account_id", "region", "principal"]
    can_athena_results(
        {
            "rows": [{"Data": [{"VarCharValue": c} for c in columns]}],
            "column_info": [
                {
                    "CatalogName": "hive",
                    "SchemaName": "",
                    "TableName": "",
                    "Name": c,
                    "Label": c,
                    "Type": "varchar",
                    "Precision": 0,
                    "Scale": 0,
                    "Nullable": "UNKNOWN",
                    "CaseSensitive": True,
                }
                for c in columns
            ],
        }
    )
    aws["engine"].compacted = compacted_days(s3, catalog())
    settings = Settings(
        raw={
            "athena": {"workgroup": "primary", "max_scan": ""},
            "detections": {},
            "catalog": {
                "database": "trailguard",
                "accounts": list(ACCOUNTS),
                "regions": list(REGIONS),
                "lake_uri": f"s3://{LAKE}/lake",
                "projection_start": "2020-01-01",
            },
            "source": "s3://org-trail/logs",
            "org_id": "o-abc123def4",
        },
        path=None,
    )
    guard = ScanGuard(settings, s3, aws["athena"])
    detection = load_detections()["iam_user_created"]
    result = run_detections(
        aws["engine"],
        [detection],
        datetime(2026, 11, 2, 5, tzinfo=UTC),
        datetime(2026, 11, 2, 6, tzinfo=UTC),
        guard=guard,
    )
    [run] = result.runs
    total = sum(o["Size"] for o in s3.list_objects_v2(Bucket=LAKE, Prefix="lake/cloudtrail/")["Contents"])
    assert run.error is None
    # Parquet: scaled by the columns the query names (actor resolution included), less than the table.
    assert 0 < run.estimated_bytes < total


def test_compaction_sql_parses_as_athena_and_reads_one_partition_day() -> None:
    sql = render_compaction(
        date(2026, 11, 2), '"trailguard"."cloudtrail"', "s3://b/stage/", SPECS["cloudtrail"]
    )
    match = UNLOAD.match(sql.strip())
    assert match, sql
    assert (
        "format = 'PARQUET'" in match["options"]
        and "partitioned_by = ARRAY['account', 'region']" in match["options"]
    )
    select = sqlglot.parse_one(match["select"], read="athena")
    [table] = list(select.find_all(exp.Table))
    assert (table.db, table.name) == ("trailguard", "cloudtrail")
    where = select.args["where"].this
    assert isinstance(where, exp.EQ) and where.this.name == "day" and where.expression.name == "2026/11/02"
    names = [e.alias_or_name for e in select.expressions]
    assert names == [*SPECS["cloudtrail"].column_names, "account", "region"]  # partition columns last


def test_compaction_select_returns_exactly_that_days_records_on_duckdb(small_org: Any, tmp_path: Path,
                                                                        ) -> None:
    """The SELECT inside the UNLOAD, translated by the dialect layer, over raw files of three days
    (the session's small_org, tests/conftest.py)."""
    files = sorted(small_org.root.rglob("CloudTrail/*/*/*/*/*.json.gz"))
    engine = DuckDBEngine(tmp_path / "lake")
    engine.con.execute(
        f"CREATE OR REPLACE VIEW cloudtrail AS {raw_scan_sql(SPECS['cloudtrail'], [str(f) for f in files])}"
    )
    sql = render_compaction(date(2026, 11, 2), "cloudtrail", "s3://b/stage/", SPECS["cloudtrail"])
    frame = engine.query(UNLOAD.match(sql.strip())["select"]).frame
    in_folder = engine.con.execute("SELECT count(*) FROM cloudtrail WHERE day = '2026/11/02'").fetchall()[0][
        0
    ]
    assert len(frame) == in_folder > 0
    assert list(frame.columns) == [*SPECS["cloudtrail"].column_names, "account", "region"]
    assert frame["eventid"].notna().all()


def test_table_choice_needs_every_day_of_the_window() -> None:
    assert (
        physical_table("cloudtrail", ["2026/11/02", "2026/11/03"], frozenset({"2026/11/02"}), False)
        == "cloudtrail"
    )
    assert (
        physical_table("cloudtrail", ["2026/11/02"], frozenset({"2026/11/02"}), False) == "cloudtrail_parquet"
    )
    assert physical_table("cloudtrail", ["2026/11/02"], None, True) == "cloudtrail_parquet"
    assert physical_table("guardduty", ["2026/11/02"], frozenset(), False) == "guardduty_findings"


def test_days_to_compact_refuses_nonsense_in_one_line() -> None:
    today = date(2026, 11, 28)
    assert days_to_compact("2026-11-02", None, None, today) == [date(2026, 11, 2)]
    assert days_to_compact(None, "2026-11-02", "2026-11-04", today) == [date(2026, 11, 2), date(2026, 11, 3)]
    for args, message in (
        ((None, None, None), "give --day"),
        (("2026-11-02", "2026-11-01", None), "not both"),
        ((None, "2026-11-04", "2026-11-02"), "not before"),
        (("2026-11-28", None, None), "still"),
        (("yesterday", None, None), "--day"),
    ):
        with pytest.raises(ConfigError, match=message):
            days_to_compact(*args, today)


def test_cli_compacts_through_the_configured_athena_and_lake(
    aws: dict[str, Any], moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pipeline.cli.main import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ATHENA", moto_endpoint)
    for key, value in {
        "ATHENA_OUTPUT_LOCATION": "s3://athena-results/q/",
        "ATHENA_REGION": "us-east-1",
        "ATHENA_POLL_INTERVAL": "0.01",
        "CATALOG_LAKE_URI": f"s3://{LAKE}/lake",
        "CATALOG_ACCOUNTS": ",".join(ACCOUNTS),
        "CATALOG_REGIONS": ",".join(REGIONS),
    }.items():
        monkeypatch.setenv(f"TRAILGUARD_{key}", value)
    stale = f"lake/cloudtrail/{ACCOUNTS[1]}/eu-west-1/2026/11/02/old.parquet"
    aws["s3"].put_object(Bucket=LAKE, Key=stale, Body=b"old")
    result = CliRunner().invoke(app, ["compact", "--engine", "athena", "--day", "2026-11-02"])
    assert result.exit_code == 0, result.output
    assert "2026/11/02" in result.output
    assert keys(aws["s3"], "lake/cloudtrail/") == []  # moto's UNLOAD writes nothing: the stale part went
    assert keys(aws["s3"], "lake/_trailguard/compacted/") == [
        "lake/_trailguard/compacted/cloudtrail_parquet/2026-11-02.json"
    ]
    [sql] = queries(aws["athena"])
    assert sql.startswith("UNLOAD (") and "WHERE day = '2026/11/02'" in sql
    bad = CliRunner().invoke(
        app, ["compact", "--engine", "athena", "--day", "2026-11-02", "--start", "2026-11-01"]
    )
    assert bad.exit_code == 2 and "not both" in bad.output

"""Scan estimates from a moto bucket laid out like an org trail, workgroup cutoffs, and the budget check."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from pipeline.catalog.athena import CatalogSettings
from pipeline.catalog.specs import CatalogError, load_specs
from pipeline.detections.run import render_detection
from pipeline.detections.spec import load_detections
from pipeline.engines.athena import AthenaEngine
from pipeline.engines.base import EngineError
from pipeline.engines.scan_estimate import (
    BudgetExceeded,
    ScanEstimate,
    check_budget,
    columns_read,
    estimate_scan,
    format_size,
    parse_size,
    workgroup_cutoff,
)
from pipeline.engines.templating import partition_days

pytestmark = pytest.mark.aws

ORG = "o-abc123def4"
ACCOUNTS = ("111111111111", "222222222222")
REGIONS = ("us-east-1", "eu-west-1")
DAYS = ("2024/05/01", "2024/05/02", "2024/05/03")
START, END = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 5, 2, tzinfo=UTC)
SPECS = load_specs()


def _size(account: int, region: int, day: int, n: int) -> int:
    """A distinct size per object, so a partition counted twice or missed changes the total."""
    return 1000 * (account + 1) + 100 * (region + 1) + 10 * (day + 1) + n


def _put(s3: Any, bucket: str, key: str, size: int) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=b"x" * size)


@pytest.fixture
def org_trail(aws_client: Callable[..., Any]) -> tuple[Any, dict[tuple[str, str, str], list[int]]]:
    """2 accounts x 2 regions x 3 days, 2 objects each; plus what must not be counted."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="org-trail")
    sizes: dict[tuple[str, str, str], list[int]] = {}
    for (a, account), (r, region), (d, day) in (
        (a, r, d) for a in enumerate(ACCOUNTS) for r in enumerate(REGIONS) for d in enumerate(DAYS)
    ):
        tree = f"logs/AWSLogs/{ORG}/{account}"
        sizes[account, region, day] = [_size(a, r, d, n) for n in range(2)]
        for n, size in enumerate(sizes[account, region, day]):
            _put(s3, "org-trail", f"{tree}/CloudTrail/{region}/{day}/{account}_CloudTrail_{n}.json.gz", size)
        # Digests sit beside CloudTrail/ and are not table data.
        _put(s3, "org-trail", f"{tree}/CloudTrail-Digest/{region}/{day}/{account}_Digest.json.gz", 50_000)
    # A delivering account missing from the projection list: Athena does not read it.
    _put(s3, "org-trail", f"logs/AWSLogs/{ORG}/333333333333/CloudTrail/us-east-1/2024/05/01/x.gz", 70_000)
    # A zero-byte folder marker (console "Create folder") is not an object Athena bills for.
    s3.put_object(Bucket="org-trail", Key=f"logs/AWSLogs/{ORG}/{ACCOUNTS[0]}/CloudTrail/us-east-1/{DAYS[0]}/")
    return s3, sizes


def _settings(**overrides: Any) -> CatalogSettings:
    values: dict[str, Any] = dict(database="trailguard", source_uri="s3://org-trail/logs", org_id=ORG,
                                  accounts=ACCOUNTS, regions=REGIONS, lake_uri="s3://lake/trailguard")
    values.update(overrides)
    return CatalogSettings(**values)


def test_estimate_counts_exactly_the_partitions_of_the_window(org_trail: tuple[Any, dict]) -> None:
    s3, sizes = org_trail
    days = partition_days(START, END)  # the event day plus the next (delivery) day
    assert days == ["2024/05/01", "2024/05/02"]
    estimate = estimate_scan(s3, _settings(), SPECS["cloudtrail"], days)
    expected = sum(sum(sizes[a, r, d]) for a in ACCOUNTS for r in REGIONS for d in days)
    assert (estimate.bytes, estimate.objects, estimate.partitions) == (expected, 16, 8)
    assert estimate.table == "cloudtrail" and estimate.days == days
    # Raw JSON is read whole: a column count does not shrink it.
    assert estimate_scan(s3, _settings(), SPECS["cloudtrail"], days, columns_read=3).bytes == expected


def test_estimate_follows_the_projection_lists_and_day_forms(org_trail: tuple[Any, dict]) -> None:
    s3, sizes = org_trail
    one = estimate_scan(s3, _settings(accounts=ACCOUNTS[:1], regions=("eu-west-1",)), SPECS["cloudtrail"],
                        ["2024-05-03"])
    expected = sum(sizes[ACCOUNTS[0], "eu-west-1", "2024/05/03"])
    assert (one.bytes, one.objects, one.partitions) == (expected, 2, 1)
    assert one.days == ["2024/05/03"]
    with pytest.raises(CatalogError, match="no regions configured"):
        estimate_scan(s3, _settings(regions=()), SPECS["cloudtrail"], ["2024/05/01"])


def test_estimate_pages_through_listings(org_trail: tuple[Any, dict]) -> None:
    s3, sizes = org_trail
    # One key per page: every partition's listing takes two pages, and both must be summed.
    s3.meta.events.register("provide-client-params.s3.ListObjectsV2",
                            lambda params, **_: params.update(MaxKeys=1))
    estimate = estimate_scan(s3, _settings(), SPECS["cloudtrail"], list(DAYS))
    assert estimate.objects == 24
    assert estimate.bytes == sum(sum(v) for v in sizes.values())


def test_parquet_estimate_scales_by_columns_read(aws_client: Callable[..., Any]) -> None:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="lake")
    for account in ACCOUNTS:
        for region in REGIONS:
            _put(s3, "lake", f"trailguard/cloudtrail/{account}/{region}/2024/05/01/part-0.parquet", 29_000)
    _put(s3, "lake", f"trailguard/guardduty/{ACCOUNTS[0]}/us-east-1/2024/05/01/part-0.parquet", 1_000_000)
    spec = SPECS["cloudtrail_parquet"]
    whole = estimate_scan(s3, _settings(), spec, ["2024/05/01"])
    assert (whole.bytes, whole.objects, whole.partitions, whole.columns) == (4 * 29_000, 4, 4, None)
    scaled = estimate_scan(s3, _settings(), spec, ["2024/05/01"], columns_read=12)
    assert scaled.bytes == math.ceil(4 * 29_000 * 12 / len(spec.columns)) == 48_000
    assert scaled.columns == (12, 29) and "12/29 columns" in scaled.describe()
    # count(*) still reads footers: never scaled to nothing.
    assert estimate_scan(s3, _settings(), spec, ["2024/05/01"], columns_read=0).bytes == 4_000


def test_estimate_reports_listing_failures(aws_client: Callable[..., Any]) -> None:
    with pytest.raises(EngineError, match=r"scan estimate for cloudtrail: cannot list s3://org-trail"):
        estimate_scan(aws_client("s3"), _settings(), SPECS["cloudtrail"], ["2024/05/01"])  # no bucket


def test_workgroup_cutoff_is_read_from_the_workgroup(aws_client: Callable[..., Any]) -> None:
    athena = aws_client("athena")
    athena.create_work_group(Name="capped", Configuration={
        "BytesScannedCutoffPerQuery": 10_000_000_000, "ResultConfiguration": {"OutputLocation": "s3://r/q/"}})
    athena.create_work_group(Name="open", Configuration={"ResultConfiguration": {"OutputLocation": "s3://r/q/"}})
    assert workgroup_cutoff(athena, "capped") == 10_000_000_000
    assert workgroup_cutoff(athena, "open") is None
    assert workgroup_cutoff(athena, "primary") is None


def test_workgroup_cutoff_errors_name_the_workgroup(aws_client: Callable[..., Any]) -> None:
    # moto answers GetWorkGroup for any name; AWS says InvalidRequestException, as stubbed here.
    athena = aws_client("athena")
    with Stubber(athena) as stub:
        stub.add_client_error("get_work_group", "InvalidRequestException", "WorkGroup capped is not found.")
        with pytest.raises(EngineError, match="cannot read workgroup capped's per-query cutoff.*not found"):
            workgroup_cutoff(athena, "capped")


ESTIMATE = ScanEstimate(table="cloudtrail", days=["2024/05/01", "2024/05/02"], objects=96,
                        bytes=int(1.2 * 1024**3), partitions=8)


def test_check_budget_passes_under_both_limits() -> None:
    check_budget("iam_user_created", ESTIMATE, parse_size("2 GiB"), parse_size("10GB"))
    check_budget("iam_user_created", ESTIMATE, None, None)
    check_budget("iam_user_created", ESTIMATE, ESTIMATE.bytes, ESTIMATE.bytes)  # at the limit is allowed


def test_check_budget_refuses_over_the_budget() -> None:
    with pytest.raises(BudgetExceeded) as caught:
        check_budget("iam_user_created", ESTIMATE, parse_size("500MiB"), parse_size("10GB"))
    message = str(caught.value)
    assert message == ("detection iam_user_created not run: estimated scan of cloudtrail 1.2 GiB "
                       "(2 days, 8 partitions, 96 objects) exceeds its budget of 500.0 MiB")
    assert "\n" not in message and isinstance(caught.value, EngineError)
    assert caught.value.exceeded == [("its budget", 500 * 1024**2)] and caught.value.estimate is ESTIMATE


def test_check_budget_refuses_over_the_workgroup_cutoff() -> None:
    with pytest.raises(BudgetExceeded, match=r"exceeds workgroup primary's per-query cutoff of 953.7 MiB$"):
        check_budget("iam_user_created", ESTIMATE, None, parse_size("1GB"), workgroup="primary")
    with pytest.raises(BudgetExceeded, match=r"exceeds its budget of 1.0 MiB and the workgroup's per-query "
                                             r"cutoff of 1.0 GiB$") as caught:
        check_budget("iam_user_created", ESTIMATE, parse_size("1MiB"), parse_size("1GiB"))
    assert [which for which, _ in caught.value.exceeded] == ["its budget", "the workgroup's per-query cutoff"]


@pytest.mark.parametrize(("text", "expected"), [
    ("500MB", 500_000_000), ("2 GiB", 2 * 1024**3), ("1TB", 10**12), (1048576, 1048576), ("1048576", 1048576),
    ("1.5 gb", 1_500_000_000), ("10 kib", 10_240), ("0", 0), ("  7 B ", 7), ("1PiB", 1024**5),
])
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("junk", ["", "lots", "5 parsecs", "-1GB", "1e9", "GB", "1,5GB", -5, True, None, 1.5])
def test_parse_size_refuses_junk_in_one_line(junk: Any) -> None:
    with pytest.raises(ValueError, match="invalid size") as caught:
        parse_size(junk)
    assert "\n" not in str(caught.value)


def test_format_size() -> None:
    assert [format_size(n) for n in (0, 1023, 1024, int(1.2 * 1024**3), 5 * 1024**5)] == [
        "0 B", "1023 B", "1.0 KiB", "1.2 GiB", "5.0 PiB"]


@pytest.mark.parametrize("use_parquet", [False, True])
def test_columns_read_on_a_rendered_detection(use_parquet: bool) -> None:
    detection = load_detections()["iam_user_created"]
    sql, _ = render_detection(detection, AthenaEngine("trailguard", use_parquet=use_parquet), START, END)
    spec = SPECS["cloudtrail_parquet" if use_parquet else "cloudtrail"]
    # The 12 the detection names (eventid, eventtime, recipientaccountid, awsregion, useridentity,
    # sourceipaddress, eventsource, eventname, requestparameters, responseelements, useragent,
    # errorcode) and eventtype, which actor resolution reads (a service event is a service actor):
    # queries/fragments/actor_records.sql selects named columns, never every column of the table.
    assert columns_read(sql, spec) == 13 < len(spec.columns)


def test_columns_read_star_aliases_and_qualified_names() -> None:
    spec = SPECS["cloudtrail"]
    assert columns_read('SELECT * FROM "trailguard"."cloudtrail" WHERE day = \'2024/05/01\'', spec) == 29
    assert columns_read("WITH r AS (SELECT * FROM trailguard.cloudtrail) SELECT count(*) FROM r", spec) == 29
    query = ("SELECT t.eventname, trailguard.cloudtrail.eventsource, "
             "t.useridentity.sessioncontext.attributes, count(*) FROM trailguard.cloudtrail AS t "
             "WHERE t.day = '2024/05/01' GROUP BY 1, 2, 3")
    assert columns_read(query, spec) == 3
    with pytest.raises(ValueError, match="cannot parse query to count columns of cloudtrail"):
        columns_read("SELECT FROM WHERE (", spec)

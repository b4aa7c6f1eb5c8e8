"""GuardDuty GetUsageStatistics beside the estimate, with botocore's Stubber (moto lacks the call)."""

from __future__ import annotations

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from pipeline.config import Settings
from pipeline.cost import cost_summary
from pipeline.cost.period import month_period
from pipeline.cost.usage import FEATURE_ITEMS, compare, usage_statistics
from pipeline.cost.volumes import CostInputs


def client(region: str = "eu-west-1"):
    return boto3.client(
        "guardduty", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def feature(name: str, amount: str) -> dict:
    return {"Feature": name, "Total": {"Amount": amount, "Unit": "USD"}}


def expect_usage(stub: Stubber, account: str, pages: list[list[dict]]) -> None:
    for number, page in enumerate(pages):
        params = {
            "DetectorId": "det-1",
            "UsageStatisticType": "SUM_BY_FEATURES",
            "UsageCriteria": {"Features": list(FEATURE_ITEMS), "AccountIds": [account]},
            "Unit": "USD",
        }
        response: dict = {"UsageStatistics": {"SumByFeature": page}}
        if number:
            params["NextToken"] = f"page-{number}"
        if number < len(pages) - 1:
            response["NextToken"] = f"page-{number + 1}"
        stub.add_response("get_usage_statistics", response, params)


def test_usage_statistics_per_account_and_feature_across_pages():
    guardduty = client()
    with Stubber(guardduty) as stub:
        stub.add_response("list_detectors", {"DetectorIds": ["det-1"]}, {})
        expect_usage(stub, "111111111111", [[feature("CLOUD_TRAIL", "12.5")], [feature("DNS_LOGS", "3.25")]])
        expect_usage(
            stub, "222222222222", [[feature("FLOW_LOGS", "1.00"), feature("S3_DATA_EVENTS", "0.40")]]
        )
        frame = usage_statistics(guardduty, ["111111111111", "222222222222"])
        stub.assert_no_pending_responses()
    assert frame["usage_30d_usd"].dtype == "float64"
    assert set(frame["region"]) == {"eu-west-1"}
    by = frame.groupby(["account_id", "item"], observed=True)["usage_30d_usd"].sum()
    assert by[("111111111111", "guardduty.management_events")] == pytest.approx(12.5)
    assert by[("111111111111", "guardduty.flow_dns_logs")] == pytest.approx(3.25)
    assert by[("222222222222", "guardduty.flow_dns_logs")] == pytest.approx(1.0)


def test_no_detector_in_the_region_gives_an_empty_frame():
    guardduty = client()
    with Stubber(guardduty) as stub:
        stub.add_response("list_detectors", {"DetectorIds": []}, {})
        assert usage_statistics(guardduty, ["111111111111"]).empty


def test_cost_summary_shows_guardduty_figures_beside_the_estimate():
    rows = [("111111111111", "eu-west-1", f"2026-11-{d:02d}", "management", 100_000) for d in range(1, 31)]
    events = pd.DataFrame(rows, columns=["account_id", "region", "event_day", "category", "events"])
    objects = pd.DataFrame(
        columns=["account_id", "region", "service", "day", "objects", "bytes", "small_objects", "small_bytes"]
    ).astype({c: "int64" for c in ("objects", "bytes", "small_objects", "small_bytes")})
    inputs = CostInputs(month_period("2026-11"), events, objects, pd.DataFrame())
    guardduty = client()
    asked: list[str] = []

    def factory(region: str):
        asked.append(region)
        return guardduty

    with Stubber(guardduty) as stub:
        stub.add_response("list_detectors", {"DetectorIds": ["det-1"]}, {})
        expect_usage(stub, "111111111111", [[feature("CLOUD_TRAIL", "11.80")]])
        summary = cost_summary(Settings(), "unused", inputs=inputs, guardduty=factory)
    assert asked == ["eu-west-1"]
    both = compare(summary.lines, summary.usage).set_index("item")
    assert both.loc["guardduty.management_events", "estimate_usd"] == pytest.approx(12.0)  # 3M events x $4/M
    assert both.loc["guardduty.management_events", "usage_30d_usd"] == pytest.approx(11.80)

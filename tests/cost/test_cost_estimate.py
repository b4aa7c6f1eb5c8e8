"""The cost estimator against hand-computed values: tiers at and across their boundaries, tiers per
account and region (never pooled), the 30-day projection, CloudTrail, Athena, S3 lifecycle and KMS."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import ConfigError, Settings
from pipeline.cost import estimate, load_prices, tiered_cost
from pipeline.cost.estimate import CostSummary
from pipeline.cost.period import month_period, window_period
from pipeline.cost.pipeline_costs import _run_times, schedule_runs
from pipeline.cost.prices import latest_price_file
from pipeline.cost.tiers import Tier
from pipeline.cost.volumes import OBJECT_COLUMNS, CostInputs
from pipeline.detections.spec import load_detections
from pipeline.paths import PROJECT_ROOT
from pipeline.runs.schedule import Schedule

PRICES = load_prices()
FLOW = PRICES["guardduty.flow_dns_logs"]
NOVEMBER = month_period("2026-11")
EMPTY_OBJECTS = pd.DataFrame(columns=OBJECT_COLUMNS).astype({c: "int64" for c in OBJECT_COLUMNS[4:]})
NO_RUNS = pd.DataFrame(columns=["detection_id", "engine", "bytes_scanned"])


def settings(**cost) -> Settings:
    base = Settings()
    base.raw["cost"].update(cost)
    return base


def events(rows: list[tuple[str, str, int, str, int]]) -> pd.DataFrame:
    """(account, region, day of November, category, events) rows."""
    frame = pd.DataFrame(
        [(a, r, f"2026-11-{d:02d}", c, n) for a, r, d, c, n in rows],
        columns=["account_id", "region", "event_day", "category", "events"],
    )
    return frame.astype({"events": "int64"})


def inputs(rows, objects: pd.DataFrame = EMPTY_OBJECTS, runs: pd.DataFrame = NO_RUNS) -> CostInputs:
    return CostInputs(NOVEMBER, events(rows), objects, runs)


def guardduty_cost(lines: pd.DataFrame, item: str, account: str | None = None) -> float:
    keep = lines["item"] == f"guardduty.{item}"
    if account:
        keep &= lines["account_id"] == account
    return float(lines.loc[keep, "cost_usd"].sum())


@pytest.mark.parametrize(
    ("gb", "dollars"),
    [
        (0, 0.0),
        (499, 499.0),
        (500, 500.0),
        (501, 500.5),
        (2500, 1500.0),
        (2501, 1500.25),
        (10_000, 3375.0),
        (10_001, 3375.15),
        (12_000, 3675.0),
    ],
)
def test_flow_and_dns_tiers_at_and_across_boundaries(gb, dollars):
    assert FLOW.cost(gb) == pytest.approx(dollars)


@pytest.mark.parametrize(
    ("item", "quantity", "dollars"),
    [
        ("guardduty.management_events", 1_000_000, 4.00),
        ("guardduty.management_events", 2_500_000, 10.00),
        ("guardduty.s3_data_events", 500_000_000, 400.00),
        ("guardduty.s3_data_events", 600_000_000, 440.00),
        ("guardduty.eks_audit_logs", 100_000_000, 160.00),
        ("guardduty.eks_audit_logs", 150_000_000, 200.00),
        ("guardduty.runtime_monitoring", 600, 825.00),
        ("cloudtrail.management_copies", 1_000_000, 20.00),
        ("cloudtrail.data_events", 1_000_000, 1.00),
        ("kms.requests", 20_000, 0.0),
        ("kms.requests", 30_000, 0.03),
        ("guardduty.malware_s3_gb", 11, 0.90),
    ],
)
def test_price_items_match_hand_computed_values(item, quantity, dollars):
    assert PRICES[item].cost(quantity) == pytest.approx(dollars)


def test_tiers_are_exact_for_fractions_and_refuse_negative_quantities():
    tiers = (Tier(2.0, 10), Tier(1.0))
    assert tiered_cost(10.5, tiers) == pytest.approx(20.5)
    assert tiered_cost(5, tiers, per=5) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="negative"):
        tiered_cost(-1, tiers)


def test_region_overrides_apply_only_to_their_region():
    rds = PRICES["guardduty.rds_protection"]
    assert rds.cost(10, "eu-central-2") == pytest.approx(13.5)
    assert rds.cost(10, "us-east-1") == pytest.approx(10.0)


def test_tiers_never_pool_across_accounts_or_regions():
    configured = {
        "111111111111/us-east-1": {"flow_dns_gb": 400},
        "222222222222/us-east-1": {"flow_dns_gb": 400},
        "222222222222/eu-west-1": {"flow_dns_gb": 400},
    }
    lines = estimate(inputs([]), settings(volumes=configured), PRICES)
    # Each pair stays in the first band: 3 x 400 x $1.00. Pooled, 1,200 GB would cost $850.
    assert guardduty_cost(lines, "flow_dns_logs") == pytest.approx(1200.0)
    assert guardduty_cost(lines, "flow_dns_logs", "222222222222") == pytest.approx(800.0)
    one_pair = estimate(
        inputs([]), settings(volumes={"111111111111/us-east-1": {"flow_dns_gb": 1200}}), PRICES
    )
    assert guardduty_cost(one_pair, "flow_dns_logs") == pytest.approx(850.0)


def test_measured_s3_data_events_are_tiered_per_account():
    # 15 days observed, projected x2: A reaches 600M (crosses the 500M band), B 200M.
    rows = [("A", "us-east-1", d, "s3_data", 20_000_000) for d in range(1, 16)]
    rows += [("B", "us-east-1", 1, "s3_data", 100_000_000)]
    lines = estimate(inputs(rows), settings(), PRICES)
    assert guardduty_cost(lines, "s3_data_events", "A") == pytest.approx(400 + 100 * 0.40)
    assert guardduty_cost(lines, "s3_data_events", "B") == pytest.approx(200 * 0.80)


def test_projection_uses_days_observed_across_the_organization():
    rows = [("A", "us-east-1", d, "management", 100_000) for d in range(1, 11)]  # 10 days, 1M events
    rows += [("B", "eu-west-1", 3, "management", 50_000)]  # a quiet region: one day, not one day of ten
    data = inputs(rows)
    assert data.days_observed == 10 and data.projection == pytest.approx(3.0)
    lines = estimate(data, settings(), PRICES)
    management = lines[lines["item"] == "guardduty.management_events"].set_index("account_id")
    assert management.loc["A", "observed"] == 1_000_000
    assert management.loc["A", "quantity"] == pytest.approx(3_000_000)
    assert management.loc["A", "cost_usd"] == pytest.approx(12.0)
    assert management.loc["B", "cost_usd"] == pytest.approx(0.6)


def test_configured_volumes_override_measured_and_scopes_nest():
    rows = [("A", "us-east-1", d, "management", 1000) for d in range(1, 31)]
    rows += [("A", "eu-west-1", d, "management", 1000) for d in range(1, 31)]
    configured = {
        "default": {"eks_audit_events": 1_000_000},
        "A": {"eks_audit_events": 2_000_000},
        "A/eu-west-1": {"eks_audit_events": 5_000_000, "s3_data_events": 10_000_000},
    }
    lines = estimate(inputs(rows), settings(volumes=configured), PRICES).set_index(["item", "region"])
    assert lines.loc[("guardduty.eks_audit_logs", "us-east-1"), "cost_usd"] == pytest.approx(3.2)
    assert lines.loc[("guardduty.eks_audit_logs", "eu-west-1"), "cost_usd"] == pytest.approx(8.0)
    s3 = lines.loc[("guardduty.s3_data_events", "eu-west-1")]
    assert s3["basis"] == "configured" and s3["cost_usd"] == pytest.approx(8.0)


def test_features_switch_plans_on_and_off():
    configured = {"default": {"runtime_vcpus": 100, "eks_audit_events": 1_000_000}}
    rows = [("A", "us-east-1", 1, "management", 10)]
    off = estimate(inputs(rows), settings(volumes=configured, features=[]), PRICES)
    assert not (off["item"] == "guardduty.eks_audit_logs").any()
    assert not (off["item"] == "guardduty.runtime_monitoring").any()
    on = estimate(inputs(rows), settings(volumes=configured, features=["runtime_monitoring"]), PRICES)
    assert guardduty_cost(on, "runtime_monitoring") == pytest.approx(150.0)
    with pytest.raises(ConfigError, match="unknown 'bogus'"):
        estimate(inputs(rows), settings(features=["bogus"]), PRICES)
    with pytest.raises(ConfigError, match="cost.volumes.A.flow_gb: unknown volume"):
        estimate(inputs(rows), settings(volumes={"A": {"flow_gb": 1}}), PRICES)


def test_cloudtrail_charges_data_events_and_extra_management_copies():
    rows = [("A", "us-east-1", d, "management", 100_000) for d in range(1, 31)]  # 3M a month
    rows += [("A", "us-east-1", d, "s3_data", 10_000) for d in range(1, 31)]  # 300k
    rows += [("A", "us-east-1", d, "other_data", 10_000) for d in range(1, 31)]  # 300k
    one = estimate(inputs(rows), settings(), PRICES)
    trail = one[one["service"] == "cloudtrail"]
    assert list(trail["item"]) == ["cloudtrail.data_events"]  # the first copy of management events is free
    assert trail["cost_usd"].sum() == pytest.approx(0.60)
    three = estimate(inputs(rows), settings(trail_copies=3), PRICES)
    copies = three[three["item"] == "cloudtrail.management_copies"]
    assert copies["cost_usd"].sum() == pytest.approx(2 * 3_000_000 / 100_000 * 2.00)


def test_schedule_counts_runs_and_partitions_read():
    detection = load_detections()["root_account_usage"]
    frame = schedule_runs(settings(), detections=[detection]).iloc[0]
    assert frame["runs"] == 30 * 24 * 4
    # A 15-minute window plus the hour of overlap mostly sits in one day; near midnight it reads two.
    assert 1.0 < frame["days_read"] < 1.1
    assert len(_run_times(Schedule.parse("cron(0 6 * * *)"), 30)) == 30
    assert len(_run_times(Schedule.parse("1h"), 30)) == 720


def _athena(lines: pd.DataFrame) -> pd.Series:
    athena = lines[lines["service"] == "athena"]
    return athena.set_index(athena["detail"].astype(str).str.split(":").str[0])["cost_usd"]


def test_athena_bills_at_least_ten_megabytes_a_query_and_prefers_recorded_bytes():
    rows = [("A", "us-east-1", d, "management", 10) for d in range(1, 31)]
    runs = pd.DataFrame(
        {
            "detection_id": ["root_account_usage"] * 2,
            "engine": ["athena"] * 2,
            "bytes_scanned": [100_000_000, 147_000_001],
        }
    )
    lines = estimate(inputs(rows, runs=runs), settings(), PRICES)
    costs = _athena(lines)
    minimum = 2880 * 10_000_000 / 1e12 * 5.0  # no objects listed: every query is billed 10 MB
    assert costs["iam_user_created"] == pytest.approx(minimum)
    assert costs["root_account_usage"] == pytest.approx(2880 * 124_000_000 / 1e12 * 5.0)  # mean, rounded up
    basis = lines[lines["service"] == "athena"].set_index(_athena(lines).index)["basis"]
    assert basis["root_account_usage"] == "recorded" and basis["iam_user_created"] == "estimated"
    disabled = settings()
    disabled.raw["detections"] = {"iam_user_created": {"enabled": False}}
    assert "iam_user_created" not in _athena(estimate(inputs(rows), disabled, PRICES)).index


def objects(large: int, large_each: int, small: int, small_each: int) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            (
                "A",
                "us-east-1",
                "CloudTrail",
                "2026/11/01",
                large + small,
                large * large_each + small * small_each,
                small,
                small * small_each,
            )
        ],
        columns=list(EMPTY_OBJECTS.columns),
    )
    return frame.astype({c: "int64" for c in ("objects", "bytes", "small_objects", "small_bytes")})


def test_storage_follows_the_lifecycle_and_small_objects_stay_in_standard():
    rows = [("A", "us-east-1", d, "management", 1) for d in range(1, 31)]  # 30 days: projection 1
    data = inputs(rows, objects(1000, 2**20, 500, 10 * 1024))
    lines = estimate(data, settings(), PRICES).set_index("item")["cost_usd"]
    gib, large, small = 2**30, 1000 * 2**20, 500 * 10 * 1024
    standard = (large * 30 + small * 2555 + 1000 * 8192 * 2190) / 30 / gib
    assert lines["s3.standard"] == pytest.approx(standard * 0.023)
    assert lines["s3.standard_ia"] == pytest.approx(large * 335 / 30 / gib * 0.0125)
    assert lines["s3.glacier"] == pytest.approx((large + 1000 * 32768) * 2190 / 30 / gib * 0.0036)
    assert lines["s3.put_requests"] == pytest.approx(1500 * 0.005 / 1000)
    assert lines["s3.transition_ia"] == pytest.approx(1000 * 0.01 / 1000)
    assert lines["s3.transition_glacier"] == pytest.approx(1000 * 0.03 / 1000)
    only_small = estimate(inputs(rows, objects(0, 0, 500, 10 * 1024)), settings(), PRICES)
    assert set(only_small[only_small["service"] == "s3"]["item"]) == {"s3.standard", "s3.put_requests"}
    with pytest.raises(ConfigError, match="transition_ia_days"):
        estimate(data, settings(transition_ia_days=400), PRICES)


def test_kms_counts_the_key_and_requests_per_object():
    rows = [("A", "us-east-1", d, "management", 1) for d in range(1, 31)]
    data = inputs(rows, objects(0, 0, 3_000_000, 1000))
    lines = estimate(data, settings(kms_requests_per_object=1.0, kms_keys=2), PRICES).set_index("item")
    assert lines.loc["kms.keys", "cost_usd"] == pytest.approx(2.0)
    # 3M objects written in the month (100k a day) plus what the scheduled detections read.
    schedule = schedule_runs(settings())
    reads_cloudtrail = schedule[schedule["tables"].str.split(",").map(lambda t: "cloudtrail" in t)]
    assert 0 < len(reads_cloudtrail) < len(schedule)  # guardduty_finding reads no CloudTrail objects
    reads = reads_cloudtrail.eval("runs * days_read").sum() * 100_000
    expected = (3_000_000 + reads - 20_000) * 0.03 / 10_000
    assert lines.loc["kms.requests", "cost_usd"] == pytest.approx(expected)


def test_line_items_have_analyst_dtypes_and_the_summary_adds_up():
    rows = [("A", "us-east-1", d, "management", 1000) for d in range(1, 31)]
    rows += [("B", "eu-west-1", d, "management", 2000) for d in range(1, 31)]
    lines = estimate(inputs(rows, objects(10, 2**20, 10, 1024)), settings(), PRICES)
    assert lines["cost_usd"].dtype == "float64" and lines["quantity"].dtype == "float64"
    for column in ("service", "item", "account_id", "region", "basis", "month"):
        assert isinstance(lines[column].dtype, pd.CategoricalDtype)
    summary = CostSummary(NOVEMBER, 30, PRICES.describe(), lines)
    assert summary.by_account["total"].sum() == pytest.approx(summary.total_usd)
    assert summary.by_service["cost_usd"].sum() == pytest.approx(summary.total_usd)
    by_account = summary.by_account.set_index("account_id")
    assert by_account.loc["B", "guardduty"] == pytest.approx(60_000 * 4 / 1e6)
    assert "| guardduty |" in summary.to_markdown()
    assert math.isclose(
        summary.top_items(1)["cost_usd"].iloc[0], lines.groupby("item", observed=True)["cost_usd"].sum().max()
    )


def test_growth_what_if_scales_measured_volumes():
    rows = [("A", "us-east-1", d, "management", 100_000) for d in range(1, 31)]
    base = inputs(rows, objects(10, 2**20, 10, 1024))
    grown = estimate(base.scaled(1.5), settings(), PRICES)
    assert guardduty_cost(grown, "management_events") == pytest.approx(1.5 * 3_000_000 * 4 / 1e6)
    assert base.events["events"].sum() == 3_000_000  # the original is untouched


def test_price_files_are_validated_with_one_line_errors(tmp_path: Path):
    assert PRICES.version == latest_price_file().stem
    assert all(url.startswith("https://aws.amazon.com/") for url in PRICES.sources.values())
    text = latest_price_file().read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace(
            "tiers: [{upto: 500, rate: 1.00}, {upto: 2500, rate: 0.50}",
            "tiers: [{upto: 500, rate: 1.00}, {upto: 400, rate: 0.50}",
            1,
        )
    )
    with pytest.raises(ConfigError, match="guardduty.flow_dns_logs: tier 2 upto 400"):
        load_prices(bad)
    bad.write_text(text.replace("basis: knowledge", "basis: rumour", 1))
    with pytest.raises(ConfigError, match="basis 'rumour'"):
        load_prices(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_prices(tmp_path / "missing.yaml")


def test_periods():
    assert month_period("2026-12").end.year == 2027
    assert len(month_period("2026-02").days) == 28
    with pytest.raises(ConfigError, match="not a month"):
        month_period("2026-13")
    week = window_period(NOVEMBER.start, NOVEMBER.start.replace(day=8))
    assert week.days[0] == "2026/11/01" and len(week.days) == 7


def test_the_example_configuration_prices():
    example = PROJECT_ROOT / "trailguard.example.toml"
    from pipeline.config import load_settings

    chosen = load_settings(example, environ={})
    rows = [("111111111111", "us-east-1", d, "management", 1000) for d in range(1, 31)]
    lines = estimate(inputs(rows), chosen, PRICES)
    flow = lines[lines["item"] == "guardduty.flow_dns_logs"].set_index(["account_id", "region"])["cost_usd"]
    assert flow[("111111111111", "us-east-1")] == pytest.approx(20.0)  # the default volume
    assert flow[("222222222222", "us-east-1")] == pytest.approx(350.0)  # the pair's own
    assert guardduty_cost(lines, "eks_audit_logs", "222222222222") == pytest.approx(40.0)


@given(
    a=st.floats(min_value=0, max_value=50_000, allow_nan=False),
    b=st.floats(min_value=0, max_value=50_000, allow_nan=False),
)
def test_falling_tiers_are_monotone_and_never_cheaper_split(a, b):
    # Rates fall band by band, so the cost is non-decreasing and concave: one account's volume split
    # over two accounts (priced separately, as GuardDuty does) never costs less than it pooled.
    assert FLOW.cost(min(a, b)) <= FLOW.cost(max(a, b)) + 1e-9
    assert FLOW.cost(a + b) <= FLOW.cost(a) + FLOW.cost(b) + 1e-6


# `trailguard cost` models the hot tier when it is on: the CloudTrail and GuardDuty detections send
# Athena nothing.


def _athena_lines(lines: pd.DataFrame) -> pd.DataFrame:
    return lines[lines["service"] == "athena"]


def test_the_hot_tier_replaces_the_cloudtrail_and_guardduty_queries_with_none():
    rows = [("A", "us-east-1", d, "management", 10) for d in range(1, 31)]
    volume = objects(
        large=30_000, large_each=1_000_000, small=0, small_each=0
    )  # 1 GB a day over the 30 days observed
    old = _athena_lines(estimate(inputs(rows, objects=volume), settings(), PRICES))
    hot_settings = settings()
    hot_settings.raw["schedule"]["hot_tier"] = True
    hot = _athena_lines(estimate(inputs(rows, objects=volume), hot_settings, PRICES))
    assert len(old) > 30 and len(hot) == 1  # the hot tier's line only: guardduty_finding's query went too
    (tier,) = hot.itertuples()
    assert "2880 ticks x 0 B" in tier.detail and tier.cost_usd == 0 and "GuardDuty" in tier.detail
    assert old["detail"].str.startswith("guardduty_finding").sum() == 1  # it had its own line before
    assert old["cost_usd"].sum() > 0


def test_recorded_downloads_of_the_tier_are_not_athena_scans():
    rows = [("A", "us-east-1", d, "management", 10) for d in range(1, 31)]
    runs = pd.DataFrame(
        {
            "detection_id": ["hot_tier"] * 2,
            "engine": ["s3"] * 2,  # a cold runner downloading batches it lacked
            "bytes_scanned": [None, None],
            "estimated_bytes": [20_000_000, 40_000_000],
        }
    )
    hot_settings = settings()
    hot_settings.raw["schedule"]["hot_tier"] = True
    lines = _athena_lines(estimate(inputs(rows, runs=runs), hot_settings, PRICES))
    (tier,) = lines[lines["detail"].str.startswith("hot tier")].itertuples()
    assert tier.cost_usd == 0

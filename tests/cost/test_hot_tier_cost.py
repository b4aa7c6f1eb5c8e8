"""`trailguard cost` models the hot tier when it is on: one Athena line of one query per tick."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.cost import estimate
from tests.test_cost_estimate import PRICES, inputs, objects, settings


def _athena(lines: pd.DataFrame) -> pd.DataFrame:
    return lines[lines["service"] == "athena"]


def test_the_hot_tier_replaces_the_cloudtrail_queries_with_one_fetch_per_tick():
    rows = [("A", "us-east-1", d, "management", 10) for d in range(1, 31)]
    volume = objects(
        large=30_000, large_each=1_000_000, small=0, small_each=0
    )  # 1 GB a day over the 30 days observed
    old = _athena(estimate(inputs(rows, objects=volume), settings(), PRICES))
    hot_settings = settings()
    hot_settings.raw["schedule"]["hot_tier"] = True
    hot = _athena(estimate(inputs(rows, objects=volume), hot_settings, PRICES))
    assert len(old) > 30 and len(hot) == 2  # the hot fetch, and guardduty_finding's own query
    (fetch,) = hot[hot["detail"].str.startswith("hot tier")].itertuples()
    assert "2880 ticks" in fetch.detail and fetch.basis == "estimated"
    # 15-minute tick + 60-minute overlap + the longest burst window (60 min) of a 1 GB day
    assert fetch.cost_usd == pytest.approx(
        2880 * 1_000_000_000 * (15 + 60 + 60) / 1440 / 1e12 * 5.0, rel=1e-2
    )  # Athena rounds each query up to the MB
    assert hot["cost_usd"].sum() < old["cost_usd"].sum() / 10


def test_recorded_fetches_are_preferred():
    rows = [("A", "us-east-1", d, "management", 10) for d in range(1, 31)]
    runs = pd.DataFrame(
        {
            "detection_id": ["hot_tier"] * 2,
            "engine": ["athena"] * 2,
            "bytes_scanned": [20_000_000, 40_000_000],
        }
    )
    hot_settings = settings()
    hot_settings.raw["schedule"]["hot_tier"] = True
    lines = _athena(estimate(inputs(rows, runs=runs), hot_settings, PRICES))
    (fetch,) = lines[lines["detail"].str.startswith("hot tier")].itertuples()
    assert fetch.basis == "recorded" and fetch.cost_usd == pytest.approx(2880 * 30_000_000 / 1e12 * 5.0)

"""Price measured and configured volumes into line items, and summarise them.

:func:`estimate` is pure (no I/O): a notebook measures once (:func:`pipeline.cost.volumes.measure`)
and re-prices as often as it likes with other settings (plans enabled, volumes, trail copies) or
scaled inputs. :func:`cost_summary` is the one call the weekly report and the CLI make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from pipeline.config import ConfigError, Settings
from pipeline.cost.guardduty import cloudtrail_lines, guardduty_lines, unconfigured
from pipeline.cost.lines import frame
from pipeline.cost.period import Period, month_period, months_with_data, window_period
from pipeline.cost.pipeline_costs import athena_lines, kms_lines, schedule_runs, storage_lines
from pipeline.cost.prices import PriceBook, load_prices
from pipeline.cost.volumes import CostInputs, measure

SERVICES = ("guardduty", "cloudtrail", "athena", "s3", "kms")


def estimate(inputs: CostInputs, settings: Settings, prices: PriceBook | None = None) -> pd.DataFrame:
    """Every line item for 30 days at the volumes of ``inputs`` (see :mod:`pipeline.cost.lines`)."""
    prices = prices or load_prices(settings["cost"].get("prices") or None)
    schedule = schedule_runs(settings)
    athena = athena_lines(inputs, settings, prices, schedule)
    lines = [
        *guardduty_lines(inputs, settings, prices),
        *cloudtrail_lines(inputs, settings, prices),
        *athena,
        *storage_lines(inputs, settings, prices),
        *kms_lines(inputs, settings, prices, schedule),
    ]
    return frame(lines)


@dataclass
class CostSummary:
    """An estimate and its views: per service, per account, the biggest items, GuardDuty's figures."""

    period: Period
    days_observed: int
    prices: str
    lines: pd.DataFrame
    unconfigured: list[str] = field(default_factory=list)
    usage: pd.DataFrame | None = None

    @property
    def total_usd(self) -> float:
        return float(self.lines["cost_usd"].sum())

    @property
    def by_service(self) -> pd.DataFrame:
        """Dollars per 30 days per service, biggest first."""
        table = self.lines.groupby("service", observed=True)["cost_usd"].sum().sort_values(ascending=False)
        return table.reset_index()

    @property
    def by_account(self) -> pd.DataFrame:
        """One row per account, one column per service, and the total (``pipeline`` is trailguard's own)."""
        table = self.lines.pivot_table(
            index="account_id",
            columns="service",
            values="cost_usd",
            aggfunc="sum",
            fill_value=0.0,
            observed=True,
        )
        table = table.reindex(columns=[s for s in SERVICES if s in table.columns]).astype("float64")
        table["total"] = table.sum(axis=1)
        table.columns.name = None
        return table.sort_values("total", ascending=False).reset_index()

    @property
    def by_data_source(self) -> pd.DataFrame:
        """GuardDuty per account, region and data source (price item), with the 30-day quantity."""
        guard = self.lines[self.lines["service"] == "guardduty"]
        return (
            guard.groupby(["account_id", "region", "item", "unit", "basis"], observed=True)[
                ["quantity", "cost_usd"]
            ]
            .sum()
            .reset_index()
        )

    def top_items(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` costliest items, summed over accounts and regions."""
        table = self.lines.groupby(["service", "item", "title"], observed=True)["cost_usd"].sum()
        return table.sort_values(ascending=False).head(n).reset_index()

    def __str__(self) -> str:  # the weekly report renders the summary as it is
        return self.to_markdown()

    def to_markdown(self, top: int = 5) -> str:
        """A short markdown section for the weekly report."""
        out = [
            f"Estimated AWS cost per 30 days: **${self.total_usd:,.2f}** (from {self.days_observed} "
            f"day(s) of logs in {self.period.label}; {self.prices}).",
            "",
            "| service | USD / 30 days |",
            "|---|---:|",
        ]
        out += [f"| {r.service} | {r.cost_usd:,.2f} |" for r in self.by_service.itertuples()]
        out += ["", "| account | total USD |", "|---|---:|"]
        out += [f"| {r.account_id} | {r.total:,.2f} |" for r in self.by_account.itertuples()]
        out += ["", "| biggest items | USD |", "|---|---:|"]
        out += [f"| {r.title} | {r.cost_usd:,.2f} |" for r in self.top_items(top).itertuples()]
        if self.unconfigured:
            out += ["", f"Not measured and not configured (priced as zero): {', '.join(self.unconfigured)}."]
        return "\n".join(out) + "\n"


def resolve_period(
    source: str, month: str | None = None, start: datetime | None = None, end: datetime | None = None
) -> Period:
    """``month``, else ``[start, end)``, else the latest month with CloudTrail folders in ``source``."""
    if month:
        return month_period(month)
    if start is not None and end is not None:
        return window_period(start, end)
    months = months_with_data(source)
    if not months:
        raise ConfigError(
            f"source {source}: no CloudTrail logs found (AWSLogs/.../CloudTrail/REGION/YYYY/MM)"
        )
    return month_period(months[-1])


def cost_summary(
    settings: Settings,
    source: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    month: str | None = None,
    guardduty: Any = None,
    inputs: CostInputs | None = None,
) -> CostSummary:
    """Measure, price and summarise: the call behind ``trailguard cost`` and the weekly report.

    ``start``/``end`` estimate from that window's volumes (projected to 30 days), ``month`` from a
    calendar month; with neither, the latest month with data. ``guardduty`` is a boto3 GuardDuty
    client, or a callable ``region -> client``: GetUsageStatistics is then read for every region of
    the estimate. ``inputs`` skips measuring (already measured, e.g. in a notebook).
    """
    source = source or settings.source
    prices = load_prices(settings["cost"].get("prices") or None)
    if inputs is None:
        period = resolve_period(source, month, start, end)
        inputs = measure(settings, source, period)
    lines = estimate(inputs, settings, prices)
    summary = CostSummary(
        inputs.period, inputs.days_observed, prices.describe(), lines, unconfigured(settings)
    )
    if guardduty is not None:
        summary.usage = read_usage(guardduty, lines)
    return summary


def read_usage(guardduty: Any, lines: pd.DataFrame) -> pd.DataFrame:
    """GetUsageStatistics for each region of the estimate's GuardDuty lines (per account)."""
    from pipeline.cost.usage import usage_statistics

    guard = lines[lines["service"] == "guardduty"]
    regions = sorted(set(guard["region"].astype(str))) or [None]
    accounts = sorted(set(guard["account_id"].astype(str))) or None
    frames = []
    for region in regions:
        client = guardduty(region) if callable(guardduty) and not hasattr(guardduty, "meta") else guardduty
        frames.append(usage_statistics(client, accounts))
    return pd.concat(frames, ignore_index=True) if frames else frames

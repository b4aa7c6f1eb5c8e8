"""``trailguard cost``: what GuardDuty, CloudTrail and the pipeline itself cost per 30 days.

A thin layer over :func:`pipeline.cost.cost_summary`: prints the estimate per account, per
account/region/data source, and the pipeline's own items, and writes every line item as CSV.
Exit codes: 0 with an estimate, 1 when the month holds no CloudTrail records or AWS failed, 2 for
bad arguments (a month like ``2026-13``, a missing source, a bad ``[cost]`` setting).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.common import ConfigOption, fail, guarded, settings_for
from pipeline.cli.console import console, err_console, info, table
from pipeline.cli.output import STDOUT, Format, OutputPathOption, emit
from pipeline.config import ConfigError
from pipeline.cost import cost_summary
from pipeline.cost.estimate import CostSummary, resolve_period
from pipeline.cost.volumes import measure


def _usd(value: float) -> str:
    return f"{value:,.2f}"


def _quantity(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.3f} {unit}"


def print_summary(summary: CostSummary) -> None:
    """Per account; GuardDuty per data source; the pipeline's own items; GuardDuty's own figures."""
    accounts = summary.by_account
    services = [c for c in accounts.columns if c not in ("account_id", "total")]
    console.print(
        table(
            f"Estimated cost per 30 days, USD ({summary.period.label}, {summary.days_observed} "
            f"day(s) observed)",
            ["account", *services, "total"],
            [
                (r["account_id"], *(_usd(r[s]) for s in services), _usd(r["total"]))
                for _, r in accounts.iterrows()
            ],
        )
    )
    sources = summary.by_data_source
    console.print(
        table(
            "GuardDuty per account, region and data source",
            ["account", "region", "data source", "basis", "quantity / 30 days", "USD"],
            [
                (
                    r.account_id,
                    r.region,
                    r.item.removeprefix("guardduty."),
                    r.basis,
                    _quantity(r.quantity, r.unit),
                    _usd(r.cost_usd),
                )
                for r in sources.itertuples()
            ],
        )
    )
    own = summary.lines[summary.lines["service"].isin(["cloudtrail", "athena", "s3", "kms"])]
    own = (
        own.groupby(["service", "title", "basis"], observed=True)[["quantity", "cost_usd"]]
        .sum()
        .reset_index()
    )
    console.print(
        table(
            "CloudTrail, Athena, S3 and KMS",
            ["service", "item", "basis", "USD"],
            [(r.service, r.title, r.basis, _usd(r.cost_usd)) for r in own.itertuples()],
        )
    )
    if summary.usage is not None:
        from pipeline.cost.usage import compare

        both = compare(summary.lines, summary.usage)
        console.print(
            table(
                "GuardDuty GetUsageStatistics (last 30 days) beside the estimate",
                ["region", "data source", "estimate USD", "GuardDuty USD"],
                [(r.region, r.item, _usd(r.estimate_usd), _usd(r.usage_30d_usd)) for r in both.itertuples()],
            )
        )
    console.print(f"total {_usd(summary.total_usd)} USD per 30 days; {summary.prices}", markup=False)
    if summary.unconfigured:
        err_console.print(
            f"not measured, not configured ([cost.volumes]), priced as zero: "
            f"{', '.join(summary.unconfigured)}",
            markup=False,
            highlight=False,
        )


@guarded
def cost(
    month: Annotated[
        str | None, typer.Option(help="Month to measure, YYYY-MM (default: the latest with logs).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="CSV of every line item (default <data_dir>/cost/; - is stdout).")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Folder or s3:// URI (default: configured source).")
    ] = None,
    usage: Annotated[bool, typer.Option("--usage", help="Also read GuardDuty GetUsageStatistics.")] = False,
    fmt: Annotated[Format, typer.Option("--format", "-f", case_sensitive=False,
                                        help="table (the summaries), or every line item as json or csv.")]
    = Format.table,
    output: OutputPathOption = STDOUT,
    config: ConfigOption = None,
) -> None:
    """Estimate GuardDuty (per account, region and data source), CloudTrail, Athena, S3 and KMS cost."""
    settings = settings_for(config, source=source)
    src = settings.source
    if not src.startswith("s3://") and not Path(src).is_dir():
        raise ConfigError(f"--source {src}: no such folder")
    period = resolve_period(src, month)
    inputs = measure(settings, src, period)
    if not inputs.days_observed:
        fail(f"no CloudTrail records in {period.label} of {src}", 1)
    guardduty = None
    if usage or settings["cost"].get("usage"):
        import boto3

        guardduty = lambda region: boto3.client("guardduty", region_name=region)  # noqa: E731
    summary = cost_summary(settings, src, inputs=inputs, guardduty=guardduty)
    if fmt is Format.table:
        print_summary(summary)
    else:
        emit(summary.lines, fmt=fmt, output=output)
    if str(out) == STDOUT:
        summary.lines.to_csv(sys.stdout, index=False)
        return
    target = out or settings.data_dir / "cost" / f"cost-{period.label}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    summary.lines.to_csv(target, index=False)
    info(f"{len(summary.lines)} line items written to {target}")

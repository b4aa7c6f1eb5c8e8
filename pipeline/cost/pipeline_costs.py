"""What running trailguard itself costs: Athena for the detection schedule, S3 storage of the logs
under the bucket's lifecycle, and KMS requests.

Athena: queries per 30 days come from each enabled detection's schedule; bytes per query from
the findings store when Athena runs were recorded there, otherwise from the raw objects of the
day partitions each scheduled window reads (raw JSON is read whole, every account and region of
a day). Storage is the steady state once the retention is full: every month's logs spend
``transition_ia_days`` in Standard, then IA until ``transition_glacier_days``, then Glacier until
expiry; objects under 128 KB never transition. This is a steady-state monthly bill, the most a
month costs under the lifecycle, not the first month's.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pandas as pd

from pipeline.config import ConfigError, Settings
from pipeline.cost.lines import PIPELINE, Line, line
from pipeline.cost.period import PROJECTION_DAYS
from pipeline.cost.prices import S3_STORAGE_ITEMS, PriceBook
from pipeline.cost.volumes import CostInputs
from pipeline.detections.spec import Detection, load_detections
from pipeline.engines.templating import partition_days
from pipeline.runs.hot_path import hot_enabled
from pipeline.runs.schedule import Schedule

GLACIER_OVERHEAD = (32 * 1024, 8 * 1024)  # bytes per archived object billed at Glacier / Standard rates
_TABLE_SERVICE = {"cloudtrail": "CloudTrail", "guardduty": "GuardDuty"}
_EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday: cron schedules are counted over 30 days from here


def bucket_region(settings: Settings) -> str:
    return str(settings["cost"].get("bucket_region") or settings["athena"].get("region") or "us-east-1")


def schedule_runs(
    settings: Settings, days: int = PROJECTION_DAYS, detections: Iterable[Detection] | None = None
) -> pd.DataFrame:
    """Per enabled detection: runs in ``days`` and the mean number of day partitions (with data) a run reads.

    A run at T reads the window the scheduler gives it (one interval ending ``delivery_lag`` before T,
    reaching ``overlap`` plus the detection's lookback further back) over the day partitions
    :func:`partition_days` names, of which only those up to T's day can hold files yet.
    """
    timing = settings["schedule"]
    lag, overlap = int(timing.get("delivery_lag_minutes", 15)), int(timing.get("overlap_minutes", 60))
    rows = []
    for detection in load_detections().values() if detections is None else detections:
        if not settings.detection_overrides(detection.id).get("enabled", True):
            continue
        runs, days_read = _runs(detection.schedule, days, lag, overlap + detection.lookback_minutes)
        rows.append((detection.id, detection.schedule, ",".join(detection.tables), runs, days_read))
    frame = pd.DataFrame(rows, columns=["detection_id", "schedule", "tables", "runs", "days_read"])
    return frame.astype({"runs": "int64", "days_read": "float64"})


@functools.lru_cache(maxsize=64)
def _runs(schedule_text: str, days: int, lag_minutes: int, reach_minutes: int) -> tuple[int, float]:
    """(runs, mean day partitions with data read per run); detections mostly share a schedule."""
    schedule = Schedule.parse(schedule_text)
    lag, reach = timedelta(minutes=lag_minutes), timedelta(minutes=reach_minutes)
    times = _run_times(schedule, days)
    read = [
        sum(1 for d in partition_days(t - lag - schedule.interval(t) - reach, t - lag) if d <= _day(t))
        for t in times
    ]
    return len(times), (sum(read) / len(read) if read else 0.0)


def _day(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d")


def _run_times(schedule: Schedule, days: int) -> list[datetime]:
    end = _EPOCH + timedelta(days=days)
    if schedule.rate is not None:
        count = int(timedelta(days=days) / schedule.rate)
        return [_EPOCH + schedule.rate * (k + 1) for k in range(count)]
    from croniter import croniter

    fires, out = croniter(schedule.cron, _EPOCH), []
    while (moment := fires.get_next(datetime)) <= end:
        out.append(moment)
    return out


def athena_lines(
    inputs: CostInputs, settings: Settings, prices: PriceBook, schedule: pd.DataFrame
) -> list[Line]:
    """Athena's bill for 30 days of the detection schedule (:func:`schedule_runs`), one line per detection."""
    price = prices["athena.scanned"]
    minimum, rounding = int(price.extra.get("minimum_bytes", 0)), int(price.extra.get("round_bytes", 1))
    unit_bytes = float(price.extra.get("unit_bytes", 1e12))
    region = str(settings["athena"].get("region") or "us-east-1")
    per_day = _per_day(inputs)
    recorded = _recorded_bytes(inputs.runs)
    out = []
    if hot_enabled(settings):  # CloudTrail's and GuardDuty's queries are replaced by the runner's own reads
        out.append(_hot_line(inputs, settings, prices, schedule))
        schedule = schedule[~schedule["tables"].isin(HOT_TABLES)]
    for row in schedule.itertuples(index=False):
        if row.detection_id in recorded:
            scanned, basis = recorded[row.detection_id], "recorded"
        else:
            scanned, basis = _daily(per_day["bytes"], row.tables) * row.days_read, "estimated"
        billed = max(math.ceil(scanned / rounding) * rounding, minimum)
        out.append(
            line(
                price,
                inputs.period.label,
                PIPELINE,
                region,
                basis,
                row.runs * billed / unit_bytes,
                detail=f"{row.detection_id}: {row.runs} runs ({row.schedule}) x {billed:,} B",
            )
        )
    return out


def _hot_line(inputs: CostInputs, settings: Settings, prices: PriceBook, schedule: pd.DataFrame) -> Line:
    """``[schedule] hot_tier``: the CloudTrail and GuardDuty detections' ticks send Athena nothing.

    Each tick lists and downloads only the new deliveries, writes them to the hot tier, and runs the
    CloudTrail detections in the runner over its own copy of the tier's batches; a cold runner
    (Lambda's ``/tmp`` gone) downloads the batches it lacks from S3 instead of querying them. The
    GuardDuty detections run in the runner too, over its mirror of the export objects of the days
    their windows reach (docs/incremental-athena.md). So the line is zero bytes, kept to say why.
    What replaces the queries is S3 requests (a LIST per account/region prefix and per GuardDuty
    account/region/day, a GET per delivered object, two PUTs per tick, GETs after a cold start:
    cents a month) and the runner's compute. A detection reading both tables keeps its own line.
    """
    price = prices["athena.scanned"]
    hot = schedule[schedule["tables"].isin(HOT_TABLES)]
    ticks = int(hot["runs"].max()) if len(hot) else 0
    return line(
        price, inputs.period.label, PIPELINE, str(settings["athena"].get("region") or "us-east-1"),
        "estimated", 0.0,
        detail=f"hot tier: {ticks} ticks x 0 B (no Athena query: the CloudTrail detections run in the "
        "runner over its copy of the tier, the GuardDuty ones over its mirror of the exports; "
        "S3 requests and compute instead)",
    )


HOT_TABLES = ("cloudtrail", "guardduty")  # the detections a hot tick runs in the runner (one table each)


def _per_day(inputs: CostInputs) -> pd.DataFrame:
    """Mean log objects and bytes per delivery day, per service (CloudTrail, GuardDuty), all accounts."""
    days = inputs.days_observed or 1
    if inputs.objects.empty:
        return pd.DataFrame({"objects": pd.Series(dtype="float64"), "bytes": pd.Series(dtype="float64")})
    return inputs.objects.groupby("service")[["objects", "bytes"]].sum().astype("float64") / days


def _daily(per_service: pd.Series, tables: str) -> float:
    """Per-day objects or bytes of the tables a detection reads (``cloudtrail,guardduty``)."""
    return float(sum(per_service.get(_TABLE_SERVICE.get(t, t), 0.0) for t in tables.split(",")))


def _recorded_bytes(runs: pd.DataFrame) -> dict[str, float]:
    """Mean bytes Athena scanned per run of each detection, from runs recorded on Athena."""
    if runs is None or runs.empty or "bytes_scanned" not in runs:
        return {}
    athena = runs[(runs["engine"] == "athena") & runs["bytes_scanned"].notna()]
    return {str(k): float(v) for k, v in athena.groupby("detection_id")["bytes_scanned"].mean().items()}


def _lifecycle(settings: Settings) -> tuple[float, float, float]:
    """Days a large object spends in Standard, IA and Glacier under the configured lifecycle."""
    cost = settings["cost"]
    try:
        retention, to_ia, to_glacier = (
            float(cost[k]) for k in ("retention_days", "transition_ia_days", "transition_glacier_days")
        )
    except (TypeError, ValueError):
        raise ConfigError(
            "cost.retention_days, transition_ia_days and transition_glacier_days must be numbers"
        ) from None
    if retention <= 0 or not 0 < to_ia < to_glacier:
        raise ConfigError(
            "cost: need retention_days > 0 and 0 < transition_ia_days < transition_glacier_days"
        )
    return (
        min(retention, to_ia),
        max(0.0, min(retention, to_glacier) - to_ia),
        max(0.0, retention - to_glacier),
    )


def storage_lines(inputs: CostInputs, settings: Settings, prices: PriceBook) -> list[Line]:
    """Steady-state S3 bill of the logs, per source account and region, priced in the bucket's region.

    Storage tiers (50 TB bands) apply to the whole bucket, so the bucket total is priced once and
    shared out in proportion to each pair's GB-months.
    """
    in_standard, in_ia, in_glacier = _lifecycle(settings)
    retention = float(settings["cost"]["retention_days"])
    region, month, factor = bucket_region(settings), inputs.period.label, inputs.projection
    gib = float(prices["s3.standard"].extra.get("unit_bytes", 2**30))
    pairs = inputs.objects.groupby(["account_id", "region"])[
        ["objects", "bytes", "small_objects", "small_bytes"]
    ].sum()
    quantities: dict[str, dict[tuple[str, str], float]] = {k: {} for k in S3_STORAGE_ITEMS}
    for (account, source_region), row in pairs.iterrows():
        objects, small_objects = row["objects"] * factor, row["small_objects"] * factor
        large_bytes, small_bytes = (row["bytes"] - row["small_bytes"]) * factor, row["small_bytes"] * factor
        large_objects = objects - small_objects
        archived = large_objects if in_glacier else 0.0
        key = (account, source_region)
        months = 1 / PROJECTION_DAYS
        quantities["s3.standard"][key] = (
            (
                large_bytes * in_standard
                + small_bytes * retention
                + archived * GLACIER_OVERHEAD[1] * in_glacier
            )
            * months
            / gib
        )
        quantities["s3.standard_ia"][key] = large_bytes * in_ia * months / gib
        quantities["s3.glacier"][key] = (
            (large_bytes + archived * GLACIER_OVERHEAD[0]) * in_glacier * months / gib
        )
        quantities["s3.put_requests"][key] = objects
        quantities["s3.transition_ia"][key] = large_objects if in_ia else 0.0
        quantities["s3.transition_glacier"][key] = archived
    out = []
    for item, shares in quantities.items():
        price, total = prices[item], sum(shares.values())
        bill = price.cost(total, region)
        for (account, source_region), quantity in sorted(shares.items()):
            if quantity:
                out.append(
                    line(
                        price,
                        month,
                        account,
                        source_region,
                        "measured",
                        quantity,
                        cost=bill * quantity / total,
                        detail=f"bucket in {region}",
                    )
                )
    return out


def kms_lines(
    inputs: CostInputs, settings: Settings, prices: PriceBook, schedule: pd.DataFrame
) -> list[Line]:
    """The key, and a request per log object written or read by detections (times the configured factor)."""
    cost = settings["cost"]
    keys, factor = cost.get("kms_keys", 1), cost.get("kms_requests_per_object", 0.01)
    if isinstance(keys, bool) or not isinstance(keys, int) or keys < 0:
        raise ConfigError(f"cost.kms_keys: {keys!r} is not a non-negative integer")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 0:
        raise ConfigError(f"cost.kms_requests_per_object: {factor!r} is not a non-negative number")
    region, month = bucket_region(settings), inputs.period.label
    written = float(inputs.objects["objects"].sum()) * inputs.projection
    per_day = _per_day(inputs)["objects"]
    read = float(sum(row.runs * row.days_read * _daily(per_day, row.tables) for row in schedule.itertuples()))
    out = [line(prices["kms.keys"], month, PIPELINE, region, "configured", float(keys))] if keys else []
    requests = (written + read) * float(factor)
    if requests:
        out.append(
            line(
                prices["kms.requests"],
                month,
                PIPELINE,
                region,
                "estimated",
                requests,
                detail=f"{written:,.0f} objects written, {read:,.0f} read, x{factor:g}",
            )
        )
    return out

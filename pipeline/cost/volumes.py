"""What the logs say about the volumes GuardDuty, CloudTrail, Athena, S3 and KMS bill.

Measured: management, S3 data and other data events per account, region and day (SQL in
``queries/reports/cost_cloudtrail_volumes.sql``, on either engine), and the log objects per
account, region and delivery day (count and bytes, small objects apart: they never leave S3
Standard). Everything the logs cannot hold (flow and DNS log gigabytes, EKS audit events,
vCPUs, ...) comes from ``[cost.volumes]`` in configuration. Volumes seen in the period are
projected to 30 days from the number of days that had any CloudTrail record.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.catalog.specs import load_specs
from pipeline.config import ConfigError, Settings
from pipeline.cost.period import PROJECTION_DAYS, Period
from pipeline.engines.base import Engine
from pipeline.engines.queries import run_query

SMALL_OBJECT_BYTES = 128 * 1024  # S3 lifecycle does not transition objects below 128 KB by default
CATEGORIES = ("management", "s3_data", "other_data", "network_activity", "insight")
CONFIGURABLE = (
    "management_events",
    "s3_data_events",
    "flow_dns_gb",
    "eks_audit_events",
    "runtime_vcpus",
    "malware_ec2_gb",
    "malware_s3_gb",
    "malware_s3_objects",
    "rds_vcpus",
    "lambda_network_gb",
)


@dataclass
class CostInputs:
    """Everything measured for one period; :func:`pipeline.cost.estimate.estimate` prices it.

    ``events``: account_id, region, event_day, category, events (one row per combination).
    ``objects``: account_id, region, service (CloudTrail|GuardDuty), day, objects, bytes,
    small_objects, small_bytes. ``runs``: the findings store's runs (bytes scanned per detection
    run on Athena), possibly empty.
    """

    period: Period
    events: pd.DataFrame
    objects: pd.DataFrame
    runs: pd.DataFrame
    source: str = ""

    @property
    def days_observed(self) -> int:
        """Distinct days with any CloudTrail record, organization-wide (a quiet region is not a gap)."""
        return int(self.events["event_day"].nunique()) if not self.events.empty else 0

    @property
    def projection(self) -> float:
        """Factor from what was seen to 30 days."""
        return PROJECTION_DAYS / self.days_observed if self.days_observed else 0.0

    def scaled(self, factor: float) -> CostInputs:
        """The same inputs with every measured volume multiplied (what if the logs grow by 50%?)."""
        if factor < 0:
            raise ValueError(f"growth factor {factor!r} is negative")
        events = self.events.assign(events=(self.events["events"] * factor).round().astype("int64"))
        counts = ["objects", "bytes", "small_objects", "small_bytes"]
        objects = self.objects.copy()
        for column in counts:
            objects[column] = (objects[column] * factor).round().astype("int64")
        return replace(self, events=events, objects=objects)


def measure_events(engine: Engine, period: Period) -> pd.DataFrame:
    """CloudTrail records per account, region, event day and category in ``period``."""
    frame = run_query("cost_cloudtrail_volumes", engine, period.start, period.end)
    columns = ["account_id", "region", "event_day", "category", "events"]
    frame = frame[columns] if not frame.empty else pd.DataFrame(columns=columns)
    frame = frame.astype({"account_id": str, "region": str, "event_day": str, "category": str})
    frame["events"] = pd.to_numeric(frame["events"]).astype("int64")
    frame = frame.sort_values(columns[:4]).reset_index(drop=True)
    return frame.astype({"account_id": "category", "region": "category", "category": "category"})


OBJECT_COLUMNS = [
    "account_id",
    "region",
    "service",
    "day",
    "objects",
    "bytes",
    "small_objects",
    "small_bytes",
]


def _object_row(account: str, region: str, service: str, day: str, sizes: list[int]) -> tuple:
    small = [s for s in sizes if s < SMALL_OBJECT_BYTES]
    return (account, region, service, day, len(sizes), sum(sizes), len(small), sum(small))


def _objects(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=OBJECT_COLUMNS).astype({c: "int64" for c in OBJECT_COLUMNS[4:]})


def inventory(root: Path, period: Period) -> pd.DataFrame:
    """Log objects of the period's delivery days under a local folder with the bucket layout."""
    from pipeline.lake.ingest import discover

    specs = load_specs()
    rows = []
    for service, table in (("CloudTrail", "cloudtrail"), ("GuardDuty", "guardduty_findings")):
        for (account, region, day), files in discover(root, specs[table], set(period.days)).items():
            rows.append(_object_row(account, region, service, day, [f.stat().st_size for f in files]))
    return _objects(rows)


def inventory_s3(s3_client: Any, source: str, period: Period, max_workers: int = 8) -> pd.DataFrame:
    """The same from an ``s3://`` source by listing (sizes only, nothing downloaded).

    One listing per account, service, region and day prefix, as the S3 sync does; log files only
    (``.json.gz``, ``.jsonl.gz``), so digests and folder markers are not counted.
    """
    from pipeline.source.s3 import parse_s3_uri
    from pipeline.source.s3sync import discover_log_prefixes, list_day

    bucket, prefix = parse_s3_uri(source)
    jobs = [(tree, day) for tree in discover_log_prefixes(s3_client, bucket, prefix) for day in period.days]

    def listed(job: tuple[Any, str]) -> tuple | None:
        tree, day = job
        sizes = [
            size
            for key, size in list_day(s3_client, bucket, f"{tree.key_prefix}{day}/")
            if key.endswith((".json.gz", ".jsonl.gz"))
        ]
        return _object_row(tree.account, tree.region, tree.service, day, sizes) if sizes else None

    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(jobs) or 1))) as pool:
        return _objects([row for row in pool.map(listed, jobs) if row is not None])


def configured_volumes(settings: Settings) -> dict[str, dict[str, float]]:
    """``[cost.volumes]`` checked: keys ``default``, ``ACCOUNT`` or ``ACCOUNT/REGION``, known volume names."""
    raw = settings["cost"].get("volumes") or {}
    if not isinstance(raw, dict):
        raise ConfigError("cost.volumes must be a table of tables")
    out: dict[str, dict[str, float]] = {}
    for scope, values in raw.items():
        if not isinstance(values, dict):
            raise ConfigError(f"cost.volumes.{scope} must be a table like {{flow_dns_gb = 100}}")
        for name, value in values.items():
            if name not in CONFIGURABLE:
                raise ConfigError(
                    f"cost.volumes.{scope}.{name}: unknown volume (known: {', '.join(CONFIGURABLE)})"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"cost.volumes.{scope}.{name}: {value!r} is not a non-negative number")
        out[str(scope)] = {str(k): float(v) for k, v in values.items()}
    return out


def volumes_for(configured: dict[str, dict[str, float]], account: str, region: str) -> dict[str, float]:
    """The configured volumes of one account and region: default, then the account, then the pair."""
    merged: dict[str, float] = {}
    for scope in ("default", account, f"{account}/{region}"):
        merged.update(configured.get(scope, {}))
    return merged


def measure(
    settings: Settings,
    source: str,
    period: Period,
    engine: Engine | None = None,
    runs: pd.DataFrame | None = None,
) -> CostInputs:
    """Measure ``period`` of ``source``: ingest what the embedded engine needs, query, list objects.

    An ``engine`` passed in is used as is (and not closed); otherwise the configured one is opened
    over the source's lake after an incremental ingest of the period's days (plus the next day,
    which holds records delivered after midnight).
    """
    from pipeline.lake.access import ingest, local_root, open_engine

    days = period.days + [period.end.strftime("%Y/%m/%d")]
    own = engine is None
    if engine is None:
        if settings.engine == "athena":
            engine = open_engine(settings)
        else:
            lake, _ = ingest(settings, source, days)
            engine = open_engine(settings, lake)
    try:
        events = measure_events(engine, period)
    finally:
        if own:
            engine.close()
    if source.startswith("s3://"):
        import boto3

        objects = inventory_s3(boto3.client("s3"), source, period)
    else:
        objects = inventory(local_root(settings, source, period.days), period)
    return CostInputs(period, events, objects, runs if runs is not None else store_runs(settings), source)


def store_runs(settings: Settings) -> pd.DataFrame:
    """Runs recorded in the findings store (for the bytes Athena actually scanned); empty if none."""
    from pipeline.findings.store import open_findings_store

    location = settings.findings_store
    if not location.startswith("s3://") and not Path(location, "runs").is_dir():
        return pd.DataFrame(columns=["detection_id", "engine", "bytes_scanned"])
    return open_findings_store(location).runs()


def per_pair(inputs: CostInputs) -> pd.DataFrame:
    """Measured events per account and region: observed counts by category, as int64 columns."""
    events = inputs.events
    if events.empty:
        return pd.DataFrame(columns=["account_id", "region", *CATEGORIES]).astype(
            {c: "int64" for c in CATEGORIES}
        )
    table = events.pivot_table(
        index=["account_id", "region"],
        columns="category",
        values="events",
        aggfunc="sum",
        fill_value=0,
        observed=True,
    )
    table = table.reindex(columns=list(CATEGORIES), fill_value=0).astype("int64").reset_index()
    table.columns.name = None
    return table

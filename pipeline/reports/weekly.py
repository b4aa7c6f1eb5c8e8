"""The weekly security report: what happened, what is new, what to tune, whether the logs are whole.

:func:`build_weekly_report` gathers everything as DataFrames (a notebook can stop there);
:func:`write_weekly_report` draws the charts and renders ``weekly.md`` with them beside it.
Findings come from the findings store (what scheduled runs delivered), events from the tables
through ``queries/reports/`` on the configured engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import ConfigError, Settings
from pipeline.cost.prices import PriceBook, load_prices
from pipeline.detections.spec import load_detections
from pipeline.engines.templating import partition_days
from pipeline.findings.store import open_findings_store
from pipeline.reports import trends
from pipeline.reports.health import CoverageHealth, coverage_health
from pipeline.reports.investigate import finding_resource
from pipeline.reports.render import cell
from pipeline.reports.weeks import latest_log_time, week_label, week_of

Progress = Callable[[str, int, int], None]
BASELINE_DAYS = 28
HEALTH_DETECTIONS = ("log_delivery_gap", "log_file_tampered")


@dataclass
class WeeklyReport:
    """Everything the weekly report shows, as data."""

    week: str
    start: datetime
    end: datetime
    source: str
    engine: str
    generated_at: datetime
    findings: pd.DataFrame  # first seen this week, latest versions
    severity: pd.DataFrame  # week over week by severity
    by_detection: pd.DataFrame  # week over week by detection
    new_high: pd.DataFrame
    runbooks: dict[str, str]
    noisy_principals: pd.DataFrame
    top_source_ips: pd.DataFrame
    new_entities: pd.DataFrame
    guardduty: pd.DataFrame  # type family x severity, this week
    guardduty_total: int
    guardduty_last_week: int
    volume: pd.DataFrame
    events_last_week: int
    days_last_week: int  # days of last week with CloudTrail records (volumes compare per day)
    health: CoverageHealth
    health_findings: pd.DataFrame
    pipeline_cost: pd.DataFrame
    runs: int
    integrity: Any = None  # pipeline.integrity.validate summary when the source has digests
    cost: Any = None  # pipeline.cost summary when available
    incidents: list[Any] = field(default_factory=list)  # pipeline.incidents: the week's, best first
    charts: dict[str, Path] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return int(self.volume["events"].sum()) if not self.volume.empty else 0

    @property
    def days(self) -> int:
        """Days of the week with CloudTrail records: under 7, the week is partial."""
        return int(self.volume["event_day"].nunique()) if not self.volume.empty else 0

    @property
    def summary(self) -> list[str]:
        """Three lines a security lead reads first."""
        counts = self.severity.set_index("severity")["this_week"]
        high = int(counts.get("critical", 0) + counts.get("high", 0))
        total = len(self.findings)
        last = int(self.severity["last_week"].sum())
        change = "no change" if total == last else f"{total - last:+d} on the week before"
        if 0 < self.days < 7 and self.days_last_week:  # a partial week compares per day of data
            change = (f"{total / self.days:,.1f} a day against {last / self.days_last_week:,.1f} the week "
                      f"before; a partial week: {self.days} of 7 days have records")
        lines = [
            f"{total} new finding(s) ({change}); {high} high or critical."
            if total
            else f"No new findings this week (the week before: {last}).",
            f"{self.events:,} CloudTrail records from {self.volume['account_id'].nunique()} account(s); "
            f"{self.guardduty_total} GuardDuty finding(s).",
        ]
        problems = self.health.problems
        gaps = len(self.health_findings)
        missing = self.missing_data()
        if missing:
            lines.append(missing)
        elif len(problems) or gaps:
            lines.append(
                f"Log health needs attention: {len(problems)} account/region(s) silent or stopped, "
                f"{gaps} delivery-gap or tampering finding(s)."
            )
        else:
            lines.append("Logs arrived from every expected account and region all week.")
        return lines

    def missing_data(self) -> str | None:
        """Computed, never defaulted: a week with no records, or none on its last day, is said."""
        last = self.health.org_last_event
        if last is None or pd.isna(last) or not self.events:
            return (f"No CloudTrail records at all this week from {self.source}: nothing was delivered, "
                    "or the source is empty or the wrong folder. Nothing in this report is an all-clear.")
        if pd.Timestamp(last) < pd.Timestamp(self.end) - timedelta(days=1):
            return (f"No account or region delivered after {pd.Timestamp(last):%Y-%m-%d %H:%M} UTC: the "
                    "week's last day has no records (a stopped trail, deleted logs, or a sync that fell "
                    "behind).")
        return None


def _week_start(settings: Settings, source: str, week_start: datetime | None) -> datetime:
    if week_start is not None:
        return week_start
    if not source.startswith("s3://") and Path(source).is_dir():
        newest = latest_log_time(Path(source))
        if newest is not None:
            return week_of(newest)
    runs = open_findings_store(trends.findings_store_location(settings)).runs()
    if not runs.empty:
        newest = pd.to_datetime(runs["window_end"], utc=True, format="ISO8601").max()
        return week_of((newest - pd.Timedelta(minutes=1)).to_pydatetime())
    raise ConfigError(
        f"source {source}: no CloudTrail logs and no recorded runs to choose a week from; pass --week"
    )


def athena_cost(bytes_scanned: pd.Series, prices: PriceBook | None = None) -> pd.Series:
    """Dollars per query at Athena's price (the price file's ``athena.scanned``: rounded up to the
    MB, at least 10 MB per query)."""
    price = (prices or load_prices())["athena.scanned"]
    minimum, rounding = int(price.extra.get("minimum_bytes", 0)), int(price.extra.get("round_bytes", 1))
    unit = float(price.extra.get("unit_bytes", 1e12))
    billed = (-(-bytes_scanned // rounding) * rounding).clip(lower=minimum)
    return billed / unit * price.tiers[0].rate


def pipeline_cost(runs: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Per detection: runs whose window ended in the week, seconds, bytes the scan guard estimated
    before each run and Athena scanned, and dollars."""
    columns = ["detection_id", "runs", "seconds", "estimated_bytes", "bytes_scanned", "usd"]
    if runs.empty:
        counts = ("runs", "estimated_bytes", "bytes_scanned")
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in counts else "float64") for c in columns}
        ).astype({"detection_id": str})
    ended = pd.to_datetime(runs["window_end"], utc=True, format="ISO8601")
    week = runs[(ended > pd.Timestamp(start)) & (ended <= pd.Timestamp(end))].copy()
    scanned = pd.to_numeric(week["bytes_scanned"], errors="coerce")
    week["usd"] = athena_cost(scanned).where(scanned.notna(), 0.0)
    week["bytes"] = scanned.fillna(0)
    estimated = week["estimated_bytes"] if "estimated_bytes" in week else pd.Series(index=week.index)
    week["estimated"] = pd.to_numeric(estimated, errors="coerce").fillna(0)
    grouped = week.groupby("detection_id")
    frame = pd.DataFrame(
        {
            "runs": grouped.size().astype("int64"),
            "seconds": grouped["duration_s"].sum().astype("float64"),
            "estimated_bytes": grouped["estimated"].sum().astype("int64"),
            "bytes_scanned": grouped["bytes"].sum().astype("int64"),
            "usd": grouped["usd"].sum().astype("float64"),
        }
    )
    return frame.sort_values(["usd", "seconds"], ascending=False).rename_axis("detection_id").reset_index()


def _engine_for(settings: Settings, source: str, days: list[str], progress: Progress | None):  # noqa: ANN202
    """The engine, and for DuckDB the lake (ingested for ``days`` first) whose skip ledger we read."""
    from pipeline.lake.access import ingest, open_engine

    if settings.engine == "athena":
        return open_engine(settings), None
    lake, _ = ingest(settings, source, days, progress)
    return open_engine(settings, lake), lake


def _skipped_files(lake: Path | None, start: datetime, end: datetime) -> list[tuple[str, str]]:
    """Raw files of the week's day partitions that ingest skipped as unreadable, whenever it did."""
    if lake is None:
        return []
    from pipeline.lake.report import SkipLedger

    days = set(partition_days(start, end))
    return [
        entry
        for table in ("cloudtrail", "guardduty_findings")
        for entry in SkipLedger(lake, table).in_days(days)
    ]


def _expected_pairs(settings: Settings) -> list[tuple[str, str]]:
    catalog = settings["catalog"]
    return [(str(a), str(r)) for a in catalog.get("accounts") or [] for r in catalog.get("regions") or []]


def build_weekly_report(
    settings: Settings,
    source: str | None = None,
    week_start: datetime | None = None,
    progress: Progress | None = None,
) -> WeeklyReport:
    """Gather the week's findings, trends, GuardDuty, coverage and cost."""
    source = source or settings.source
    start = _week_start(settings, source, week_start)
    end = start + timedelta(days=7)
    baseline = start - timedelta(days=BASELINE_DAYS)
    engine, lake = _engine_for(settings, source, partition_days(baseline, end), progress)
    try:
        volume = trends.event_volume(engine, start, end)
        last_volume = trends.event_volume(engine, start - timedelta(days=7), start)
        new_entities = trends.first_seen(engine, start, end, BASELINE_DAYS)
        gd = trends.guardduty_trends(engine, start, end)
        gd_last = trends.guardduty_trends(engine, start - timedelta(days=7), start)
        health = coverage_health(
            engine, start, end, baseline_days=BASELINE_DAYS, expected=_expected_pairs(settings)
        )
    finally:
        engine.close()
    health.skipped_files.extend(_skipped_files(lake, start, end))
    all_findings = trends.load_findings(settings, since=start - timedelta(days=7), until=end)
    findings = trends.in_period(all_findings, start, end)
    detections = load_detections()
    high = findings[findings["severity"].astype(str).isin(["critical", "high"])]
    new_high = trends.with_actor(high).sort_values(["severity", "first_seen"], ascending=[False, True])
    cost = pipeline_cost(open_findings_store(trends.findings_store_location(settings)).runs(), start, end)
    report = WeeklyReport(
        week=week_label(start),
        start=start,
        end=end,
        source=source,
        engine=settings.engine,
        generated_at=datetime.now(UTC),
        findings=findings,
        severity=trends.week_over_week(all_findings, start, "severity"),
        by_detection=trends.week_over_week(all_findings, start, "detection_id"),
        new_high=new_high.reset_index(drop=True),
        runbooks={
            d: detections[d].runbook for d in new_high["detection_id"].astype(str).unique() if d in detections
        },
        noisy_principals=trends.top_actors(findings),
        top_source_ips=trends.top_source_ips(findings),
        new_entities=new_entities,
        guardduty=trends.guardduty_by_family(gd),
        guardduty_total=int(gd["findings"].sum()),
        guardduty_last_week=int(gd_last["findings"].sum()),
        volume=volume,
        events_last_week=int(last_volume["events"].sum()),
        days_last_week=int(last_volume["event_day"].nunique()) if not last_volume.empty else 0,
        health=health,
        health_findings=findings[findings["detection_id"].astype(str).isin(HEALTH_DETECTIONS)].reset_index(
            drop=True
        ),
        pipeline_cost=cost,
        runs=int(cost["runs"].sum()),
    )
    report.cost = _estimate_cost(settings, source, start, end)
    report.integrity = _validate(settings, source, start, end)
    report.incidents = _incidents(settings, start, end)
    report.noisy_principals = trends.with_noise(report.noisy_principals, report.incidents, start, end)
    return report


def _incidents(settings: Settings, start: datetime, end: datetime) -> list[Any]:
    """Incidents active in the week, ranked; the report leads with them."""
    from pipeline.incidents.service import incidents_from_store

    return incidents_from_store(settings, since=start, until=end)


def _runbooks(findings: pd.DataFrame, detections: dict[str, Any]) -> dict[str, str]:
    """One runbook per detection: the finding's own (integrity findings carry theirs), else the header's."""
    runbooks: dict[str, str] = {}
    for row in findings.itertuples():
        detection_id = str(row.detection_id)
        text = row.runbook if isinstance(row.runbook, str) and row.runbook else None
        if text is None and detection_id in detections:
            text = detections[detection_id].runbook
        if text and detection_id not in runbooks:
            runbooks[detection_id] = text
    return runbooks


def _validate(settings: Settings, source: str, start: datetime, end: datetime) -> Any:
    """The week's CloudTrail log file validation; a failure to validate is shown, not fatal."""
    from pipeline.integrity.findings import integrity_summary

    try:
        return integrity_summary(settings, source, start, end)
    except (ConfigError, ValueError, OSError) as exc:
        return f"Log file validation could not run: {exc}"


def _estimate_cost(settings: Settings, source: str, start: datetime, end: datetime) -> Any:
    """The week's volumes priced and projected to 30 days; a failure is shown in the report, not fatal."""
    from pipeline.cost import cost_summary

    try:
        return cost_summary(settings, source, start, end)
    except (ConfigError, ValueError, OSError) as exc:
        return f"Cost estimate unavailable: {exc}"


def _accounts(volume: pd.DataFrame) -> pd.DataFrame:
    if volume.empty:
        return pd.DataFrame(columns=["account_id", "events", "errors", "regions", "services"])
    grouped = volume.groupby(volume["account_id"].astype(str))
    frame = pd.DataFrame(
        {
            "events": grouped["events"].sum().astype("int64"),
            "errors": grouped["errors"].sum().astype("int64"),
            "regions": grouped["region"].nunique().astype("int64"),
            "services": grouped["event_source"].nunique().astype("int64"),
        }
    )
    return frame.sort_values("events", ascending=False).rename_axis("account_id").reset_index()


def _new_counts(entities: pd.DataFrame) -> str:
    counts = entities["kind"].value_counts()
    names = {
        "actor": "actor(s)",
        "source_ip": "source IP(s)",
        "region": "region(s)",
        "user_agent": "user agent(s)",
    }
    text = ", ".join(f"{int(counts.get(kind, 0))} new {label}" for kind, label in names.items())
    left_out = entities.attrs.get("left_out", 0)
    return text + (f" ({left_out} private or AWS service address(es) left out)" if left_out else "")


def write_weekly_report(report: WeeklyReport, out: Path) -> Path:
    """Write ``weekly-<week>.md`` and its PNG charts into ``out``; returns the markdown's path."""
    from pipeline.reports import charts
    from pipeline.reports.render import render_markdown

    out.mkdir(parents=True, exist_ok=True)
    prefix = f"weekly-{report.week}"
    report.charts = {
        "findings_per_day": charts.findings_per_day(
            report.findings, report.start, out / f"{prefix}-findings.png"
        ),
        "detections_week_over_week": charts.detections_week_over_week(
            report.by_detection, out / f"{prefix}-detections.png"
        ),
        "guardduty_families": charts.guardduty_families(report.guardduty, out / f"{prefix}-guardduty.png"),
        "event_volume_per_day": charts.event_volume_per_day(
            report.volume, report.start, out / f"{prefix}-volume.png"
        ),
    }
    cost = report.pipeline_cost.assign(
        scanned=report.pipeline_cost["bytes_scanned"].map(lambda b: _size(b) if b else "n/a"),
        estimated=report.pipeline_cost["estimated_bytes"].map(lambda b: _size(b) if b else "n/a"),
        cost=report.pipeline_cost["usd"].map(lambda v: f"${v:,.4f}"),
    )
    text = render_markdown(
        "weekly.md.j2",
        r=report,
        one_day=timedelta(days=1),
        charts={name: path.name for name, path in report.charts.items()},
        by_detection=report.by_detection[
            (report.by_detection["this_week"] > 0) | (report.by_detection["last_week"] > 0)
        ],
        guardduty=report.guardduty.rename_axis("type_family").reset_index(),
        accounts=_accounts(report.volume),
        baseline_days=BASELINE_DAYS,
        new_counts=_new_counts(report.new_entities),
        new_sections=[
            ("actor", "Actors", 20),
            ("region", "Regions", 20),
            ("source_ip", "Source IPs", 10),
            ("user_agent", "User agents", 10),
        ],
        pipeline_cost=cost,
        cost_rows=COST_ROWS,
        new_high=report.new_high.assign(
            resource=report.new_high.get("context", pd.Series(dtype=str)).map(finding_resource)
        ),
        scanned=int(report.pipeline_cost["bytes_scanned"].sum()),
        spent=float(report.pipeline_cost["usd"].sum()),
        integrity_text=_integrity_text(report.integrity),
        cost_text=_cost_text(report.cost),
    )
    path = out / f"{prefix}.md"
    path.write_text(text, encoding="utf-8")
    return path


COST_ROWS = 20  # detections listed in the cost table; the text says when there are more


def _size(value: int) -> str:
    from pipeline.engines.scan_estimate import format_size

    return format_size(int(value))


def _integrity_text(integrity: Any) -> str:
    """The validation result as markdown: a line when valid, the problems when not."""
    if integrity is None or isinstance(integrity, str):
        return integrity or ""
    if integrity.status == "no digests":
        return (
            "**Log file validation: off.** The source has no CloudTrail digest files, so nothing "
            "proves the logs are whole; turn on log file validation on the trail."
        )
    head = (
        f"**Log file validation: {integrity.status}.** {integrity.valid_digests:,} digest(s) and "
        f"{integrity.valid_log_files:,} log file(s) verified"
    )
    if integrity.ok:
        return head + "; every log file matches its digest and the digest chains are unbroken."
    lines = [
        head + f"; {integrity.invalid_digests:,} digest problem(s), {integrity.invalid_log_files:,} "
        "log file problem(s). A modified or deleted log file erases activity from every query.",
        "",
        "| problem | file | detail |",
        "|---|---|---|",
    ]
    lines += [f"| {p.category} | `{p.file}` | {cell(p.detail)} |" for p in integrity.problems[:25]]
    if len(integrity.problems) > 25:
        lines.append(f"\n... and {len(integrity.problems) - 25} more (`trailguard validate-logs`).")
    return "\n".join(lines)


def _cost_text(cost: Any) -> str:
    return "" if cost is None else "### AWS cost estimate\n\n" + str(cost)

"""Log coverage and health for a period: which accounts and regions delivered, which went silent.

Expected senders are the account/region folders that delivered in the baseline before the period,
plus the accounts x regions named in ``[catalog]``. One that sent nothing in the period is
``silent``; one whose last record is more than ``stop_after`` before the organization's last record
``stopped`` mid-period, unless the pair is quiet anyway: its allowance is three times its usual
spacing in the baseline (hours over hours with records), so a region with a record every few
hours is not reported for a three-hour silence. Either can be an outage, a trail
misconfiguration, or someone covering their tracks; the report lists them first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from pipeline.engines.base import Engine
from pipeline.reports.trends import log_coverage

STATUS_ORDER = ["silent", "stopped", "new", "ok"]


@dataclass
class CoverageHealth:
    """Per account/region coverage of the period with a status, and what else the report shows."""

    coverage: pd.DataFrame
    org_last_event: pd.Timestamp | None
    skipped_files: list[tuple[str, str]] = field(default_factory=list)

    def with_status(self, status: str) -> pd.DataFrame:
        return self.coverage[self.coverage["status"] == status].reset_index(drop=True)

    @property
    def problems(self) -> pd.DataFrame:
        return self.coverage[self.coverage["status"].isin(["silent", "stopped"])].reset_index(drop=True)


def coverage_health(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    baseline_days: int = 28,
    stop_after: timedelta = timedelta(hours=2),
    expected: list[tuple[str, str]] | None = None,
) -> CoverageHealth:
    """Coverage of ``[start, end)`` against the baseline's senders and the ``expected`` pairs."""
    period = log_coverage(engine, start, end)
    baseline = log_coverage(engine, start - timedelta(days=baseline_days), start)
    keys = ["account_id", "region"]
    known = {tuple(k) for k in baseline[keys].astype(str).itertuples(index=False)} | set(expected or [])
    seen = {tuple(k) for k in period[keys].astype(str).itertuples(index=False)}
    silent = pd.DataFrame(sorted(known - seen), columns=keys)
    silent_rows = silent.assign(events=0, first_event=pd.NaT, last_event=pd.NaT, active_hours=0)
    frame = pd.concat([period.astype({"account_id": str, "region": str}), silent_rows], ignore_index=True)
    frame["first_event"] = pd.to_datetime(frame["first_event"], utc=True)
    frame["last_event"] = pd.to_datetime(frame["last_event"], utc=True)
    frame[["events", "active_hours"]] = frame[["events", "active_hours"]].astype("int64")
    org_last = period["last_event"].max() if not period.empty else None
    status = pd.Series("ok", index=frame.index)
    if org_last is not None:
        observed = start - baseline["first_event"].min() if not baseline.empty else timedelta(0)
        allowance = _allowances(frame, baseline, observed, stop_after)
        status[frame["last_event"] < org_last - allowance] = "stopped"
    status[[(a, r) not in known for a, r in zip(frame["account_id"], frame["region"], strict=True)]] = "new"
    status[frame["events"] == 0] = "silent"
    frame["status"] = pd.Categorical(status, categories=STATUS_ORDER, ordered=True)
    frame["silent_for"] = (org_last - frame["last_event"]) if org_last is not None else pd.NaT
    frame = frame.sort_values(["status", "account_id", "region"]).reset_index(drop=True)
    return CoverageHealth(frame, org_last)


def _allowances(
    frame: pd.DataFrame, baseline: pd.DataFrame, observed: timedelta, stop_after: timedelta
) -> pd.Series:
    """How long each pair may be silent before it counts as stopped (``observed``: the baseline's span)."""
    hours = observed.total_seconds() / 3600
    spacing = {
        (str(a), str(r)): timedelta(hours=hours / max(int(h), 1))
        for a, r, h in baseline[["account_id", "region", "active_hours"]].itertuples(index=False)
    }
    return pd.Series(
        [
            pd.Timedelta(max(stop_after, 3 * spacing.get((a, r), timedelta(0))))
            for a, r in zip(frame["account_id"], frame["region"], strict=True)
        ],
        index=frame.index,
    )

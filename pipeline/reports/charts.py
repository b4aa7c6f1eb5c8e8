"""The weekly report's charts: PNG files written beside the markdown, drawn with matplotlib.

The Agg backend draws without a display (servers, CI, Lambda). Every chart is drawn even when its
data is empty, with a line saying so, so the report never links a missing image.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
import pandas as pd  # noqa: E402

SEVERITY_COLOURS = {"critical": "#7b1fa2", "high": "#d32f2f", "medium": "#f57c00", "low": "#1976d2"}
DPI = 110


# Legends sit right of the plot, never over the bars or lines (tight_layout makes room for them).
OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _empty(ax: plt.Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


def _days(start: datetime) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start), periods=7, freq="D")


def findings_per_day(findings: pd.DataFrame, start: datetime, path: Path) -> Path:
    """Stacked bars: findings first seen each day of the week, by severity."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    days = _days(start)
    if findings.empty:
        _empty(ax, "No findings this week")
    else:
        day = findings["first_seen"].dt.floor("D")
        table = findings.groupby([day, findings["severity"].astype(str)]).size().unstack(fill_value=0)
        table = table.reindex(days, fill_value=0)
        bottom = pd.Series(0, index=days)
        for severity in ("low", "medium", "high", "critical"):
            if severity in table:
                ax.bar(
                    days.strftime("%a %d"),
                    table[severity],
                    bottom=bottom,
                    label=severity,
                    color=SEVERITY_COLOURS[severity],
                )
                bottom = bottom + table[severity]
        ax.legend(fontsize=8, **OUTSIDE)
        ax.set_ylabel("findings")
    ax.set_title("Findings per day by severity")
    return _save(fig, path)


def event_volume_per_day(volume: pd.DataFrame, start: datetime, path: Path) -> Path:
    """One line per account: CloudTrail records per day. A line that drops to zero is a gap."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    days = _days(start)
    if volume.empty:
        _empty(ax, "No CloudTrail records this week")
    else:
        table = (
            volume.groupby(["event_day", volume["account_id"].astype(str)])["events"]
            .sum()
            .unstack(fill_value=0)
        )
        table = table.reindex(days, fill_value=0)
        for account in table.columns:
            ax.plot(days.strftime("%a %d"), table[account], marker="o", label=account)
        ax.legend(fontsize=8, **OUTSIDE, title="account", title_fontsize=8)
        ax.set_ylabel("records")
        ax.set_ylim(bottom=0)
    ax.set_title("CloudTrail records per day by account")
    return _save(fig, path)


def guardduty_families(by_family: pd.DataFrame, path: Path) -> Path:
    """Horizontal stacked bars: GuardDuty findings per type family and severity."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if by_family.empty or int(by_family.to_numpy().sum()) == 0:
        _empty(ax, "No GuardDuty findings this week")
    else:
        left = pd.Series(0, index=by_family.index)
        for severity in ("low", "medium", "high", "critical"):
            if severity in by_family and by_family[severity].sum():
                ax.barh(
                    by_family.index,
                    by_family[severity],
                    left=left,
                    label=severity,
                    color=SEVERITY_COLOURS[severity],
                )
                left = left + by_family[severity]
        ax.invert_yaxis()
        ax.legend(fontsize=8, **OUTSIDE)
        ax.set_xlabel("findings")
    ax.set_title("GuardDuty findings by type family")
    return _save(fig, path)


def detections_week_over_week(by_detection: pd.DataFrame, path: Path) -> Path:
    """Paired bars per detection: this week against last week."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    rows = by_detection[(by_detection["this_week"] > 0) | (by_detection["last_week"] > 0)]
    if rows.empty:
        _empty(ax, "No findings this week or last")
    else:
        rows = rows.sort_values("this_week", ascending=True).tail(15)
        positions = range(len(rows))
        ax.barh(
            [p + 0.2 for p in positions], rows["last_week"], height=0.4, label="last week", color="#b0bec5"
        )
        ax.barh(
            [p - 0.2 for p in positions], rows["this_week"], height=0.4, label="this week", color="#1976d2"
        )
        ax.set_yticks(list(positions), rows.iloc[:, 0].astype(str), fontsize=8)
        ax.legend(fontsize=8, **OUTSIDE)
        ax.set_xlabel("findings")
    ax.set_title("Findings by detection, week over week")
    return _save(fig, path)

"""Issue 17 item 12: no chart legend covers the data (legends sit right of the plot)."""

from __future__ import annotations

from datetime import UTC, datetime

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from pipeline.reports import charts

START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def figures(monkeypatch):
    kept = []

    def keep(fig, path):
        fig.canvas.draw()
        kept.append(fig)
        return path

    monkeypatch.setattr(charts, "_save", keep)
    yield kept
    for fig in kept:
        plt.close(fig)


def test_legends_are_outside_the_plot(figures, tmp_path):
    days = pd.date_range(START, periods=7, freq="D", tz="UTC")
    findings = pd.DataFrame({"first_seen": list(days) * 4,
                             "severity": ["low", "medium", "high", "critical"] * 7})
    volume = pd.DataFrame({"event_day": list(days) * 3, "account_id": ["1", "2", "3"] * 7, "events": 100})
    families = pd.DataFrame({"low": [3, 1], "medium": [2, 0], "high": [1, 4], "critical": [0, 1]},
                            index=["Recon", "UnauthorizedAccess"])
    by_detection = pd.DataFrame({"detection_id": ["a", "b"], "this_week": [5, 2], "last_week": [1, 7]})
    charts.findings_per_day(findings, START, tmp_path / "a.png")
    charts.event_volume_per_day(volume, START, tmp_path / "b.png")
    charts.guardduty_families(families, tmp_path / "c.png")
    charts.detections_week_over_week(by_detection, tmp_path / "d.png")
    assert len(figures) == 4
    for fig in figures:
        ax = fig.axes[0]
        legend = ax.get_legend()
        assert legend is not None
        assert legend.get_window_extent().x0 >= ax.get_window_extent().x1

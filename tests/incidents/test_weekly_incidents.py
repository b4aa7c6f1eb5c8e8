"""The weekly report leads with the week's incidents, ranked, each with its narrative."""

from __future__ import annotations

import pytest

from pipeline.demo.scenarios import story
from pipeline.reports.weekly import build_weekly_report, write_weekly_report
from pipeline.reports.weeks import parse_week

pytestmark = pytest.mark.slow  # one labelled 14-day demo, generated and detected once per session


def test_the_weekly_report_leads_with_the_attack_incident(demo, tmp_path):
    report = build_weekly_report(demo.settings, demo.source, parse_week("2026-W45"))
    assert report.incidents and report.incidents[0].actor.endswith(story.USER)
    text = write_weekly_report(report, tmp_path).read_text(encoding="utf-8")
    assert text.index("## Incidents") < text.index("## Findings by severity")
    first = text[text.index("### 1. "):].splitlines()[0]
    assert "CRITICAL" in first and story.USER in first
    assert report.incidents[0].narrative[0] in text

    tuning = report.noisy_principals
    assert {"routine", "incidents"} <= set(tuning.columns)
    assert (tuning["routine"] <= tuning["findings"]).all()
    story_actor = tuning[tuning["actor"].astype(str).str.endswith(f"user/{story.USER}")]
    assert story_actor.empty or (story_actor["routine"] == 0).all()  # an attack is nobody's routine
    assert "| Routine | Incidents |" in text

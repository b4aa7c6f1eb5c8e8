"""The weekly report under hostile text and missing data (issue 16, items 11 and 12)."""

from __future__ import annotations

import shutil

import pandas as pd
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.demo.digests import demo_keys_file
from pipeline.reports.render import MAX_CELL, cell, table
from pipeline.reports.weekly import build_weekly_report, write_weekly_report
from pipeline.reports.weeks import parse_week
from pipeline.sinks.base import make_delivery
from pipeline.sinks.slack import slack_message
from tests.helpers import settings_for

HOSTILE = ("![beacon](https://evil.example/p.png) <img src=x onerror=alert(1)> "
           "[click](javascript:alert(1)) \x1b[2J\x1b]0;owned\x07 `code` *bold* a|b")


def test_cells_are_inert_markdown() -> None:
    text = cell(HOSTILE)
    assert "![" not in text and "](" not in text and "<img" not in text and "`code`" not in text
    assert "\x1b" not in text and "\x07" not in text and "\n" not in text
    assert "&lt;img" in text and "\\|" in text and "\\*bold\\*" in text
    long = cell("A" * 1_000_000)
    assert len(long) < MAX_CELL + 60 and "999,800 more characters cut" in long
    rendered = table(pd.DataFrame({"principal": [HOSTILE]}), ["principal"])
    assert rendered.count("\n") == 2  # header, rule, one row: nothing broke out of the cell


def test_slack_escapes_formatting_too() -> None:
    from pipeline.findings.model import Finding

    finding = Finding(detection_id="root_account_usage", finding_id="f", severity="high", title="t",
                      event_ids=["e`1"], account_id="1", region="r", principal="*boss* _it_ ~x~ `y`",
                      first_seen="2026-01-01T00:00:00Z", last_seen="2026-01-01T00:00:00Z", event_count=1)
    message = str(slack_message(make_delivery(finding)))
    assert "*boss*" not in message and "_it_" not in message and "~x~" not in message
    assert "`y`" not in message and "`e`1`" not in message
    assert "boss" in message


def test_no_delivery_on_the_last_day_is_said(demo_detected, tmp_path) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(demo_detected.demo, demo)
    shutil.copy(demo_keys_file(demo_detected.demo), demo_keys_file(demo))
    for folder in demo.glob("AWSLogs/*/*/CloudTrail/*/2026/11/1[5-6]"):
        shutil.rmtree(folder)  # nothing delivered on Sunday 15 November, the week's last day
    report = build_weekly_report(settings_for(tmp_path, demo), str(demo), parse_week("2026-W46"))
    assert "Logs arrived from every expected account and region all week." not in report.summary
    assert any("the week's last day has no records" in line for line in report.summary)
    text = write_weekly_report(report, tmp_path / "out").read_text(encoding="utf-8")
    assert "last day has no records" in text and "delivered\nthis week" not in text


def test_a_week_without_any_data_is_said(demo_detected, tmp_path) -> None:
    report = build_weekly_report(demo_detected.settings, str(demo_detected.demo), parse_week("2026-W50"))
    assert "Logs arrived from every expected account and region all week." not in report.summary
    assert any("No CloudTrail records at all this week" in line for line in report.summary)


def test_an_empty_source_is_refused(demo_detected, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TRAILGUARD_DATA_DIR", str(demo_detected.root / "data"))
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["report", "weekly", "--source", str(tmp_path / "empty"),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "empty" in result.output, result.output

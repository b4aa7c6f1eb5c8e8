"""The weekly report on the demo: every section, charts that render, numbers checked independently."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from datetime import timedelta

import matplotlib.image
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.demo.digests import demo_keys_file
from pipeline.reports.weekly import athena_cost, build_weekly_report, pipeline_cost, write_weekly_report
from pipeline.reports.weeks import parse_week
from tests.helpers import ORG_END, in_window, settings_for

WEEK2 = ORG_END - timedelta(days=7)
SECTIONS = [
    "# Weekly security report: 2026-W46",
    "## Findings by severity",
    "## New high and critical findings",
    "## Detections",
    "### Tuning candidates",
    "## First seen this week",
    "## GuardDuty",
    "## Event volume",
    "## Log coverage and health",
    "## Cost",
    "### AWS cost estimate",
]


@pytest.fixture(scope="module")
def weekly(demo_detected, tmp_path_factory):
    report = build_weekly_report(demo_detected.settings, str(demo_detected.demo))
    path = write_weekly_report(report, tmp_path_factory.mktemp("weekly"))
    return report, path


def test_latest_week_is_chosen_and_every_section_is_there(weekly):
    report, path = weekly
    assert report.week == "2026-W46" and report.start == parse_week("2026-W46")
    text = path.read_text(encoding="utf-8")
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert len(report.summary) == 3
    assert report.cost.total_usd > 0 and f"**${report.cost.total_usd:,.2f}**" in text
    assert report.integrity.status == "valid" and report.integrity.valid_log_files > 0
    assert "**Log file validation: valid.**" in text


def test_charts_render_and_are_linked(weekly):
    report, path = weekly
    text = path.read_text(encoding="utf-8")
    assert len(report.charts) >= 3
    for chart in report.charts.values():
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        height, width, _ = matplotlib.image.imread(chart).shape
        assert height > 200 and width > 400
        assert f"]({chart.name})" in text


def test_numbers_match_independent_computations(weekly, demo_detected, raw_records):
    report, path = weekly
    events = [r for r in raw_records if in_window(r["eventTime"], WEEK2, ORG_END)]
    assert report.events == len(events)
    assert f"{len(events):,} CloudTrail records this week" in path.read_text(encoding="utf-8")
    per_account = Counter(r["recipientAccountId"] for r in events)
    volume = report.volume.groupby(report.volume["account_id"].astype(str))["events"].sum()
    assert volume.to_dict() == dict(per_account)

    def first(f) -> pd.Timestamp:
        stamp = pd.Timestamp(f.first_seen)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp

    new = [f for f in demo_detected.outcome.findings
           if pd.Timestamp(WEEK2) <= first(f) < pd.Timestamp(ORG_END)]
    assert len(report.findings) == len(new)
    high = sorted(f.finding_id for f in new if f.severity in ("high", "critical"))
    assert sorted(report.new_high["finding_id"]) == high and high
    for detection_id in {f.detection_id for f in new if f.severity in ("high", "critical")}:
        assert detection_id in report.runbooks
    by_detection = Counter(f.detection_id for f in new)
    table = report.by_detection.set_index("detection_id")["this_week"]
    assert {k: int(v) for k, v in table.items() if v} == dict(by_detection)


def test_a_partial_week_compares_findings_per_day_of_data(weekly):
    """Issue 17 item 11: the summary's findings line says when the week is partial."""
    report, _ = weekly
    assert report.days == 7 and "partial" not in report.summary[0]
    assert "on the week before" in report.summary[0]
    volume = report.volume
    partial = dataclasses.replace(report, volume=volume[volume["event_day"] < volume["event_day"].max()])
    line = partial.summary[0]
    assert partial.days == 6 and line.split(" new finding")[0] == str(len(report.findings))
    per_day = len(report.findings) / 6
    last = int(report.severity["last_week"].sum()) / report.days_last_week
    assert f"{per_day:,.1f} a day against {last:,.1f} the week before" in line
    assert "6 of 7 days have records" in line and "on the week before" not in line


def test_new_source_ips_are_listed_by_sensitive_calls(weekly):
    """Issue 17 item 10: the first-seen IP table says it ranks by sensitive calls, and shows them."""
    report, path = weekly
    text = path.read_text(encoding="utf-8")
    ips = report.new_entities[report.new_entities["kind"] == "source_ip"]
    assert not ips.empty and "| Source IP | First seen (UTC) | Sensitive calls | Records | Accounts |" in text
    top = ips.iloc[0]
    assert f"| {top['value']} |" in text and top["sensitive_calls"] == ips["sensitive_calls"].max()
    if len(ips) > 10:
        assert "with most sensitive calls, then seen in most accounts" in text


def test_pipeline_cost_reads_the_recorded_runs(weekly, demo_detected):
    report, _ = weekly
    ran = {r.detection_id for r in demo_detected.outcome.result.runs if not r.error}
    assert set(report.pipeline_cost["detection_id"]) == ran
    assert report.runs == len(ran)


def test_athena_cost_bills_at_least_ten_megabytes_per_query():
    scanned = pd.Series([0, 5_000_000, 10_000_000, 10_000_001, 10**12])
    cost = athena_cost(scanned)
    ten_mb = 10_000_000 / 10**12 * 5.0
    assert cost.tolist() == pytest.approx([ten_mb, ten_mb, ten_mb, 11_000_000 / 10**12 * 5.0, 5.0])
    runs = pd.DataFrame(
        {
            "detection_id": ["a", "a", "b"],
            "window_end": ["2026-11-10T00:00:00Z"] * 3,
            "bytes_scanned": pd.array([10**12, 2 * 10**12, None], dtype="Int64"),
            "estimated_bytes": pd.array([9 * 10**11, None, 5], dtype="Int64"),
            "duration_s": [1.0, 2.0, 3.0],
        }
    )
    table = pipeline_cost(runs, WEEK2, ORG_END).set_index("detection_id")
    assert table.loc["a", "usd"] == pytest.approx(15.0) and table.loc["a", "runs"] == 2
    assert table.loc["b", "usd"] == 0.0 and table.loc["b", "bytes_scanned"] == 0
    assert table.loc["a", "estimated_bytes"] == 9 * 10**11 and table.loc["b", "estimated_bytes"] == 5


def test_a_week_without_findings_still_reports(demo_detected, tmp_path):
    quiet = parse_week("2026-W47")  # after the demo: no logs, no findings
    report = build_weekly_report(demo_detected.settings, str(demo_detected.demo), quiet)
    path = write_weekly_report(report, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert report.findings.empty and "No new findings this week" in report.summary[0]
    assert "None this week." in text
    silent = report.health.with_status("silent")
    assert len(silent) == report.health.coverage.shape[0] > 0, "every sender of the baseline went silent"
    assert "silent" in text and len(report.charts) == 4


def test_health_names_stopped_and_silent_senders_missing_and_malformed_files(demo_detected, tmp_path, weekly):
    baseline, _ = weekly
    demo = tmp_path / "demo"
    shutil.copytree(demo_detected.demo, demo)
    shutil.copy(demo_keys_file(demo_detected.demo), demo_keys_file(demo))
    coverage = baseline.health.coverage.sort_values("events", ascending=False)
    busiest, other = coverage.iloc[0], coverage.iloc[1]
    cut = (WEEK2 + timedelta(days=2, hours=12)).strftime("%Y%m%dT%H%MZ")
    deleted = 0
    for path in demo.glob(f"AWSLogs/*/{busiest.account_id}/CloudTrail/{busiest.region}/2026/11/*/*.json.gz"):
        if path.name.split("_")[3] >= cut:
            path.unlink()
            deleted += 1
    for day in range(9, 17):
        for folder in demo.glob(f"AWSLogs/*/{other.account_id}/CloudTrail/{other.region}/2026/11/{day:02d}"):
            shutil.rmtree(folder)
    broken = (
        next(demo.glob("AWSLogs/*/*/CloudTrail/*/2026/11/10")) / "111_CloudTrail_x_20261110T1200Z_bad.json.gz"
    )
    broken.write_bytes(b"not gzip at all")
    settings = settings_for(tmp_path, demo)
    report = build_weekly_report(settings, str(demo), WEEK2)
    problems = {(p.account_id, p.region): str(p.status) for p in report.health.problems.itertuples()}
    assert problems[(busiest.account_id, busiest.region)] == "stopped"
    assert problems[(other.account_id, other.region)] == "silent"
    before = {(p.account_id, p.region): str(p.status) for p in baseline.health.coverage.itertuples()}
    for pair, status in problems.items():
        if pair not in {(busiest.account_id, busiest.region), (other.account_id, other.region)}:
            assert before[pair] == status, "untouched senders keep their status"
    assert "Log health needs attention" in report.summary[2]
    assert [path for path, _ in report.health.skipped_files] == [str(broken)]
    again = build_weekly_report(settings, str(demo), WEEK2)  # already ingested: the ledger remembers
    assert [path for path, _ in again.health.skipped_files] == [str(broken)]
    assert report.integrity.status == "INVALID"
    missing = [p for p in report.integrity.problems if p.category == "missing_log_files"]
    assert deleted and len(missing) >= deleted
    text = write_weekly_report(report, tmp_path / "out").read_text(encoding="utf-8")
    assert "**Log file validation: INVALID.**" in text and "missing_log_files" in text
    assert broken.name in text


def test_cli_writes_the_report_and_rejects_a_bad_week(demo_detected, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILGUARD_DATA_DIR", str(demo_detected.root / "data"))
    runner = CliRunner()
    bad = runner.invoke(app, ["report", "weekly", "--week", "2026-48", "--source", str(demo_detected.demo)])
    assert bad.exit_code == 2 and "--week" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(app, ["report", "weekly", "--source", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such folder" in missing.output
    ok = runner.invoke(app, ["report", "weekly", "--source", str(demo_detected.demo), "--out", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "weekly-2026-W46.md").is_file()
    assert len(list(tmp_path.glob("weekly-2026-W46-*.png"))) == 4

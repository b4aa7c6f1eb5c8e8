"""Issue 17 items 3 and 4: detect's defaults and relative windows; --output never replaces silently."""

from __future__ import annotations

import json

from tests.helpers import invoke

WINDOW = ("--since", "2026-11-01", "--until", "2026-11-03")


def test_detect_needs_no_flags(demo):
    result = invoke("detect")  # the configured source (./demo), the last 24 hours
    assert result.exit_code == 0, result.output
    assert "0 finding(s)" in result.output  # the demo's days are weeks before the clock


def test_relative_windows(demo):
    result = invoke("detect", "--last", "7d", "-f", "json")
    assert result.exit_code == 0, result.output
    result = invoke("detect", "--since", "400d", "-f", "json")
    assert result.exit_code == 0, result.output
    assert len([line for line in result.stdout.splitlines() if line.startswith("{")]) > 10
    result = invoke("detect", "--last", "7d", "--since", "1d")
    assert result.exit_code == 2 and "--last is instead of --since/--until" in result.output
    result = invoke("detect", "--last", "soon")
    assert result.exit_code == 2 and "--last 'soon' is not a duration" in result.output


def test_output_refuses_to_replace_findings(demo):
    first = invoke("detect", *WINDOW, "--output", "f.jsonl")
    assert first.exit_code == 0, first.output
    count = len((demo / "f.jsonl").read_text().splitlines())
    assert count > 10
    again = invoke("detect", *WINDOW, "--output", "f.jsonl")
    assert again.exit_code == 2 and "already holds findings" in again.output
    assert "Detections" not in again.output  # refused before any detection ran
    appended = invoke("detect", *WINDOW, "--output", "f.jsonl", "--append")
    assert appended.exit_code == 0 and len((demo / "f.jsonl").read_text().splitlines()) == 2 * count
    forced = invoke("detect", *WINDOW, "--output", "f.jsonl", "--force", "-d", "root_account_usage")
    assert forced.exit_code == 0
    kept = [json.loads(line) for line in (demo / "f.jsonl").read_text().splitlines()]
    assert kept and {f["detection_id"] for f in kept} == {"root_account_usage"}


def test_output_folder_fails_before_running(demo):
    result = invoke("detect", *WINDOW, "--output", "demo")
    assert result.exit_code == 2 and "--output demo: is a folder" in result.output
    assert "Detections" not in result.output and "Ingest" not in result.output


def test_skipped_files_are_reported_once(demo):
    day = next((demo / "demo").rglob("CloudTrail/*/2026/11/01"))
    (day / "broken.json.gz").write_bytes(b"not gzip at all")
    result = invoke("detect", *WINDOW, "-d", "root_account_usage", "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.output.count("broken.json.gz") == 1


def test_detect_shows_progress(demo):
    result = invoke("detect", *WINDOW, "-d", "root_account_usage", "-d", "iam_user_created")
    assert result.exit_code == 0
    assert "detections" in result.output and "2/2" in result.output

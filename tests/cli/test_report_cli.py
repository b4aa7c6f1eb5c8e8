"""Issue 17 item 12 on generated data: the new high/critical table names the finding and its
resource; the cost table says when it is cut."""

from __future__ import annotations

import json
import re
from datetime import datetime

from tests.helpers import invoke


def test_weekly_report_names_finding_ids_and_resources(demo):
    out = invoke("findings", "-d", "cloudtrail_bucket_tampered", "-f", "json").stdout
    tampered = [json.loads(line) for line in out.splitlines()]
    assert tampered
    year, week, _ = datetime.fromisoformat(tampered[0]["first_seen"].replace("Z", "+00:00")).isocalendar()
    tampered = [f for f in tampered if f["first_seen"] <= tampered[0]["first_seen"][:10] + "T23:59:59Z"]
    result = invoke("report", "weekly", "--out", "reports", "--week", f"{year}-W{week:02d}")
    assert result.exit_code == 0, result.output
    text = next((demo / "reports").glob("weekly-*.md")).read_text()
    section = text.split("## New high and critical findings", 1)[1].split("\n## ", 1)[0]
    assert "| Finding id |" in section and "| Resource |" in section
    for finding in tampered:
        row = next(line for line in section.splitlines() if finding["finding_id"] in line)
        assert finding["context"]["bucket_name"] in row
    result = invoke("report", "weekly", "--out", "latest")  # the week the demo's runs ended in
    assert result.exit_code == 0, result.output
    cost = next((demo / "latest").glob("weekly-*.md")).read_text().split("## Cost", 1)[1]
    table = next(block for block in cost.split("\n\n") if block.startswith("| Detection"))
    rows = [line for line in table.splitlines()[2:] if line.startswith("| ")]
    shown = len(rows)
    total = int(re.search(r"most expensive of (\d+) detections are shown", cost).group(1))
    assert shown == 20 < total


def test_volume_compares_per_day_of_data_and_names_a_partial_week(demo):
    result = invoke("report", "weekly", "--out", "latest")
    assert result.exit_code == 0, result.output
    text = next((demo / "latest").glob("weekly-*.md")).read_text()
    volume = text.split("## Event volume", 1)[1]
    match = re.search(r"([\d,]+) CloudTrail records this week, a partial week: (\d) of 7 days have records",
                      volume)
    assert match, volume[:400]
    events, days = int(match.group(1).replace(",", "")), int(match.group(2))
    per_day = re.search(r"Per day of data: ([\d,]+) records against ([\d,]+) the week before \((\d) day",
                        volume)
    assert per_day and int(per_day.group(1).replace(",", "")) == events // days
    assert int(per_day.group(3)) < 7  # the demo's first day is the week before: partial too

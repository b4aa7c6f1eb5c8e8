"""Issue 17 item 1: --format table|json|csv everywhere rows are printed, one JSON shape, ``-``."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from pipeline.cli.console import table
from tests.helpers import invoke


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_findings_json_has_objects_not_encoded_strings(demo):
    result = invoke("findings", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = _lines(result.stdout)
    assert len(rows) > 10
    for row in rows:
        assert isinstance(row["context"], dict) and isinstance(row["dedup_key"], dict)
        assert isinstance(row["event_ids"], list) and isinstance(row["attack"], list)
        assert row["status"] == "open"


def test_detect_and_findings_write_the_same_shape(demo):
    stored = {r["finding_id"]: r for r in _lines(invoke("findings", "-f", "json").stdout)}
    result = invoke("detect", "--since", "2026-11-01", "--until", "2026-11-03", "--output", "-")
    assert result.exit_code == 0, result.output
    detected = _lines(result.stdout)
    assert detected and {r["finding_id"] for r in detected} <= set(stored)
    for row in detected:
        twin = stored[row["finding_id"]]
        for key, value in row.items():  # every field detect writes, findings writes alike
            assert twin[key] == value, key


def test_csv_and_output_file(demo):
    result = invoke("findings", "-f", "csv", "--severity", "high", "--output", "out/high.csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((demo / "out" / "high.csv").read_text())))
    assert rows and {r["severity"] for r in rows} == {"high"}
    assert json.loads(rows[0]["context"]) is not None  # nested values are compact JSON in a cell
    result = invoke("findings", "-f", "csv", "--output", "out")  # a folder
    assert result.exit_code == 2 and "is a folder" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["detections"],
        ["suppressions"],
        ["coverage"],
        ["query", "SELECT eventname, count(*) AS n FROM cloudtrail GROUP BY 1"],
        ["cost"],
        ["lint"],
    ],
)
def test_every_row_command_takes_the_format_option(demo, args):
    assert invoke("ingest").exit_code == 0  # query reads the lake, which this copy of the demo has not
    result = invoke(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = _lines(result.stdout)
    if args[0] != "suppressions":  # the demo configures none
        assert rows, result.output
    result = invoke(*args, "--format", "csv")
    assert result.exit_code == 0, result.output
    result = invoke(*args, "--format", "xml")
    assert result.exit_code == 2


def test_query_json_alias_still_works(demo):
    assert invoke("ingest").exit_code == 0
    result = invoke("query", "SELECT eventid FROM cloudtrail LIMIT 1", "--json")
    assert result.exit_code == 0 and list(_lines(result.stdout)[0]) == ["eventid"]


def test_table_never_breaks_ids_accounts_or_times():
    finding_id = "fe6eada9dfcf2b819d0a46cf4a724e80"
    arn = "arn:aws:sts::237298441728:assumed-role/prod-reports-batch-role/i-1f230faa62708b84a"
    rendered = table("t", ["finding_id", "account_id", "first_seen", "region", "source_ip", "principal"],
                     [(finding_id, "237298441728", "2026-11-01T21:03:17Z", "ap-southeast-2", "203.0.113.254",
                       arn)], width=70)
    out = Console(width=70, record=True, color_system=None)
    out.print(rendered, crop=False)
    text = out.export_text()
    for whole in (finding_id, "237298441728", "2026-11-01T21:03:17Z", "ap-southeast-2", "203.0.113.254"):
        assert whole in text
    assert arn not in text and "arn:aws" in text  # the ARN folds over several lines, visibly
    rendered = table("t", ["finding_id", "event_count", "principal"], [(finding_id, "1", arn)], width=60)
    out = Console(width=60, record=True, color_system=None)
    out.print(rendered, crop=False)
    assert "event_count" in out.export_text()  # a header folds no more than an id


def test_tables_mark_guardduty_sample_findings(tmp_path):
    """Issue 17 item 13: a sample finding is marked where a reader looks, json and csv unchanged."""
    from pipeline.cli.output import Format, emit

    rows = [{"finding_id": "a", "severity": "high", "title": "[sample] GuardDuty finding",
             "context": '{"sample": true}'},
            {"finding_id": "b", "severity": "high", "title": "GuardDuty finding",
             "context": '{"sample": false}'}]
    emit(rows, fmt=Format.table, output=tmp_path / "t.txt", columns=["finding_id", "severity"])
    text = (tmp_path / "t.txt").read_text()
    assert text.count("high (sample)") == 1 and text.count("high") == 2
    emit(rows, fmt=Format.json, output=tmp_path / "t.json")
    assert [json.loads(line)["severity"] for line in (tmp_path / "t.json").read_text().splitlines()] == [
        "high", "high"]

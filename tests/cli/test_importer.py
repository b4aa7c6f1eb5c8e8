"""``trailguard import``: a responder's exports filed into the bucket layout, then detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
pytestmark = pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}")
RUNNER = CliRunner()


def test_lookup_events_output_is_imported_and_detected(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    records = json.loads((CORPORA / "stratus" / "aws.persistence.lambda-overwrite-code.json").read_text())
    exports = tmp_path / "case-1234"
    exports.mkdir()
    lookup = {"Events": [{"EventId": r["eventID"], "CloudTrailEvent": json.dumps(r)} for r in records]}
    (exports / "lookup-events.json").write_text(json.dumps(lookup))
    (exports / "chat-log.txt").write_text("who changed the function?")
    bucket = tmp_path / "bucket"
    result = RUNNER.invoke(app, ["import", str(exports), "--dest", str(bucket)])
    assert result.exit_code == 0, result.output
    assert f"{len(records)} record(s) filed" in result.output
    assert "chat-log.txt: not read" in result.output
    assert list(bucket.glob("AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"))
    out = tmp_path / "findings.jsonl"
    result = RUNNER.invoke(app, ["detect", "--source", str(bucket), "--start", "2024-07-01T00:00:00Z",
                                 "--end", "2024-09-01T00:00:00Z", "--output", str(out)])
    assert result.exit_code == 0, result.output
    findings = [json.loads(line) for line in out.read_text().splitlines()]
    fired = {f["detection_id"]: f for f in findings}
    assert "lambda_code_replaced" in fired
    assert fired["lambda_code_replaced"]["actor"] == "arn:aws:iam::266106314375:user/christophe"
    assert fired["lambda_code_replaced"]["actor_type"] == "human"


def test_a_missing_source_is_one_line_and_exit_2(tmp_path):
    result = RUNNER.invoke(app, ["import", str(tmp_path / "nope"), "--dest", str(tmp_path / "b")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_nothing_readable_exits_1_naming_each_file(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.md").write_text("# nothing")
    result = RUNNER.invoke(app, ["import", str(tmp_path / "in"), "--dest", str(tmp_path / "b")])
    assert result.exit_code == 1
    assert "notes.md: not read" in result.output and "no CloudTrail records found" in result.output

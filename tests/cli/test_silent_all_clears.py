"""A source that cannot hold logs is named, never "0 findings, exit 0" (issue 16, item 10)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from tests.helpers import data_dir_config, one_record_source


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return one_record_source(tmp_path)


def detect(source: Path | str, tmp_path: Path):
    return invoke("detect", "--source", str(source), "--start", "2026-11-01", "--end", "2026-11-02",
                  "--output", str(tmp_path / "out.jsonl"), "--config", str(data_dir_config(tmp_path)))




def test_detect_names_a_missing_an_empty_and_a_too_deep_source(source: Path, tmp_path: Path) -> None:
    missing = detect(tmp_path / "nope", tmp_path)
    assert missing.exit_code == 2 and "no such folder" in missing.output
    (tmp_path / "empty").mkdir()
    empty = detect(tmp_path / "empty", tmp_path)
    assert empty.exit_code == 2 and "empty" in empty.output, empty.output
    deep = detect(source / "AWSLogs", tmp_path)
    assert deep.exit_code == 2 and "one level too deep" in deep.output, deep.output
    (tmp_path / "other" / "AWSLogs" / "111111111111" / "Config").mkdir(parents=True)
    no_trail = detect(tmp_path / "other", tmp_path)
    assert no_trail.exit_code == 2 and "no CloudTrail/ or GuardDuty/" in no_trail.output, no_trail.output
    good = detect(source, tmp_path)
    assert good.exit_code == 0, good.output


def test_query_names_a_bad_source_and_a_lake_never_ingested(source: Path, tmp_path: Path) -> None:
    cfg = str(data_dir_config(tmp_path))
    sql = "SELECT count(*) FROM cloudtrail"
    deep = invoke("query", sql, "--source", str(source / "AWSLogs"), "--config", cfg)
    assert deep.exit_code == 2 and "one level too deep" in deep.output, deep.output
    fresh = invoke("query", "SELECT count(*) FROM cloudtrail", "--source", str(source), "--config", cfg)
    assert fresh.exit_code == 2 and "no lake" in fresh.output, fresh.output
    assert invoke("ingest", "--source", str(source), "--config", cfg).exit_code == 0
    ok = invoke("query", "SELECT count(*) AS n FROM cloudtrail", "--source", str(source), "--config", cfg,
                "--json")
    assert ok.exit_code == 0 and '"n": 1' in ok.output, ok.output

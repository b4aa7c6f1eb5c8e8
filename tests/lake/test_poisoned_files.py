"""Poisoned raw files cost a named, counted skip, never the ingest (issue 16, items 5, 6 and 9).

Each test puts one hostile file beside a good one: the good file is always ingested, the hostile
one is skipped (or kept) with a reason that names it, and the ingest report still balances.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from pipeline.catalog.specs import load_specs
from pipeline.engines.duckdb import DuckDBEngine
from pipeline.lake.ingest import ingest_table
from pipeline.source.guardduty import iter_findings
from pipeline.source.limits import Limits, UnreadableFile

SPECS = load_specs()
DAY = "2026/01/15"


def folder(root: Path, table: str = "CloudTrail") -> Path:
    path = root / "AWSLogs" / "o-test" / "111111111111" / table / "us-east-1" / DAY
    path.mkdir(parents=True, exist_ok=True)
    return path


def record(event_id: str, **extra) -> dict:
    return {"eventVersion": "1.09", "eventID": event_id, "eventTime": "2026-01-15T10:00:00Z",
            "eventName": "ListBuckets", "eventSource": "s3.amazonaws.com", "awsRegion": "us-east-1",
            "recipientAccountId": "111111111111", **extra}


def write(path: Path, payload) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(payload if isinstance(payload, str) else json.dumps(payload))
    return path


def event_ids(lake: Path) -> list[str]:
    engine = DuckDBEngine(lake, SPECS)
    try:
        return sorted(engine.query("SELECT eventid FROM cloudtrail").frame["eventid"].tolist())
    finally:
        engine.close()


def skipped(report) -> dict[str, str]:
    return {Path(p).name: why for p, why in report.skipped_files}


def test_deep_nesting_skips_that_file_only(tmp_path: Path) -> None:
    f = folder(tmp_path / "src")
    write(f / "good.json.gz", {"Records": [record("good-1")]})
    depth = 100_000
    # userIdentity as a string makes DuckDB reject the file, which sends it to the Python parser
    deep = '{"eventID": "d", "userIdentity": "text", "x": ' + "[" * depth + "]" * depth + "}"
    write(f / "deep.json.gz", '{"Records": [' + deep + "]}")
    report = ingest_table(SPECS["cloudtrail"], tmp_path / "src", tmp_path / "lake")
    assert event_ids(tmp_path / "lake") == ["good-1"]
    assert "deep.json.gz" in skipped(report) and "nested" in skipped(report)["deep.json.gz"]
    assert report.balanced, report.reconciliation()


def test_a_decompression_bomb_is_skipped_with_the_limit_named(tmp_path: Path) -> None:
    f = folder(tmp_path / "src")
    write(f / "good.json.gz", {"Records": [record("good-1")]})
    write(f / "bomb.json.gz", {"Records": [record("bomb", requestParameters={"x": "A" * 3_000_000})]})
    assert (f / "bomb.json.gz").stat().st_size < 100_000
    limits = Limits(max_file_bytes=1_000_000)
    report = ingest_table(SPECS["cloudtrail"], tmp_path / "src", tmp_path / "lake", limits=limits)
    assert event_ids(tmp_path / "lake") == ["good-1"]
    assert "max_file_bytes" in skipped(report)["bomb.json.gz"]
    assert report.balanced, report.reconciliation()


def test_too_many_records_is_skipped_with_the_limit_named(tmp_path: Path) -> None:
    f = folder(tmp_path / "src")
    write(f / "good.json.gz", {"Records": [record("good-1")]})
    write(f / "swarm.json.gz", '{"Records": [' + ",".join(["{}"] * 50_000) + "]}")
    limits = Limits(max_records_per_file=10_000)
    report = ingest_table(SPECS["cloudtrail"], tmp_path / "src", tmp_path / "lake", limits=limits)
    assert event_ids(tmp_path / "lake") == ["good-1"]
    assert "max_records_per_file" in skipped(report)["swarm.json.gz"]
    assert report.balanced, report.reconciliation()


def test_guardduty_exports_are_streamed_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "findings.jsonl.gz"
    finding = {"id": "f", "type": "Recon:EC2/PortProbeUnprotectedPort", "severity": 2}
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for i in range(2000):
            handle.write(json.dumps({**finding, "id": f"f{i}"}) + "\n")
    assert len(list(iter_findings(path))) == 2000
    with pytest.raises(UnreadableFile, match="max_records_per_file"):
        list(iter_findings(path, Limits(max_records_per_file=100)))
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({**finding, "detail": "A" * 3_000_000}) + "\n")
    with pytest.raises(UnreadableFile, match="max_file_bytes"):
        list(iter_findings(bomb, Limits(max_file_bytes=1_000_000)))


def test_guardduty_export_is_not_decompressed_whole(tmp_path: Path, monkeypatch) -> None:
    """The old reader called gzip.decompress on the whole file: memory was what it inflated to."""
    path = tmp_path / "findings.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "a", "type": "Recon:EC2/Portscan"}) + "\n")

    def refuse(*_args, **_kwargs):
        raise AssertionError("gzip.decompress reads the whole file into memory")

    monkeypatch.setattr(gzip, "decompress", refuse)
    assert [f["id"] for f, _ in iter_findings(path)] == ["a"]


def test_glob_characters_in_a_file_name_read_that_file_only(tmp_path: Path) -> None:
    f = folder(tmp_path / "src")
    write(f / "111111111111_CloudTrail_us-east-1_20260115T1000Z_aaaa.json.gz", {"Records": [record("a")]})
    write(f / "111111111111_CloudTrail_us-east-1_20260115T1000Z_bbbb.json.gz", {"Records": [record("b")]})
    write(f / "111111111111_CloudTrail_us-east-1_20260115T1000Z_*.json.gz", {"Records": [record("star")]})
    report = ingest_table(SPECS["cloudtrail"], tmp_path / "src", tmp_path / "lake")
    assert event_ids(tmp_path / "lake") == ["a", "b", "star"]  # each once
    assert report.records_ingested == 3 and report.balanced, report.reconciliation()
    assert any("glob characters" in w for w in report.warnings)


def test_symlinks_and_folders_named_like_logs_are_skipped_and_counted(tmp_path: Path) -> None:
    f = folder(tmp_path / "src")
    write(f / "good.json.gz", {"Records": [record("good-1")]})
    outside = write(tmp_path / "outside.json.gz", {"Records": [record("outside")]})
    os.symlink(outside, f / "escape.json.gz")
    os.symlink(tmp_path / "nowhere.json.gz", f / "dangling.json.gz")
    os.symlink(f / "loop.json.gz", f / "loop.json.gz")
    (f / "folder.json.gz").mkdir()
    report = ingest_table(SPECS["cloudtrail"], tmp_path / "src", tmp_path / "lake")
    assert event_ids(tmp_path / "lake") == ["good-1"]
    reasons = skipped(report)
    assert {"escape.json.gz", "dangling.json.gz", "loop.json.gz", "folder.json.gz"} <= set(reasons)
    assert "symbolic link" in reasons["escape.json.gz"] and "not a regular file" in reasons["folder.json.gz"]
    assert report.files_skipped == 4 and report.balanced, report.reconciliation()


def test_ingest_limits_come_from_the_config_and_bad_values_are_named() -> None:
    from pipeline.config import ConfigError, Settings
    from pipeline.lake.access import ingest_limits

    settings = Settings()
    assert ingest_limits(settings) == Limits()
    settings.raw["ingest"] = {"max_file_bytes": 1024, "max_records_per_file": 10}
    assert ingest_limits(settings) == Limits(1024, 10)
    settings.raw["ingest"] = {"max_file_bytes": "big"}
    with pytest.raises(ConfigError, match=r"\[ingest\] max_file_bytes"):
        ingest_limits(settings)

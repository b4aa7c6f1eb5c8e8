"""The scheduler's rules one at a time: due/not due, catch-up bounds, locks, sink failures, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.config import Settings
from pipeline.detections.spec import load_detections
from pipeline.runs.state import open_state_store
from pipeline.sinks.base import SinkError
from pipeline.source.writer import write_cloudtrail
from pipeline.workflow import make_runner

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ROOT = {"type": "Root", "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111"}


def root_call(event_id: str, when: datetime) -> dict:
    return {
        "eventVersion": "1.09",
        "eventID": event_id,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventName": "ListBuckets",
        "eventSource": "s3.amazonaws.com",
        "awsRegion": "us-east-1",
        "recipientAccountId": "111111111111",
        "userIdentity": ROOT,
        "eventType": "AwsApiCall",
    }


@pytest.fixture
def env(tmp_path: Path):
    source = tmp_path / "bucket"
    source.mkdir()
    settings = Settings().with_overrides(data_dir=str(tmp_path / "data"))
    settings.raw["detections"] = {d: {"enabled": d == "root_account_usage"} for d in load_detections()}
    return source, settings, tmp_path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def runner(settings, source, tmp_path):
    return make_runner(settings, str(source), tmp_path / "out.jsonl", str(tmp_path / "state"))


def test_not_due_until_the_rate_elapses(env):
    source, settings, tmp = env
    first = runner(settings, source, tmp).tick(T0)
    assert "root_account_usage" in {t.detection_id for t in first.ran}
    again = runner(settings, source, tmp).tick(T0 + timedelta(minutes=5))
    assert "root_account_usage" in again.not_due and not again.ran


def test_late_file_is_delivered_once_by_the_overlap(env):
    source, settings, tmp = env
    runner(settings, source, tmp).tick(T0)
    # A record from 11:20 arrives only now, after its window (ending 11:45) already ran.
    write_cloudtrail(source, [root_call("late", T0 - timedelta(minutes=40))])
    runner(settings, source, tmp).tick(T0 + timedelta(minutes=15))
    runner(settings, source, tmp).tick(T0 + timedelta(minutes=30))
    assert [f["event_ids"] for f in lines(tmp / "out.jsonl")] == [["late"]]


def test_catch_up_is_bounded_and_resumes(env):
    source, settings, tmp = env
    settings.raw["schedule"]["max_catchup_windows"] = 3
    write_cloudtrail(source, [root_call(f"r{i}", T0 + timedelta(hours=i)) for i in range(3)])
    runner(settings, source, tmp).tick(T0)  # watermark at 11:45
    later = T0 + timedelta(hours=3)  # three hours down: 12 windows of 15 minutes are due
    first = runner(settings, source, tmp).tick(later)
    (tick,) = first.ran
    assert tick.windows == 3 and tick.behind
    ticks = 1
    while runner(settings, source, tmp).tick(later + timedelta(minutes=15 * ticks)).ran[0].behind:
        ticks += 1
    assert sorted(e for f in lines(tmp / "out.jsonl") for e in f["event_ids"]) == ["r0", "r1", "r2"]


def test_a_failing_sink_holds_the_watermark_back(env, monkeypatch):
    source, settings, tmp = env
    write_cloudtrail(source, [root_call("x", T0 - timedelta(minutes=30))])
    broken = runner(settings, source, tmp)

    def refuse(deliveries):
        raise SinkError("sink 'test': refused")

    monkeypatch.setattr(broken.sinks[0], "deliver", refuse)
    report = broken.tick(T0)
    assert report.errors and "refused" in report.errors[0].error
    state, _ = open_state_store(tmp / "state").load("root_account_usage")
    # Windows before the record's advanced; the one holding it did not.
    assert state.watermark == "2026-01-15T11:30:00Z" and state.last_run is None
    runner(settings, source, tmp).tick(T0)
    assert [f["event_ids"] for f in lines(tmp / "out.jsonl")] == [["x"]]


def test_a_held_lock_skips_without_error(env):
    source, settings, tmp = env
    store = open_state_store(tmp / "state")
    with store.lock("root_account_usage"):
        report = runner(settings, source, tmp).tick(T0)
    (tick,) = report.ran
    assert tick.skipped and not report.errors


def test_cli_run_and_findings(env, monkeypatch):
    source, settings, tmp = env
    monkeypatch.chdir(tmp)
    write_cloudtrail(source, [root_call("cli", T0 - timedelta(minutes=30))])
    args = ["run", "--source", str(source), "--output", "out.jsonl", "--state", "state"]
    result = CliRunner().invoke(app, [*args, "--now", T0.isoformat()])
    assert result.exit_code == 0, result.output
    assert "root_account_usage" in result.output
    result = CliRunner().invoke(app, [*args, "--now", (T0 + timedelta(minutes=1)).isoformat()])
    assert result.exit_code == 0 and "nothing due" in result.output
    assert any(f["event_ids"] == ["cli"] for f in lines(tmp / "out.jsonl"))
    result = CliRunner().invoke(app, ["findings", "--detection", "root_account_usage", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[0])["event_ids"] == ["cli"]
    result = CliRunner().invoke(app, ["run", "--now", "soon", "--source", str(source)])
    assert result.exit_code == 2 and "--now 'soon'" in result.output


def test_a_stop_between_detections_leaves_the_rest_for_the_next_tick(env):
    source, settings, tmp = env
    settings.raw["detections"]["iam_user_created"] = {"enabled": True}
    write_cloudtrail(source, [root_call("stop", T0 - timedelta(minutes=30))])
    asked = []

    def stop_after_one() -> bool:
        asked.append(1)
        return len(asked) > 1

    report = runner(settings, source, tmp).tick(T0, should_stop=stop_after_one)
    assert report.interrupted and len(report.ran) == 1
    (first,) = report.ran
    (waiting,) = {"root_account_usage", "iam_user_created"} - {first.detection_id}
    state, _ = open_state_store(tmp / "state").load(waiting)
    assert state.watermark is None  # untouched: the next tick runs its windows from the start
    resumed = runner(settings, source, tmp).tick(T0)
    assert [t.detection_id for t in resumed.ran] == [waiting] and not resumed.interrupted
    assert [f["event_ids"] for f in lines(tmp / "out.jsonl")] == [["stop"]]


@pytest.mark.slow  # a scheduler process, signalled
def test_schedule_stops_cleanly_on_sigterm(env):
    import os
    import signal
    import subprocess
    import sys
    import time

    source, _, tmp = env
    environ = {
        **os.environ,
        "TRAILGUARD_SCHEDULE_POLL_SECONDS": "0.2",
        "TRAILGUARD_DATA_DIR": str(tmp / "data"),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline.cli.main",
            "schedule",
            "--source",
            str(source),
            "--state",
            str(tmp / "st"),
        ],
        cwd=tmp,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list((tmp / "st").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)  # wait for the first tick to have written state
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)  # the running detection finishes first
    assert process.returncode == 0, err
    assert "stopped" in err


# --- shared pass over the window's rows (pipeline/engines/shared.py) and scan estimates ---------------


def _record(event_id: str, name: str, when: datetime, **extra: object) -> dict:
    return {**root_call(event_id, when), "eventName": name, "eventSource": "iam.amazonaws.com", **extra}


@pytest.fixture
def small_lake(tmp_path: Path):
    from pipeline.catalog.specs import load_specs
    from pipeline.engines.duckdb import DuckDBEngine
    from pipeline.lake.ingest import ingest_table

    records = [_record(f"e{i}", name, T0 + timedelta(minutes=i))
               for i, name in enumerate(["CreateUser", "CreateAccessKey", "ListUsers", "PutRolePolicy",
                                         "AuthorizeSecurityGroupIngress", "StopLogging", "CreateUser"])]
    records.append(_record("err", "CreateUser", T0, errorCode="AccessDenied"))
    write_cloudtrail(tmp_path / "src", records)
    ingest_table(load_specs()["cloudtrail"], tmp_path / "src", tmp_path / "lake")
    return DuckDBEngine(tmp_path / "lake")


def _findings(result) -> list[tuple]:
    return sorted((f.detection_id, f.finding_id, tuple(f.event_ids)) for f in result.findings)


def test_shared_pass_gives_the_same_findings_as_one_query_each(small_lake, monkeypatch):
    import pipeline.detections.run as runner_module

    detections = list(load_detections().values())
    start, end = T0 - timedelta(minutes=30), T0 + timedelta(minutes=30)
    passes = []
    original = small_lake.shared_rows

    def spy(logical, filters):
        passes.append(len(filters))
        return original(logical, filters)

    monkeypatch.setattr(small_lake, "shared_rows", spy)
    shared = runner_module.run_detections(small_lake, detections, start, end)
    monkeypatch.setattr(runner_module, "MAX_SHARED_WINDOW", timedelta(0))
    alone = runner_module.run_detections(small_lake, detections, start, end)
    assert passes and passes[0] >= 10  # most single-record detections took part
    assert _findings(shared) == _findings(alone)
    found = {f[0] for f in _findings(shared)}
    assert {"iam_user_created", "root_account_usage", "iam_policy_changed"} <= found
    assert [r.detection_id for r in shared.runs] == [d.id for d in detections]  # order kept
    assert not shared.failed and not alone.failed
    assert small_lake.query("SELECT count(*) AS n FROM cloudtrail").frame["n"][0] == 8  # the lake is back


def test_only_selective_single_reads_are_shared():
    from pipeline.detections.shared_pass import shareable_filter

    window = "(day IN ('2026/01/15', '2026/01/16') AND eventtime >= '2026-01-15T00:00:00')"
    sql = f"SELECT eventid FROM cloudtrail WHERE {window} AND eventname = 'X'"
    lifted = shareable_filter(sql, "cloudtrail")
    assert lifted == f"{window} AND eventname = 'X'"
    assert shareable_filter(f"SELECT eventid FROM cloudtrail WHERE {window} AND NOT (eventname = 'X')",
                            "cloudtrail") is None  # the window and suppressions keep every row
    assert shareable_filter(f"SELECT c.eventid FROM cloudtrail c WHERE {window} AND c.eventname = 'X'",
                            "cloudtrail") is None
    assert shareable_filter(f"SELECT eventid FROM cloudtrail WHERE {window} AND eventid IN "
                            "(SELECT eventid FROM cloudtrail)", "cloudtrail") is None


def test_run_metadata_keeps_the_estimate_and_reads_parts_written_before_it(tmp_path):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipeline.findings.store import RUNS_SCHEMA, RunMetadata, open_findings_store

    store = open_findings_store(tmp_path)
    common = dict(detection_id="iam_user_created", engine="athena", window_start="2026-01-15T00:00:00Z",
                  window_end="2026-01-15T01:00:00Z", now="2026-01-15T01:15:00Z", query_id="q",
                  bytes_scanned=1000, duration_s=1.0, rows=0)
    store.append([], RunMetadata(run_id="new", estimated_bytes=1200, **common))
    old = pa.Table.from_pylist([{**common, "run_id": "old", "findings": 0}],
                               schema=pa.schema([f for f in RUNS_SCHEMA if f.name != "estimated_bytes"]))
    pq.write_table(old, tmp_path / "runs" / "day=2026-01-15" / "part-old.parquet")
    runs = store.runs().set_index("run_id")
    assert runs.loc["new", "estimated_bytes"] == 1200 and runs.loc["new", "bytes_scanned"] == 1000
    assert runs.loc["old", "bytes_scanned"] == 1000 and pd.isna(runs.loc["old", "estimated_bytes"])

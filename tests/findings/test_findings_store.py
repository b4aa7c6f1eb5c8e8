"""The local findings store: one Parquet part per run, filters, latest versions, the run log."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.findings.model import Finding
from pipeline.findings.store import (
    FINDING_FIELDS,
    FINDINGS_SCHEMA,
    RUNS_SCHEMA,
    RunMetadata,
    open_findings_store,
)
from tests.helpers import fill, make_finding, make_run


def test_columns_cover_every_finding_field() -> None:
    assert FINDING_FIELDS.names == [f.name for f in dataclasses.fields(Finding)]
    assert set(RUNS_SCHEMA.names) - {"findings"} == {f.name for f in dataclasses.fields(RunMetadata)}


def test_empty_store_reads_empty_frames_with_the_right_columns(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path / "nothing-here")
    findings = store.read()
    assert findings.empty
    assert list(findings.columns) == FINDINGS_SCHEMA.names and findings.columns[-1] == "is_update"
    assert findings["is_update"].dtype == bool
    runs = store.runs()
    assert runs.empty and list(runs.columns) == RUNS_SCHEMA.names
    assert store.read(detection_ids=["x"], since="2024-01-01").empty


def test_layout_is_one_zstd_part_per_run_and_day(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    fill(store)
    store.append([], make_run("r4-empty", now="2024-05-01T23:30:00-02:00"))  # 01:30Z on May 2nd
    parts = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert parts == [
        "findings/day=2024-05-01/part-r1.parquet",
        "findings/day=2024-05-02/part-r2.parquet",
        "findings/day=2024-05-02/part-r3.parquet",
        "runs/day=2024-05-01/part-r1.parquet",
        "runs/day=2024-05-02/part-r2.parquet",
        "runs/day=2024-05-02/part-r3.parquet",
        "runs/day=2024-05-02/part-r4-empty.parquet",
    ]  # and no temporary files left behind
    metadata = pq.ParquetFile(tmp_path / parts[0]).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_read_round_trips_values_and_run_metadata(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    fill(store)
    frame = store.read(latest_only=False)
    assert list(frame["finding_id"]) == ["f1", "f2", "g1", "f1"]
    first = frame.iloc[0]
    assert first["event_ids"] == ["f1-e1"] and first["attack"] == ["T1078"]
    assert json.loads(first["context"]) == {"user_agent": ["a", "b"], "n": 3}
    assert json.loads(first["dedup_key"]) == {"principal": "root"}
    assert (first["run_id"], first["query_id"], first["bytes_scanned"]) == ("r1", "q-1", 1024)
    assert pd.isna(frame.iloc[2]["bytes_scanned"]) and frame.iloc[2]["engine"] == "athena"
    assert frame["event_count"].dtype == "Int64"


def test_latest_only_keeps_the_last_version_and_marks_updates(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    fill(store)
    every = store.read(latest_only=False)
    assert list(every["is_update"]) == [False, False, False, True]
    latest = store.read()
    assert sorted(latest["finding_id"]) == ["f1", "f2", "g1"]
    f1 = latest.set_index("finding_id").loc["f1"]
    assert (f1["run_id"], f1["event_count"], bool(f1["is_update"])) == ("r3", 2, True)
    assert f1["event_ids"] == ["f1-e1", "f1-e2"]


def test_filters(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    fill(store)

    def ids(**filters: Any) -> list[str]:
        return sorted(store.read(**filters)["finding_id"])

    assert ids(detection_ids=["burst"]) == ["g1"]
    assert ids(severities=["critical", "LOW"]) == ["f2", "g1"]
    assert ids(accounts=["222222222222"]) == ["f2"]
    assert ids(accounts=[], detection_ids=None, severities=()) == ["f1", "f2", "g1"]  # empty: no filter
    # activity overlapping [since, until): f1's latest version runs to May 2nd 10:30
    assert ids(since="2024-05-02") == ["f1", "g1"]
    assert ids(until="2024-05-01T09:00:00Z") == ["f2"]
    assert ids(since="2024-05-01T08:15:00+00:00", until="2024-05-01 10:00:00Z") == ["f2"]
    assert ids(since="2024-05-02T09:05:00Z", detection_ids=["root_login", "burst"],
               severities=["high"]) == ["f1"]
    # filters apply to the latest version: f1 was only seen on May 1st in its first version
    assert ids(until="2024-05-01T12:00:00Z", since="2024-05-01T10:00:00Z") == ["f1"]
    assert list(store.read(since="2024-05-02", latest_only=False)["run_id"]) == ["r2", "r3"]
    with pytest.raises(ValueError, match="since"):
        store.read(since="2024-05-02", until="2024-05-01")
    with pytest.raises(ValueError, match="until: 'yesterday'"):
        store.read(until="yesterday")


def test_runs_lists_every_run_even_without_findings(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    fill(store)
    store.append([], make_run("r0", now="2024-04-30T11:00:00Z", rows=0))
    runs = store.runs()
    assert list(runs["run_id"]) == ["r0", "r1", "r2", "r3"]
    assert list(runs["findings"]) == [0, 2, 1, 1]
    assert list(runs["engine"]) == ["duckdb", "duckdb", "athena", "duckdb"]
    assert runs.iloc[1]["bytes_scanned"] == 1024 and pd.isna(runs.iloc[0]["bytes_scanned"])


def test_a_run_is_recorded_once(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    store.append([make_finding("f1")], make_run("r1"))
    before = (tmp_path / "findings/day=2024-05-01/part-r1.parquet").read_bytes()
    with pytest.raises(FileExistsError, match="r1"):
        store.append([make_finding("f9")], make_run("r1"))
    assert (tmp_path / "findings/day=2024-05-01/part-r1.parquet").read_bytes() == before
    assert list(store.read()["finding_id"]) == ["f1"]


def test_findings_of_a_run_killed_before_its_commit_are_not_read(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_findings_store(tmp_path)
    store.append([make_finding("f1")], make_run("r1"))
    real_put = store._parts.put

    def dies_before_commit(rel: str, data: bytes, exclusive: bool) -> None:
        if rel.startswith("runs/"):
            raise KeyboardInterrupt  # killed between the findings part and the runs part
        real_put(rel, data, exclusive)

    monkeypatch.setattr(store._parts, "put", dies_before_commit)
    with pytest.raises(KeyboardInterrupt):
        store.append([make_finding("f2")], make_run("r2"))
    monkeypatch.undo()
    assert (tmp_path / "findings/day=2024-05-01/part-r2.parquet").exists()
    assert list(store.read()["finding_id"]) == ["f1"]
    store.append([make_finding("f2"), make_finding("f3")], make_run("r2"))  # the retry completes it
    assert sorted(store.read()["finding_id"]) == ["f1", "f2", "f3"]


def test_bad_appends_are_refused(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    with pytest.raises(ValueError, match="run id"):
        store.append([], make_run("../../etc"))
    with pytest.raises(ValueError, match="burst"):
        store.append([make_finding("g1", detection_id="burst")], make_run("r1"))
    assert not tmp_path.exists() or not any(tmp_path.rglob("*.parquet"))


def test_is_update_as_the_scheduler_said_it(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    store.append([make_finding("f1")], make_run("r1"))
    # the scheduler knows f7 updates a finding delivered before this store existed; f8 is new
    store.append([make_finding("f7"), make_finding("f8")], make_run("r2", now="2024-05-01T12:00:00Z"),
                 [True, False])
    store.append([make_finding("f1", event_count=3)], make_run("r3", now="2024-05-01T13:00:00Z"))
    flags = store.read().set_index("finding_id")["is_update"].to_dict()
    assert flags == {"f1": True, "f7": True, "f8": False}  # f1: worked out from the earlier run
    with pytest.raises(ValueError, match="is_update"):
        store.append([make_finding("f9")], make_run("r4"), [True, False])


def test_catch_up_windows_of_one_tick_are_ordered_by_window(tmp_path: Path) -> None:
    store = open_findings_store(tmp_path)
    now = "2024-05-01T12:00:00Z"  # one tick, three windows, random run ids
    for run_id, end, count in (("zz", "2024-05-01T10:00:00Z", 1), ("aa", "2024-05-01T11:00:00Z", 2),
                               ("mm", "2024-05-01T11:30:00Z", 3)):
        store.append([make_finding("f1", event_count=count)], make_run(run_id, now=now, window_end=end))
    assert list(store.runs()["run_id"]) == ["zz", "aa", "mm"]
    assert list(store.read(latest_only=False)["event_count"]) == [1, 2, 3]
    assert list(store.read()["event_count"]) == [3]

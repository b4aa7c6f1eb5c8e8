"""The local state store: versioned round trips, compare-and-swap across processes, the flock lock."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.paths import PROJECT_ROOT
from pipeline.runs.state import (
    DetectionState,
    LocalStateStore,
    LockHeld,
    S3StateStore,
    StateConflict,
    open_state_store,
)

ROOT = PROJECT_ROOT


def test_new_detection_loads_empty_with_no_version(tmp_path: Path) -> None:
    state, version = LocalStateStore(tmp_path / "state").load("root_login")
    assert state == DetectionState("root_login")
    assert version is None


def test_round_trip_and_versions_count_up(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path / "state")
    state, version = store.load("root_login")
    state.watermark = "2024-05-01T10:00:00Z"
    state.last_run = "2024-05-01T10:05:00Z"
    state.record("f1", ["e1", "e2"], "2024-05-01T09:59:00Z", "2024-05-01T09:58:00Z")
    state.record("f2", ["e3"], "2024-05-01T09:59:00Z")
    first = store.save(state, version)
    loaded, loaded_version = store.load("root_login")
    assert (first, loaded_version) == ("1", "1")
    assert loaded == state
    assert loaded.finding_for_event("e2") == "f1"
    assert store.save(loaded, loaded_version) == "2"
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [
        "root_login.cas", "root_login.good.json", "root_login.json"]  # the last good copy beside it


def test_second_loader_cannot_overwrite_the_first_save(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path)
    a, version_a = store.load("burst")
    b, version_b = store.load("burst")
    a.watermark = "2024-05-01T10:00:00Z"
    store.save(a, version_a)
    b.watermark = "2024-04-01T00:00:00Z"
    with pytest.raises(StateConflict, match="burst"):
        store.save(b, version_b)
    assert store.load("burst")[0].watermark == "2024-05-01T10:00:00Z"
    with pytest.raises(StateConflict):  # a token from a later version than stored is no better
        store.save(b, "7")


def _increment(directory: str, times: int) -> None:
    """Child process: read-modify-write the shared state, retrying on conflict (no lock taken)."""
    store = LocalStateStore(directory)
    done = 0
    while done < times:
        state, version = store.load("shared")
        count = int(state.last_run or 0)
        state.last_run = str(count + 1)
        try:
            store.save(state, version)
        except StateConflict:
            continue
        done += 1


def test_compare_and_swap_is_atomic_across_processes(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(str(tmp_path), 40)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    state, version = LocalStateStore(tmp_path).load("shared")
    assert state.last_run == "160"  # no lost update
    assert version == "160"


_HOLDER = textwrap.dedent("""
    import sys
    from pipeline.runs.state import LocalStateStore
    with LocalStateStore(sys.argv[1]).lock("root_login", ttl_seconds=60):
        print("locked", flush=True)
        sys.stdin.read()
""")


def test_lock_held_by_another_process_names_it_and_dies_with_it(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeld, match=rf"root_login.*pid {child.pid}"), store.lock("root_login"):
            pass
        with store.lock("other_detection"):  # locks are per detection
            pass
    finally:
        os.kill(child.pid, signal.SIGKILL)  # no clean exit: the kernel must release the flock
        child.wait(timeout=30)
    with store.lock("root_login"):
        info = json.loads((tmp_path / "root_login.lock").read_text())
        assert info["pid"] == os.getpid()


def test_lock_is_released_when_the_body_raises(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path)
    with pytest.raises(ZeroDivisionError), store.lock("root_login"):
        1 / 0  # noqa: B018
    assert (tmp_path / "root_login.lock").read_text() == ""
    with store.lock("root_login"):
        pass


def test_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path)
    held = pytest.raises(LockHeld, match=f"pid {os.getpid()}")
    with store.lock("root_login"), held, store.lock("root_login"):
        pass


def test_record_merges_updates_and_prune_forgets_old_findings() -> None:
    state = DetectionState("burst")
    state.record("f1", ["e1", "e2"], "2024-05-01T10:00:00Z")
    state.record("f2", ["e3"], "2024-05-03 00:00:00+00:00")
    assert state.finding_for_event("e1") == "f1"
    state.record("f1", ["e2", "e4", "e4"], "2024-05-01T12:00:00+02:00")  # 10:00Z: not later
    assert state.delivered["f1"].event_ids == ["e1", "e2", "e4"]
    assert state.delivered["f1"].last_seen == "2024-05-01T10:00:00Z"
    assert state.delivered["f1"].first_seen is None
    state.record("f1", ["e1"], "2024-05-01T09:00:00Z", "2024-05-01T09:00:00Z")
    state.record("f1", ["e1"], "2024-05-01T09:30:00Z", first_seen="2024-05-01T09:30:00Z")  # not earlier
    assert state.delivered["f1"].first_seen == "2024-05-01T09:00:00Z"
    assert state.delivered["f1"].last_seen == "2024-05-01T10:00:00Z"
    assert state.finding_for_event("e4") == "f1"
    assert state.prune("2024-05-02") == 1
    assert list(state.delivered) == ["f2"]
    assert state.finding_for_event("e1") is None
    assert state.finding_for_event("e3") == "f2"
    assert state.prune("2024-05-02") == 0


def test_unsafe_detection_ids_are_refused(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path)
    for bad in ("../escape", "a/b", "", ".hidden", "x..y"):
        with pytest.raises(ValueError, match="detection id"):
            store.load(bad)


def test_a_newer_format_is_refused_not_misread(tmp_path: Path) -> None:
    (tmp_path / "burst.json").write_text(json.dumps({"format": 99, "detection_id": "burst", "version": 3}))
    with pytest.raises(ValueError, match="newer"):
        LocalStateStore(tmp_path).load("burst")


def test_open_state_store_picks_the_backend(tmp_path: Path) -> None:
    local = open_state_store(tmp_path / "state")
    assert isinstance(local, LocalStateStore) and local.directory == tmp_path / "state"
    remote = open_state_store("s3://sec-bucket/trailguard", s3_client=object())
    assert isinstance(remote, S3StateStore)
    assert (remote.bucket, remote.prefix) == ("sec-bucket", "trailguard/state/")


_EVENT_IDS = st.lists(st.text(st.characters(codec=None, categories=None), max_size=20), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ids=st.dictionaries(st.text(min_size=1, max_size=12), _EVENT_IDS, max_size=5),
       watermark=st.none() | st.text(max_size=30))
def test_save_load_round_trips_any_event_ids_exactly(ids: dict[str, list[str]],
                                                     watermark: str | None) -> None:
    state = DetectionState("prop", watermark=watermark)
    for fid, event_ids in ids.items():
        state.record(fid, event_ids, "2024-05-01T00:00:00Z")
    with tempfile.TemporaryDirectory() as directory:
        store = LocalStateStore(directory)
        store.save(state, None)
        loaded, _ = store.load("prop")
    assert loaded == state
    assert {f: d.event_ids for f, d in loaded.delivered.items()} == {
        f: list(dict.fromkeys(e)) for f, e in ids.items()}


def test_round_trip_of_awkward_strings() -> None:
    awkward = ['"quoted"', "back\\slash", "nul\x00", "lone\ud800surrogate", "😀 emoji", "ü", "\n\t", ""]
    state = DetectionState("awkward")
    state.record("f'1\"", awkward, "2024-05-01T00:00:00Z")
    with tempfile.TemporaryDirectory() as directory:
        store = LocalStateStore(directory)
        store.save(state, None)
        assert store.load("awkward")[0].delivered["f'1\""].event_ids == awkward

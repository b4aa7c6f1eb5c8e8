"""The S3 state store against moto: ETag versions, conditional writes, the lock object and its takeover."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.runs.state import DetectionState, LockHeld, S3StateStore, StateConflict, open_state_store

pytestmark = pytest.mark.aws

BUCKET = "sec-state"


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def _store(s3: Any, clock: Callable[[], float] | None = None) -> S3StateStore:
    store = open_state_store(f"s3://{BUCKET}/tg", s3_client=s3)
    assert isinstance(store, S3StateStore)
    if clock is not None:
        store.clock = clock
    return store


def test_round_trip_with_etag_versions(s3: Any) -> None:
    store = _store(s3)
    state, version = store.load("root_login")
    assert (state, version) == (DetectionState("root_login"), None)
    state.watermark = "2024-05-01T10:00:00Z"
    state.record("f1", ["e1", 'e"2'], "2024-05-01T09:00:00Z")
    etag = store.save(state, version)
    head = s3.head_object(Bucket=BUCKET, Key="tg/state/root_login.json")
    assert head["ETag"] == etag
    loaded, loaded_version = store.load("root_login")
    assert (loaded, loaded_version) == (state, etag)
    assert store.save(loaded, loaded_version) != etag  # same content, still a new version


def test_second_loader_gets_a_conflict(s3: Any) -> None:
    store = _store(s3)
    a, version_a = store.load("burst")
    b, version_b = store.load("burst")
    a.watermark = "2024-05-02T00:00:00Z"
    store.save(a, version_a)  # creation: IfNoneMatch='*'
    with pytest.raises(StateConflict, match="burst"):
        store.save(b, version_b)  # b also thought it was creating
    a2, version_a2 = store.load("burst")
    b2, version_b2 = store.load("burst")
    store.save(a2, version_a2)  # update: IfMatch=<etag>
    with pytest.raises(StateConflict):
        store.save(b2, version_b2)


def test_saving_over_a_deleted_state_is_a_conflict(s3: Any) -> None:
    store = _store(s3)
    state, version = store.load("burst")
    version = store.save(state, version)
    s3.delete_object(Bucket=BUCKET, Key="tg/state/burst.json")
    with pytest.raises(StateConflict):  # S3 answers 404 NoSuchKey to If-Match on a missing key
        store.save(state, version)


def test_lock_held_by_another_runner_names_it(s3: Any) -> None:
    first, second = _store(s3), _store(s3)
    with first.lock("root_login", ttl_seconds=600):
        body = json.loads(s3.get_object(Bucket=BUCKET, Key="tg/state/root_login.lock")["Body"].read())
        with pytest.raises(LockHeld, match=rf"'root_login' is locked by pid {body['pid']} on "), \
                second.lock("root_login"):
            pass
        with second.lock("other"):
            pass
    with second.lock("root_login"):
        pass


def test_lock_is_released_when_the_body_raises(s3: Any) -> None:
    store = _store(s3)
    with pytest.raises(ZeroDivisionError), store.lock("root_login"):
        1 / 0  # noqa: B018
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="tg/state/").get("KeyCount") == 0
    with store.lock("root_login"):
        pass


def test_expired_lock_is_taken_over_and_the_old_holder_does_not_release_it(s3: Any) -> None:
    old, new = _store(s3, clock=lambda: 1_000.0), _store(s3, clock=lambda: 2_000.0)
    key = "tg/state/burst.lock"
    old_lock = old.lock("burst", ttl_seconds=60)
    old_lock.__enter__()
    with pytest.raises(LockHeld, match="expires"), _store(s3, clock=lambda: 1_030.0).lock("burst"):
        pass  # not expired yet at 1030
    new_lock = new.lock("burst", ttl_seconds=60)
    new_lock.__enter__()  # 2000 > 1060: expired, taken over
    taken = s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
    old_lock.__exit__(None, None, None)  # the slow old holder finishes: must not delete new's lock
    assert s3.head_object(Bucket=BUCKET, Key=key)["ETag"] == taken
    new_lock.__exit__(None, None, None)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="tg/state/").get("KeyCount") == 0


class _Gated:
    """An S3 client that holds every takeover write (a put with IfMatch) until both contenders send
    theirs, so both have read the same expired lock: a real race on the conditional write."""

    def __init__(self, client: Any, barrier: threading.Barrier) -> None:
        self._client, self._barrier = client, barrier

    def put_object(self, **kwargs: Any) -> Any:
        if "IfMatch" in kwargs:
            self._barrier.wait(timeout=30)
        return self._client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_expired_lock_is_taken_over_exactly_once_by_racing_runners(s3: Any, aws_client: Any) -> None:
    for round_ in range(15):
        stale = {"owner": "dead", "pid": 1, "host": "gone", "acquired": "2024-01-01T00:00:00+00:00",
                 "expires_at": 0, "expires": "1970-01-01T00:00:00+00:00"}
        s3.put_object(Bucket=BUCKET, Key="tg/state/burst.lock", Body=json.dumps(stale).encode())
        barrier, attempted = threading.Barrier(2), threading.Barrier(2)
        outcomes: list[str] = []

        def contend(barrier: threading.Barrier = barrier, attempted: threading.Barrier = attempted,
                    outcomes: list[str] = outcomes) -> None:
            store = S3StateStore(BUCKET, "tg/", _Gated(aws_client("s3"), barrier))
            try:
                with store.lock("burst"):
                    attempted.wait(timeout=30)  # hold it until the other contender has tried
                    outcomes.append("won")
            except LockHeld as exc:
                attempted.wait(timeout=30)
                outcomes.append(f"lost: {exc}")

        threads = [threading.Thread(target=contend) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(o.split(":")[0] for o in outcomes) == ["lost", "won"], (round_, outcomes)
        assert "taken over by another runner" in next(o for o in outcomes if o.startswith("lost"))
        assert s3.list_objects_v2(Bucket=BUCKET, Prefix="tg/state/").get("KeyCount") == 0


def test_a_runner_that_outlived_its_lock_cannot_save(s3: Any) -> None:
    slow, fast = _store(s3, clock=lambda: 0.0), _store(s3, clock=lambda: 10_000.0)
    with slow.lock("burst", ttl_seconds=60):
        state, version = slow.load("burst")
        with fast.lock("burst"):
            fresh, fresh_version = fast.load("burst")
            fresh.watermark = "2024-05-02T00:00:00Z"
            fast.save(fresh, fresh_version)
        state.watermark = "2024-05-01T00:00:00Z"
        with pytest.raises(StateConflict):
            slow.save(state, version)
    assert fast.load("burst")[0].watermark == "2024-05-02T00:00:00Z"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event_ids=st.lists(st.text(st.characters(codec=None, categories=None), max_size=16), max_size=6))
def test_save_load_round_trips_any_event_ids_exactly(s3: Any, event_ids: list[str]) -> None:
    store = _store(s3)
    state, version = store.load("prop")
    state.delivered.clear()
    state.record("f-\"'ü", event_ids, "2024-05-01T00:00:00Z")
    store.save(state, version)
    assert store.load("prop")[0].delivered["f-\"'ü"].event_ids == list(dict.fromkeys(event_ids))

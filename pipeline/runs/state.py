"""Per-detection scheduling state, so a run killed at any point and restarted delivers nothing twice.

A tick loads its detection's state (the watermark covered, the findings delivered), queries the next
window, delivers what is new and saves. Two mechanisms keep that safe when runs overlap or die:
a lock per detection, which a dead runner cannot keep (the kernel drops a local ``flock``; an S3
lock expires), and a conditional save (compare-and-swap on a version token), so a runner that lost
its lock (it outlived the TTL) gets ``StateConflict`` instead of rewinding another runner's
watermark. Local: ``<dir>/<detection_id>.json``; S3: ``s3://bucket/prefix/state/<detection_id>.json``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from pipeline.errors import RunError
from pipeline.paths import write_atomically
from pipeline.source.s3 import parse_s3_uri
from pipeline.times import parse_lenient

FORMAT = 1
_CORRUPT = "corrupt"  # the version of a state file that could not be read and had no good copy
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")
# 412: the ETag (or absence) we conditioned on no longer holds; 409: a concurrent conditional write won;
# 404 on If-Match: the object was deleted since we read it. All mean "someone else wrote".
_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey"}
_CONFLICT_STATUS = {409, 412}


class StateConflict(RunError):
    """Someone else saved this detection's state since we loaded it; reload and redo the tick."""


class CorruptState(RunError, ValueError):
    """A state file that is not a readable state (truncated, empty, ``null``, a wrong type)."""


class LockHeld(RunError):
    """Another runner holds the detection's lock; the message names the detection and the holder."""


def _instant(text: str) -> datetime:
    """An ISO 8601 time as an aware UTC datetime (naive means UTC), so differently formatted
    timestamps ("...Z", "... +00:00", "2024-05-01") compare correctly, which strings do not.

    A time no one can read (a record's impossible ``eventTime``) sorts last: its finding is kept
    (never pruned, so never delivered twice) rather than stopping every later tick."""
    return parse_lenient(text) or datetime.max.replace(tzinfo=UTC)


def _check_id(detection_id: str) -> str:
    """Detection ids become file names and S3 keys: refuse anything that could escape the folder."""
    if not isinstance(detection_id, str) or not _SAFE_ID.fullmatch(detection_id) or ".." in detection_id:
        raise ValueError(f"not a usable detection id for state: {detection_id!r}")
    return detection_id


@dataclass
class DeliveredFinding:
    """What was delivered for one finding: its records, and how recent they were (for pruning)."""

    event_ids: list[str]
    last_seen: str
    first_seen: str | None = None


@dataclass
class DetectionState:
    """Where a detection's schedule stands, and which records it has already alerted on."""

    detection_id: str
    watermark: str | None = None
    last_run: str | None = None
    delivered: dict[str, DeliveredFinding] = field(default_factory=dict)
    _index: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    # Set by a store that could not read the state file: what was wrong and how it recovered.
    recovered: str | None = field(default=None, compare=False)

    def finding_for_event(self, event_id: str) -> str | None:
        """The delivered finding holding this record, so an overlapping window's rows become an
        update of that finding rather than a second alert. The index is built on first use."""
        if self._index is None:
            self._index = {}
            for fid, delivered in self.delivered.items():
                for eid in delivered.event_ids:
                    self._index[eid] = fid
        return self._index.get(event_id)

    def record(self, finding_id: str, event_ids: list[str], last_seen: str,
               first_seen: str | None = None) -> None:
        """Remember a delivery. Re-recording a finding (an update) adds its new records and keeps
        the earliest ``first_seen`` and latest ``last_seen``: what was delivered once stays delivered."""
        current = self.delivered.get(finding_id)
        if current is None:
            current = self.delivered[finding_id] = DeliveredFinding(list(dict.fromkeys(event_ids)), last_seen,
                                                                    first_seen)
        else:
            known = set(current.event_ids)
            current.event_ids.extend(e for e in dict.fromkeys(event_ids) if e not in known)
            if _instant(last_seen) > _instant(current.last_seen):
                current.last_seen = last_seen
            if first_seen and (not current.first_seen or _instant(first_seen) < _instant(current.first_seen)):
                current.first_seen = first_seen
        if self._index is not None:
            for eid in event_ids:
                self._index[eid] = finding_id

    def prune(self, older_than: str) -> int:
        """Forget findings whose last record is before ``older_than`` (beyond any window that can
        still see their records), so the state does not grow forever. Returns how many."""
        limit = _instant(older_than)
        stale = [fid for fid, d in self.delivered.items() if _instant(d.last_seen) < limit]
        for fid in stale:
            del self.delivered[fid]
        if stale:
            self._index = None
        return len(stale)

    def to_dict(self) -> dict[str, Any]:
        delivered = {fid: asdict(d) for fid, d in self.delivered.items()}
        return {"format": FORMAT, "detection_id": self.detection_id, "watermark": self.watermark,
                "last_run": self.last_run, "delivered": delivered}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectionState:
        if data.get("format", FORMAT) > FORMAT:
            raise ValueError(f"state for {data.get('detection_id')!r} has format {data['format']}, "
                             f"newer than this trailguard understands ({FORMAT})")
        delivered = {f: DeliveredFinding(list(map(str, d["event_ids"])), d["last_seen"], d.get("first_seen"))
                     for f, d in (data.get("delivered") or {}).items()}
        return cls(str(data["detection_id"]), data.get("watermark"), data.get("last_run"), delivered)


GOOD_SUFFIX = ".good.json"  # the last good state, written beside the state after every save


def _decode(raw: bytes | None, detection_id: str) -> tuple[DetectionState, dict[str, Any]]:
    """A stored state, or CorruptState saying what is wrong with it (a newer format still raises)."""
    try:
        data = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptState("empty" if not (raw or b"").strip() else f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CorruptState(f"a JSON {type(data).__name__}, not an object")
    if isinstance(data.get("format"), int) and data["format"] > FORMAT:
        raise ValueError(f"state for {detection_id!r} has format {data['format']}, "
                         f"newer than this trailguard understands ({FORMAT})")
    try:
        state = DetectionState.from_dict(data)
        for value in (state.watermark, state.last_run):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"a time is a {type(value).__name__}, not a string")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorruptState(f"fields missing or of the wrong type ({type(exc).__name__}: {exc})") from None
    if state.detection_id != detection_id:
        raise CorruptState(f"holds the state of {state.detection_id!r}")
    return state, data


def recover(detection_id: str, problem: str, good: bytes | None, where: str) -> tuple[DetectionState, Any]:
    """The last good state kept beside a corrupt one, or a fresh state; ``recovered`` says which.

    From the good copy the detection restarts at that watermark and still knows every finding it
    delivered, so the windows it runs again deliver nothing twice."""
    if good is not None:
        try:
            state, data = _decode(good, detection_id)
        except CorruptState as exc:
            problem += f"; the last good copy is unreadable too ({exc})"
        else:
            state.recovered = (f"state {where} was {problem}; restarted from the last good copy "
                               f"(watermark {state.watermark})")
            return state, data
    state = DetectionState(detection_id)
    state.recovered = (f"state {where} was {problem}; no good copy beside it, so the detection "
                       "starts again as on its first run")
    return state, {}


def _encode(state: DetectionState, **extra: Any) -> bytes:
    # ensure_ascii: every Python string (quotes, NUL, lone surrogates) survives the round trip exactly.
    return json.dumps({**state.to_dict(), **extra}, ensure_ascii=True, sort_keys=True).encode("ascii")


def _holder_text(info: dict[str, Any]) -> str:
    if not info:
        return "an unknown holder"  # it is between taking the lock and writing its details
    expires = f" (expires {info['expires']})" if info.get("expires") else ""
    return f"pid {info.get('pid')} on {info.get('host')} since {info.get('acquired')}{expires}"


class StateStore(Protocol):
    """What the scheduler needs: versioned load, conditional save, and a per-detection lock."""

    def load(self, detection_id: str) -> tuple[DetectionState, str | None]: ...

    def save(self, state: DetectionState, version: str | None) -> str: ...

    def lock(self, detection_id: str, ttl_seconds: int = 900) -> AbstractContextManager[None]: ...


class LocalStateStore:
    """State files in one folder. Writes are tmp + fsync + ``os.replace`` (a crash leaves the old or
    the new file, never half of one); the version is a counter in the file, compared and bumped
    under an ``flock`` on ``<id>.cas`` so the compare-and-swap is atomic across processes."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, detection_id: str, suffix: str) -> Path:
        return self.directory / f"{_check_id(detection_id)}{suffix}"

    def load(self, detection_id: str) -> tuple[DetectionState, str | None]:
        path = self._path(detection_id, ".json")
        try:
            state, data = _decode(path.read_bytes(), detection_id)
            return state, str(data["version"])
        except FileNotFoundError:
            return DetectionState(detection_id), None
        except (CorruptState, KeyError) as exc:
            good = self._path(detection_id, GOOD_SUFFIX)
            state, data = recover(detection_id, str(exc), good.read_bytes() if good.is_file() else None,
                                  str(path))
            return state, str(data["version"]) if "version" in data else _CORRUPT

    def save(self, state: DetectionState, version: str | None) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self._path(state.detection_id, ".json")
        with open(self._path(state.detection_id, ".cas"), "a+b") as cas:
            fcntl.flock(cas, fcntl.LOCK_EX)  # released when the file closes, or the process dies
            _, current = self.load(state.detection_id)
            if current != version:
                raise StateConflict(f"state of {state.detection_id!r} is at version {current}, "
                                    f"not {version}: another run saved since this one loaded")
            new_version = str(int(current) + 1 if current and current.isdigit() else 1)
            body = _encode(state, version=int(new_version))
            for path in (target, self._path(state.detection_id, GOOD_SUFFIX)):  # the state, then its copy
                write_atomically(path, body)
            return new_version

    @contextlib.contextmanager
    def lock(self, detection_id: str, ttl_seconds: int = 900) -> Iterator[None]:
        """An exclusive ``flock`` on ``<id>.lock`` for the context. It cannot go stale: the kernel
        drops it when the holder dies, so ``ttl_seconds`` is only recorded for the error message.
        The file is never deleted (unlinking a flock file lets two processes lock different inodes)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(detection_id, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                try:
                    info = json.loads(os.pread(fd, 4096, 0) or b"{}")
                except ValueError:
                    info = {}
                raise LockHeld(f"detection {detection_id!r} is locked by {_holder_text(info)}") from None
            info = {"pid": os.getpid(), "host": socket.gethostname(), "ttl_seconds": ttl_seconds,
                    "acquired": datetime.now(UTC).isoformat()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock


class S3StateStore:
    """State objects under ``s3://bucket/prefix/state/``; the version is the object's ETag and
    every write is conditional (``IfNoneMatch='*'`` to create, ``IfMatch=<etag>`` to update)."""

    def __init__(self, bucket: str, prefix: str, s3_client: Any,
                 clock: Callable[[], float] = time.time) -> None:
        self.bucket, self.prefix, self.s3 = bucket, prefix + "state/", s3_client
        self.clock = clock  # the expiry written in and read from lock objects; injectable for tests

    def _key(self, detection_id: str, suffix: str) -> str:
        return f"{self.prefix}{_check_id(detection_id)}{suffix}"

    def _get(self, key: str) -> tuple[bytes, str] | None:
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return response["Body"].read(), response["ETag"]

    def _put(self, key: str, body: bytes, etag: str | None) -> str | None:
        """Conditional put: the new ETag, or None when the condition failed (someone else wrote)."""
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body,
                                          ContentType="application/json", **condition)
        except ClientError as exc:
            if _is_conflict(exc):
                return None
            raise
        return str(response["ETag"])

    def load(self, detection_id: str) -> tuple[DetectionState, str | None]:
        key = self._key(detection_id, ".json")
        found = self._get(key)
        if found is None:
            return DetectionState(detection_id), None
        try:
            return _decode(found[0], detection_id)[0], found[1]
        except CorruptState as exc:  # the good copy's content, the corrupt object's ETag (for If-Match)
            good = self._get(self._key(detection_id, GOOD_SUFFIX))
            state, _ = recover(detection_id, str(exc), good[0] if good else None,
                               f"s3://{self.bucket}/{key}")
            return state, found[1]

    def save(self, state: DetectionState, version: str | None) -> str:
        # A random revision makes every body, so every ETag (its MD5), unique: no A-B-A on If-Match.
        body = _encode(state, revision=uuid.uuid4().hex)
        etag = self._put(self._key(state.detection_id, ".json"), body, version)
        if etag is None:
            raise StateConflict(f"state of {state.detection_id!r} in s3://{self.bucket}/{self.prefix} "
                                f"changed since it was loaded (version {version}): another run saved")
        self.s3.put_object(Bucket=self.bucket, Key=self._key(state.detection_id, GOOD_SUFFIX), Body=body,
                           ContentType="application/json")  # the last good copy, read only on corruption
        return etag

    @contextlib.contextmanager
    def lock(self, detection_id: str, ttl_seconds: int = 900) -> Iterator[None]:
        """``<id>.lock`` created only if absent; an expired one is overwritten only with If-Match on
        the ETag we saw, so of two runners taking over the same stale lock exactly one wins."""
        key = self._key(detection_id, ".lock")
        now = self.clock()
        info = {"owner": uuid.uuid4().hex, "pid": os.getpid(), "host": socket.gethostname(),
                "acquired": datetime.fromtimestamp(now, UTC).isoformat(), "expires_at": now + ttl_seconds,
                "expires": datetime.fromtimestamp(now + ttl_seconds, UTC).isoformat()}
        body = json.dumps(info).encode()
        etag = self._put(key, body, None)
        for _ in range(3):  # a holder may release between our failed create and our read: retry
            if etag is not None:
                break
            found = self._get(key)
            if found is None:
                etag = self._put(key, body, None)
                continue
            try:
                held = json.loads(found[0])
                expires_at = float(held["expires_at"])
            except (ValueError, KeyError, TypeError):
                held, expires_at = {}, 0.0  # unreadable lock: treat as expired, still taken over by CAS
            if expires_at > now:
                raise LockHeld(f"detection {detection_id!r} is locked by {_holder_text(held)}")
            etag = self._put(key, body, found[1])
            if etag is None:
                raise LockHeld(f"detection {detection_id!r}: its expired lock was just taken over "
                               f"by another runner")
        if etag is None:
            raise LockHeld(f"detection {detection_id!r}: the lock keeps changing hands; try again")
        try:
            yield
        except BaseException:
            with contextlib.suppress(ClientError):  # never hide the run's own error behind a release error
                self._release(key, etag)
            raise
        self._release(key, etag)

    def _release(self, key: str, etag: str) -> None:
        """Delete the lock only if still ours (If-Match): a runner that took it over keeps it."""
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=key, IfMatch=etag)
        except ClientError as exc:
            if not _is_conflict(exc):
                raise


def _is_conflict(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in _CONFLICT_CODES or status in _CONFLICT_STATUS


def open_state_store(location: str | Path, s3_client: Any = None) -> StateStore:
    """``s3://bucket/prefix`` -> objects under ``prefix/state/``; anything else is the local folder
    that holds the state files itself."""
    if isinstance(location, str) and location.startswith("s3://"):
        bucket, prefix = parse_s3_uri(location)
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        return S3StateStore(bucket, prefix, s3_client)
    return LocalStateStore(Path(location))

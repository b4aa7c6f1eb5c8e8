"""A corrupt state file costs a warning, never the tick, and re-delivers nothing (issue 16, item 7)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.runs.state import GOOD_SUFFIX, DetectionState, LocalStateStore
from pipeline.workflow import make_runner
from tests.helpers import poisoned_source

DETECTION = "root_account_usage"


def tick(tmp_path: Path, source: Path, hour: int):
    settings = Settings().with_overrides(data_dir=str(tmp_path / "data"))
    runner = make_runner(settings, str(source), tmp_path / "out" / "findings.jsonl", str(tmp_path / "state"))
    try:
        return runner.tick(datetime(2026, 1, 15, hour, 30, tzinfo=UTC))
    finally:
        runner.engine.close()


def lines(tmp_path: Path) -> list[str]:
    return (tmp_path / "out" / "findings.jsonl").read_text().splitlines()


@pytest.mark.parametrize("garbage", [b'{"format": 1, "detection_id": "root_acc', b"", b"null", b"[1, 2]",
                                     b'{"detection_id": "root_account_usage", "watermark": 7}'])
def test_a_corrupt_state_restarts_from_the_last_good_copy(tmp_path: Path, garbage: bytes) -> None:
    source = poisoned_source(tmp_path / "src")
    (tmp_path / "out").mkdir()
    first = tick(tmp_path, source, 10)
    assert not first.errors and not first.warnings
    before = lines(tmp_path)
    assert any(DETECTION in line for line in before)
    state_file = tmp_path / "state" / f"{DETECTION}.json"
    good_watermark = json.loads(state_file.read_text())["watermark"]
    state_file.write_bytes(garbage)
    second = tick(tmp_path, source, 11)
    assert not second.errors, [(t.detection_id, t.error) for t in second.errors]
    assert {t.detection_id for t in second.ran} == {t.detection_id for t in first.ran}
    warning = next(w for w in second.warnings if w.startswith(DETECTION))
    assert str(state_file) in warning and "last good copy" in warning and good_watermark in warning
    assert lines(tmp_path) == before  # nothing delivered twice
    repaired, _ = LocalStateStore(tmp_path / "state").load(DETECTION)
    assert repaired.recovered is None and repaired.watermark > good_watermark


def test_without_a_good_copy_the_detection_starts_over_and_says_so(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path)
    store.save(DetectionState(DETECTION, watermark="2026-01-15T10:00:00Z"), None)
    (tmp_path / f"{DETECTION}.json").write_bytes(b"\x00\x01")
    (tmp_path / f"{DETECTION}{GOOD_SUFFIX}").write_bytes(b"null")
    state, version = store.load(DETECTION)
    assert state.watermark is None and "first run" in (state.recovered or "")
    assert "unreadable too" in state.recovered
    store.save(state, version)  # the next save repairs the file
    assert store.load(DETECTION)[0].recovered is None


def test_a_newer_format_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / f"{DETECTION}.json").write_text(json.dumps({"format": 99, "detection_id": DETECTION}))
    with pytest.raises(ValueError, match="newer"):
        LocalStateStore(tmp_path).load(DETECTION)

"""The hot tier's ticks (``[schedule] hot_tier``) deliver what one detect reports, crashes included.

The same simulation and the same assertions as ``tests/test_scheduled_runs.py`` (files appear at
their delivery time, one in ten 30 minutes late; killed runs at random points), with the runner
ingesting each tick's deliveries into the hot tier and answering the CloudTrail detections from
one read of it per tick. It also checks that the hot path really ran: one fetch per tick recorded
in the findings store, and every batch's rows read from the tier, not from the day partitions.
"""

from __future__ import annotations

import json

import pytest

import tests.test_scheduled_runs as scheduled
from pipeline.findings.store import open_findings_store
from tests.test_scheduled_runs import generated  # noqa: F401 - the module's generated organization


@pytest.fixture
def hot_settings(monkeypatch):
    original = scheduled.catalogue_settings

    def with_hot_tier(data_dir):
        settings = original(data_dir)
        settings.raw["schedule"]["hot_tier"] = True
        return settings

    monkeypatch.setattr(scheduled, "catalogue_settings", with_hot_tier)


def test_hot_tier_ticks_deliver_what_one_detect_reports(generated, hot_settings, tmp_path):  # noqa: F811
    scheduled.test_ticks_deliver_what_one_detect_reports(generated, tmp_path)
    work = tmp_path / "ticks"
    runs = open_findings_store(str(work / "data")).runs()
    fetches = runs[runs["detection_id"] == "hot_tier"]
    assert len(fetches) > 150  # one per tick over two days and two hours (fewer at the start: nothing due)
    lake = next((work / "data" / "lake").iterdir())
    batches = list((lake / "cloudtrail_hot").rglob("*.parquet"))
    manifest = json.loads((lake / "cloudtrail_hot" / "_manifest.json").read_text())
    named = {lake / f for b in manifest["batches"] for f in b["files"]}  # the last two days' batches
    assert named <= set(batches) and len(named) > 100
    # the detections never read the day partitions: the local lake holds no day folders of CloudTrail
    assert not (lake / "cloudtrail").exists()


def test_hot_tier_crashes_change_nothing_the_sinks_saw(generated, hot_settings, tmp_path):  # noqa: F811
    scheduled.test_crashes_at_random_points_change_nothing_the_sinks_saw(generated, tmp_path)

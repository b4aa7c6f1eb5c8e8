"""Every detection's example records, run through write -> ingest -> DuckDB -> findings."""

from __future__ import annotations

import pytest

from pipeline.detections.examples import load_cases, run_case
from pipeline.detections.spec import load_detections

DETECTIONS = load_detections()
CASES = [(d, c) for d in DETECTIONS.values() for c in load_cases(d.id)]


@pytest.mark.parametrize(("detection", "case"), CASES, ids=[f"{d.id}:{c.get('name')}" for d, c in CASES])
def test_example(detection, case, tmp_path):
    result = run_case(detection, case, tmp_path)
    assert result.ok, (
        f"{detection.id} / {result.case}: {'; '.join(result.problems)} (reported {result.reported})"
    )


@pytest.mark.parametrize("detection_id", sorted(DETECTIONS))
def test_every_detection_has_positive_and_negative_examples(detection_id):
    cases = load_cases(detection_id)
    assert any(c.get("fires") for c in cases), f"{detection_id}: no example that must fire"
    assert any(c.get("silent") for c in cases), f"{detection_id}: no example that must stay silent"

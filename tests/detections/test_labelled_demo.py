"""`detect` over a labelled synthetic organization: every labelled record found, no false alarm.

The demo generator writes the bucket layout (files filed by delivery time, records out of order,
events near midnight in the next day's folder) and a manifest of ground truth. Running the real
pipeline over it must report each label's records under its detection, nothing for near misses,
and no record that no label accounts for.

The labels speak for the catalogue. The detections beyond it have no scenarios of their own
(their ground truth is the Stratus detonation logs, tests/detections/test_corpora.py); here they must stay
silent on the background, and may only report the catalogue scenarios listed in
``NEW_ON_SCENARIOS``, each for the reason given, and must report those; the detections in
``PEOPLE_ON_BACKGROUND`` report the background's people by definition, and only them.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from pipeline.demo import CATALOGUE_IDS
from tests.helpers import ORG_END, ORG_START

# Catalogue scenarios that a newer detection reports too, by its own definition.
NEW_ON_SCENARIOS: dict[str, set[str]] = {
    # aisha.khan puts a TLS-only policy on the organization's CloudTrail log bucket: a change to the
    # trail bucket's policy is exactly what cloudtrail_bucket_tampered reports.
    # aisha.khan puts a policy on afgtv5-security-tools, the bucket the organization's
    # security-data-events trail writes to (its CreateTrail is in the data): a trail bucket learned
    # from the records, whatever its name.
    "cloudtrail_bucket_tampered": {"s3_PutBucketPolicy_7", "s3_PutBucketPolicy_8"},
}

# Newer detections that report people by their resolved actor (docs/actors.md): the background's
# Identity Center developers and operators deploy Lambda code and open SSM sessions by hand, which
# these detections report by definition (a person, whatever credentials). Only those may appear.
PEOPLE_ON_BACKGROUND = {"ssm_remote_command": "StartSession", "lambda_code_replaced": "UpdateFunctionCode"}


@pytest.fixture(scope="module")
def outcome_and_manifest(demo_org, demo_detected):
    """``detect`` over the whole of the session's demo_org (tests/conftest.py), and its manifest."""
    assert demo_org.manifest.window() == (ORG_START, ORG_END)  # the window demo_detected ran over
    return demo_detected.outcome, demo_org.manifest


def test_no_failed_queries_or_skipped_files(outcome_and_manifest):
    outcome, _ = outcome_and_manifest
    assert not outcome.result.failed
    assert all(not r.skipped_files for r in outcome.ingest)


def test_every_labelled_record_is_reported_by_its_detection(outcome_and_manifest):
    outcome, manifest = outcome_and_manifest
    reported = defaultdict(set)
    for finding in outcome.findings:
        reported[finding.detection_id].update(finding.event_ids)
    missing = {}
    for label in manifest.labels:
        if label.detection_id:
            absent = set(label.event_ids) - reported[label.detection_id]
            if absent:
                missing[f"{label.scenario}/{label.detection_id}"] = sorted(absent)
    assert missing == {}


def test_no_false_alarms(outcome_and_manifest):
    outcome, manifest = outcome_and_manifest
    allowed = defaultdict(set)
    forbidden = defaultdict(set)
    for label in manifest.labels:
        if label.detection_id:
            allowed[label.detection_id].update(label.event_ids)
        for detection_id in label.not_detection_ids:
            forbidden[detection_id].update(label.event_ids)
        if label.detection_id is None:
            forbidden["*"].update(label.event_ids)
        for detection_id, scenarios in NEW_ON_SCENARIOS.items():
            if label.scenario in scenarios:
                allowed[detection_id].update(label.event_ids)
    unexplained = {}
    for finding in outcome.findings:
        extra = set(finding.event_ids) - allowed[finding.detection_id]
        if extra and finding.detection_id in PEOPLE_ON_BACKGROUND and not extra & forbidden["*"]:
            assert finding.actor_type == "human", finding
            assert ":assumed-role/AWSReservedSSO_" in str(finding.principal), finding
            assert finding.context["event_name"].startswith(PEOPLE_ON_BACKGROUND[finding.detection_id])
            continue
        if finding.detection_id in CATALOGUE_IDS:  # near misses are about the catalogue's definitions
            extra |= set(finding.event_ids) & (forbidden[finding.detection_id] | forbidden["*"])
        if extra:
            unexplained[finding.detection_id] = sorted(extra)[:5]
    assert unexplained == {}


def test_new_detections_report_the_scenarios_listed_for_them(outcome_and_manifest):
    outcome, manifest = outcome_and_manifest
    reported = defaultdict(set)
    for finding in outcome.findings:
        reported[finding.detection_id].update(finding.event_ids)
    for detection_id, scenarios in NEW_ON_SCENARIOS.items():
        labels = [label for label in manifest.labels if label.scenario in scenarios]
        assert {label.scenario for label in labels} == scenarios
        for label in labels:
            assert set(label.event_ids) <= reported[detection_id], (detection_id, label.scenario)


def test_every_labelled_detection_fires_and_no_other(outcome_and_manifest):
    outcome, manifest = outcome_and_manifest
    fired = {f.detection_id for f in outcome.findings}
    assert fired >= set(CATALOGUE_IDS)
    expected = set(manifest.covered()) | set(CATALOGUE_IDS) | set(NEW_ON_SCENARIOS)
    assert fired == expected | set(PEOPLE_ON_BACKGROUND)

"""A suppression value can match a literal ``*`` (``\\*``), so an attacker's ``*`` user agent is
not suppressed along with everything else (issue 16, item 13)."""

from __future__ import annotations

import pandas as pd

from pipeline.config import Settings
from pipeline.detections.examples import run_case
from pipeline.detections.spec import load_detections
from pipeline.detections.suppressions import suppressed_findings

ROOT = {"type": "Root", "arn": "arn:aws:iam::111111111111:root", "accountId": "111111111111"}


def login(event_id: str, agent: str) -> dict:
    return {"eventID": event_id, "eventName": "ListBuckets", "eventSource": "s3.amazonaws.com",
            "userIdentity": ROOT, "userAgent": agent, "sourceIPAddress": "203.0.113.10"}


CASE = {"name": "stars", "records": [login("star", "scanner/*"), login("other", "scanner/1.0"),
                                      login("slash", "back\\slash")]}


def settings(*agents: str) -> Settings:
    result = Settings()
    result.raw["suppressions"] = [{"detection": "root_account_usage", "reason": "the known scanner",
                                   "expires": "2099-12-31", "user_agents": list(agents)}]
    return result


def reported(agents: tuple[str, ...], tmp_path) -> set[str]:
    result = run_case(load_detections()["root_account_usage"], CASE, tmp_path, settings(*agents))
    return {e for ids in result.reported for e in ids}


def test_an_escaped_star_matches_only_a_literal_star(tmp_path) -> None:
    assert reported(("scanner/\\*",), tmp_path) == {"other", "slash"}
    assert reported(("scanner/*",), tmp_path) == {"slash"}  # a bare star is still a wildcard
    assert reported(("back\\\\slash",), tmp_path) == {"star", "other"}  # \\ is one backslash


def test_stored_findings_follow_the_same_rule() -> None:
    frame = pd.DataFrame([
        {"finding_id": "a", "detection_id": "root_account_usage", "context": {"user_agent": "scanner/*"}},
        {"finding_id": "b", "detection_id": "root_account_usage", "context": {"user_agent": "scanner/1.0"}},
    ])
    assert set(suppressed_findings(settings("scanner/\\*"), frame)) == {"a"}

"""The lint passes the library and catches each kind of broken query."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.detections.lint import lint_all, lint_detection

HEADER = """/*
id: {id}
title: T
severity: low
attack: [T1078]
description: d
runbook: r
schedule: 15m
dedup_key: [event_id]
tables: [cloudtrail]
*/
"""
GOOD_SELECT = (
    "SELECT eventid AS event_id, eventtime AS event_time, recipientaccountid AS account_id, "
    "awsregion AS region, useridentity.arn AS principal FROM {{ table('cloudtrail') }} "
)


def write(tmp_path: Path, name: str, body: str, header: str | None = None) -> Path:
    path = tmp_path / f"{name}.sql"
    path.write_text((header or HEADER.format(id=name)) + body, encoding="utf-8")
    return path


def test_library_passes():
    results = lint_all()
    assert results, "no detections found"
    assert [(r.path.name, r.problems) for r in results if not r.ok] == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (GOOD_SELECT + "WHERE eventname = 'x'", "without the window() partition predicate"),
        (
            "SELECT eventid AS event_id FROM {{ table('cloudtrail') }} WHERE {{ window() }}",
            "does not return finding",
        ),
        ("SELECT * FROM {{ table('cloudtrail') }} WHERE {{ window() }}", "must name its columns"),
        (GOOD_SELECT + "WHERE {{ window() }} AND (", "does not parse"),
        (GOOD_SELECT + "WHERE {{ window() }} AND x = {{ undefined_name }}", "undefined_name"),
        (GOOD_SELECT + "CROSS JOIN UNNEST(resources) AS t(a, b, c) WHERE {{ window() }}", "UNNEST"),
    ],
)
def test_broken_queries_fail(tmp_path, body, problem):
    result = lint_detection(write(tmp_path, "broken", body))
    assert not result.ok
    assert problem in " ".join(result.problems)


def test_subquery_without_window_fails_even_if_outer_has_one(tmp_path):
    body = GOOD_SELECT + "WHERE {{ window() }} AND eventid IN (SELECT eventid FROM {{ table('cloudtrail') }})"
    assert "without the window()" in " ".join(lint_detection(write(tmp_path, "sub", body)).problems)


def test_incomplete_metadata_fails(tmp_path):
    header = "/*\nid: meta\ntitle: T\nseverity: urgent\nattack: [X1]\n*/\n"
    problems = " ".join(
        lint_detection(write(tmp_path, "meta", GOOD_SELECT + "WHERE {{ window() }}", header)).problems
    )
    for expected in ("missing runbook", "severity 'urgent'", "ATT&CK id 'X1'", "missing schedule"):
        assert expected in problems

"""The coverage matrix (docs/coverage.md) and the machinery behind the coverage detections.

The matrix is generated from the detection headers: the committed file must be what the
generator gives now (so it cannot go stale), every ATT&CK id a header names must be mapped to
its tactics, and the ``stratus`` header field is validated. The shared event-name normalisation
and the ``matches()`` macro are checked on DuckDB, and the lint refuses hand-written API-version
suffixes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from pipeline.cli.main import app
from pipeline.detections.coverage import STRATUS_TECHNIQUES, build, is_stale, render_markdown
from pipeline.detections.lint import lint_detection
from pipeline.detections.spec import DetectionError, load_detections, parse_detection
from pipeline.engines.dialect import to_duckdb
from pipeline.engines.templating import RenderContext, render

DETECTIONS = load_detections()
HEADER = """/*
id: {id}
title: T
severity: low
attack: [T1078.004]
description: d
runbook: r
schedule: 15m
dedup_key: [event_id]
tables: [cloudtrail]
{extra}*/
SELECT eventid AS event_id, eventtime AS event_time, recipientaccountid AS account_id,
       awsregion AS region, useridentity.arn AS principal
FROM {{{{ table('cloudtrail') }}}}
WHERE {{{{ window() }}}} AND {where}
"""


def detection_file(tmp_path: Path, name: str, extra: str = "", where: str = "eventname = 'X'") -> Path:
    path = tmp_path / f"{name}.sql"
    path.write_text(HEADER.format(id=name, extra=extra, where=where), encoding="utf-8")
    return path


def test_committed_matrix_is_current():
    stale = is_stale(build(DETECTIONS.values()))
    assert not stale, "docs/coverage.md is stale: run trailguard coverage --write"


def test_every_attack_id_is_mapped_and_every_stratus_id_known():
    matrix = build(DETECTIONS.values())
    assert matrix.unknown_attack == []
    assert matrix.unknown_stratus == []
    assert len(STRATUS_TECHNIQUES) == len(set(STRATUS_TECHNIQUES)) == 44


def test_matrix_lists_each_direction_from_the_headers():
    matrix = build(DETECTIONS.values())
    text = render_markdown(matrix)
    for detection in DETECTIONS.values():
        for technique in detection.stratus:
            assert detection.id in matrix.stratus[technique]
        for technique in detection.attack:
            assert detection.id in matrix.attack[technique]
            assert any(row[1] == technique for row in matrix.tactic_rows())
    uncovered = [t for t, ids in matrix.stratus.items() if not ids]
    for technique in uncovered:  # listed honestly under "Not covered"
        assert f"- `{technique}`" in text.split("### Not covered", 1)[1]
    assert f"{len(matrix.stratus_covered)} of 44 AWS techniques" in text


def test_matrix_reacts_to_a_new_claim(tmp_path):
    path = detection_file(tmp_path, "probe", "stratus: [aws.discovery.ses-enumerate]\n")
    probe = parse_detection(path)
    before = build(DETECTIONS.values())
    after = build([*DETECTIONS.values(), probe])
    assert "probe" in after.stratus["aws.discovery.ses-enumerate"]
    newly = not before.stratus["aws.discovery.ses-enumerate"]
    assert len(after.stratus_covered) == len(before.stratus_covered) + newly
    assert render_markdown(after) != render_markdown(before)
    assert "`probe`" in render_markdown(after).split("## Stratus Red Team", 1)[1]


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("stratus: aws.persistence.iam-backdoor-role\n", "must be a list"),
        ("stratus: [persistence.iam-backdoor-role]\n", "is not like aws.persistence"),
        ("stratus: [aws.Persistence.x]\n", "is not like aws.persistence"),
        ("stratus: [aws.execution.ssm-send-command, aws.execution.ssm-send-command]\n", "twice"),
    ],
)
def test_stratus_field_is_validated(tmp_path, extra, problem):
    path = detection_file(tmp_path, "bad_stratus", extra)
    with pytest.raises(DetectionError, match=problem) as err:
        parse_detection(path)
    assert "bad_stratus.sql" in str(err.value)


def test_lint_refuses_versioned_event_names(tmp_path):
    for where in ("eventname = 'UpdateFunctionCode20150331v2'", "eventname LIKE 'AddPermission2015%'",
                  "eventname IN ('CreateDistribution2020_05_31', 'X')"):
        result = lint_detection(detection_file(tmp_path, "versioned", where=where))
        assert any("event_name()" in p for p in result.problems), (where, result.problems)
    normalised = "{{ event_name() }} = 'UpdateFunctionCode'"
    fine = lint_detection(detection_file(tmp_path, "normalised", where=normalised))
    assert not any("event_name()" in p for p in fine.problems), fine.problems


def _render(template: str, **params) -> str:
    ctx = RenderContext(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC),
        {"cloudtrail": "t"}, {"cloudtrail": "eventtime"}, params,
    )
    return render(template, ctx)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("UpdateFunctionCode20150331v2", "UpdateFunctionCode"),
        ("AddPermission20150331", "AddPermission"),
        ("AddLayerVersionPermission20181031", "AddLayerVersionPermission"),
        ("CreateDistribution2020_05_31", "CreateDistribution"),
        ("UpdateFunctionCodeSigningConfig20200630", "UpdateFunctionCodeSigningConfig"),
        ("GetObject", "GetObject"),
        ("Invoke", "Invoke"),
    ],
)
def test_event_name_normalisation_on_duckdb(raw, normalised):
    sql = _render("SELECT {{ event_name() }} AS n FROM (SELECT " + f"'{raw}'" + " AS eventname) AS x")
    assert duckdb.sql(to_duckdb(sql)).fetchall() == [(normalised,)]


def test_matches_macro_wildcards_and_empty_lists():
    template = "SELECT {{ matches('v', allowed) }} AS m FROM (SELECT " + "'{v}'" + " AS v) AS x"
    cases = [("p3.2xlarge", ["p3.*", "g5.*"], True), ("t3.micro", ["p3.*"], False),
             ("a_b", ["a%b"], False), ("x", [], False), ("x", ["x"], True)]
    for value, allowed, expected in cases:
        sql = _render(template.replace("{v}", value), allowed=allowed)
        assert duckdb.sql(to_duckdb(sql)).fetchall() == [(expected,)], (value, allowed)


def test_cli_coverage_check_write_and_bad_arguments(tmp_path):
    runner = CliRunner()
    target = tmp_path / "coverage.md"
    stale = runner.invoke(app, ["coverage", "--check", "--output", str(target)])
    assert stale.exit_code == 1 and "stale" in stale.output
    written = runner.invoke(app, ["coverage", "--write", "--output", str(target)])
    assert written.exit_code == 0
    assert target.read_text() == render_markdown(build(load_detections().values()))
    assert runner.invoke(app, ["coverage", "--check", "--output", str(target)]).exit_code == 0
    both = runner.invoke(app, ["coverage", "--write", "--check"])
    assert both.exit_code == 2 and "Traceback" not in both.output
    shown = runner.invoke(app, ["coverage"])
    assert shown.exit_code == 0 and "Stratus techniques covered" in shown.output

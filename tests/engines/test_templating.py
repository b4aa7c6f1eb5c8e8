"""Templating: values are literals whatever they contain; the window macro prunes and pads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from pipeline.engines.templating import RenderContext, TemplateError, partition_days, render

START = datetime(2026, 1, 14, tzinfo=UTC)
END = datetime(2026, 1, 15, tzinfo=UTC)
TEMPLATE = "SELECT eventid FROM {{ table('cloudtrail') }} WHERE {{ window() }} AND eventname = {{ value }}"


def ctx(**params) -> RenderContext:
    return RenderContext(START, END, {"cloudtrail": "cloudtrail"}, {"cloudtrail": "eventtime"}, params)


hostile = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=60
) | st.sampled_from(
    ["'; DROP TABLE cloudtrail; --", "x' OR '1'='1", "a\n-- comment\n'", "/* */'", "\\'", "''"]
)


@settings(max_examples=300, deadline=None)
@given(value=hostile)
def test_hostile_string_stays_one_literal(value):
    sql = render(TEMPLATE, ctx(value=value))
    statements = sqlglot.parse(sql, read="athena")
    assert len(statements) == 1
    tree = statements[0]
    assert isinstance(tree, exp.Select)
    eq = [e for e in tree.find_all(exp.EQ) if e.this.name == "eventname"]
    assert len(eq) == 1 and isinstance(eq[0].expression, exp.Literal)
    assert eq[0].expression.this == value
    assert [t.name for t in tree.find_all(exp.Table)] == ["cloudtrail"]


@settings(max_examples=100, deadline=None)
@given(values=st.lists(hostile, min_size=1, max_size=5))
def test_hostile_list_stays_an_in_list_of_literals(values):
    sql = render("SELECT 1 FROM t WHERE x IN {{ values }}", ctx(values=values))
    tree = sqlglot.parse_one(sql, read="athena")
    in_node = tree.find(exp.In)
    assert [e.this for e in in_node.expressions] == values


def test_numbers_and_booleans_are_literals():
    sql = render("SELECT {{ a }}, {{ b }}, {{ c }}, {{ d }}", ctx(a=5, b=2.5, c=True, d=None))
    assert sql == "SELECT 5, 2.5, TRUE, NULL"


def test_undefined_variable_is_an_error_naming_the_template():
    with pytest.raises(TemplateError, match=r"q\.sql: .*nope"):
        render("SELECT {{ nope }}", ctx(), name="q.sql")


def test_objects_cannot_be_pasted():
    with pytest.raises(TemplateError, match="cannot be a SQL literal"):
        render("SELECT {{ v }}", ctx(v=object()))


def test_window_includes_the_next_days_partition_for_delivery_lag():
    sql = render("SELECT 1 FROM t WHERE {{ window() }}", ctx())
    assert "day IN ('2026/01/14', '2026/01/15')" in sql
    assert "eventtime >= '2026-01-14T00:00:00'" in sql
    assert "eventtime < '2026-01-15T00:00:00'" in sql


def test_one_hour_window_touches_two_partitions_at_most():
    assert partition_days(datetime(2026, 1, 14, 10, tzinfo=UTC), datetime(2026, 1, 14, 11, tzinfo=UTC)) == [
        "2026/01/14",
        "2026/01/15",
    ]


def test_window_bounds_compare_right_with_millisecond_times():
    # GuardDuty's updatedAt has milliseconds: '...00:00:00.123Z' must be inside a window starting at 00:00:00.
    lower = "2026-01-14T00:00:00"
    assert lower <= "2026-01-14T00:00:00.123Z" and lower <= "2026-01-14T00:00:00Z"
    assert not "2026-01-15T00:00:00Z" < "2026-01-15T00:00:00"


def test_start_after_end_is_rejected():
    with pytest.raises(TemplateError, match="not before"):
        RenderContext(END, START, {}, {})


def test_suppression_values_are_quoted_and_wildcards_escaped():
    from pipeline.detections.suppressions import parse_rule

    c = ctx()
    c.suppressions = [
        parse_rule(
            0,
            {
                "reason": "r",
                "expires": "2099-01-01",
                "principals": ["arn:aws:iam::1:role/x'y"],
                "user_agents": ["Terra_form*"],
            },
        )
    ]
    sql = render("SELECT 1 FROM t WHERE true {{ suppressions() }}", c)
    assert "useridentity.arn IN ('arn:aws:iam::1:role/x''y')" in sql
    assert "useragent LIKE 'Terra\\_form%' ESCAPE '\\'" in sql
    sqlglot.parse_one(sql, read="athena")
    assert render("SELECT 1 FROM t WHERE true {{ suppressions('guardduty') }}", c).strip().endswith("true")


def test_long_windows_use_a_day_range():
    end = datetime(2026, 6, 1, tzinfo=UTC)
    long = RenderContext(START, end, {"cloudtrail": "cloudtrail"}, {"cloudtrail": "eventtime"})
    sql = render("SELECT 1 FROM t WHERE {{ window() }}", long)
    assert "day BETWEEN '2026/01/14' AND '2026/06/01'" in sql


ACTOR_QUERY = (
    "WITH {% include 'fragments/actor_records.sql' %}\n"
    "SELECT eventname, actor, actor_type FROM actor_records WHERE {{ window() }} AND errorcode IS NULL\n"
    "  AND eventsource = 'iam.amazonaws.com' -- readonly in a comment and 'awsregion' in a literal: not read"
)


def test_the_actor_fragment_reads_the_table_twice_and_each_of_its_ctes_once() -> None:
    # Athena evaluates a WITH query once per reference: a CTE named twice is data read twice.
    tree = sqlglot.parse_one(render(ACTOR_QUERY, ctx()), read="athena")
    reads = [t for t in tree.find_all(exp.Table) if t.name == "cloudtrail"]
    assert len(reads) == 2  # the issuing STS calls, the window's records
    ctes = [c.alias for c in tree.find_all(exp.CTE)]
    assert ctes[0] == "actor_issued" and ctes[-1] == "actor_records"
    for name in ctes:
        assert sum(t.name == name for t in tree.find_all(exp.Table)) == 1, name


def test_the_actor_fragment_selects_the_columns_the_query_names_never_star() -> None:
    tree = sqlglot.parse_one(render(ACTOR_QUERY, ctx()), read="athena")
    direct = next(c for c in tree.find_all(exp.CTE) if c.alias == "actor_direct").this
    assert not any(isinstance(e, exp.Star) for e in direct.expressions)
    named = [e.alias_or_name for e in direct.expressions][:6]
    # In the table's column order: what the query names after the fragment (eventname, errorcode,
    # eventsource), what every window and the actor's final step read (eventtime, useridentity,
    # useragent), then the partition day; not the words in a comment or a string literal.
    assert named == ["useridentity", "eventtime", "eventsource", "eventname", "useragent", "errorcode"]
    assert [e.alias_or_name for e in direct.expressions][6] == "day"
    outer = next(c for c in tree.find_all(exp.CTE) if c.alias == "actor_records").this
    assert [e.alias_or_name for e in outer.expressions][:7] == [*named, "day"]

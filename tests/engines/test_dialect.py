"""Athena (Trino) SQL translated by pipeline.engines.dialect runs on DuckDB with Athena's results.

Each expected value is what Athena engine v3 returns; the trap tests fail when their fix is removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from pipeline.engines.dialect import (
    UTC_SETUP_SQL,
    UnsupportedConstructError,
    configure_connection,
    to_duckdb,
    unsupported_constructs,
)

UTC = dt.UTC

SCHEMA = {
    "events": {
        "eventid": "string",
        "eventtime": "string",
        "eventname": "string",
        "bytes": "bigint",
        "score": "double",
        "requestparameters": "string",
        "responseelements": "string",
        "useridentity": "struct<type:string,arn:string,"
        "sessioncontext:struct<sessionissuer:struct<type:string,arn:string>>>",
        "resources": "array<struct<arn:string,type:string>>",
        "tags": "array<string>",
    }
}

ROWS = [
    (
        "e1",
        "2024-01-01T23:30:00Z",
        "GetObject",
        7,
        2.5,
        '{"bucketName":"b1","items":[{"k":1},{"k":2}],"obj":{"p":1},"arr":[1,2],'
        '"flag":true,"num":5,"nul":null,"count":"12","ratio":"1.5"}',
        None,
        {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::111:assumed-role/r1/s",
            "sessioncontext": {"sessionissuer": {"type": "Role", "arn": "arn:aws:iam::111:role/r1"}},
        },
        [{"arn": "arn:aws:s3:::b1", "type": "AWS::S3::Bucket"}, {"arn": "arn:aws:s3:::b1/k", "type": "obj"}],
        ["a", "b"],
    ),
    (
        "e2",
        "2024-01-02T00:10:00Z",
        "PutObject",
        -7,
        3.5,
        '{"bucketName":"b2"}',
        '{"x":"y"}',
        {"type": "IAMUser", "arn": "arn:aws:iam::111:user/u", "sessioncontext": None},
        [],
        ["c"],
    ),
    ("e3", "2024-01-02T00:20:00Z", "GetObject", 600, -2.5, None, None, None, None, None),
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    configure_connection(connection)
    connection.execute(
        """CREATE TABLE events (
            eventid VARCHAR, eventtime VARCHAR, eventname VARCHAR, bytes BIGINT, score DOUBLE,
            requestparameters VARCHAR, responseelements VARCHAR,
            useridentity STRUCT(type VARCHAR, arn VARCHAR,
                sessioncontext STRUCT(sessionissuer STRUCT(type VARCHAR, arn VARCHAR))),
            resources STRUCT(arn VARCHAR, type VARCHAR)[], tags VARCHAR[])"""
    )
    connection.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    return connection


def run(con: duckdb.DuckDBPyConnection, athena_sql: str) -> list[tuple[Any, ...]]:
    return con.execute(to_duckdb(athena_sql, SCHEMA)).fetchall()


def first(con: duckdb.DuckDBPyConnection, athena_sql: str) -> tuple[Any, ...]:
    """The result row of a query over event e1."""
    return run(con, athena_sql.replace("FROM events", "FROM events WHERE eventid = 'e1'", 1))[0]


# --- 1. integer division -----------------------------------------------------------------------


def test_integer_division_truncates_toward_zero(con):
    rows = run(con, "SELECT eventid, bytes / 2, 7 / 2, bytes / 2.0 FROM events ORDER BY eventid")
    assert rows == [("e1", 3, 3, 3.5), ("e2", -3, 3, -3.5), ("e3", 300, 3, 300.0)]


def test_integer_division_of_bigint_expressions(con):
    sql = """SELECT cardinality(tags) / 3, date_diff('second', from_iso8601_timestamp('2024-01-01T23:28:00Z'),
                 from_iso8601_timestamp(eventtime)) / 60 FROM events"""
    assert first(con, sql) == (0, 2)
    assert run(con, "SELECT count(*) / 2 FROM events") == [(1,)]
    # exact past 2**53, where dividing as DOUBLE and truncating is off by one
    assert run(con, "SELECT CAST(9007199254740993 AS BIGINT) / 1") == [(9007199254740993,)]


def test_integer_division_by_zero_fails_like_athena(con):
    with pytest.raises(duckdb.Error, match="[Dd]ivision by zero"):
        run(con, "SELECT bytes / 0 FROM events")


# --- 2. json_extract_scalar ----------------------------------------------------------------------


def test_json_extract_scalar_on_varchar_json(con):
    sql = """SELECT json_extract_scalar(requestparameters, '$.obj'),
                    json_extract_scalar(requestparameters, '$.arr'),
                    json_extract_scalar(requestparameters, '$.missing'),
                    json_extract_scalar(requestparameters, '$.nul'),
                    json_extract_scalar(requestparameters, '$.bucketName'),
                    json_extract_scalar(requestparameters, '$.flag'),
                    json_extract_scalar(requestparameters, '$.num'),
                    json_extract_scalar(requestparameters, '$.items[1].k')
             FROM events"""
    assert first(con, sql) == (None, None, None, None, "b1", "true", "5", "2")


def test_json_extract_scalar_on_null_column_and_json_value(con):
    rows = run(
        con,
        """SELECT eventid, json_extract_scalar(responseelements, '$.x'),
                  json_extract_scalar(json_parse(requestparameters), '$.obj')
           FROM events ORDER BY eventid""",
    )
    assert rows == [("e1", None, None), ("e2", "y", None), ("e3", None, None)]


# --- 3. regexp_extract -------------------------------------------------------------------------


def test_regexp_extract_without_match_is_null(con):
    sql = """SELECT regexp_extract(eventname, 'x(y)', 1), regexp_extract(eventname, 'zz'),
                    regexp_extract(eventname, 'Get(\\w+)', 1), regexp_extract(eventname, 'Obj')
             FROM events"""
    assert first(con, sql) == (None, None, "Object", "Obj")


# --- 4. format ---------------------------------------------------------------------------------


def test_format_uses_java_specifiers(con):
    sql = """SELECT format('%s-%d', eventname, bytes), format('%s%%', 123), format('%03d', 8),
                    format('%2$s %1$s', 'a', 'b'), format('%.2f', score), format('[%s]', responseelements)
             FROM events"""
    assert first(con, sql) == ("GetObject-7", "123%", "008", "b a", "2.50", "[null]")


# --- 5. JSON to VARCHAR ------------------------------------------------------------------------


def test_cast_json_scalar_to_varchar_gives_its_text(con):
    sql = """SELECT CAST(JSON '"abc"' AS VARCHAR),
                    CAST(json_extract(requestparameters, '$.bucketName') AS VARCHAR),
                    CAST(json_parse('null') AS VARCHAR),
                    CAST(json_extract(requestparameters, '$.num') AS VARCHAR),
                    try_cast(json_extract(requestparameters, '$.obj') AS VARCHAR)
             FROM events"""
    assert first(con, sql) == ("abc", "b1", None, "5", None)


def test_cast_json_object_to_varchar_fails_like_athena(con):
    with pytest.raises(duckdb.Error, match="Cannot cast a JSON object or array"):
        run(con, "SELECT CAST(json_extract(requestparameters, '$.obj') AS VARCHAR) FROM events")


def test_json_format_and_cast_varchar_to_json(con):
    sql = """SELECT json_format(json_parse('{"a": 1, "b": [true, null]}')), json_format(JSON '"abc"'),
                    json_format(CAST(eventname AS JSON))
             FROM events"""
    assert first(con, sql) == ('{"a":1,"b":[true,null]}', '"abc"', '"GetObject"')


# --- 6. session time zone ----------------------------------------------------------------------

TZ_SQL = """SELECT date(from_iso8601_timestamp(eventtime)), hour(from_iso8601_timestamp(eventtime)),
                   to_unixtime(from_iso8601_timestamp(eventtime)),
                   from_unixtime(to_unixtime(from_iso8601_timestamp(eventtime)))
                       = from_iso8601_timestamp(eventtime),
                   hour(from_unixtime(1704151800)), date(from_unixtime(1704151800)),
                   date_format(from_iso8601_timestamp(eventtime), '%Y-%m-%d %H:%i')
            FROM events"""
TZ_EXPECTED = (dt.date(2024, 1, 1), 23, 1704151800.0, True, 23, dt.date(2024, 1, 1), "2024-01-01 23:30")


def test_utc_session_gives_athena_dates_and_hours(con):
    con.execute("SET TimeZone = 'Asia/Tokyo'")  # a developer laptop's zone
    configure_connection(con)
    assert first(con, TZ_SQL) == TZ_EXPECTED
    assert con.execute("SELECT current_setting('TimeZone')").fetchone() == ("UTC",)
    assert UTC_SETUP_SQL == "SET TimeZone = 'UTC'"


def test_without_utc_session_dates_shift(con):
    """Why configure_connection is needed: DuckDB otherwise uses the machine's zone."""
    con.execute("SET TimeZone = 'Asia/Tokyo'")
    assert first(con, TZ_SQL)[:2] == (dt.date(2024, 1, 2), 8)


# --- 7. UNNEST of an array of ROWs -------------------------------------------------------------


def test_multi_column_unnest_is_reported():
    sql = "SELECT r.arn, r.type FROM events CROSS JOIN UNNEST(resources) AS r(arn, type)"
    [message] = unsupported_constructs(sql)
    assert "r(arn, type)" in message and "transform(x, r -> r.a)" in message
    with pytest.raises(UnsupportedConstructError, match="r\\(arn, type\\)"):
        to_duckdb(sql, SCHEMA)


def test_zipped_unnest_is_reported():
    sql = "SELECT a, b FROM events CROSS JOIN UNNEST(tags, tags) AS t(a, b)"
    assert "2 arrays" in unsupported_constructs(sql)[0]


def test_supported_unnest_forms_are_not_reported():
    assert unsupported_constructs("SELECT a FROM events CROSS JOIN UNNEST(tags) AS t(a)") == []
    assert (
        unsupported_constructs("SELECT a, i FROM events CROSS JOIN UNNEST(tags) WITH ORDINALITY AS t(a, i)")
        == []
    )


def test_unnest_of_transformed_array_runs(con):
    rows = run(
        con,
        """SELECT e.eventid, r.arn FROM events e
           CROSS JOIN UNNEST(transform(e.resources, x -> x.arn)) AS r(arn) ORDER BY r.arn""",
    )
    assert rows == [("e1", "arn:aws:s3:::b1"), ("e1", "arn:aws:s3:::b1/k")]


def test_unnest_with_ordinality(con):
    rows = run(
        con, "SELECT t.v, t.i FROM events CROSS JOIN UNNEST(tags) WITH ORDINALITY AS t(v, i) ORDER BY 1"
    )
    assert rows == [("a", 1), ("b", 2), ("c", 1)]


# --- further traps found while checking the list ---------------------------------------------


def test_split_part_past_last_field_is_null(con):
    sql = """SELECT split_part('a:b:c', ':', 2), split_part('a:b', ':', 5), split_part(eventname, 'x', 1)
             FROM events"""
    assert first(con, sql) == ("b", None, "GetObject")


def test_any_all_none_match(con):
    rows = run(
        con,
        """SELECT eventid, any_match(tags, x -> x = 'b'), all_match(tags, x -> x <> 'z'),
                  none_match(tags, x -> x = 'c'), any_match(ARRAY['a', NULL], x -> x = 'b'),
                  any_match(ARRAY[], x -> true), all_match(ARRAY[], x -> false)
           FROM events ORDER BY eventid""",
    )
    assert rows == [
        ("e1", True, True, True, None, False, True),
        ("e2", False, True, False, None, False, True),
        ("e3", None, None, None, None, False, True),
    ]


def test_cast_text_to_integer_accepts_only_digits(con):
    sql = """SELECT try_cast('1.5' AS BIGINT), try_cast(' 12' AS INTEGER), try_cast('-12' AS BIGINT),
                    try_cast(json_extract_scalar(requestparameters, '$.count') AS BIGINT),
                    try_cast(json_extract_scalar(requestparameters, '$.ratio') AS BIGINT),
                    CAST(json_extract_scalar(requestparameters, '$.missing') AS BIGINT)
             FROM events"""
    assert first(con, sql) == (None, None, -12, 12, None, None)
    with pytest.raises(duckdb.Error, match="Cannot cast VARCHAR to BIGINT"):
        run(con, "SELECT CAST(json_extract_scalar(requestparameters, '$.ratio') AS BIGINT) FROM events")


def test_cast_double_to_integer_rounds_half_away_from_zero(con):
    rows = run(con, "SELECT eventid, CAST(score AS BIGINT), CAST(score AS INTEGER) FROM events ORDER BY 1")
    assert rows == [("e1", 3, 3), ("e2", 4, 4), ("e3", -3, -3)]


def test_regexp_replace_group_references(con):
    sql = r"""SELECT regexp_replace(eventname, '(Get|Put)(\w+)', '$2-$1'), regexp_replace('a.b', '\.', '\$'),
                     regexp_replace('aXbX', 'X')
              FROM events"""
    assert first(con, sql) == ("Object-Get", "a$b", "ab")


def test_count_distinct_window_is_reported():
    """Athena rejects DISTINCT in window functions (DuckDB would run it), so the lint must say so."""
    [message] = unsupported_constructs(
        "SELECT count(DISTINCT eventname) OVER (PARTITION BY eventid) FROM events"
    )
    assert "DISTINCT in window functions" in message


# --- functions checked to translate faithfully as they are -------------------------------------

TS = "from_iso8601_timestamp(eventtime)"
PARSED = "date_parse(eventtime, '%Y-%m-%dT%H:%i:%sZ')"

FAITHFUL = [
    (TS, dt.datetime(2024, 1, 1, 23, 30, tzinfo=UTC)),
    (PARSED, dt.datetime(2024, 1, 1, 23, 30)),
    (f"to_unixtime({PARSED})", 1704151800.0),
    (f"date_add('minute', 10, {TS})", dt.datetime(2024, 1, 1, 23, 40, tzinfo=UTC)),
    (f"date_add('minute', 10, {PARSED})", dt.datetime(2024, 1, 1, 23, 40)),
    (f"date_diff('second', from_iso8601_timestamp('2024-01-01T23:00:00Z'), {TS})", 1800),
    (f"date_diff('second', {PARSED}, date_parse('2024-01-02T00:00:00Z', '%Y-%m-%dT%H:%i:%sZ'))", 1800),
    ("cardinality(tags)", 2),
    ("cardinality(resources)", 2),
    ("contains(tags, 'b')", True),
    ("transform(tags, x -> upper(x))", ["A", "B"]),
    ("filter(tags, x -> x <> 'a')", ["b"]),
    ("regexp_like(eventname, '^Get')", True),
    ("json_array_length(json_extract(requestparameters, '$.items'))", 2),
    ("json_array_length(json_extract(requestparameters, '$.missing'))", None),
    ("json_extract_scalar(json_parse(requestparameters), '$.bucketName')", "b1"),
    ("try_cast('x' AS BIGINT)", None),
    ("try_cast('2.5' AS DOUBLE)", 2.5),
    ("lower('GetObject')", "getobject"),
    ("starts_with(eventname, 'Get')", True),
    ("element_at(tags, 1)", "a"),
    ("element_at(tags, 5)", None),
    ("element_at(tags, -1)", "b"),
    ("bytes IS DISTINCT FROM NULL", True),
    ("responseelements IS DISTINCT FROM NULL", False),
    ("strpos(eventname, 'Obj')", 4),
    ("strpos(eventname, 'zz')", 0),
    ("substr(eventname, 4)", "Object"),
    ("substr(eventname, 1, 3)", "Get"),
    ("coalesce(responseelements, 'none')", "none"),
    ("useridentity.sessioncontext.sessionissuer.arn", "arn:aws:iam::111:role/r1"),
    ("ARRAY['x', eventid]", ["x", "e1"]),
    ("cardinality(ARRAY[1, 2, 3])", 3),
]


@pytest.mark.parametrize(("expression", "expected"), FAITHFUL, ids=[e for e, _ in FAITHFUL])
def test_faithful_function(con, expression, expected):
    assert first(con, f"SELECT {expression} FROM events") == (expected,)


def test_struct_access_on_table_alias(con):
    rows = run(
        con,
        """SELECT e.useridentity.sessioncontext.sessionissuer.arn, e.useridentity.type
           FROM events e ORDER BY e.eventid""",
    )
    assert rows == [("arn:aws:iam::111:role/r1", "AssumedRole"), (None, "IAMUser"), (None, None)]


def test_unnest_json_array(con):
    rows = run(
        con,
        """SELECT json_extract_scalar(item, '$.k')
           FROM events
           CROSS JOIN UNNEST(CAST(json_extract(requestparameters, '$.items') AS ARRAY(JSON))) AS t(item)
           ORDER BY 1""",
    )
    assert rows == [("1",), ("2",)]


def test_aggregates(con):
    rows = run(
        con,
        """SELECT eventname, approx_distinct(eventid), array_agg(eventid ORDER BY eventid), count(*)
           FROM events GROUP BY eventname ORDER BY eventname""",
    )
    assert rows == [("GetObject", 2, ["e1", "e3"], 2), ("PutObject", 1, ["e2"], 1)]


def test_range_windows_over_bigint_key(con):
    rows = run(
        con,
        """SELECT eventid,
                  count(*) OVER (ORDER BY bytes RANGE BETWEEN 14 PRECEDING AND CURRENT ROW),
                  sum(bytes) OVER (ORDER BY bytes RANGE BETWEEN CURRENT ROW AND 600 FOLLOWING)
           FROM events ORDER BY eventid""",
    )
    assert rows == [("e1", 2, 607), ("e2", 1, 0), ("e3", 1, 600)]


def test_result_columns_are_named_like_athena(con):
    cursor = con.execute(
        to_duckdb(
            "SELECT eventid, useridentity.arn, count(*), 1 + 1 AS two, bytes / 2 FROM events "
            "GROUP BY 1, 2, 5 ORDER BY 3",
            SCHEMA,
        )
    )
    assert [d[0] for d in cursor.description] == ["eventid", "arn", "_col2", "two", "_col4"]


def test_translation_without_schema_still_applies_untyped_fixes(con):
    sql = "SELECT json_extract_scalar(requestparameters, '$.obj'), 7 / 2 FROM events WHERE eventid = 'e1'"
    assert con.execute(to_duckdb(sql)).fetchall() == [(None, 3)]


def test_translation_without_schema_of_unqualified_unnest(con):
    sql = "SELECT arn FROM events CROSS JOIN UNNEST(transform(resources, x -> x.arn)) AS r(arn) ORDER BY 1"
    assert con.execute(to_duckdb(sql)).fetchall() == [("arn:aws:s3:::b1",), ("arn:aws:s3:::b1/k",)]


def test_json_array_length_of_non_arrays_is_null():
    import duckdb as _duckdb

    from pipeline.engines.dialect import to_duckdb as _to_duckdb

    con = _duckdb.connect()
    sql = _to_duckdb(
        "SELECT json_array_length('[1,2]'), json_array_length('{\"a\":1}'), json_array_length('\"s\"')"
    )
    assert con.execute(sql).fetchall() == [(2, None, None)]

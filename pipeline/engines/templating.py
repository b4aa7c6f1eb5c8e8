"""Jinja2 rendering of Athena SQL where values can only ever be literals.

Every ``{{ expression }}`` passes through :func:`sql_literal` (Jinja's ``finalize`` hook): a
string becomes a quoted literal, a number a numeric literal, a list a parenthesised list of
literals. Only :class:`Sql` fragments produced by our own macros (``table()``, ``window()``,
``suppressions()``, ``ident()``, ``event_name()``, ``matches()``) and included fragments of
``queries/fragments/`` are emitted as they are. A hostile value therefore cannot change the shape
of a statement, whatever quotes, semicolons, comments or newlines it holds. Undefined variables
are errors, never empty strings.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jinja2

from pipeline import times
from pipeline.errors import UsageError
from pipeline.paths import QUERIES_DIR

MAX_DAY_LIST = 62  # longer windows name their day partitions as a range
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")


class Sql(str):
    """A fragment of SQL that our own code built; emitted verbatim by the template."""


class TemplateError(UsageError):
    """A query template that cannot be rendered; the message names the template."""


def quote_string(value: str) -> str:
    """A standard SQL string literal: the only special character is the quote, which is doubled."""
    if "\x00" in value:
        raise TemplateError("string value contains a NUL character")
    return "'" + value.replace("'", "''") + "'"


def sql_literal(value: Any) -> str:
    """Render a Python value as a SQL literal (the ``finalize`` hook of the environment)."""
    if isinstance(value, Sql):
        return str(value)
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the missing variable
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TemplateError(f"non-finite number {value!r} cannot be a SQL literal")
        return repr(value)
    if isinstance(value, datetime):
        return quote_string(iso_utc(value))
    if isinstance(value, date):
        return quote_string(value.isoformat())
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if not items:
            raise TemplateError("an empty list cannot be a SQL IN-list")
        return "(" + ", ".join(sql_literal(v) for v in items) + ")"
    raise TemplateError(f"value of type {type(value).__name__} cannot be a SQL literal")


def identifier(name: str) -> Sql:
    """A column or dotted field path from configuration, checked against a strict pattern."""
    if not IDENTIFIER.match(name):
        raise TemplateError(f"{name!r} is not a valid column name")
    return Sql(name)


def wildcard_parts(value: str) -> list[str | None]:
    """A configured value split at its wildcards (``None``): ``*`` is a wildcard, ``\\*`` a literal
    star and ``\\\\`` a literal backslash (any other backslash is itself), so a user agent or ARN
    holding a ``*`` can still be matched exactly."""
    parts: list[str | None] = []
    text: list[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and value[index + 1:index + 2] in ("*", "\\"):
            text.append(value[index + 1])
            index += 2
            continue
        if char == "*":
            parts.extend(["".join(text), None])
            text = []
        else:
            text.append(char)
        index += 1
    parts.append("".join(text))
    return parts
# A suppression with ``samples = true`` (GuardDuty sample findings): the flag sits in the JSON text of
# ``service``, so it is a fixed test rather than a column comparison (no value reaches the SQL).
_SAMPLE_COLUMN = "service.additionalInfo.sample"
_SAMPLE_TEST = "COALESCE(json_extract_scalar(service, '$.additionalInfo.sample') = 'true', FALSE)"


def _matches(column: str, values: tuple[str, ...]) -> str:
    """NULL-safe "column is one of values"; ``*`` in a value is a wildcard (LIKE, escaped), ``\\*`` a star."""
    split = [wildcard_parts(v) for v in values]
    exact = [str(p[0]) for p in split if None not in p]
    tests = [f"{column} IN {sql_literal(exact)}"] if exact else []
    for parts in (p for p in split if None in p):
        like = "".join("%" if part is None else
                       part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for part in parts)
        tests.append(f"{column} LIKE {sql_literal(like)} ESCAPE '\\'")
    return f"COALESCE({' OR '.join(tests)}, FALSE)"


# Some services version their API in the event name: Lambda writes UpdateFunctionCode20150331v2,
# CloudFront CreateDistribution2020_05_31. Detections compare the name without that date suffix.
API_VERSION_SUFFIX = "[0-9]{4}_?[0-9]{2}_?[0-9]{2}(v[0-9]+)?$"


def event_name(alias: str | None = None) -> Sql:
    """``{{ event_name() }}``: the record's eventName without an API-version suffix, for every detection.

    One normalisation, so no detection writes its own ``LIKE 'UpdateFunctionCode%'`` (which would
    also match UpdateFunctionCodeSigningConfig).
    """
    column = f"{identifier(alias)}.eventname" if alias else "eventname"
    return Sql(f"regexp_replace({column}, {sql_literal(API_VERSION_SUFFIX)}, '')")


def matches(column: str, values: Iterable[str] | str | None) -> Sql:
    """``{{ matches('instance_type', instance_types) }}``: the column is one of a parameter's values.

    ``*`` is a wildcard; an empty or missing list matches nothing (FALSE), so an allow-list
    parameter may default to empty.
    """
    items = (values,) if isinstance(values, str) else tuple(str(v) for v in values or ())
    return Sql(_matches(identifier(column), items) if items else "FALSE")


def identifiers(names: str | list[str] | tuple[str, ...]) -> Sql:
    """``ident('principal')`` or ``ident(['a', 'b'])`` in a template: checked column names, comma-joined."""
    items = [names] if isinstance(names, str) else list(names)
    if not items:
        raise TemplateError("ident() needs at least one column name")
    return Sql(", ".join(identifier(str(n)) for n in items))


def iso_utc(moment: datetime) -> str:
    """``2024-01-14T00:00:00`` in UTC: compares correctly with CloudTrail's and GuardDuty's strings."""
    try:
        return times.iso_utc(moment)
    except times.NaiveTimeError as exc:
        raise TemplateError(str(exc)) from None


def partition_days(start: datetime, end: datetime, delivery_days: int = 1) -> list[str]:
    """Day partitions that can hold events of ``[start, end)``.

    CloudTrail files are filed by delivery time, so an event near midnight sits in the next
    day's folder: the list runs to the day after the last event day.
    """
    first = start.astimezone(UTC).date()
    last_event = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    last = last_event + timedelta(days=delivery_days)
    return [(first + timedelta(days=n)).strftime("%Y/%m/%d") for n in range((last - first).days + 1)]


@dataclass
class RenderContext:
    """What a template may see: the window, table names, parameters and suppressions."""

    start: datetime
    end: datetime
    table_names: Mapping[str, str]
    time_columns: Mapping[str, str]
    params: Mapping[str, Any] = field(default_factory=dict)
    suppressions: Iterable[Any] = ()  # pipeline.detections.suppressions.Suppression rules for this detection

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise TemplateError(f"window start {iso_utc(self.start)} is not before end {iso_utc(self.end)}")


def _macros(ctx: RenderContext) -> dict[str, Callable[..., Sql]]:
    def table(logical: str) -> Sql:
        if logical not in ctx.table_names:
            raise TemplateError(f"unknown table {logical!r}; known: {', '.join(sorted(ctx.table_names))}")
        return Sql(ctx.table_names[logical])

    def window(table: str = "cloudtrail", alias: str | None = None, before_minutes: int = 0) -> Sql:
        """The window's partitions and times; ``before_minutes`` reaches back before its start
        (the actor fragment reads the credentials issued before the window)."""
        if table not in ctx.time_columns:
            raise TemplateError(f"window(): unknown table {table!r}")
        if isinstance(before_minutes, bool) or not isinstance(before_minutes, int) or before_minutes < 0:
            raise TemplateError(f"window(): before_minutes must be a whole number >= 0: {before_minutes!r}")
        prefix = f"{identifier(alias)}." if alias else ""
        start = ctx.start - timedelta(minutes=before_minutes)
        days = partition_days(start, ctx.end)
        if len(days) <= MAX_DAY_LIST:
            day_predicate = f"{prefix}day IN {sql_literal(days)}"
        else:  # a long back-fill: a range prunes the same and keeps the statement small
            day_predicate = f"{prefix}day BETWEEN {sql_literal(days[0])} AND {sql_literal(days[-1])}"
        time_col = prefix + ctx.time_columns[table]
        return Sql(
            f"({day_predicate} AND {time_col} >= {sql_literal(iso_utc(start))} "
            f"AND {time_col} < {sql_literal(iso_utc(ctx.end))})"
        )

    def suppressions(table: str = "cloudtrail") -> Sql:
        clauses = []
        for rule in ctx.suppressions:
            columns = rule.columns(table)
            if columns is None:
                continue  # the rule matches fields this table does not have
            tests = [_SAMPLE_TEST if column == _SAMPLE_COLUMN else _matches(identifier(column), values)
                     for column, values in columns.items()]
            clauses.append(f"AND NOT ({' AND '.join(tests)})")
        return Sql("\n  ".join(clauses))

    def actor_columns(qualifier: str | None = None) -> Sql:
        """A placeholder that :func:`render` fills with the table columns the query names after the
        actor fragment (queries/fragments/actor_records.sql): it selects those, never ``*``."""
        return Sql(f"{_ACTOR_COLUMNS}{qualifier or ''}__")

    return {
        "table": table,
        "window": window,
        "actor_columns": actor_columns,
        "suppressions": suppressions,
        "ident": identifiers,
        "event_name": event_name,
        "matches": matches,
    }


# Parameters every template sees, which a detection's own parameters may override.
# actor_session_minutes: how far before a window fragments/actor_records.sql looks for the call
# that issued a session's credentials (12 hours, the longest role session AWS allows).
# source_bucket: the S3 bucket of the configured source (pipeline.detections.run sets it), or None.
GLOBAL_PARAMS: dict[str, Any] = {"actor_session_minutes": 720, "source_bucket": None}


# Shared fragments (``{% include 'fragments/record_columns.sql' %}``) live in queries/ like all SQL.
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(QUERIES_DIR),
    undefined=jinja2.StrictUndefined,
    finalize=sql_literal,
    autoescape=False,
    keep_trailing_newline=True,
)


def render(template_text: str, ctx: RenderContext, *, name: str = "<query>") -> str:
    """Render one query template; every failure names the template."""
    try:
        template = _ENV.from_string(template_text)
        return _fill_actor_columns(template.render(**{**GLOBAL_PARAMS, **ctx.params}, **_macros(ctx)))
    except TemplateError as exc:
        raise TemplateError(f"{name}: {exc}") from exc
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{name}: {exc}") from exc


# --- the actor fragment's column list ------------------------------------------------------------

_ACTOR_COLUMNS = "__actor_columns"
_ACTOR_END = "/* end of actor_records */"
_PLACEHOLDER = re.compile(r"__actor_columns(\w*)__")
_LITERAL_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|/\*.*?\*/|--[^\n]*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Read by the fragment itself after the join (the final CASE) or by every window() over it.
_ACTOR_NEEDS = ("eventtime", "useridentity", "useragent")


def _fill_actor_columns(sql: str) -> str:
    """Replace the actor fragment's placeholders with the CloudTrail columns the query names after it.

    Textual, like the scan estimate (pipeline/engines/scan_estimate.py): every word after the
    fragment that is a column name of the table counts, so a CTE column named like one only adds a
    column, never drops one the query reads. Why not ``SELECT *``: on Athena over Parquet the
    estimate (and a reader) would see every column of the table, and over JSON every field is parsed.
    """
    if _ACTOR_COLUMNS not in sql:
        return sql
    head, found, tail = sql.partition(_ACTOR_END)
    if not found:
        raise TemplateError("the actor fragment's end marker is missing")
    words = {w.lower() for w in _WORD.findall(_LITERAL_OR_COMMENT.sub(" ", tail))}
    wanted = [c for c in _cloudtrail_columns() if c in words or c in _ACTOR_NEEDS]

    def listing(match: re.Match[str]) -> str:
        prefix = f"{match.group(1)}." if match.group(1) else ""
        return ", ".join(prefix + c for c in wanted)

    return _PLACEHOLDER.sub(listing, head) + found + tail


@functools.cache
def _cloudtrail_columns() -> tuple[str, ...]:
    from pipeline.catalog.specs import load_specs  # the table's columns, from its Glue spec

    return tuple(load_specs()["cloudtrail"].column_names)

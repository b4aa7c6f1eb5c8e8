"""``trailguard lint``: every query is checked before it can run anywhere.

A query fails the lint when its metadata is incomplete, it does not render, it does not parse as
Athena SQL, a partitioned table is read without the window's partition predicate (a full scan
is a bill), it compares eventname with a versioned name (``UpdateFunctionCode20150331v2``: use
``event_name()``), it does not return the finding columns, or the DuckDB translation cannot
handle it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlglot
from sqlglot import exp

from pipeline.catalog.specs import LOGICAL_TABLES
from pipeline.detections.spec import DETECTIONS_DIR, REQUIRED_COLUMNS, DetectionError, parse_detection
from pipeline.engines.dialect import UnsupportedConstructError, to_duckdb, unsupported_constructs
from pipeline.engines.templating import API_VERSION_SUFFIX, RenderContext, TemplateError, render

LINT_START = datetime(2024, 1, 1, tzinfo=UTC)
LINT_END = datetime(2024, 1, 1, 1, tzinfo=UTC)
ATHENA_NAMES = {logical: f'"trailguard"."{physical[0]}"' for logical, physical in LOGICAL_TABLES.items()}
TIME_COLUMNS = {"cloudtrail": "eventtime", "guardduty": "updatedat"}


@dataclass
class LintResult:
    path: Path
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# What every CloudTrail detection returns besides REQUIRED_COLUMNS: the resolved actor.
ACTOR_COLUMNS = ("actor", "actor_type")
# Detections about a place or a delivery, not a caller, may leave the actor out.
ACTORLESS = frozenset({"log_delivery_gap"})


def _unpruned_tables(tree: exp.Expr) -> list[str]:
    """Partitioned tables read by a SELECT whose WHERE has no ``day IN (...)`` predicate."""
    partitioned = {physical[0] for physical in LOGICAL_TABLES.values()}
    missing = []
    for table in tree.find_all(exp.Table):
        if table.name not in partitioned:
            continue
        select = table.find_ancestor(exp.Select)
        where = select.args.get("where") if select else None
        has_day = where is not None and any(
            isinstance(node.this, exp.Column) and node.this.name == "day"
            for node in where.find_all(exp.In, exp.Between)
        )
        if not has_day:
            missing.append(table.name)
    return missing


# A name ending in the suffix, or a LIKE prefix that stops inside it ('AddPermission2015%').
_VERSIONED_NAME = re.compile(rf"(?:{API_VERSION_SUFFIX.rstrip('$')}|[A-Za-z][0-9]{{4}}[0-9_v]*%)$")


def _versioned_event_names(tree: exp.Expr) -> list[str]:
    """String literals compared with ``eventname`` that spell out an API-version suffix
    (``'UpdateFunctionCode20150331v2'``, ``LIKE 'UpdateFunctionCode2015%'``): such a query misses
    the next version; ``{{ event_name() }}`` compares the name without it."""
    found = []
    for node in tree.find_all(exp.EQ, exp.NEQ, exp.In, exp.Like):
        operands = [node.this, node.args.get("expression"), *(node.args.get("expressions") or [])]
        if not any(isinstance(o, exp.Column) and o.name == "eventname" for o in operands):
            continue
        found += [o.this for o in operands if isinstance(o, exp.Literal) and o.is_string
                  and _VERSIONED_NAME.search(o.this)]
    return found


def _output_columns(tree: exp.Expr) -> list[str] | None:
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    if isinstance(tree, exp.Union):
        select = tree.left if isinstance(tree.left, exp.Select) else tree.left.find(exp.Select)
    if select is None or any(isinstance(e, exp.Star) for e in select.expressions):
        return None
    return [e.alias_or_name for e in select.expressions]


def lint_sql(rendered: str, path: Path, result: LintResult, require_finding_columns: bool) -> None:
    try:
        tree = sqlglot.parse_one(rendered, read="athena")
    except sqlglot.errors.ParseError as exc:
        result.problems.append(f"does not parse as Athena SQL: {str(exc).splitlines()[0]}")
        return
    for table in _unpruned_tables(tree):
        result.problems.append(f"reads {table} without the window() partition predicate")
    for name in _versioned_event_names(tree):
        result.problems.append(
            f"compares eventname with {name!r}: use {{{{ event_name() }}}}, the name without its API version"
        )
    if require_finding_columns:
        columns = _output_columns(tree)
        if columns is None:
            result.problems.append("outer SELECT must name its columns (no *)")
        else:
            absent = [c for c in REQUIRED_COLUMNS if c not in columns]
            if absent:
                result.problems.append(f"does not return finding column(s) {', '.join(absent)}")
    result.problems.extend(unsupported_constructs(rendered))
    try:
        to_duckdb(rendered, None)
    except UnsupportedConstructError:
        pass  # already reported above with its hint
    except Exception as exc:  # noqa: BLE001 - any translation failure is a lint failure
        result.problems.append(f"cannot be translated for DuckDB: {str(exc).splitlines()[0]}")


def lint_detection(path: Path) -> LintResult:
    result = LintResult(path)
    try:
        detection = parse_detection(path)
        ctx = RenderContext(LINT_START, LINT_END, ATHENA_NAMES, TIME_COLUMNS, detection.params(), [])
        rendered = render(detection.sql, ctx, name=str(path))
    except (DetectionError, TemplateError) as exc:
        result.problems.append(str(exc))
        return result
    lint_sql(rendered, path, result, require_finding_columns=True)
    columns = _output_columns(sqlglot.parse_one(rendered, read="athena")) if result.ok else None
    if columns is not None and "cloudtrail" in detection.tables and detection.id not in ACTORLESS:
        absent = [c for c in ACTOR_COLUMNS if c not in columns]
        if absent:  # findings carry who did it: read actor_records (queries/fragments/actor_records.sql)
            result.problems.append(f"does not return {', '.join(absent)} (read actor_records)")
    return result


def lint_all(directory: Path = DETECTIONS_DIR) -> list[LintResult]:
    """Lint every detection file; results in file order."""
    return [lint_detection(p) for p in sorted(directory.glob("*.sql"))]

"""Which CloudTrail rows a detection can possibly read, as one predicate the hot tier applies at ingest.

The hot tier (:mod:`pipeline.lake.hot`) keeps, for each delivered batch, only the rows some enabled
detection can use. For every place a detection's SQL reads the table (``FROM cloudtrail`` in the
query or in a CTE) the conjuncts of that SELECT's ``WHERE`` that speak only about the row itself
(no subquery, no other table's column) are lifted out, minus the window's own conjuncts (``day`` /
``eventtime``: the window moves every tick, the row filter must not). Each lifted filter is implied
by the real ``WHERE``, so a table holding every row that satisfies any lifted filter, with all its
columns, gives the detection exactly the rows it would have read: its results cannot change.

A read with nothing selective to lift (log_delivery_gap looks at every record) makes the detection
*wide*: the hot tier then keeps every row, but only with the columns wide detections reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import exp

WINDOW_COLUMNS = frozenset({"day", "eventtime"})


@dataclass(frozen=True)
class RowNeed:
    """What a detection reads of the table.

    ``predicates``: one lifted filter (Athena SQL) per read that has one; the rows satisfying any of
    them must be present with every column. ``columns``: the columns the *wide* reads (no filter to
    lift) reference; every row must carry those. ``sql``: the detection with ``AND matched`` added to
    each filtered read, so over the hot tier's rows it reads only complete rows there.
    """

    predicates: tuple[str, ...]
    columns: frozenset[str]
    sql: str

    @property
    def wide(self) -> bool:
        return bool(self.columns)


def conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The terms of a WHERE clause's top-level AND (parentheses looked through)."""
    if isinstance(node, exp.Paren):
        return conjuncts(node.this)
    if isinstance(node, exp.And):
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def _liftable(node: exp.Expression, own: set[str], structs: set[str], joined: bool) -> exp.Expression | None:
    """The conjunct with its table qualifier removed, or None when it is not about this row alone."""
    if any(node.find_all(exp.Subquery, exp.Select, exp.Exists)):
        return None
    node = node.copy()
    for column in list(node.find_all(exp.Column)):
        qualifier = column.table.lower() if column.table else ""
        if column.args.get("db") or column.args.get("catalog"):
            return None
        if qualifier in own:
            column.set("table", None)
        elif qualifier in structs and not joined:
            continue  # useridentity.arn: a struct field of this row, not another table
        elif qualifier == "" and not joined:
            continue
        else:
            return None
    return node


def _window_only(node: exp.Expression) -> bool:
    names = {c.name.lower() for c in node.find_all(exp.Column) if not c.table}
    return bool(names) and names <= WINDOW_COLUMNS and not any(c.table for c in node.find_all(exp.Column))


def _referenced(select: exp.Select, known: set[str]) -> set[str]:
    """Top-level columns of the table a SELECT mentions (``useridentity.arn`` counts ``useridentity``)."""
    used = set()
    for column in select.find_all(exp.Column):
        for part in column.parts:
            if part.name.lower() in known:
                used.add(part.name.lower())
                break
    if any(
        isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        for e in select.expressions
    ):
        used |= known
    return used


def row_need(sql: str, table: str, struct_columns: set[str], all_columns: set[str]) -> RowNeed:
    """What ``sql`` (a rendered detection, Athena dialect) reads of ``table`` (its rendered name)."""
    everything = RowNeed((), frozenset(all_columns), sql)
    try:
        tree = sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError:
        return everything
    name = table.replace('"', "").split(".")[-1].lower()
    reads = [t for t in tree.find_all(exp.Table) if t.name.lower() == name]
    lifted: list[str] = []
    wide: set[str] = set()
    for read in reads:
        select = read.find_ancestor(exp.Select)
        if select is None:
            return everything
        source = select.args.get("from") or select.args.get("from_")
        where = select.args.get("where")
        kept: list[exp.Expression] = []
        if where is not None and read.parent is source:
            own = {name} | ({read.alias.lower()} if read.alias else set())
            joined = bool(select.args.get("joins"))
            kept = [
                c
                for c in (_liftable(c, own, struct_columns, joined) for c in conjuncts(where.this))
                if c is not None and not _window_only(c)
            ]
        if not any(not isinstance(c, exp.Not) for c in kept):  # nothing selective (suppressions alone)
            wide |= _referenced(select, all_columns)
            continue
        lifted.append(" AND ".join(f"({c.sql(dialect='athena')})" for c in kept))
        qualifier = read.alias or read.name
        where.set("this", exp.and_(exp.Paren(this=where.this), exp.column("matched", table=qualifier)))
    if not reads:
        return everything
    return RowNeed(tuple(dict.fromkeys(lifted)), frozenset(wide), tree.sql(dialect="athena"))

"""One pass over a window's rows, shared by the single-record detections.

Measured (``make bench`` lake, 2M events, 35 detections, under load): one query each costs about
0.2-0.3 s apiece, almost all of it fixed (expanding the lake's glob, reading footers, planning).
Reading the rows that match any of the single-record detections' filters once into a temporary
table, then running the same queries over it: 1-hour tick 6.1-7.5 s -> 3.6-5.2 s, 30 days
26-28 s -> 20-23 s. A filter that is only the window (a detection that looks at every record)
would make the union keep every row, so such a detection is not shared; windows are capped at
:data:`MAX_SHARED_WINDOW` so a year's back-fill never materialises a year of matches at once.

Results are identical by construction: each detection still runs its own SQL; it only reads a
table holding every row its own ``WHERE`` accepts (the union of all the filters), with every
column. A detection whose filter cannot be lifted out safely (a subquery, a qualified column,
more than one read of the table) is simply not shared.
"""

from __future__ import annotations

from datetime import timedelta

import sqlglot
from sqlglot import exp

MAX_SHARED_WINDOW = timedelta(days=31)
WINDOW_COLUMNS = frozenset({"day", "eventtime"})


def shareable_filter(sql: str, table: str) -> str | None:
    """The ``WHERE`` of the one SELECT reading ``table`` (its rendered name), as Athena SQL; else None."""
    try:
        tree = sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError:
        return None
    name = table.replace('"', "").split(".")[-1]
    reads = [t for t in tree.find_all(exp.Table) if t.name == name]
    if len(reads) != 1:
        return None
    select = reads[0].find_ancestor(exp.Select)
    where = select.args.get("where") if select is not None else None
    source = select.args.get("from") or select.args.get("from_") if select is not None else None
    if where is None or reads[0].parent is not source:
        return None
    if any(where.find_all(exp.Subquery, exp.Select, exp.Exists)):
        return None
    if any(c.table for c in where.find_all(exp.Column)):
        return None  # a column named through an alias would not resolve against the table itself
    if not any(_selective(c) for c in _conjuncts(where.this)):
        return None  # only the window (and suppressions): it keeps every row, nothing to share
    return where.this.sql(dialect="athena")


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _selective(node: exp.Expression) -> bool:
    """A conjunct that narrows rows beyond the window: not a NOT (suppressions), not only day/time."""
    if isinstance(node, exp.Not):
        return False
    return any(c.name not in WINDOW_COLUMNS for c in node.find_all(exp.Column))

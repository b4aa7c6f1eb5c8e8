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
column. A detection whose filter cannot be lifted out safely (a subquery, a column named through
an alias, a read that keeps every row of the window) is simply not shared. Detections read the
table through the actor fragment (``actor_records``); see :data:`ACTOR_SOURCE`.
"""

from __future__ import annotations

from datetime import timedelta

import sqlglot
from sqlglot import exp

from pipeline.detections.row_filter import conjuncts

MAX_SHARED_WINDOW = timedelta(days=31)
WINDOW_COLUMNS = frozenset({"day", "eventtime"})


# queries/fragments/actor_records.sql: detections read its CTE `actor_records` where they would
# read the table. Its own read of the whole window (`actor_direct`) is left out of the union: it
# re-reads whatever rows the shared table holds and the detection's own filter picks from them.
# Its read of the credentials issued (`actor_issued`) is one more filter of the union, so the
# role-chain links are in the shared table too.
ACTOR_SOURCE = "actor_records"
ACTOR_WINDOW_READ = "actor_direct"
ACTOR_COLUMNS = frozenset({"actor", "actor_type", "direct_actor", "direct_actor_type",
                           "session_key", "session_actor", "session_actor_type"})


def shareable_filter(sql: str, table: str) -> str | None:
    """What the rows of every read of ``table`` (its rendered name) satisfy, as Athena SQL; else None.

    A read of ``actor_records`` counts as a read of the table: the conjuncts of its ``WHERE``
    that name actor columns are dropped (fewer conjuncts keep more rows, never fewer).
    """
    try:
        tree = sqlglot.parse_one(sql, read="athena")
    except sqlglot.errors.ParseError:
        return None
    name = table.replace('"', "").split(".")[-1]
    named = {t.alias_or_name for t in tree.find_all(exp.Table)} | {c.alias for c in tree.find_all(exp.CTE)}
    filters: list[str] = []
    for read in tree.find_all(exp.Table):
        if read.name not in (name, ACTOR_SOURCE):
            continue
        cte = read.find_ancestor(exp.CTE)
        if read.name == name and cte is not None and cte.alias == ACTOR_WINDOW_READ:
            continue
        lifted = _lifted(read, named)
        if lifted is None:
            return None
        filters.append(lifted)
    filters = list(dict.fromkeys(filters))
    if not filters:
        return None
    return filters[0] if len(filters) == 1 else " OR ".join(f"({f})" for f in filters)


def _lifted(read: exp.Table, named: set[str]) -> str | None:
    """The selective part of the ``WHERE`` of the SELECT that reads ``read`` directly, or None."""
    select = read.find_ancestor(exp.Select)
    where = select.args.get("where") if select is not None else None
    source = select.args.get("from") or select.args.get("from_") if select is not None else None
    if where is None or read.parent is not source or read.alias:
        return None
    if any(where.find_all(exp.Subquery, exp.Select, exp.Exists)):
        return None
    if any(c.table in named for c in where.find_all(exp.Column) if c.table):
        return None  # a column named through an alias would not resolve against the table itself
    terms = conjuncts(where.this)
    kept = [c for c in terms if not any(col.name in ACTOR_COLUMNS for col in c.find_all(exp.Column))]
    if not any(_selective(c) for c in kept):
        return None  # only the window (and suppressions): it keeps every row, nothing to share
    if len(kept) == len(terms):
        return where.this.sql(dialect="athena")
    return " AND ".join(c.sql(dialect="athena") for c in kept)


def _selective(node: exp.Expression) -> bool:
    """A conjunct that narrows rows beyond the window: not a NOT (suppressions), not only day/time."""
    if isinstance(node, exp.Not):
        return False
    return any(c.name not in WINDOW_COLUMNS for c in node.find_all(exp.Column))

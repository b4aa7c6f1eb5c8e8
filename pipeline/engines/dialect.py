"""Translate the project's Athena engine v3 (Trino) SQL to DuckDB SQL.

sqlglot does the bulk of the work (``read="athena", write="duckdb"``). Where its plain output runs
on DuckDB but gives a different answer than Athena, a fix-up below rewrites the expression tree first.
Every fix is a function ``node -> node`` whose docstring says which Athena behaviour it preserves;
``tests/engines/test_dialect.py`` runs each one on DuckDB against the Athena result.

Several fixes depend on types (integer division, casts), so the query is first qualified and
type-annotated with the Glue-style ``schema``; a column the schema does not know stays untyped and its
division stays DuckDB's float division. Columns typed ``string`` that hold JSON text
(requestparameters, responseelements, ...) stay VARCHAR; DuckDB's JSON functions accept VARCHAR.
Result columns are named as Athena names them (the column or field name, else _col<i>).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from pipeline.errors import UsageError

Schema = dict[str, dict[str, str]]

# Athena runs every query in UTC; DuckDB uses the machine's zone for TIMESTAMPTZ -> DATE/hour/strftime.
UTC_SETUP_SQL = "SET TimeZone = 'UTC'"

_UNNEST_HINT = "write CROSS JOIN UNNEST(transform(x, r -> r.a)) AS t(a), one UNNEST per field"
_INT_TEXT = "[+-]?[0-9]+"  # what Java's Long.parseLong (Trino's VARCHAR -> BIGINT cast) accepts
_VARCHAR = exp.DataType.build("varchar")


class UnsupportedConstructError(UsageError):
    """The query uses a construct that the DuckDB translation cannot run faithfully."""


def configure_connection(con: Any) -> None:
    """Put a DuckDB connection in Athena's session time zone (UTC)."""
    con.execute(UTC_SETUP_SQL)


def unsupported_constructs(sql: str) -> list[str]:
    """Messages for constructs that Athena or the DuckDB translation cannot handle (used by the lint)."""
    problems: list[str] = []
    for tree in sqlglot.parse(sql, read="athena"):
        if tree is None:
            continue
        for unnest in tree.find_all(exp.Unnest):
            alias = unnest.args.get("alias")
            columns = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
            arrays = len(unnest.expressions)
            if arrays > 1:
                problems.append(
                    f"UNNEST of {arrays} arrays at once is not supported on DuckDB; {_UNNEST_HINT}"
                )
            elif len(columns) > 1:
                problems.append(
                    f"UNNEST(...) AS {alias.name}({', '.join(columns)}): expanding an array of ROWs into "
                    f"several columns is not supported on DuckDB; {_UNNEST_HINT}"
                )
        for window in tree.find_all(exp.Window):
            if window.this.find(exp.Distinct):
                problems.append(
                    f"{window.this.sql('athena')} OVER (...): Athena rejects DISTINCT in window functions; "
                    "use cardinality(array_distinct(array_agg(x) OVER (...)))"
                )
    return problems


def to_duckdb(sql: str, schema: Schema | None = None) -> str:
    """Translate one Athena (Trino) statement to DuckDB SQL with Athena's results.

    ``schema`` maps table -> {column: Hive/Athena type}; it must list every column of the tables it
    names (``SELECT *`` is expanded from it). Without it, integer division of columns stays float.
    Raises UnsupportedConstructError for the constructs listed by ``unsupported_constructs``.
    """
    problems = unsupported_constructs(sql)
    if problems:
        raise UnsupportedConstructError("; ".join(problems))
    tree = sqlglot.parse_one(sql, read="athena")
    user_aliases = {a.alias for a in tree.find_all(exp.Alias)}
    try:
        tree = qualify(
            tree,
            schema=schema,
            dialect="athena",
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
    except OptimizeError:  # e.g. bare column names over several tables missing from the schema:
        tree = sqlglot.parse_one(sql, read="athena")  # no column types to learn; DuckDB resolves names
    tree = annotate_types(tree, schema=schema, dialect="athena")
    tree = _apply_fixes(tree)
    _name_columns_like_athena(tree, user_aliases)
    return tree.sql(dialect="duckdb")


def _apply_fixes(tree: exp.Expr) -> exp.Expr:
    """Run every fix bottom-up, so a rewritten node's arguments are already fixed."""
    for node in reversed(list(tree.walk())):
        for fix in FIXES:
            parent, arg_key, index = node.parent, node.arg_key, node.index
            new = fix(node)
            if new is node:
                continue
            if new.type is None:
                new.type = node.type
            if parent is None:
                tree = new
            else:
                parent.set(arg_key, new, index)
            node = new
    return tree


def _name_columns_like_athena(tree: exp.Expr, user_aliases: set[str]) -> None:
    """Athena names a result column after the column or struct field it selects, else _col<i>;
    qualify() names the others after a literal or JSON key or _col_<i>, DuckDB after the SQL text."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    renamed: dict[str, str] = {}
    for i, item in enumerate(select.expressions):
        if isinstance(item, exp.Alias) and item.alias in user_aliases:
            continue
        value = item.this if isinstance(item, exp.Alias) else item
        if isinstance(value, (exp.Column, exp.Dot, exp.Star)) and not re.fullmatch(
            r"_col_\d+", item.alias_or_name
        ):
            continue
        renamed[item.alias_or_name] = f"_col{i}"
        item.replace(exp.alias_(value, f"_col{i}"))
    order = tree.args.get("order")  # qualify() turned ORDER BY <n> into ORDER BY <alias>
    for column in order.find_all(exp.Column) if order else []:
        if not column.table and column.name in renamed:
            column.set("this", exp.to_identifier(renamed[column.name]))


def _fn(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _is_json(node: exp.Expr) -> bool:
    if isinstance(node, (exp.ParseJSON, exp.JSONExtract)):
        return True
    if isinstance(node, exp.Cast):
        return node.to.is_type(exp.DType.JSON)
    return node.is_type(exp.DType.JSON)


def _is_text(node: exp.Expr) -> bool:
    return node.is_type(*exp.DataType.TEXT_TYPES) or isinstance(node, exp.JSONExtractScalar)


def _json_scalar_text(json: exp.Expr, path: exp.Expr) -> exp.Expr:
    """DuckDB: text of the scalar at ``path``; NULL for objects, arrays, JSON null and missing paths."""
    node = _fn("json_extract_string", _fn("json_value", json, path), exp.Literal.string("$"))
    node.type = _VARCHAR
    return node


def fix_integer_division(node: exp.Expr) -> exp.Expr:
    """Athena: BIGINT / BIGINT truncates (7/2 = 3); DuckDB's ``/`` returns 3.5. Its ``//`` truncates
    toward zero and raises on division by zero, as Athena does. Needs the type annotation."""
    if isinstance(node, exp.Div) and all(
        side.is_type(*exp.DataType.INTEGER_TYPES) for side in (node.left, node.right)
    ):
        return exp.IntDiv(this=node.left, expression=node.right)
    return node


def fix_json_extract_scalar(node: exp.Expr) -> exp.Expr:
    """Athena: json_extract_scalar gives NULL when the path is an object or array; sqlglot's ``->>``
    returns the JSON text. DuckDB's json_value is NULL for non-scalars and accepts VARCHAR JSON."""
    if isinstance(node, exp.JSONExtractScalar):
        return _json_scalar_text(node.this, node.expression)
    return node


def fix_json_casts(node: exp.Expr) -> exp.Expr:
    """Athena: CAST(JSON '"abc"' AS VARCHAR) = 'abc', JSON null -> NULL, and an object or array is an
    error (NULL under TRY_CAST); DuckDB returns the JSON text. CAST(varchar AS JSON) makes a JSON
    *string* in Athena (json_parse parses) but parses in DuckDB."""
    if not isinstance(node, exp.Cast):
        return node
    if node.to.is_type(*exp.DataType.TEXT_TYPES) and _is_json(node.this):
        text = _json_scalar_text(node.this.copy(), exp.Literal.string("$"))
        if isinstance(node, exp.TryCast):
            return text
        is_container = exp.In(
            this=_fn("json_type", node.this),
            expressions=[exp.Literal.string("OBJECT"), exp.Literal.string("ARRAY")],
        )
        raise_error = _fn("error", exp.Literal.string("Cannot cast a JSON object or array to VARCHAR"))
        return exp.Case(ifs=[exp.If(this=is_container, true=raise_error)], default=text)
    if node.to.is_type(exp.DType.JSON) and node.this.is_type(*exp.DataType.TEXT_TYPES):
        return _fn("to_json", node.this)
    return node


def fix_cast_to_integer(node: exp.Expr) -> exp.Expr:
    """Athena: CAST('1.5' AS BIGINT) fails (TRY_CAST gives NULL), so do ' 12' and '1e3'; DuckDB rounds
    to 2 and trims spaces, so only a sign and digits reach DuckDB's cast. Athena rounds a DOUBLE half
    away from zero (2.5 -> 3); DuckDB's cast rounds half to even (2.5 -> 2) but its round() does not."""
    if not (isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.INTEGER_TYPES)):
        return node
    if node.this.is_type(exp.DType.DOUBLE, exp.DType.FLOAT):
        node.set("this", exp.Round(this=node.this))
        return node
    if not _is_text(node.this):
        return node
    is_int = _fn("regexp_full_match", node.this.copy(), exp.Literal.string(_INT_TEXT))
    if isinstance(node, exp.TryCast):
        return exp.Case(ifs=[exp.If(this=is_int, true=node)])
    message = exp.Literal.string(f"Cannot cast VARCHAR to {node.to.sql('athena')}")
    ok = exp.Or(this=exp.Is(this=node.this.copy(), expression=exp.Null()), expression=is_int)
    return exp.Case(ifs=[exp.If(this=ok, true=node)], default=_fn("error", message))


def fix_regexp_extract(node: exp.Expr) -> exp.Expr:
    """Athena: regexp_extract gives NULL when the pattern does not match; DuckDB gives ''."""
    if not isinstance(node, exp.RegexpExtract):
        return node
    matches = exp.RegexpLike(this=node.this.copy(), expression=node.expression.copy())
    return exp.Case(ifs=[exp.If(this=matches, true=node)])


def fix_regexp_replace(node: exp.Expr) -> exp.Expr:
    """Athena (Java) writes group references in the replacement as $1 and escapes with a backslash;
    DuckDB (RE2) writes them as \\1 and keeps $1 literally. Literal replacements are rewritten."""
    replacement = node.args.get("replacement") if isinstance(node, exp.RegexpReplace) else None
    if not (isinstance(replacement, exp.Literal) and replacement.is_string):
        return node

    def rewrite(m: re.Match[str]) -> str:
        if m.group(2) is not None:
            return "\\" + m.group(2)
        return "\\\\" if m.group(1) == "\\" else m.group(1)

    text = re.sub(r"\\(.)|\$(\d)", rewrite, replacement.this)
    node.set("replacement", exp.Literal.string(text))
    return node


_JAVA_SPEC = re.compile(r"%(\d+\$|<)?[-#+ 0,(]*\d*(?:\.\d+)?([tT]?[a-zA-Z%])")


def fix_format(node: exp.Expr) -> exp.Expr:
    """Athena's format() is Java's String.format ('%s-%d'); DuckDB's format() uses {} and ignores it.
    DuckDB's printf() takes the same specifiers, but its %s needs a VARCHAR and Java prints NULL as
    'null', so %s arguments are cast."""
    if not isinstance(node, exp.Format):
        return node
    args = list(node.expressions)
    if isinstance(node.this, exp.Literal):
        as_text: set[int] = set()
        position = last = -1
        for m in _JAVA_SPEC.finditer(node.this.this):
            index, conversion = m.group(1), m.group(2)
            if conversion in ("%", "n"):
                continue
            if index == "<":
                current = last
            elif index:
                current = int(index[:-1]) - 1
            else:
                position += 1
                current = position
            last = current
            if conversion == "s" and 0 <= current < len(args):
                as_text.add(current)
        for i in as_text:
            args[i] = exp.Coalesce(
                this=exp.cast(args[i], "varchar"), expressions=[exp.Literal.string("null")]
            )
    return _fn("printf", node.this, *args)


def fix_split_part(node: exp.Expr) -> exp.Expr:
    """Athena: split_part('a:b', ':', 5) is NULL past the last field; DuckDB's split_part gives ''."""
    if isinstance(node, exp.SplitPart):
        parts = _fn("string_split", node.this, node.args["delimiter"])
        return _fn("list_extract", parts, node.args["part_index"])
    return node


# Trino's three-valued any/all/none_match: (the element result that decides, the answer it gives).
_MATCHES = {"any_match": (True, True), "all_match": (False, False), "none_match": (True, False)}


def fix_array_match(node: exp.Expr) -> exp.Expr:
    """DuckDB has no any_match / all_match / none_match. In Athena one deciding element result settles
    the answer (a TRUE for any_match); failing that, a NULL result gives NULL; else the other answer
    (so an empty array gives any_match FALSE, all_match TRUE). list_bool_or would skip the NULLs."""
    if not isinstance(node, exp.Anonymous) or str(node.this).lower() not in _MATCHES:
        return node
    decides, answer = _MATCHES[str(node.this).lower()]
    array, predicate = node.expressions
    results = exp.Anonymous(this="list_transform", expressions=[array, predicate])
    has_null = exp.LT(this=_fn("list_count", results.copy()), expression=_fn("len", results.copy()))
    return exp.Case(
        ifs=[
            exp.If(this=exp.Is(this=results.copy(), expression=exp.Null()), true=exp.Null()),
            exp.If(
                this=_fn("list_contains", results, exp.Boolean(this=decides)), true=exp.Boolean(this=answer)
            ),
            exp.If(this=has_null, true=exp.Null()),
        ],
        default=exp.Boolean(this=not answer),
    )


def fix_json_array_length(node: exp.Expr) -> exp.Expr:
    """Athena: ``json_array_length`` of an object, string or number is NULL; DuckDB returns 0, which
    would make an "is it a list?" test silently true for objects."""
    if not (isinstance(node, exp.Anonymous) and str(node.this).lower() == "json_array_length"):
        return node
    (value,) = node.expressions
    is_array = exp.EQ(this=_fn("json_type", value.copy()), expression=exp.Literal.string("ARRAY"))
    return exp.Case(ifs=[exp.If(this=is_array, true=_fn("json_array_length", value.copy()))])


FIXES: list[Callable[[exp.Expr], exp.Expr]] = [
    fix_integer_division,
    fix_json_extract_scalar,
    fix_json_casts,
    fix_cast_to_integer,
    fix_regexp_extract,
    fix_regexp_replace,
    fix_format,
    fix_split_part,
    fix_array_match,
    fix_json_array_length,
]

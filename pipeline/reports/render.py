"""Markdown for the weekly report: a Jinja2 template plus the few filters it needs.

Every value from the logs (user names, user agents, principals, file names) is attacker-written
text, so :func:`cell` makes it inert before it reaches markdown: control characters (terminal
escapes) are dropped, ``&``, ``<`` and ``>`` become HTML entities (no raw HTML), the characters
that make markdown images, links, emphasis, code and tables are backslash-escaped, and values
longer than ``MAX_CELL`` are cut with a visible note of what was cut. Times print in UTC to the
minute, numbers with thousands separators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_CELL = 200  # characters of one value shown; the rest is cut with a note saying how much
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_\[\]()!#|~])")


def inert(text: str, limit: int = MAX_CELL) -> str:
    """Attacker-written text as plain, one-line, bounded markdown (see the module docstring)."""
    text = _CONTROL.sub("", text.replace("\r", " ").replace("\n", " ").replace("\t", " "))
    cut = len(text) - limit
    if cut > 0:
        text = text[:limit]
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    return text + (f" … [{cut:,} more characters cut]" if cut > 0 else "")


def cell(value: Any) -> str:
    """One table cell: empty for missing values, escaped pipes, no line breaks."""
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return ""
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return inert(str(value))


def table(
    frame: pd.DataFrame,
    columns: Sequence[str],
    headers: Sequence[str] | None = None,
    limit: int | None = None,
) -> str:
    """A markdown table of ``columns`` of ``frame`` (first ``limit`` rows)."""
    headers = list(headers or columns)
    rows: Iterable[Sequence[Any]] = (
        frame[list(columns)].head(limit).itertuples(index=False)
        if limit
        else frame[list(columns)].itertuples(index=False)
    )
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def signed(value: int) -> str:
    return f"{value:+,d}" if value else "0"


def usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:,.4f}"


def size(value: int) -> str:
    from pipeline.engines.scan_estimate import format_size

    return format_size(int(value))


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters.update(cell=cell, signed=signed, usd=usd, size=size)
_ENV.globals.update(table=table)


def render_markdown(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)

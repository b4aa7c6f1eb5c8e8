"""Markdown for the weekly report: a Jinja2 template plus the few filters it needs.

Cells are escaped for markdown tables (a ``|`` or a newline in a principal or user agent would
break the table), times print in UTC to the minute, numbers with thousands separators.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

TEMPLATES = Path(__file__).resolve().parent / "templates"


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
    text = str(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return text


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

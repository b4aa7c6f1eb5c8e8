"""One output option for every command that prints findings or rows: ``--format table|json|csv``.

- ``table`` (default): a rich table on stdout; ids, accounts and times never wrap.
- ``json``: JSON lines, one object a row, the same shape everywhere: ``context`` and
  ``dedup_key`` are objects and ``event_ids``/``attack`` lists (never JSON-encoded strings),
  times are the stored ``2026-11-01T12:00:00Z`` strings, missing values ``null``.
- ``csv``: a header and one line a row; nested values (lists, objects) as compact JSON.

``--output PATH`` writes there instead of stdout; ``-`` means stdout (the default).
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console

from pipeline.cli.common import check_writable
from pipeline.cli.console import console, table
from pipeline.findings.model import clean_value

JSON_OBJECT_COLUMNS = ("context", "dedup_key")  # stored as JSON text, printed as objects
STDOUT = "-"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    Format,
    typer.Option("--format", "-f", case_sensitive=False, help="table, json (JSON lines) or csv."),
]
OutputPathOption = Annotated[
    str, typer.Option("--output", "-o", metavar="PATH", help="Write the rows here; - is stdout.")
]


def normalize(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as plain JSON values: numpy scalars and arrays unwrapped, NaN null, JSON text decoded."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        value = clean_value(value)
        if key in JSON_OBJECT_COLUMNS and isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value) if value else {}
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        out[str(key)] = value
    return out


def records(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows (or any iterable of mappings) as normalized dicts."""
    rows = frame.to_dict(orient="records") if hasattr(frame, "to_dict") else frame
    return [normalize(r) for r in rows]


@contextmanager
def open_output(path: str | Path) -> Iterator[IO[str]]:
    """stdout for ``-``; else the file (its folder created). A folder or unwritable path is exit 2."""
    if str(path) == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    check_writable(target, "--output")
    with open(target, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return str(value)


def _marked(row: dict[str, Any]) -> dict[str, Any]:
    """A GuardDuty sample finding (CreateSampleFindings) says so in a table's severity column too:
    its title carries the mark, but tables do not show titles (json and csv keep the values)."""
    context = row.get("context")
    sample = isinstance(context, dict) and context.get("sample") is True
    if (sample or str(row.get("title") or "").startswith("[sample] ")) and row.get("severity"):
        return {**row, "severity": f"{row['severity']} (sample)"}
    return row


def write_json_lines(rows: Iterable[Mapping[str, Any]], handle: IO[str]) -> int:
    count = 0
    for row in rows:
        handle.write(json.dumps(normalize(row), sort_keys=True, default=str) + "\n")
        count += 1
    return count


def emit(
    rows: Sequence[Mapping[str, Any]] | Any,
    *,
    fmt: Format = Format.table,
    output: str | Path = STDOUT,
    columns: Sequence[str] | None = None,
    title: str = "",
) -> int:
    """Print ``rows`` in ``fmt``; ``columns`` picks the table's columns (json/csv keep every key)."""
    data = records(rows)
    fmt = Format(fmt)
    every = list(dict.fromkeys(k for row in data for k in row)) or list(columns or [])
    with open_output(output) as handle:
        if fmt is Format.json:
            write_json_lines(data, handle)
        elif fmt is Format.csv:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(every)
            for row in data:
                writer.writerow([_cell(row.get(c)) for c in every])
        else:
            shown = list(columns or every)
            rendered = table(title, shown, ([_cell(row.get(c)) for c in shown] for row in map(_marked, data)))
            if handle is sys.stdout:
                console.print(rendered)
            else:
                Console(file=handle, width=200, color_system=None).print(rendered)
    return len(data)

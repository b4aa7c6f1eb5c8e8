"""Rich output helpers for the CLI: the consoles, progress bars, tables, and how chatty to be.

Data goes to stdout, everything else (progress, summaries, warnings) to stderr, so
``trailguard findings --format json | jq`` and ``> file`` get only the data. Rich writes colour
only to a terminal: piped output carries no ANSI escapes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

# Piped output (CI logs, files) gets a width that fits the tables instead of rich's default 80.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

QUIET, NORMAL, VERBOSE = 0, 1, 2
_state = {"verbosity": NORMAL}

# Columns whose values must stay on one line: ids, accounts, times (a broken id cannot be copied).
_NO_WRAP = re.compile(
    r"(^|[\s_])(id|ids|#|account|account_id|detection|finding|seen|first_seen|last_seen|time|from|to|"
    r"expires|day|now|start|end|severity|region|status|query id|engine)$",
    re.IGNORECASE,
)


def set_verbosity(level: int) -> None:
    _state["verbosity"] = level


def verbosity() -> int:
    return _state["verbosity"]


def info(message: str) -> None:
    """A line of chatter on stderr (not data); silent with ``--quiet``."""
    if verbosity() > QUIET:
        err_console.print(message, markup=False, highlight=False, soft_wrap=True)


def debug(message: str) -> None:
    """A line only ``--verbose`` prints."""
    if verbosity() >= VERBOSE:
        err_console.print(message, markup=False, highlight=False, soft_wrap=True, style="dim")


@contextmanager
def progress_bar() -> Iterator[Any]:
    """A ``callback(step, done, total)`` that draws one bar per named step (none with --quiet)."""
    if verbosity() == QUIET:
        yield lambda step, done, total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        tasks: dict[str, Any] = {}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=max(total, 1))
            progress.update(tasks[step], completed=done, total=max(total, 1))

        yield update


def no_wrap(column: str) -> bool:
    """Whether a column holds ids, accounts or times (kept whole) rather than text that may fold."""
    return bool(_NO_WRAP.search(column))


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table whose id, account and time columns never wrap; long text (ARNs) folds visibly."""
    out = Table(title=title, title_justify="left")
    for index, name in enumerate(columns):
        whole = index == 0 or no_wrap(name)
        out.add_column(name, overflow="ellipsis" if whole else "fold", no_wrap=whole)
    for row in rows:  # cells are plain text: a path or an error with [brackets] is not markup
        out.add_row(*(v if isinstance(v, Text) else Text("" if v is None else str(v)) for v in row))
    return out

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

from rich.cells import cell_len
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

# Piped output (CI logs, files) gets a width that fits the tables (ids whole, ARNs folded)
# instead of rich's default 80.
PIPE_WIDTH = 200


class _Console(Console):
    """A console that never crops a line: a table wider than the screen keeps its ids whole."""

    def print(self, *objects: Any, crop: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
        super().print(*objects, crop=crop, **kwargs)


console = _Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)
err_console = _Console(stderr=True, width=None if sys.stderr.isatty() else PIPE_WIDTH)

QUIET, NORMAL, VERBOSE = 0, 1, 2
_state = {"verbosity": NORMAL}

# Columns whose values must stay on one line: ids, accounts, times (a broken id cannot be copied),
# and the short tokens a reader scans a column for (regions, addresses, severities, statuses).
_NO_WRAP = re.compile(
    r"(^|[\s_])(id|#|account|detection|seen|time|from|to|expires|day|now|start|end|at"
    r"|region|ip|severity|status)$",
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


def _width(cell: Text) -> int:
    return max((cell_len(line) for line in cell.plain.split("\n")), default=0)


def table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], width: int | None = None
) -> Table:
    """A table whose id, account and time columns never wrap; long text (ARNs) folds visibly.

    When the columns do not fit, the foldable ones share what the whole ones leave (their header's
    width, 8 characters at least); if even that does not fit, the table is wider than the screen
    rather than an id being cut.
    """
    cells = [[v if isinstance(v, Text) else Text("" if v is None else str(v)) for v in row] for row in rows]
    whole = [index == 0 or no_wrap(name) for index, name in enumerate(columns)]
    natural = [max([cell_len(name)] + [_width(row[i]) for row in cells if i < len(row)])
               for i, name in enumerate(columns)]
    out = Table(title=title, title_justify="left")
    extra = 3 * len(columns) + 1  # borders and padding
    available = width or console.width
    widths: list[int | None] = [None] * len(columns)
    if sum(natural) + extra > available:
        fixed = sum(n for n, w in zip(natural, whole, strict=True) if w)
        folding = [i for i, w in enumerate(whole) if not w]
        room = max(available - extra - fixed, 0)
        total = sum(natural[i] for i in folding) or 1
        for i in folding:
            least = min(natural[i], max(8, cell_len(columns[i])))  # a header is never cut either
            widths[i] = max(min(natural[i], room * natural[i] // total), least)
        for i, w in enumerate(whole):
            if w:
                widths[i] = natural[i]
        out.width = sum(w or 0 for w in widths) + extra
    for index, name in enumerate(columns):
        out.add_column(name, overflow="fold", no_wrap=whole[index], width=widths[index])
    for row in cells:  # cells are plain text: a path or an error with [brackets] is not markup
        out.add_row(*row)
    return out

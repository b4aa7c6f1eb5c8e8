"""Where the project's own files live: SQL, table specs, examples, docs and deployment code.

They sit beside the package in the checkout (``queries/``, ``glue/``, ...), not inside it, so
that SQL stays SQL and specs stay YAML; every module finds them here and nowhere else.
Also the one way the project writes a local file it must not lose (state, findings parts):
``write_atomically``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = PROJECT_ROOT / "queries"
DETECTIONS_DIR = QUERIES_DIR / "detections"
GLUE_DIR = PROJECT_ROOT / "glue"
RULES_DIR = PROJECT_ROOT / "rules"
INCIDENT_RULES_DIR = RULES_DIR / "incidents"
EXAMPLES_DIR = PROJECT_ROOT / "tests" / "detections"
DOCS_DIR = PROJECT_ROOT / "docs"
TERRAFORM_DIR = PROJECT_ROOT / "deploy" / "terraform"


@cache
def known_detection_ids(directory: Path = DETECTIONS_DIR) -> frozenset[str]:
    """Detection ids are the file names under ``queries/detections/`` (config needs them early)."""
    return frozenset(p.stem for p in directory.glob("*.sql"))


def write_atomically(target: Path, data: bytes, exclusive: bool = False) -> None:
    """tmp + fsync + rename (+ fsync of the folder): a crash leaves the old file or the new one,
    never half of one, and a finished write survives a power cut. ``exclusive`` creates only:
    it raises ``FileExistsError`` if ``target`` exists, atomically (a hard link, not a check)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, target)
        else:
            os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(target.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

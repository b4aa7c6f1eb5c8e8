"""Where the project's own files live: SQL, table specs, examples, docs and deployment code.

They sit beside the package in the checkout (``queries/``, ``glue/``, ...), not inside it, so
that SQL stays SQL and specs stay YAML; every module finds them here and nowhere else.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = PROJECT_ROOT / "queries"
DETECTIONS_DIR = QUERIES_DIR / "detections"
GLUE_DIR = PROJECT_ROOT / "glue"
EXAMPLES_DIR = PROJECT_ROOT / "tests" / "detections"
DOCS_DIR = PROJECT_ROOT / "docs"
TERRAFORM_DIR = PROJECT_ROOT / "deploy" / "terraform"


@cache
def known_detection_ids(directory: Path = DETECTIONS_DIR) -> frozenset[str]:
    """Detection ids are the file names under ``queries/detections/`` (config needs them early)."""
    return frozenset(p.stem for p in directory.glob("*.sql"))
